-- POST a form as many shoppers, in turn. `-- <pool file>`: the first line is the
-- request path; each further line is `<cookie header>\t<csrf token>\t<body>`, where
-- `{variant}` in the body takes the next id from the `variants` line.
local dir = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
dofile(dir .. "report.lua")

local shoppers, variants, path = {}, {}, "/"
local turn = 0


function init(args)
  local file = assert(io.open(args[1], "r"))
  path = file:read("*l")
  for id in file:read("*l"):gmatch("%d+") do
    variants[#variants + 1] = id
  end
  for line in file:lines() do
    local f = split(line)
    shoppers[#shoppers + 1] = {cookie = f[1], token = f[2], body = f[3]}
  end
  file:close()
end

function request()
  -- Shopper i gets variant j on turn i + n*j: each pair is reused only after
  -- every shopper has had every variant, so a line stays under its cap for long.
  local shopper = shoppers[(turn % #shoppers) + 1]
  local variant = variants[(math.floor(turn / #shoppers) % #variants) + 1]
  turn = turn + 1
  local body = shopper.body:gsub("{variant}", variant)
  return wrk.format("POST", path, {
    ["Cookie"] = shopper.cookie,
    ["X-CSRFToken"] = shopper.token,
    ["Content-Type"] = "application/x-www-form-urlencoded",
  }, body)
end
