-- cancel: book-then-cancel cycles. A pair is booked (201), the reservation is
-- cancelled with POST /reservations/{id}/cancel (200, id from the 201 body),
-- the same pair is booked again, and so on. Each response queues the next step
-- of its own cycle; a thread's connections share its queue, so there are as
-- many cycles in flight as connections. Anything but 201/200 is unexpected.
local common = dofile(os.getenv("BENCH_DIR") .. "/common.lua")
setup, done = common.setup, common.done

local queue, head, tail = {}, 1, 0

local function push(req)
   tail = tail + 1
   queue[tail] = req
end

function init(args)
   common.load_pairs()
end

function request()
   if head <= tail then
      local req = queue[head]
      queue[head] = nil
      head = head + 1
      return req
   end
   return common.book(common.next_pair()) -- a new cycle
end

function response(status, headers, body)
   local ok = status == 201 or status == 200
   common.count(status, body, ok)
   if not ok then return end
   local id = body:match('"id":(%d+)')
   local member = body:match('"member_id":(%d+)')
   local class = body:match('"class_id":(%d+)')
   local token = common.token_of[member]
   if status == 201 then
      push(wrk.format("POST", "/api/v1/reservations/" .. id .. "/cancel",
         { ["Authorization"] = "Bearer " .. token }))
   else
      push(common.book(token, class))
   end
end
