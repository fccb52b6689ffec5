#!/usr/bin/env bash
# Complete sign-ins per second (the authorization request, the password form, the code
# form, the redirect with a code: form posts, no browser) against the Argon2id verify rate
# of the same core, measured in the same run; and the server's memory under a flood.
# docs/performance.md, "Sign-in", explains the figures.
#
#   cargo build --release -p verity -p verity-bench
#   bench/signin/run.sh          # ROUNDS=3 DURATION=20 CONCURRENCY=8 FLOOD=64 by default
#
# The server is pinned to CPU 0, so it hashes one password at a time (its cap on
# concurrent hashes is the cores it may use); `verity-bench signin` (the browsers and
# the authenticator app, crates/verity-bench) runs on CPU 1. Each round runs CONCURRENCY
# browsers for DURATION s after a 3 s warm-up, then FLOOD browsers the same way, with
# `verity bench argon2` on CPU 0 (server idle) before, between and after, recording the
# server's CPU time per sign-in and its peak and settled resident memory; the last lines
# are the ratios. Each person signs in once (a code works once), so the run seeds enough
# people first.
#
# Every browser comes from 127.0.0.1, so the server lets one address hold 10,000 pending
# sign-ins (`[sign_in] max_pending_logins_per_address`, 100 by default: a flood's 101st
# pending sign-in would drop the oldest, whose next step says it expired) and count a
# million failures (`ip_max_failures`, 100: the checks in flight count until they end, so
# more than 100 at once from one address lock it).
#
# Parameters (env): VERITY (target/release/verity), VERITY_BENCH
# (target/release/verity-bench), ROUNDS (3), DURATION (20), CONCURRENCY (8), FLOOD (64),
# PEOPLE (enough for ~120 sign-ins/s), OUT_DIR (a fresh /tmp/verity-signin-bench.XXXXXX),
# SERVER_ENV (extra VAR=value for the server, e.g.
# GLIBC_TUNABLES=glibc.malloc.mmap_threshold=131072).
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
VERITY=$(realpath "${VERITY:-$HERE/../../target/release/verity}")
VERITY_BENCH=$(realpath "${VERITY_BENCH:-$HERE/../../target/release/verity-bench}")
ROUNDS=${ROUNDS:-3}
DURATION=${DURATION:-20}
CONCURRENCY=${CONCURRENCY:-8}
FLOOD=${FLOOD:-64}
PEOPLE=${PEOPLE:-$(( ROUNDS * 2 * (DURATION + 6) * 120 ))}
OUT_DIR=${OUT_DIR:-$(mktemp -d /tmp/verity-signin-bench.XXXXXX)}
SERVER_ENV=${SERVER_ENV:-}
mkdir -p "$OUT_DIR"
DATA=$OUT_DIR/data
RAW=$OUT_DIR/raw.txt
PORT=${PORT:-8093}
ISSUER=http://127.0.0.1:$PORT
REDIRECT=http://127.0.0.1:9999/cb
TICK=$(getconf CLK_TCK)
for tool in curl python3 taskset; do
  command -v "$tool" >/dev/null || { echo "missing $tool" >&2; exit 1; }
done
for binary in "$VERITY" "$VERITY_BENCH"; do
  [ -x "$binary" ] || { echo "missing $binary (cargo build --release -p verity -p verity-bench)" >&2; exit 1; }
done

cpu_ticks() { awk '{print $14+$15}' "/proc/$1/stat"; }
status_kib() { awk -v k="$2:" '$1==k {print $2}' "/proc/$1/status"; }
json_field() { python3 -c 'import json,sys; print(json.loads(sys.stdin.readline())[sys.argv[1]])' "$1"; }

SERVER=
cleanup() { [ -n "$SERVER" ] && kill "$SERVER" 2>/dev/null; wait 2>/dev/null || true; }
trap cleanup EXIT INT TERM

"$VERITY" --data-dir "$DATA" org create Bench >/dev/null
CLIENT=$("$VERITY" --data-dir "$DATA" client create --name "bench web" --redirect-uri $REDIRECT \
  --grant authorization_code --json | json_field client_id)
echo "seeding $PEOPLE people..." >&2
"$VERITY" --data-dir "$DATA" bench people --org Bench --users "$PEOPLE" --out "$OUT_DIR/people.jsonl" | tee -a "$RAW"

# One file of people per sign-in run, so no person signs in twice.
python3 - "$OUT_DIR/people.jsonl" "$(( ROUNDS * 2 ))" <<'PY'
import sys
path, parts = sys.argv[1], int(sys.argv[2])
lines = open(path).read().splitlines()
size = len(lines) // parts
for part in range(parts):
    open(f"{path}.{part}", "w").write("\n".join(lines[part * size:(part + 1) * size]) + "\n")
