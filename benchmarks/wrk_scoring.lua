-- POST /score with a different realistic request each time: the bodies are the JSON lines of the
-- file named by the script's first argument (`wrk ... URL -- BODIES`), taken in turn by each
-- connection's thread. The report (done) is wrk_report.lua's, loaded from beside this file.
local here = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
dofile(here .. "wrk_report.lua")

local bodies = {}
local next_body = 0

init = function(args)
  for line in io.lines(args[1]) do
    bodies[#bodies + 1] = line
  end
  if #bodies == 0 then
    error("no request bodies in " .. args[1])
  end
end

request = function()
  next_body = next_body % #bodies + 1
  return wrk.format("POST", nil, {["Content-Type"] = "application/json"}, bodies[next_body])
end
