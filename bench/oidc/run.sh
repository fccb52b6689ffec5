#!/usr/bin/env bash
# Verity's OpenID Connect endpoints side by side with the peer (panva/node-oidc-provider,
# ../shared/peers/node-oidc-provider), in one run. docs/performance.md, "OpenID Connect
# endpoints", explains the figures.
#
#   cargo build --release -p verity
#   cp -r ../shared/peers/node-oidc-provider /tmp/peer && (cd /tmp/peer && npm install)
#   bench/oidc/run.sh                      # ROUNDS=3 DURATION=10 by default
#   python3 bench/oidc/summarise.py /tmp/verity-oidc-bench.*/raw.txt
#
# Both servers are pinned to CPU 0 and wrk (1 thread, 32 connections, the peer's
# wrk-report.lua) to CPU 1. Each of ROUNDS rounds runs every row of the peer and then of
# Verity (WARMUP s warm-up, DURATION s measured), so machine noise spreads over both. Rows:
# discovery, JWKS, client_credentials with RS256 JWT access tokens (the peer: with
# resource=urn:bench:api), the same with ES256 (both) and EdDSA (Verity), the peer's
# opaque tokens for reference; introspection and userinfo of a person's access token
# (Verity: an ES256 JWT with sid, sub and grant, so every revocation check applies; the
# peer: its opaque token of the code flow through its built-in login, peer_token.py,
# which it looks up with its grant and session), and the peer's introspection of a
# client_credentials token as its bench.sh does with INTROSPECT=1; `verity bench access`
# (the revocation check's own cost, for the userinfo target) and `verity bench sign` per
# algorithm; the authorization-code exchange (codes minted beforehand through
# /authorize with an SSO session, then redeemed once each); and introspection of the
# tokens the ES256 exchange issued, each in turn (introspect.lua: more tokens than the
# key ring remembers, so each request verifies a signature). Every row also records the
# server's CPU time per request (utime+stime from /proc/PID/stat).
#
# Parameters (env): VERITY (target/release/verity), PEER_DIR (/tmp/peer), SKIP_PEER (0; 1
# measures Verity alone, e.g. two builds of it side by side), ROUNDS (3),
# DURATION (10), WARMUP (3: seconds before each measured run), SECONDS_IN_PROCESS (5: each
# `verity bench sign` and `bench access`), ACCESS_PEOPLE (10000: people seeded for `verity bench access`, in a
# store of its own each round), OUT_DIR (a fresh /tmp/verity-oidc-bench.XXXXXX).
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
VERITY=$(realpath "${VERITY:-$HERE/../../target/release/verity}")
PEER_DIR=${PEER_DIR:-/tmp/peer}
SKIP_PEER=${SKIP_PEER:-0}
ROUNDS=${ROUNDS:-3}
DURATION=${DURATION:-10}
WARMUP=${WARMUP:-3}
SECONDS_IN_PROCESS=${SECONDS_IN_PROCESS:-5}
ACCESS_PEOPLE=${ACCESS_PEOPLE:-10000}
OUT_DIR=${OUT_DIR:-$(mktemp -d /tmp/verity-oidc-bench.XXXXXX)}
mkdir -p "$OUT_DIR"
DATA=$OUT_DIR/data
RAW=$OUT_DIR/raw.txt
TICK=$(getconf CLK_TCK)
REDIRECT=http://127.0.0.1:9999/cb
for tool in wrk curl python3 taskset node; do
  command -v "$tool" >/dev/null || { echo "missing $tool" >&2; exit 1; }
done
[ "$SKIP_PEER" = 1 ] || [ -d "$PEER_DIR/node_modules/oidc-provider" ] || { echo "no peer in $PEER_DIR (npm install)" >&2; exit 1; }

# cpu_ticks, status_kib, load1, json_field, basic_of, PIDS and its cleanup, start_verity,
# stop, exchange_row, urlencoded, set_up_verity_store (shared with exchange_ab.sh).
. "$HERE/lib.sh"

