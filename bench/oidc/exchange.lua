-- Redeems pre-minted authorization codes at POST /token (client_secret_basic) with the
-- PKCE verifier mint.lua's challenges were made from, one code per request, in order; a request after the last code sends "exhausted" (counted
-- as non-2xx, so a run must stay shorter than the codes last).
--   CODES_FILE, WRK_BASIC (base64 of id:secret), REDIRECT_URI from the environment;
--   TOKENS_FILE (optional): the access token of each answer is kept there, one a line
--   (for introspect.lua).
local codes = {}
for line in io.lines(os.getenv("CODES_FILE")) do codes[#codes + 1] = line end
local next_code = 1
local basic = os.getenv("WRK_BASIC")
local redirect_uri = os.getenv("REDIRECT_URI")
local verifier = "bench-pkce-verifier-0123456789-abcdefghijklmnopqrstu"
local function enc(s)
  return (s:gsub("[^%w%-_%.~]", function(c) return string.format("%%%02X", string.byte(c)) end))
end
local headers = {
  ["Content-Type"] = "application/x-www-form-urlencoded",
  ["Authorization"] = "Basic " .. basic,
  ["Accept"] = "application/json",
}
function request()
  local code = codes[next_code] or "exhausted"
  next_code = next_code + 1
  local body = "grant_type=authorization_code&code=" .. enc(code) .. "&redirect_uri=" .. enc(redirect_uri)
    .. "&code_verifier=" .. verifier
  return wrk.format("POST", "/token", headers, body)
end
local tokens_file = os.getenv("TOKENS_FILE")
if tokens_file and tokens_file ~= "" then
  -- Written by the thread's state, flushed when wrk exits (before run.sh reads it).
  local out = io.open(tokens_file, "a")
  function response(status, headers, body)
    local token = body:match('"access_token":"([^"]+)"')
    if token then out:write(token, "\n") end
  end
end
local report = dofile((debug.getinfo(1, "S").source:match("^@(.*/)") or "./") .. "report.lua")
function done(summary, latency, requests)
  report(summary, latency, string.format(" codes=%d", #codes))
end
