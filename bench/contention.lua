-- contention: everyone books one of a few small classes (bench/setup.py: 4
-- classes of 10 places). After the first 40 bookings nearly every answer is
-- 409 class_full (or already_booked for the few holders), which is expected:
-- this measures the refusal path of the saga under a hot class row.
-- 201 and 409 are expected; anything else is not.
local common = dofile(os.getenv("BENCH_DIR") .. "/common.lua")
setup, done = common.setup, common.done

local classes, n

function init(args)
   common.load_members()
   classes = common.load_ids("contention.txt")
   n = tid
end

function request()
   local m = common.members[n % #common.members + 1]
   local c = classes[n % #classes + 1]
   n = n + tonumber(os.getenv("BENCH_THREADS") or "4")
   return common.book(m.token, c)
end

function response(status, headers, body)
   common.count(status, body, status == 201 or status == 409)
end
