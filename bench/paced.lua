-- wrk at a paced rate: every connection waits `delay` ms (the first script argument) before each
-- request, so the offered load is about connections × 1000 / (delay + latency) requests/s. Reports
-- the same JSON line as latency.lua (whose reporter it loads).
local here = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
dofile(here .. "latency.lua")

local delay_ms = 0
init = function(args)
  delay_ms = tonumber(args[1]) or 0
end
delay = function()
  return delay_ms
end
