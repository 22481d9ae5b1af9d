-- A mixed load at a fixed rate: `-- <mix file>`. The first line is the total rate in
-- requests/s; each further line is one kind of request, tab-separated:
--   <weight> <method> <path> <cookie header> <csrf token> <stripe signature> <body>
-- (empty fields are left out). Each request is drawn by weight; delay() spaces the
-- requests of every connection on one schedule (wrk -t1: one Lua state), so the
-- load arrives at the rate whatever the latency, as shoppers do, instead of as
-- fast as the server answers.
local dir = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
dofile(dir .. "report.lua")

local ffi = require("ffi")
ffi.cdef [[
typedef struct { long tv_sec; long tv_usec; } bench_timeval;
int gettimeofday(bench_timeval *tv, void *tz);
]]
local tv = ffi.new("bench_timeval")

local function now_ms()
  ffi.C.gettimeofday(tv, nil)
  return tonumber(tv.tv_sec) * 1000 + tonumber(tv.tv_usec) / 1000
end

local kinds, total, interval, next_slot = {}, 0, 1, nil


function init(args)
  local file = assert(io.open(args[1], "r"))
  interval = 1000 / tonumber(file:read("*l"))
  for line in file:lines() do
    local f = split(line)
    local headers = {}
    if f[4] ~= "" then headers["Cookie"] = f[4] end
    if f[5] ~= "" then
      headers["X-CSRFToken"] = f[5]
      headers["Content-Type"] = "application/x-www-form-urlencoded"
    end
    if f[6] ~= "" then
      headers["Stripe-Signature"] = f[6]
      headers["Content-Type"] = "application/json; charset=utf-8"
    end
    total = total + tonumber(f[1])
    kinds[#kinds + 1] = {
      upto = total,
      request = wrk.format(f[2], f[3], headers, f[7] ~= "" and f[7] or nil),
    }
  end
  file:close()
  math.randomseed(7)
end

function delay()
  local now = now_ms()
  -- Behind by more than a second: the server could not keep up; start afresh
  -- rather than send a second's worth at once.
  if next_slot == nil or next_slot < now - 1000 then
    next_slot = now
  end
  next_slot = next_slot + interval
  return math.max(0, next_slot - now)
end

function request()
  local draw = math.random() * total
  for _, kind in ipairs(kinds) do
    if draw <= kind.upto then
      return kind.request
    end
  end
  return kinds[#kinds].request
end

-- BENCH_STATUSES=1: tally the refused answers by status and the start of their body
-- (the harness adds them to the result), to tell a shop's refusal (a sold-out wine,
-- a cart changed meanwhile) from a failure. Off by default: wrk then hands every
-- response to Lua, which costs the load generator CPU the server would have had.
local tally = os.getenv("BENCH_STATUSES")
if tally and tally ~= "" and tally ~= "0" then
  local threads = {}
  function setup(thread) threads[#threads + 1] = thread end
  refused = {}
  function response(status, headers, body)
    if status >= 400 then
      body = body or ""
      -- what the page says is wrong (an alert, a field's error), else its start
      local at = body:find('role="alert"', 1, true)
      local said = at and body:sub(at, at + 600):gsub("^[^>]*>", ""):gsub("<[^>]*>", " ")
        or body:match('"errors": *(%b{})')
        or body:sub(1, 120)
      local key = status .. " " .. said:gsub("%s+", " "):sub(1, 160)
      refused[key] = (refused[key] or 0) + 1
    end
  end
  local report = done
  function done(summary, latency, requests)
    report(summary, latency, requests)
    for _, thread in ipairs(threads) do
      for key, count in pairs(thread:get("refused")) do
        io.write("BENCH_REFUSED ", count, " ", key, "\n")
      end
    end
  end
end
