-- wrk script for bench/ballot_submit.sh: POST /api/v1/voting/submit (docs/api/README.md), one
-- real token per request.
--
--   TOKENS=tokens.txt ELECTION=<uuid> WRK_THREADS=<same as --threads> \
--     wrk --threads 1 --connections 1000 --duration 60s --latency -s bench/submit.lua URL
--
-- TOKENS: what bench_tokens wrote, one "message signature" (base64url) per line.
-- ELECTION: the election the tokens are for; its ballot must be bench/ballot_election.json's
--   (contests "mayor", one of three, and "council", none to two of four).
-- WRK_THREADS: wrk's --threads; a thread's init cannot learn it, and each thread needs it
--   to take its own slice of the tokens.
-- SKIP (optional): lines of TOKENS an earlier run used; done() prints the value for the
--   next run ("token lines used"), so that several runs can share one file.
-- DELAY_MS (optional): each connection waits this long after an answer before its next
--   ballot, for a steady load rather than the most the server takes
--   (bench/voter_import.sh's ballots during an import).
-- RECEIPTS (optional): each thread writes the receipt of every ballot answered 201 to
--   the file RECEIPTS.<thread>, one per line (bench/failover.sh counts the acknowledged
--   ballots a failover lost); costs wrk a Lua table per answer.
--
-- Thread k of n takes the lines SKIP + k, SKIP + k + n, ... and sends each token once,
-- then starts over: those ballots repeat an accepted one exactly, the server answers
-- them 200 with the same receipt, and done() says how many there were.

local threads = {}

-- Runs in the main Lua state, once per thread, just before that thread's init.
function setup(thread)
  table.insert(threads, thread)
  thread:set("id", #threads)
end

local function required_env(name)
  local value = os.getenv(name)
  if not value or value == "" then
    error("submit.lua: set " .. name .. " (see the header of bench/submit.lua)")
  end
  return value
end

-- Every valid ballot of the election ballot_submit.sh creates that picks a mayor: 3 × 11.
local function ballot_variants()
  local mayors = { "alice", "bob", "carol" }
  local council = { "dora", "emil", "faye", "gus" }
  local councils = { {} }
  for i = 1, #council do
    table.insert(councils, { council[i] })
    for j = i + 1, #council do
      table.insert(councils, { council[i], council[j] })
    end
  end
  local variants = {}
  for _, mayor in ipairs(mayors) do
    for _, picks in ipairs(councils) do
      local parts = { '{"contestId":"mayor","optionId":"' .. mayor .. '"}' }
      for _, pick in ipairs(picks) do
        table.insert(parts, '{"contestId":"council","optionId":"' .. pick .. '"}')
      end
      table.insert(variants, '"selections":[' .. table.concat(parts, ",") .. "]}")
    end
  end
  return variants
end

-- Runs in this thread's own Lua state; `id` was set by setup.
function init(args)
  local path = required_env("TOKENS")
  local election = required_env("ELECTION")
  thread_count = tonumber(required_env("WRK_THREADS"))
  skip = tonumber(os.getenv("SKIP") or "0")
  -- The whole file as one string, its lines sliced per request: a table of a million
  -- strings made LuaJIT's collector walk them all again and again, and wrk took 39 % of
  -- the machine in a 60 s run (14 % with a table a third that size). Every line has the
  -- same length, the key's.
  local file = assert(io.open(path, "rb"))
  content = file:read("*a")
  file:close()
  line_length = (content:find("\n", 1, true) or 0)
  space = content:find(" ", 1, true)
  if line_length == 0 or not space or space > line_length or #content % line_length ~= 0 then
    error("submit.lua: " .. path .. " is not lines of one length, \"message signature\"")
  end
  local lines = #content / line_length
  -- This thread's lines: skip + id - 1, then every thread_count-th.
  first_line = skip + id - 1
  tokens_loaded = lines > first_line and math.floor((lines - first_line - 1) / thread_count) + 1 or 0
  if tokens_loaded == 0 then
    error("submit.lua: no tokens for thread " .. id .. " in " .. path .. " past line " .. skip)
  end
  variants = ballot_variants()
  body_head = '{"electionId":"' .. election .. '",'
  -- wrk.format would rebuild every header line per request; only Content-Length varies.
  request_head = "POST /api/v1/voting/submit HTTP/1.1\r\nHost: " .. wrk.headers["Host"] ..
    "\r\nContent-Type: application/json\r\nContent-Length: "
  sent = 0
  repeats = 0
  -- Defined only when asked for: with a delay() at all, wrk sets a timer per request.
  local delay_ms = tonumber(os.getenv("DELAY_MS") or "0")
  if delay_ms > 0 then
    function delay() return delay_ms end
  end
  local receipts = os.getenv("RECEIPTS")
  if receipts and receipts ~= "" then
    receipt_file = assert(io.open(receipts .. "." .. id, "w"))
    function response(status, headers, body)
      if status == 201 then
        receipt_file:write(body:match('"receipt":"(%x+)"'), "\n")
        receipt_file:flush()
      end
    end
  end
end

function request()
  sent = sent + 1
  local i = (sent - 1) % tokens_loaded + 1
  if sent > tokens_loaded then repeats = repeats + 1 end
  local at = (first_line + (i - 1) * thread_count) * line_length
  local token = '"token":{"message":"' .. content:sub(at + 1, at + space - 1) ..
    '","signature":"' .. content:sub(at + space + 1, at + line_length - 1) .. '"},'
  -- The ballot follows the token, so that a reused token repeats its ballot exactly.
  local body = body_head .. token .. variants[i % #variants + 1]
  return request_head .. #body .. "\r\n\r\n" .. body
end

-- No response() unless RECEIPTS is set: wrk would build a Lua table of every answer's headers for it, a
-- large share of wrk's CPU at 10,000 answers/s, taken from the server on the same cores.
-- wrk counts answers and those with a status of 400 or more itself; the server's
-- http_requests_total counts each status (ballot_submit.sh prints them).

-- Runs in the main Lua state once the threads have stopped: their globals are read
-- with thread:get, which copies tables across states.
function done(summary, latency, requests)
  local token_count, repeat_count, lines_used = 0, 0, 0
  for _, thread in ipairs(threads) do
    local loaded, sent = thread:get("tokens_loaded"), thread:get("sent")
    token_count = token_count + loaded
    repeat_count = repeat_count + thread:get("repeats")
    -- The line of this thread's last token sent, counted from the top of the file. wrk
    -- calls thread 1's request() once before the run to check the script, so that
    -- thread's first token is counted here but never sent.
    if sent > 0 then
      local last = thread:get("skip") + (math.min(sent, loaded) - 1) * thread:get("thread_count") +
        thread:get("id")
      lines_used = math.max(lines_used, last)
    end
  end
  local seconds = summary.duration / 1e6
  local e = summary.errors
  -- Answers to unused tokens with a status below 400 are 201s: the server answers 200
  -- only to a token used before (counted as reused below).
  local accepted = summary.requests - e.status - repeat_count
  io.write(string.format("answers: %d, of which %d with a status of 400 or more\n",
    summary.requests, e.status))
  io.write(string.format("socket errors: connect %d, read %d, write %d, timeout %d\n",
    e.connect, e.read, e.write, e.timeout))
  io.write(string.format("accepted (201): %d in %.1f s = %.0f ballots/s; all answers %.0f/s\n",
    accepted, seconds, accepted / seconds, summary.requests / seconds))
  io.write(string.format("latency: p50 %.2f ms, p99 %.2f ms, max %.2f ms\n",
    latency:percentile(50) / 1000, latency:percentile(99) / 1000, latency.max / 1000))
  if repeat_count > 0 then
    io.write(string.format("TOKENS RAN OUT: %d of the requests reused one of the %d tokens " ..
      "(answered 200, the same receipt, not 201)\n", repeat_count, token_count))
  else
    io.write(string.format("tokens: %d loaded, none reused\n", token_count))
  end
  io.write(string.format("token lines used: %d\n", lines_used))
end
