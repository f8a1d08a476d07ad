-- wrk script: each connection picks one account (token) and a few of its practice's patients from
-- the file named by MEDVAULT_BENCH_SESSIONS (one line: TOKEN ID1 ID2 ...), then re-reads them.
local sessions = {}
local counter = 0

local function load()
  local path = os.getenv("MEDVAULT_BENCH_SESSIONS")
  for line in io.lines(path) do
    local fields = {}
    for word in line:gmatch("%S+") do fields[#fields + 1] = word end
    if #fields >= 2 then sessions[#sessions + 1] = fields end
  end
end

function setup(thread)
  counter = counter + 1
  thread:set("offset", counter)
end

function init(args)
  load()
  index = offset
  position = 0
end

function request()
  -- wrk keeps one request() sequence per connection of a thread; rotating over the sessions keeps
  -- each account re-reading its own few patients.
  index = index + 1
  local s = sessions[(index % #sessions) + 1]
  position = position + 1
  local id = s[2 + (position % (#s - 1))]
  return wrk.format("GET", "/fhir/Patient/" .. id, {["Authorization"] = "Bearer " .. s[1]})
end

-- MEDVAULT_BENCH_PACE_MS > 0 paces every connection (a pause before each request), to measure the
-- latency at a given rate rather than at saturation: 200 connections paced at 18 ms ≈ 10,000/s.
local pace = tonumber(os.getenv("MEDVAULT_BENCH_PACE_MS") or "0")

function delay()
  return pace
end

function done(summary, latency, requests)
  io.write(string.format("p99_ms %.3f\n", latency:percentile(99) / 1000))
  io.write(string.format("non2xx %d\n", summary.errors.status))
end
