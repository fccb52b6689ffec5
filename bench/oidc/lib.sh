# Shared by run.sh and exchange_ab.sh (sourced; they set HERE, OUT_DIR, RAW, TICK,
# REDIRECT, and VERITY and DATA for the Verity a function starts or sets up).

cpu_ticks() { awk '{print $14+$15}' "/proc/$1/stat"; }
status_kib() { awk -v k="$2:" '$1==k {print $2}' "/proc/$1/status"; }
load1() { cut -d' ' -f1 /proc/loadavg; }
json_field() { python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' "$1" "$2"; }
basic_of() { printf '%s:%s' "$(json_field "$1" client_id)" "$(json_field "$1" client_secret)" | base64 -w0; }

PIDS=()
cleanup() { for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done; wait 2>/dev/null || true; }
trap cleanup EXIT INT TERM

start_verity() { # start_verity ALG PORT -> pid (pinned to CPU 0)
  VERITY__OIDC__ACCESS_TOKEN_ALG=$1 VERITY__SERVER__BIND=127.0.0.1:$2 VERITY__LOG__LEVEL=warn \
    taskset -c 0 "$VERITY" --data-dir "$DATA" serve >"$OUT_DIR/verity-$2.log" 2>&1 &
  local pid=$!
  for _ in $(seq 100); do curl -fs "http://127.0.0.1:$2/readyz" >/dev/null && break; sleep 0.1; done
  echo "$pid"
}
stop() { kill "$1"; wait "$1" 2>/dev/null || true; }

exchange_row() { # exchange_row LABEL PID PORT CLIENT_JSON [TOKENS_FILE: keep the access tokens]
  local codes=$OUT_DIR/codes.txt line c0 c1 req
  rm -f "$codes"
  [ -z "${5:-}" ] || rm -f "$5"
  COOKIE=$(cat "$OUT_DIR/cookie.txt") CLIENT_ID=$(json_field "$4" client_id) REDIRECT_URI=$REDIRECT CODES_FILE=$codes \
    taskset -c 1 wrk -t1 -c32 -d4s -s "$HERE/mint.lua" "http://127.0.0.1:$3" | grep MINTED >>"$OUT_DIR/mint.txt"
  c0=$(cpu_ticks "$2")
  line=$(CODES_FILE=$codes TOKENS_FILE=${5:-} WRK_BASIC=$(basic_of "$4") REDIRECT_URI=$REDIRECT \
    taskset -c 1 wrk -t1 -c32 -d5s --timeout 10s -s "$HERE/exchange.lua" "http://127.0.0.1:$3" | grep WRKRESULT)
  c1=$(cpu_ticks "$2")
  req=$(echo "$line" | grep -o 'requests=[0-9]*' | cut -d= -f2)
  echo "verity|$1|$line cpu_us_per_req=$(python3 -c "print(round(($c1-$c0)/$TICK*1e6/max($req,1),1))") load=$(load1)" | tee -a "$RAW"
}

urlencoded() { python3 -c 'import sys,urllib.parse as u; print(u.quote(sys.argv[1], safe=""))' "$1"; }

set_up_verity_store() { # set_up_verity_store: in DATA, a client_credentials client (cc.json),
  # code-flow clients with RS256 and ES256 ID tokens (web-ALG.json) and a person
  # (user.json) in OUT_DIR, the person signed in once through the sign-in journey on a
  # server of its own (its Argon2id memory would otherwise stay in a measured server's
  # RSS) and the SSO cookie in OUT_DIR/cookie.txt.
  "$VERITY" --data-dir "$DATA" org list >/dev/null
  "$VERITY" --data-dir "$DATA" client create --name bench --grant client_credentials --scope api --json >"$OUT_DIR/cc.json"
  for alg in RS256 ES256; do
    "$VERITY" --data-dir "$DATA" client create --name "web $alg" --redirect-uri $REDIRECT --grant authorization_code \
      --scope openid --id-token-alg $alg --json >"$OUT_DIR/web-$alg.json"
  done
  "$VERITY" --data-dir "$DATA" user create --org Default --email bench@example.test --name Bench --json --show-password >"$OUT_DIR/user.json"
  local signin
  signin=$(start_verity RS256 8083); PIDS+=("$signin")
  (cd "$OUT_DIR" && python3 "$HERE/signin.py" http://127.0.0.1:8083 "$(json_field "$OUT_DIR/web-RS256.json" client_id)" $REDIRECT \
    bench@example.test "$(json_field "$OUT_DIR/user.json" temporary_password)") >"$OUT_DIR/cookie.txt"
  stop "$signin"
}
