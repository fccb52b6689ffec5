-- Introspects pre-issued access tokens at POST /introspect (client_secret_basic), one
-- token per request, cycling through TOKENS_FILE in order. With more tokens than the key
-- ring remembers (4,096), a token comes round again only after the ring has forgotten
-- it, so every request verifies a signature: a token each time seen once.
-- Answers that do not say active are counted (inactive=N): the run is then void.
--   TOKENS_FILE, WRK_BASIC (base64 of id:secret) from the environment.
local tokens = {}
for line in io.lines(os.getenv("TOKENS_FILE")) do tokens[#tokens + 1] = line end
local next_token = 0
local headers = {
  ["Content-Type"] = "application/x-www-form-urlencoded",
  ["Authorization"] = "Basic " .. os.getenv("WRK_BASIC"),
  ["Accept"] = "application/json",
}
function request()
  next_token = next_token % #tokens + 1
  return wrk.format("POST", "/introspect", headers, "token=" .. tokens[next_token])
end
local inactive = 0
function response(status, headers, body)
  if not body:find('"active":true', 1, true) then inactive = inactive + 1 end
end
function done(summary, latency, requests)
  local secs = summary.duration / 1e6
  local e = summary.errors
  io.write(string.format(
    "WRKRESULT rps=%.1f p50_ms=%.3f p90_ms=%.3f p99_ms=%.3f max_ms=%.3f requests=%d non2xx3xx=%d sockerr=%d tokens=%d inactive=%d\n",
    summary.requests / secs,
    latency:percentile(50) / 1000, latency:percentile(90) / 1000, latency:percentile(99) / 1000,
    latency.max / 1000, summary.requests, e.status, e.connect + e.read + e.write + e.timeout, #tokens, inactive))
end
