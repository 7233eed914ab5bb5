-- GET /contact/addgroup/api.json?contact=ID&group=GID: a random seeded contact into the seeded
-- group. Once a contact is a member, adding it again changes nothing (ON CONFLICT DO NOTHING),
-- so most requests measure the full statement on its no-op path; that is the same for both apps.
local common = require "common"
local lo = common.env_int("BENCH_MIN_CONTACT", 1)
local hi = common.env_int("BENCH_MAX_CONTACT", 1000)
local group = os.getenv("BENCH_GROUP") or "1"

setup = common.setup
init = common.init
response = common.response
done = common.done

function request()
   return wrk.format(nil, "/contact/addgroup/api.json?contact=" .. math.random(lo, hi) .. "&group=" .. group)
end
