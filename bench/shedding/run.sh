#!/usr/bin/env bash
# client_credentials throughput while sign-ins flood the password hashing, against its
# idle figure, in one run (docs/performance.md, "Load-shedding").
#
#   cargo build --release -p verity -p verity-bench
#   bench/shedding/run.sh          # ROUNDS=3 DURATION=10 FLOOD=128 by default
#
# The server is pinned to CPU 0 (its request threads and its hashing threads share that
# core); wrk (1 thread, 32 connections) and `verity-bench signin` run on CPU 1. Each round
# measures client_credentials (RS256) idle, then again while FLOOD browsers sign in
# (started 5 s before, still running after), and prints the ratio, the sign-ins answered
# and shed during the flood, and the server's hashes in flight and shed from /metrics.
#
# Every browser comes from 127.0.0.1, so the server lets one address hold 10,000 pending
# sign-ins (`[sign_in] max_pending_logins_per_address`, 100 by default: a flood's 101st
# pending sign-in would drop the oldest, whose next step says it expired) and count a
# million failures (`ip_max_failures`, 100: the checks in flight count until they end, so
# more than 100 at once from one address lock it).
#
# Parameters (env): VERITY, VERITY_BENCH (target/release/...), ROUNDS (3), DURATION (10),
# FLOOD (128), OUT_DIR (a fresh /tmp/verity-shedding-bench.XXXXXX), SERVER_ENV (extra
# VAR=value for the server, e.g. VERITY__SIGN_IN__HASH_QUEUE_LIMIT=16).
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
VERITY=$(realpath "${VERITY:-$HERE/../../target/release/verity}")
VERITY_BENCH=$(realpath "${VERITY_BENCH:-$HERE/../../target/release/verity-bench}")
PEER_DIR=${PEER_DIR:-/tmp/peer}
ROUNDS=${ROUNDS:-3}
DURATION=${DURATION:-10}
FLOOD=${FLOOD:-128}
OUT_DIR=${OUT_DIR:-$(mktemp -d /tmp/verity-shedding-bench.XXXXXX)}
SERVER_ENV=${SERVER_ENV:-}
mkdir -p "$OUT_DIR"
DATA=$OUT_DIR/data
RAW=$OUT_DIR/raw.txt
PORT=${PORT:-8095}
ISSUER=http://127.0.0.1:$PORT
REDIRECT=http://127.0.0.1:9999/cb
for tool in wrk curl python3 taskset; do
  command -v "$tool" >/dev/null || { echo "missing $tool" >&2; exit 1; }
done
[ -f "$PEER_DIR/wrk-report.lua" ] || { echo "no $PEER_DIR/wrk-report.lua (see bench/oidc/run.sh)" >&2; exit 1; }
json_field() { python3 -c 'import json,sys; print(json.loads(sys.stdin.readline())[sys.argv[1]])' "$1"; }

SERVER=
cleanup() { [ -n "$SERVER" ] && kill "$SERVER" 2>/dev/null; wait 2>/dev/null || true; }
trap cleanup EXIT INT TERM

"$VERITY" --data-dir "$DATA" org create Bench >/dev/null
CC=$("$VERITY" --data-dir "$DATA" client create --name bench-cc --grant client_credentials --json)
BASIC=$(printf '%s:%s' "$(echo "$CC" | json_field client_id)" "$(echo "$CC" | json_field client_secret)" | base64 -w0)
WEB=$("$VERITY" --data-dir "$DATA" client create --name "bench web" --redirect-uri $REDIRECT \
  --grant authorization_code --json | json_field client_id)
PEOPLE=$(( ROUNDS * (DURATION + 10) * 200 ))
echo "seeding $PEOPLE people..." >&2
"$VERITY" --data-dir "$DATA" bench people --org Bench --users "$PEOPLE" --out "$OUT_DIR/people.jsonl" >/dev/null
split -n "l/$ROUNDS" -d "$OUT_DIR/people.jsonl" "$OUT_DIR/people.part."

# shellcheck disable=SC2086
env $SERVER_ENV VERITY__SIGN_IN__MAX_PENDING_LOGINS_PER_ADDRESS=10000 VERITY__SIGN_IN__IP_MAX_FAILURES=1000000 VERITY__SERVER__BIND=127.0.0.1:$PORT VERITY__LOG__LEVEL=warn \
  taskset -c 0 "$VERITY" --data-dir "$DATA" serve >"$OUT_DIR/verity.log" 2>&1 &
SERVER=$!
for _ in $(seq 100); do curl -fs "$ISSUER/readyz" >/dev/null && break; sleep 0.1; done

cc() { # cc -> requests per second
  WRK_METHOD=POST WRK_BODY="grant_type=client_credentials" WRK_BASIC=$BASIC \
    taskset -c 1 wrk -t1 -c32 -d"${DURATION}s" --timeout 10s -s "$PEER_DIR/wrk-report.lua" "$ISSUER/token" \
    | grep WRKRESULT | grep -o 'rps=[0-9.]*' | cut -d= -f2
}
metric() { curl -fs "$ISSUER/metrics" | awk -v m="$1" '$1==m {print $2}'; }

WRK_METHOD=POST WRK_BODY="grant_type=client_credentials" WRK_BASIC=$BASIC \
  taskset -c 1 wrk -t1 -c32 -d3s -s "$PEER_DIR/wrk-report.lua" "$ISSUER/token" >/dev/null
for round in $(seq "$ROUNDS"); do
  part=$(printf '%s/people.part.%02d' "$OUT_DIR" $(( round - 1 )))
  idle=$(cc)
  taskset -c 1 "$VERITY_BENCH" signin --issuer "$ISSUER" --client-id "$WEB" --redirect-uri $REDIRECT \
    --people "$part" --concurrency "$FLOOD" --warmup 0 --seconds $(( DURATION + 10 )) >"$OUT_DIR/flood-$round.json" &
  FLOODER=$!
  sleep 5
  in_flight=$(metric verity_password_hashes_in_flight)
  flooded=$(cc)
  wait $FLOODER
  echo "round=$round cc_idle_rps=$idle cc_flood_rps=$flooded ratio=$(python3 -c "print(round(100*$flooded/$idle,1))")% hashes_in_flight_during=$in_flight shed_total=$(metric verity_password_hashes_shed_total) flood=$(cat "$OUT_DIR/flood-$round.json")" | tee -a "$RAW"
done
echo "raw figures: $RAW" >&2
