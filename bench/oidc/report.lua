-- The machine-readable line every wrk script of run.sh prints at the end (the fields of
-- the peer's wrk-report.lua, then the script's own): loaded with
-- dofile(here .. "report.lua"), it returns report(summary, latency, extra).
return function(summary, latency, extra)
  local secs = summary.duration / 1e6
  local e = summary.errors
  io.write(string.format(
    "WRKRESULT rps=%.1f p50_ms=%.3f p90_ms=%.3f p99_ms=%.3f max_ms=%.3f requests=%d non2xx3xx=%d sockerr=%d%s\n",
    summary.requests / secs,
    latency:percentile(50) / 1000, latency:percentile(90) / 1000, latency:percentile(99) / 1000,
    latency.max / 1000, summary.requests, e.status, e.connect + e.read + e.write + e.timeout, extra or ""))
end
