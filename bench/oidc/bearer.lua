-- GET with a bearer token (WRK_BEARER from the environment), for /userinfo; prints the
-- same machine-readable line as the peer's wrk-report.lua.
wrk.method = "GET"
wrk.headers["Authorization"] = "Bearer " .. os.getenv("WRK_BEARER")
wrk.headers["Accept"] = "application/json"

local report = dofile((debug.getinfo(1, "S").source:match("^@(.*/)") or "./") .. "report.lua")
function done(summary, latency, requests)
  report(summary, latency)
end