start_peer() { # start_peer JWT_ALG -> pid (pinned to CPU 0)
  (cd "$PEER_DIR" && PORT=3001 HOST=127.0.0.1 JWT_ALG=$1 exec taskset -c 0 node server.mjs) >"$OUT_DIR/peer.log" 2>&1 &
  local pid=$!
  for _ in $(seq 100); do curl -fs http://127.0.0.1:3001/.well-known/openid-configuration >/dev/null && break; sleep 0.1; done
  echo "$pid"
}

row() { # row WHO LABEL PID URL METHOD BODY BASIC [SCRIPT BEARER]
  local who=$1 label=$2 pid=$3 url=$4 script=${8:-$PEER_DIR/wrk-report.lua} c0 c1 line req
  WRK_METHOD=$5 WRK_BODY=$6 WRK_BASIC=$7 WRK_BEARER=${9:-} taskset -c 1 wrk -t1 -c32 -d"${WARMUP}s" -s "$script" "$url" >/dev/null
  c0=$(cpu_ticks "$pid")
  line=$(WRK_METHOD=$5 WRK_BODY=$6 WRK_BASIC=$7 WRK_BEARER=${9:-} taskset -c 1 wrk -t1 -c32 -d"${DURATION}s" --timeout 10s \
    -s "$script" "$url" | grep WRKRESULT)
  c1=$(cpu_ticks "$pid")
  req=$(echo "$line" | grep -o 'requests=[0-9]*' | cut -d= -f2)
  echo "$who|$label|$line cpu_us_per_req=$(python3 -c "print(round(($c1-$c0)/$TICK*1e6/max($req,1),1))") rss_kib=$(status_kib "$pid" VmRSS) load=$(load1)" | tee -a "$RAW"
}

introspect_once_row() { # introspect_once_row LABEL PID PORT CLIENT_JSON TOKENS_FILE
  local line c0 c1 req basic
  basic=$(basic_of "$4")
  TOKENS_FILE=$5 WRK_BASIC=$basic taskset -c 1 wrk -t1 -c32 -d"${WARMUP}s" -s "$HERE/introspect.lua" \
    "http://127.0.0.1:$3" >/dev/null
  c0=$(cpu_ticks "$2")
  line=$(TOKENS_FILE=$5 WRK_BASIC=$basic taskset -c 1 wrk -t1 -c32 -d"${DURATION}s" --timeout 10s \
    -s "$HERE/introspect.lua" "http://127.0.0.1:$3" | grep WRKRESULT)
  c1=$(cpu_ticks "$2")
  req=$(echo "$line" | grep -o 'requests=[0-9]*' | cut -d= -f2)
  echo "verity|$1|$line cpu_us_per_req=$(python3 -c "print(round(($c1-$c0)/$TICK*1e6/max($req,1),1))") load=$(load1)" | tee -a "$RAW"
}

# PKCE (S256) for the codes minted by person_token.
VERIFIER=bench-code-verifier-0123456789-0123456789-0123456789
CHALLENGE=$(printf '%s' "$VERIFIER" | openssl dgst -sha256 -binary | base64 -w0 | tr '+/' '-_' | tr -d '=')
person_token() { # person_token PORT CLIENT_JSON -> a fresh access token of the signed-in person
  local id location code
  id=$(json_field "$2" client_id)
  location=$(curl -s -o /dev/null -w '%{redirect_url}' -H "Cookie: $(cat "$OUT_DIR/cookie.txt")" \
    "http://127.0.0.1:$1/authorize?response_type=code&scope=openid&state=s&nonce=n&client_id=$id&redirect_uri=$(urlencoded $REDIRECT)&code_challenge=$CHALLENGE&code_challenge_method=S256")
  code=${location#*code=}; code=${code%%&*}
  curl -fs -H "Authorization: Basic $(basic_of "$2")" \
    --data "grant_type=authorization_code&code=$code&redirect_uri=$(urlencoded $REDIRECT)&code_verifier=$VERIFIER" \
    "http://127.0.0.1:$1/token" | python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])'
}
introspect_active() { # introspect_active URL BASIC BODY -> True when the token introspects as active
  curl -s -H "Authorization: Basic $2" --data "$3" "$1" | python3 -c 'import json,sys; print(json.load(sys.stdin).get("active"))'
}

