-- wrk script for bench/wrk_client.py: replays pre-built raw HTTP requests (request line,
-- headers, body; signed before the run) instead of building any request in Lua.
--
-- Arguments after `--`: <slice prefix> <cycle 0|1> <threads>. Thread k (1-based) reads its own
-- slice of the request list from "<prefix>.<k>", written by wrk_client.py as records of
-- "<byte length>\n<raw request>". Slices are disjoint, so with cycle=0 no request is ever sent
-- twice (cancels of resting orders and creates with unique client ids must not be); a thread
-- whose slice runs out stops its own event loop. With cycle=1 each thread replays its slice in
-- a loop. Status codes are counted per thread (each thread has its own Lua state) and gathered
-- in done(), which prints one line "WRK_RESULT {json}" for wrk_client.py to parse.

local threads = {}

function setup(thread)
   -- runs in wrk's main Lua state, once per thread, in thread order
   table.insert(threads, thread)
   thread:set("tid", #threads)
end

-- Written instead of a real request when a slice is exhausted or for wrk's start-up probe
-- (below). Its answer is never read (the thread's loop stops first), so it is never counted.
local filler = "GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
local reqs, n, pos, cycle

local function replay()
   if pos > n then
      if cycle and n > 0 then
         pos = 1
      else
         exhausted = true
         wrk.thread:stop()
         return filler
      end
   end
   local r = reqs[pos]
   pos = pos + 1
   sent = sent + 1
   return r
end

-- wrk calls request() once on the first thread before starting, only to parse the result
-- (it counts requests per call for pipelining) and then discards it: answer that call with the
-- filler so no pre-built request is consumed without being sent.
local function probe()
   request = replay
   return filler
end

function init(args)
   -- args[0] is the URL; the script's own arguments follow
   local prefix, nthreads = args[1], tonumber(args[3])
   cycle = args[2] == "1"
   sent, statuses, exhausted = 0, {}, false
   reqs, n, pos = {}, 0, 1
   local f = assert(io.open(prefix .. "." .. tid, "rb"))
   while true do
      local len = f:read("*l")
      if len == nil then
         break
      end
      n = n + 1
      reqs[n] = f:read(tonumber(len))
   end
   f:close()
   request = tid == 1 and probe or replay
   if tid == nthreads then
      -- every slice is loaded: wrk starts its clock right after this; stderr is unbuffered,
      -- so wrk_client.py can time the run from here
      io.stderr:write("WRK_READY\n")
   end
end

function response(status)
   statuses[status] = (statuses[status] or 0) + 1
end

local function num(v)
   return string.format("%.17g", v)
end

function done(summary, latency, requests)
   local total, per_thread, any_exhausted = {}, {}, false
   for i, t in ipairs(threads) do
      per_thread[i] = num(t:get("sent"))
      any_exhausted = any_exhausted or t:get("exhausted")
      for code, count in pairs(t:get("statuses")) do
         total[code] = (total[code] or 0) + count
      end
   end
   local codes = {}
   for code, count in pairs(total) do
      codes[#codes + 1] = string.format('"%d": %s', code, num(count))
   end
   local e = summary.errors
   local fields = {
      '"requests": ' .. num(summary.requests),
      '"duration_us": ' .. num(summary.duration),
      '"bytes": ' .. num(summary.bytes),
      '"sent_per_thread": [' .. table.concat(per_thread, ", ") .. "]",
      '"exhausted": ' .. tostring(any_exhausted),
      '"statuses": {' .. table.concat(codes, ", ") .. "}",
      string.format(
         '"errors": {"connect": %s, "read": %s, "write": %s, "status": %s, "timeout": %s}',
         num(e.connect), num(e.read), num(e.write), num(e.status), num(e.timeout)
      ),
      string.format(
         '"latency_us": {"p50": %s, "p90": %s, "p99": %s, "p99.9": %s, "max": %s, "mean": %s}',
         num(latency:percentile(50)), num(latency:percentile(90)), num(latency:percentile(99)),
         num(latency:percentile(99.9)), num(latency.max), num(latency.mean)
      ),
   }
   io.write("WRK_RESULT {" .. table.concat(fields, ", ") .. "}\n")
end
