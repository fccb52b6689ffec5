-- Mints authorization codes: GET /authorize with the SSO session cookie (no UI), keeps
-- the code of each redirect in CODES_FILE (one a line). Every request carries the PKCE
-- challenge of exchange.lua's verifier ("bench-pkce-verifier-0123456789-abcdefghijklmnopqrstu"):
-- every client must send PKCE.
--   COOKIE, CLIENT_ID, REDIRECT_URI, CODES_FILE from the environment.
local cookie = os.getenv("COOKIE")
local client_id = os.getenv("CLIENT_ID")
local redirect_uri = os.getenv("REDIRECT_URI")
local out = io.open(os.getenv("CODES_FILE"), "a")
local function enc(s)
  return (s:gsub("[^%w%-_%.~]", function(c) return string.format("%%%02X", string.byte(c)) end))
end
wrk.method = "GET"
local challenge = "pJ8tkFQNh_2I8Fz8nG0tnsOE_-Ggvxvl4mfAykioL_U"
wrk.path = "/authorize?response_type=code&scope=openid&state=s&nonce=n&client_id=" .. enc(client_id) .. "&redirect_uri=" .. enc(redirect_uri)
  .. "&code_challenge=" .. challenge .. "&code_challenge_method=S256"
wrk.headers["Cookie"] = cookie
local minted = 0
function response(status, headers, body)
  local location = headers["Location"] or headers["location"]
  if location then
    local code = location:match("[?&]code=([^&]+)")
    if code then out:write(code, "\n"); minted = minted + 1 end
  end
end
function done(summary, latency, requests)
  out:flush()
  io.write(string.format("MINTED rps=%.1f requests=%d non2xx3xx=%d\n", summary.requests / (summary.duration / 1e6), summary.requests, summary.errors.status))
end
