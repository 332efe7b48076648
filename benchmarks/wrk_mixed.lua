-- GET /fib/n with a mix of cheap and expensive requests: the script's arguments are the paths to
-- take in turn, each connection's thread cycling through them (`wrk ... URL -- /fib/5 /fib/5
-- /fib/25`: two cheap requests for every expensive one). The report (done) is wrk_report.lua's,
-- loaded from beside this file.
local here = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
dofile(here .. "wrk_report.lua")

local paths = {}
local next_path = 0

init = function(args)
  for _, path in ipairs(args) do
    paths[#paths + 1] = path
  end
  if #paths == 0 then
    error("no paths given: wrk ... URL -- /fib/5 /fib/25")
  end
end

request = function()
  next_path = next_path % #paths + 1
  return wrk.format("GET", paths[next_path])
end
