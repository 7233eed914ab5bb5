-- Shared by the wrk scripts of bench/run.py: per-status counting and one line per status
-- in done(), so 409s (and any other non-2xx) are reported apart from successes.
local M = {}
local threads = {}

function M.setup(thread)
   thread:set("id", #threads + 1)
   table.insert(threads, thread)
end

function M.init()
   counts = {}
   -- A seed from /dev/urandom: LuaJIT streams from nearby seeds (os.time() + thread id)
   -- are correlated, which made "random" msisdns repeat across threads and runs.
   local seed = os.time() + id * 7919
   local f = io.open("/dev/urandom", "rb")
   if f then
      local b = f:read(6)
      f:close()
      seed = 0
      for i = 1, #b do seed = seed * 256 + b:byte(i) end
   end
   math.randomseed(seed)
end

function M.response(status, headers, body)
   counts[status] = (counts[status] or 0) + 1
end

function M.done(summary, latency, requests)
   local total = {}
   for _, t in ipairs(threads) do
      for status, n in pairs(t:get("counts")) do
         total[status] = (total[status] or 0) + n
      end
   end
   for status, n in pairs(total) do
      io.write(string.format("STATUS %d %d\n", status, n))
   end
end

function M.env_int(name, default)
   local v = os.getenv(name)
   return v and tonumber(v) or default
end

return M
