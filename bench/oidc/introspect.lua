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
-- Counted in each thread's state (a global, so done() can read it through the thread).
inactive = 0
function response(status, headers, body)
  if not body:find('"active":true', 1, true) then inactive = inactive + 1 end
end
local threads = {}
function setup(thread)
  threads[#threads + 1] = thread
end
local report = dofile((debug.getinfo(1, "S").source:match("^@(.*/)") or "./") .. "report.lua")
function done(summary, latency, requests)
  local all_inactive = 0
  for _, thread in ipairs(threads) do all_inactive = all_inactive + (thread:get("inactive") or 0) end
  report(summary, latency, string.format(" tokens=%d inactive=%d", #tokens, all_inactive))
end
