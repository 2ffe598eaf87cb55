-- wrk script for bench/board_proofs.sh: GET .../proofs/inclusion for a random receipt of
-- the log, each request another one.
--
--   RECEIPTS=receipts.txt ELECTION=<uuid> wrk ... -s bench/inclusion.lua URL
--
-- RECEIPTS: one hex receipt per line, all in the election's log.

function init(args)
  local election = os.getenv("ELECTION")
  local path = os.getenv("RECEIPTS")
  if not election or not path then
    error("inclusion.lua: set ELECTION and RECEIPTS (see bench/board_proofs.sh)")
  end
  prefix = "/api/v1/public/elections/" .. election .. "/proofs/inclusion?receipt="
  receipts = {}
  for line in io.lines(path) do table.insert(receipts, line) end
  if #receipts == 0 then error("inclusion.lua: no receipts in " .. path) end
  statuses = {}
  math.randomseed(os.time())
end

function request()
  return wrk.format("GET", prefix .. receipts[math.random(#receipts)])
end

function response(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
end

function done(summary, latency, requests)
  io.write(string.format("latency: p50 %.3f ms, p99 %.3f ms, max %.3f ms; %.0f proofs/s\n",
    latency:percentile(50) / 1000, latency:percentile(99) / 1000, latency.max / 1000,
    summary.requests / (summary.duration / 1e6)))
  io.write(string.format("socket errors: connect %d, read %d, write %d, timeout %d; non-2xx: %d\n",
    summary.errors.connect, summary.errors.read, summary.errors.write, summary.errors.timeout,
    summary.errors.status))
end
