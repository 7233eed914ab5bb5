-- GET /view/contacts/api.json: the whole list of the bench user's contacts.
local common = require "common"

setup = common.setup
init = common.init
response = common.response
done = common.done

function request()
   return wrk.format(nil, "/view/contacts/api.json")
end
