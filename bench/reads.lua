-- reads: alternately the public schedule of one week
-- (GET /classes?from=&to=, the first page of 50) and a member's page
-- (GET /me/reservations, rotating over the members). Anything but 200 is
-- unexpected.
local common = dofile(os.getenv("BENCH_DIR") .. "/common.lua")
setup, done = common.setup, common.done

local schedule, n

function init(args)
   common.load_members()
   local from, to = common.week()
   schedule = common.get("/api/v1/classes?from=" .. from .. "&to=" .. to)
   n = tid
end

function request()
   n = n + 1
   if n % 2 == 0 then return schedule end
   local m = common.members[(n * 7919) % #common.members + 1]
   return common.get("/api/v1/me/reservations", m.token)
end

function response(status, headers, body)
   common.count(status, body, status == 200)
end
