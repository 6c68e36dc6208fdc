-- healthz: the baseline. GET /healthz, through the same Lua hooks as the
-- scenarios so the client's own cost is comparable. Anything but 200 is
-- unexpected.
local common = dofile(os.getenv("BENCH_DIR") .. "/common.lua")
setup, done = common.setup, common.done

local req

function init(args)
   req = common.get("/healthz")
end

function request()
   return req
end

function response(status, headers, body)
   common.count(status, body, status == 200)
end
