-- Shared by the wrk scripts in bench/ (each loads it with dofile).
--
-- Environment (set by bench/run.sh):
--   BENCH_DATA     folder written by bench/setup.py (members.txt, classes.txt, ...)
--   BENCH_THREADS  wrk's -t, used to split the (member, class) pairs between threads
--
-- wrk runs one Lua state per thread plus a main one: setup() and done() run in
-- the main state, init()/request()/response() in the threads. Counters live in
-- each thread's globals and done() collects them with thread:get().
--
-- Pairs: pair number n is (member n % M, class floor(n / M)). Thread t takes
-- the pairs base + t, base + t + T, base + t + 2T, ...; done() stores the first
-- pair no thread reached in BENCH_DATA/pairs.next, so the next wrk run (warm-up,
-- repetition or another scenario) never books a pair twice.

local common = {}

local data = os.getenv("BENCH_DATA") or error("BENCH_DATA is not set")
local nthreads = tonumber(os.getenv("BENCH_THREADS") or "4")

local function lines(name)
   local out = {}
   local f = assert(io.open(data .. "/" .. name, "r"))
   for line in f:lines() do
      if line ~= "" then out[#out + 1] = line end
   end
   f:close()
   return out
end

local function read_base()
   return tonumber(lines("pairs.next")[1])
end

-- ---------------------------------------------------------------- main state

local threads, next_tid = {}, 0

function common.setup(thread)
   thread:set("tid", next_tid)
   next_tid = next_tid + 1
   threads[#threads + 1] = thread
end

local function merge(into, from)
   for k, v in pairs(from or {}) do into[k] = (into[k] or 0) + v end
end

local function fmt(t)
   local keys, out = {}, {}
   for k in pairs(t) do keys[#keys + 1] = k end
   table.sort(keys, function(a, b) return tostring(a) < tostring(b) end)
   for _, k in ipairs(keys) do out[#out + 1] = k .. ":" .. t[k] end
   return #out > 0 and table.concat(out, ",") or "-"
end

-- One machine-readable line, parsed by bench/run.sh:
-- BENCH requests=.. seconds=.. rps=.. p50_us=.. p99_us=.. unexpected=..
--       socket_errors=.. statuses=201:n,409:n codes=class_full:n,...
function common.done(summary, latency, requests)
   local statuses, codes, unexpected, maxk, exhausted = {}, {}, 0, 0, 0
   for _, t in ipairs(threads) do
      merge(statuses, t:get("statuses"))
      merge(codes, t:get("codes"))
      unexpected = unexpected + (t:get("unexpected") or 0)
      exhausted = exhausted + (t:get("exhausted") or 0)
      maxk = math.max(maxk, t:get("k") or 0)
   end
   if maxk > 0 then
      local next_base = read_base() + maxk * nthreads
      local f = assert(io.open(data .. "/pairs.next", "w"))
      f:write(string.format("%d\n", next_base))
      f:close()
   end
   local e = summary.errors
   local secs = summary.duration / 1e6
   io.write(string.format(
      "BENCH requests=%d seconds=%.3f rps=%.1f p50_us=%d p99_us=%d unexpected=%d "
         .. "socket_errors=%d pairs_exhausted=%d statuses=%s codes=%s\n",
      summary.requests, secs, summary.requests / secs,
      latency:percentile(50), latency:percentile(99), unexpected,
      e.connect + e.read + e.write + e.timeout, exhausted, fmt(statuses), fmt(codes)))
end

-- -------------------------------------------------------------- thread state

statuses, codes, unexpected, k, exhausted = {}, {}, 0, 0, 0

-- Count a response; ok=false makes the run fail. For 4xx/5xx the problem's
-- "code" is counted too, so the report says what went wrong.
function common.count(status, body, ok)
   statuses[status] = (statuses[status] or 0) + 1
   if status >= 400 then
      local code = body and body:match('"code":"([%w_]+)"') or "?"
      codes[code] = (codes[code] or 0) + 1
   end
   if not ok then unexpected = unexpected + 1 end
end

common.members = {} -- index (1-based, creation order) -> {id=, token=}
common.token_of = {} -- member id (string) -> token

function common.load_members()
   for _, line in ipairs(lines("members.txt")) do
      local id, token = line:match("^(%d+) (%S+)$")
      common.members[#common.members + 1] = { id = id, token = token }
      common.token_of[id] = token
   end
end

function common.load_ids(name)
   return lines(name)
end

function common.week()
   return lines("week.txt")[1]:match("^(%S+) (%S+)$")
end

local classes, base

function common.load_pairs()
   common.load_members()
   classes = lines("classes.txt")
   base = read_base()
end

-- The next unused (member, class) pair of this thread: token, class id.
function common.next_pair()
   local n = base + tid + k * nthreads
   k = k + 1
   local nm = #common.members
   local c = classes[math.floor(n / nm) + 1]
   if c == nil then
      -- Out of pairs: book anything (it will answer 409 already_booked and
      -- count as unexpected) and say so in done().
      exhausted = exhausted + 1
      c = classes[1]
   end
   return common.members[n % nm + 1].token, c
end

function common.book(token, class_id)
   return wrk.format("POST", "/api/v1/reservations",
      { ["Authorization"] = "Bearer " .. token, ["Content-Type"] = "application/json" },
      '{"class_id":' .. class_id .. '}')
end

function common.get(path, token)
   local h = {}
   if token then h["Authorization"] = "Bearer " .. token end
   return wrk.format("GET", path, h)
end

return common
