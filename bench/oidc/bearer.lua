-- GET with a bearer token (WRK_BEARER from the environment), for /userinfo; prints the
-- same machine-readable line as the peer's wrk-report.lua.
wrk.method = "GET"
wrk.headers["Authorization"] = "Bearer " .. os.getenv("WRK_BEARER")
wrk.headers["Accept"] = "application/json"

function done(summary, latency, requests)
  local secs = summary.duration / 1e6
  local e = summary.errors
  io.write(string.format(
    "WRKRESULT rps=%.1f p50_ms=%.3f p90_ms=%.3f p99_ms=%.3f max_ms=%.3f requests=%d non2xx3xx=%d sockerr=%d\n",
    summary.requests / secs,
    latency:percentile(50) / 1000, latency:percentile(90) / 1000, latency:percentile(99) / 1000,
    latency.max / 1000, summary.requests, e.status, e.connect + e.read + e.write + e.timeout))
end
