-- wrk script: cycles through the URL paths of a file (one per line), each thread from
-- its own offset, and prints one machine-readable line at the end:
--   RESULT requests req_per_s p50_ms p99_ms errors non2xx
-- Usage: wrk -s benches/peer/cycle.lua URL -- PATHS_FILE
-- BENCH_AUTH set: every request carries `Authorization: Bearer $BENCH_AUTH` (agent runs).
local token = os.getenv("BENCH_AUTH")
if token and #token > 0 then wrk.headers["Authorization"] = "Bearer " .. token end

local paths = {}
local i = 0
local counter = 0

function setup(thread)
  thread:set("offset", counter)
  counter = counter + 1
end

function init(args)
  for line in io.lines(args[1]) do
    if #line > 0 then paths[#paths + 1] = line end
  end
  i = (offset or 0) * 7 % #paths
end

function request()
  i = i % #paths + 1
  return wrk.format("GET", paths[i])
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("RESULT %d %.2f %.2f %.2f %d %d\n", summary.requests,
    summary.requests / (summary.duration / 1e6), latency:percentile(50) / 1000,
    latency:percentile(99) / 1000, e.connect + e.read + e.write + e.timeout, e.status))
end
