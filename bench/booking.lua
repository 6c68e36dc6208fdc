-- booking: every request books a fresh (member, class) pair, through the whole
-- saga (place held, reservation confirmed, notification, member's page) to
-- 201 confirmed. Anything but 201 is unexpected.
local common = dofile(os.getenv("BENCH_DIR") .. "/common.lua")
setup, done = common.setup, common.done

function init(args)
   common.load_pairs()
end

function request()
   return common.book(common.next_pair())
end

function response(status, headers, body)
   common.count(status, body, status == 201)
end
