-- wrk script: counts the responses completed in each wall-clock second and prints them
-- when wrk ends, one line per second from the first to the last: "second <unix time>
-- <responses>" (a second in which none completed prints 0). Used by bench/log_blocked.sh.
-- Each wrk thread counts in its own Lua state; done() adds them up.
local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

completed = {}

function response()
  local second = os.time()
  completed[second] = (completed[second] or 0) + 1
end

function done()
  local total, first, last = {}, nil, nil
  for _, thread in ipairs(threads) do
    for second, n in pairs(thread:get("completed")) do
      total[second] = (total[second] or 0) + n
      if not first or second < first then first = second end
      if not last or second > last then last = second end
    end
  end
  if not first then return end
  for second = first, last do
    io.write(string.format("second %d %d\n", second, total[second] or 0))
  end
end