# Set-up: a fresh store, a client_credentials client, two code-flow clients (RS256 and
# ES256 ID tokens), a person signed in once through the sign-in journey.
set_up_verity_store
RS=$(start_verity RS256 8080); PIDS+=("$RS")
ES=$(start_verity ES256 8081); PIDS+=("$ES")
ED=$(start_verity EdDSA 8082); PIDS+=("$ED")
sleep 3
echo "verity_idle|rss_kib=$(status_kib "$RS" VmRSS) threads=$(status_kib "$RS" Threads)" | tee -a "$RAW"

BASIC=$(basic_of "$OUT_DIR/cc.json")
BODY="grant_type=client_credentials&scope=api"
PEER_BASIC=$(printf '%s' 'bench-cc:bench-cc-secret-0123456789abcdef' | base64 -w0)
PEER_JWT_BODY="grant_type=client_credentials&scope=api%3Aread&resource=urn%3Abench%3Aapi"
PEER_OPAQUE_BODY="grant_type=client_credentials&scope=api%3Aread"
PEER_WEB_BASIC=$(printf '%s' 'bench-web:bench-web-secret-0123456789abcdef' | base64 -w0)

for round in $(seq "$ROUNDS"); do
  echo "# round $round $(date +%T) load $(cat /proc/loadavg)" | tee -a "$RAW"
  if [ "$SKIP_PEER" != 1 ]; then
  P=$(start_peer RS256); sleep 2
  echo "peer_idle|rss_kib=$(status_kib "$P" VmRSS)" | tee -a "$RAW"
  row peer "GET discovery" "$P" http://127.0.0.1:3001/.well-known/openid-configuration GET "" ""
  row peer "GET jwks" "$P" http://127.0.0.1:3001/jwks GET "" ""
  row peer "POST token cc RS256 JWT" "$P" http://127.0.0.1:3001/token POST "$PEER_JWT_BODY" "$PEER_BASIC"
  row peer "POST token cc opaque" "$P" http://127.0.0.1:3001/token POST "$PEER_OPAQUE_BODY" "$PEER_BASIC"
  # Introspection of one of its opaque tokens (it refuses to introspect its JWT access
  # tokens), as its bench.sh does with INTROSPECT=1.
  TOKEN=$(curl -fs -H "Authorization: Basic $PEER_BASIC" --data "$PEER_OPAQUE_BODY" http://127.0.0.1:3001/token |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])')
  BODY_INTROSPECT="token=$(urlencoded "$TOKEN")&token_type_hint=access_token"
  [ "$(introspect_active http://127.0.0.1:3001/token/introspection "$PEER_BASIC" "$BODY_INTROSPECT")" = True ] ||
    { echo "the peer's token does not introspect as active" >&2; exit 1; }
  row peer "POST introspection" "$P" http://127.0.0.1:3001/token/introspection POST "$BODY_INTROSPECT" "$PEER_BASIC"
  # A person's token (the code flow through its built-in login and consent), introspected
  # by the client it was issued to and presented at its userinfo endpoint (/me).
  TOKEN=$(python3 "$HERE/peer_token.py" http://127.0.0.1:3001)
  BODY_INTROSPECT="token=$(urlencoded "$TOKEN")&token_type_hint=access_token"
  [ "$(introspect_active http://127.0.0.1:3001/token/introspection "$PEER_WEB_BASIC" "$BODY_INTROSPECT")" = True ] ||
    { echo "the peer's person token does not introspect as active" >&2; exit 1; }
  row peer "POST introspection person" "$P" http://127.0.0.1:3001/token/introspection POST "$BODY_INTROSPECT" "$PEER_WEB_BASIC"
  row peer "GET userinfo person" "$P" http://127.0.0.1:3001/me GET "" "" "$HERE/bearer.lua" "$TOKEN"
  echo "peer_end|hwm_kib=$(status_kib "$P" VmHWM)" | tee -a "$RAW"
  stop "$P"
  P=$(start_peer ES256); sleep 2
  row peer "POST token cc ES256 JWT" "$P" http://127.0.0.1:3001/token POST "$PEER_JWT_BODY" "$PEER_BASIC"
  stop "$P"
  fi
  row verity "GET discovery" "$RS" http://127.0.0.1:8080/.well-known/openid-configuration GET "" ""
  row verity "GET jwks" "$RS" http://127.0.0.1:8080/jwks GET "" ""
  row verity "POST token cc RS256 JWT" "$RS" http://127.0.0.1:8080/token POST "$BODY" "$BASIC"
  row verity "POST token cc ES256 JWT" "$ES" http://127.0.0.1:8081/token POST "$BODY" "$BASIC"
  row verity "POST token cc EdDSA JWT" "$ED" http://127.0.0.1:8082/token POST "$BODY" "$BASIC"
  # A person's ES256 access token (sid, sub, grant: every revocation check applies),
  # introspected by the client it was issued to, and presented at userinfo.
  TOKEN=$(person_token 8081 "$OUT_DIR/web-ES256.json")
  WEB_BASIC=$(basic_of "$OUT_DIR/web-ES256.json")
  [ "$(introspect_active http://127.0.0.1:8081/introspect "$WEB_BASIC" "token=$TOKEN")" = True ] ||
    { echo "the person's token does not introspect as active" >&2; exit 1; }
  row verity "POST introspection ES256 JWT" "$ES" http://127.0.0.1:8081/introspect POST "token=$TOKEN" "$WEB_BASIC"
  row verity "GET userinfo ES256 JWT" "$ES" http://127.0.0.1:8081/userinfo GET "" "" "$HERE/bearer.lua" "$TOKEN"
  # The revocation check alone, in process (verity bench access): what it adds to the
  # token's own checks, against the userinfo row's CPU time per request.
  echo "access|$(taskset -c 0 "$VERITY" --data-dir "$OUT_DIR/access-$round" bench access --alg ES256 \
    --people "$ACCESS_PEOPLE" --seconds "$SECONDS_IN_PROCESS" 2>/dev/null | tail -1) load=$(load1)" | tee -a "$RAW"
  for alg in RS256 ES256 EdDSA; do
    echo "sign|$alg $(taskset -c 0 "$VERITY" --data-dir "$DATA" bench sign --alg $alg --seconds "$SECONDS_IN_PROCESS" 2>/dev/null | tail -1) load=$(load1)" | tee -a "$RAW"
  done
  exchange_row "POST token authorization_code RS256" "$RS" 8080 "$OUT_DIR/web-RS256.json"
  exchange_row "POST token authorization_code ES256" "$ES" 8081 "$OUT_DIR/web-ES256.json" "$OUT_DIR/tokens.txt"
  # The person's tokens the exchange just issued, each introspected by its client in turn:
  # more of them than the key ring remembers, so every request verifies a signature.
  introspect_once_row "POST introspection ES256 JWT seen once" "$ES" 8081 "$OUT_DIR/web-ES256.json" "$OUT_DIR/tokens.txt"
done
echo "verity_end|rss_kib=$(status_kib "$RS" VmRSS) hwm_kib=$(status_kib "$RS" VmHWM) es_hwm_kib=$(status_kib "$ES" VmHWM) ed_hwm_kib=$(status_kib "$ED" VmHWM) threads=$(status_kib "$RS" Threads)" | tee -a "$RAW"
echo "# done $(date +%T): python3 $HERE/summarise.py $RAW"
