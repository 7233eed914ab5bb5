-- GET /contact/create/api.json?fullname=..&msisdn=45NNNNNNNN: 45 (Denmark) + 8 random digits,
-- so each request almost always carries a new number; the rare repeat answers 409
-- MSISDN_EXISTS and is counted apart (STATUS lines).
local common = require "common"

setup = common.setup
init = common.init
response = common.response
done = common.done

function request()
   local msisdn = string.format("45%08d", math.random(0, 99999999))
   return wrk.format(nil, "/contact/create/api.json?fullname=Bench%20Contact&msisdn=" .. msisdn)
end
