-- GET /view/contact/api.json?contact=ID, ID uniform in [BENCH_MIN_CONTACT, BENCH_MAX_CONTACT].
-- Run with the current directory set to bench/wrk (bench/run.py does), for require "common".
local common = require "common"
local lo = common.env_int("BENCH_MIN_CONTACT", 1)
local hi = common.env_int("BENCH_MAX_CONTACT", 1000)

setup = common.setup
init = common.init
response = common.response
done = common.done

function request()
   return wrk.format(nil, "/view/contact/api.json?contact=" .. math.random(lo, hi))
end