PY

# shellcheck disable=SC2086
env $SERVER_ENV VERITY__SIGN_IN__MAX_PENDING_LOGINS_PER_ADDRESS=10000 VERITY__SIGN_IN__IP_MAX_FAILURES=1000000 VERITY__SERVER__BIND=127.0.0.1:$PORT VERITY__LOG__LEVEL=warn \
  taskset -c 0 "$VERITY" --data-dir "$DATA" serve >"$OUT_DIR/verity.log" 2>&1 &
SERVER=$!
for _ in $(seq 100); do curl -fs "$ISSUER/readyz" >/dev/null && break; sleep 0.1; done
echo "server idle: rss_kib=$(status_kib $SERVER VmRSS)" | tee -a "$RAW"

signins() { # signins ROUND PART BROWSERS
  local c0 c1 line count
  c0=$(cpu_ticks $SERVER)
  line=$(taskset -c 1 "$VERITY_BENCH" signin --issuer "$ISSUER" --client-id "$CLIENT" \
    --redirect-uri $REDIRECT --people "$OUT_DIR/people.jsonl.$2" --concurrency "$3" --warmup 3 --seconds "$DURATION")
  c1=$(cpu_ticks $SERVER)
  count=$(echo "$line" | json_field sign_ins_with_warmup)
  echo "round=$1 $line server_cpu_ms_per_signin=$(python3 -c "print(round(($c1-$c0)/$TICK*1e3/max($count,1),2))") rss_kib=$(status_kib $SERVER VmRSS) hwm_kib=$(status_kib $SERVER VmHWM)" | tee -a "$RAW"
}

argon2() { # argon2 ROUND
  local line
  line=$(/usr/bin/time -f "%U %S" -o "$OUT_DIR/argon2.time" taskset -c 0 "$VERITY" bench argon2 --threads 1 --seconds 10)
  echo "round=$1 $line cpu_ms_per_verification=$(python3 -c "import sys; u, s = open(sys.argv[1]).read().split()[-2:]; print(round((float(u) + float(s)) * 1e3 / $(echo "$line" | json_field verifications), 2))" "$OUT_DIR/argon2.time")" | tee -a "$RAW"
}

# Argon2id is measured right before and right after each sign-in run (the server idle),
# and each run is compared with the mean of the two: the core's hashing rate drifts by a
# few percent from minute to minute on a shared machine.
for round in $(seq "$ROUNDS"); do
  argon2 "$round"
  signins "$round" $(( (round - 1) * 2 )) "$CONCURRENCY"
  argon2 "$round"
  signins "$round" $(( (round - 1) * 2 + 1 )) "$FLOOD"
  argon2 "$round"
  sleep 2
  echo "round=$round settled rss_kib=$(status_kib $SERVER VmRSS)" | tee -a "$RAW"
done

# The ratios: sign-ins per second over the Argon2id verifications per second of the same
# core (wall), and the CPU time of one verification over the server's CPU time per
# sign-in (CPU), each against the mean of the measurements around the run.
python3 - "$RAW" <<'PY' | tee -a "$RAW"
import json, re, statistics, sys
rows = []
for line in open(sys.argv[1]):
    match = re.match(r"round=(\d+) (\{.*\})(.*)", line)
    if match:
        fields = dict(re.findall(r"(\w+)=([\d.]+)", match.group(3)))
        rows.append((int(match.group(1)), json.loads(match.group(2)), fields))
ratios = {}
for index, (round_, run, fields) in enumerate(rows):
    if run["bench"] != "signin":
        continue
    around = [rows[index - 1], rows[index + 1]]
    rate = statistics.mean(r[1]["verifications_per_second"] for r in around)
    cpu = statistics.mean(float(r[2]["cpu_ms_per_verification"]) for r in around)
    wall = 100 * run["sign_ins_per_second"] / rate
    cpu_ratio = 100 * cpu / float(fields["server_cpu_ms_per_signin"])
    over = float(fields["server_cpu_ms_per_signin"]) - cpu
    ratios.setdefault(run["concurrency"], []).append((wall, cpu_ratio))
    print(f"ratio round={round_} browsers={run['concurrency']} sign_ins_per_second={run['sign_ins_per_second']} "
          f"argon2_per_second={rate:.1f} wall={wall:.1f}% cpu={cpu_ratio:.1f}% cpu_ms_beside_hashing={over:.2f}")
for browsers, values in ratios.items():
    print(f"median browsers={browsers} wall={statistics.median(v[0] for v in values):.1f}% "
          f"cpu={statistics.median(v[1] for v in values):.1f}% lowest_wall={min(v[0] for v in values):.1f}% "
          f"lowest_cpu={min(v[1] for v in values):.1f}%")
PY
echo "raw figures: $RAW" >&2
