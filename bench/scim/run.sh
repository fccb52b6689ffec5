#!/usr/bin/env bash
# SCIM provisioning (docs/scim.md, docs/performance.md "SCIM"): people created per second
# over SCIM against the Argon2id rate of the same core (each creation hashes a temporary
# password: the target is >= 85% of that rate), and the p95 of `userName eq` lookups in an
# organization of 100,000 people (the target is <= 10 ms).
#
#   cargo build --release -p verity -p verity-bench
#   bench/scim/run.sh            # ROUNDS=3 DURATION=20 CONCURRENCY=8 USERS=100000 by default
#
# The server is pinned to CPU 0, so it hashes one password at a time; `verity-bench`
# (the identity system) runs on CPU 1. `verity bench seed --orgs 1` first puts USERS
# people into one organization, whose SCIM token then creates people (the
# temporary-password email goes to the outbox: no SMTP server is set) and looks the
# seeded people up. Each round: `verity bench argon2` on CPU 0 with the server idle, the
# creations for DURATION s after a 3 s warm-up, Argon2id again, then the lookups; the last
# lines compare each creation run with the mean of the Argon2id rates around it.
#
# Parameters (env): VERITY (target/release/verity), VERITY_BENCH
# (target/release/verity-bench), ROUNDS (3), DURATION (20), CONCURRENCY (8), USERS
# (100000), EVENTS_PER_USER (10), OUT_DIR (a fresh /tmp/verity-scim-bench.XXXXXX), PORT
# (8094).
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
VERITY=$(realpath "${VERITY:-$HERE/../../target/release/verity}")
VERITY_BENCH=$(realpath "${VERITY_BENCH:-$HERE/../../target/release/verity-bench}")
ROUNDS=${ROUNDS:-3}
DURATION=${DURATION:-20}
CONCURRENCY=${CONCURRENCY:-8}
USERS=${USERS:-100000}
EVENTS_PER_USER=${EVENTS_PER_USER:-10}
OUT_DIR=${OUT_DIR:-$(mktemp -d /tmp/verity-scim-bench.XXXXXX)}
mkdir -p "$OUT_DIR"
DATA=$OUT_DIR/data
RAW=$OUT_DIR/raw.txt
PORT=${PORT:-8094}
ISSUER=http://127.0.0.1:$PORT
for tool in curl python3 taskset; do
  command -v "$tool" >/dev/null || { echo "missing $tool" >&2; exit 1; }
done
for binary in "$VERITY" "$VERITY_BENCH"; do
  [ -x "$binary" ] || { echo "missing $binary (cargo build --release -p verity -p verity-bench)" >&2; exit 1; }
done

json_field() { python3 -c 'import json,sys; print(json.loads(sys.stdin.readline())[sys.argv[1]])' "$1"; }

SERVER=
cleanup() { [ -n "$SERVER" ] && kill "$SERVER" 2>/dev/null; wait 2>/dev/null || true; }
trap cleanup EXIT INT TERM

echo "seeding $USERS people into one organization..." >&2
"$VERITY" --data-dir "$DATA" bench seed --users "$USERS" --events-per-user "$EVENTS_PER_USER" --orgs 1 | tee -a "$RAW"
ORG=$("$VERITY" --data-dir "$DATA" org list | awk '$2 == "Bench" && $3 == "0" {print $1; exit}')
[ -n "$ORG" ] || { echo "the seeded organization is missing" >&2; exit 1; }
TOKEN=$("$VERITY" --data-dir "$DATA" scim token create --org "$ORG" --label bench --json | json_field token)

VERITY__SERVER__BIND=127.0.0.1:$PORT VERITY__LOG__LEVEL=warn \
  taskset -c 0 "$VERITY" --data-dir "$DATA" serve >"$OUT_DIR/verity.log" 2>&1 &
SERVER=$!
for _ in $(seq 600); do curl -fs "$ISSUER/readyz" >/dev/null && break; sleep 0.1; done
curl -fs "$ISSUER/readyz" >/dev/null || { echo "the server did not become ready" >&2; exit 1; }

argon2() { # argon2 ROUND
  echo "round=$1 $(taskset -c 0 "$VERITY" bench argon2 --threads 1 --seconds 10)" | tee -a "$RAW"
}

for round in $(seq "$ROUNDS"); do
  argon2 "$round"
  echo "round=$round $(taskset -c 1 "$VERITY_BENCH" scim-create --url "$ISSUER/scim/v2" --token "$TOKEN" \
    --concurrency "$CONCURRENCY" --warmup 3 --seconds "$DURATION")" | tee -a "$RAW"
  argon2 "$round"
  echo "round=$round $(taskset -c 1 "$VERITY_BENCH" scim-lookup --url "$ISSUER/scim/v2" --token "$TOKEN" \
    --users "$USERS" --concurrency 1 --warmup 3 --seconds "$DURATION")" | tee -a "$RAW"
  sleep 2
done

python3 - "$RAW" <<'PY' | tee -a "$RAW"
import json, re, statistics, sys
rows = []
for line in open(sys.argv[1]):
    match = re.match(r"round=(\d+) (\{.*\})", line)
    if match:
        rows.append((int(match.group(1)), json.loads(match.group(2))))
ratios, p95s = [], []
for index, (round_, run) in enumerate(rows):
    if run["bench"] == "scim-create":
        around = [rows[index - 1][1], rows[index + 1][1]]
        rate = statistics.mean(r["verifications_per_second"] for r in around)
        ratio = 100 * run["people_per_second"] / rate
        ratios.append(ratio)
        print(f"ratio round={round_} people_per_second={run['people_per_second']} "
              f"argon2_per_second={rate:.1f} ratio={ratio:.1f}% p95_ms={run['p95_ms']:.1f}")
    elif run["bench"] == "scim-lookup":
        p95s.append(run["p95_ms"])
        print(f"lookup round={round_} users={run['users']} lookups_per_second={run['lookups_per_second']} "
              f"p50_ms={run['p50_ms']:.2f} p95_ms={run['p95_ms']:.2f} p99_ms={run['p99_ms']:.2f}")
print(f"median create ratio={statistics.median(ratios):.1f}% (target >= 85%) lowest={min(ratios):.1f}%")
print(f"median lookup p95_ms={statistics.median(p95s):.2f} (target <= 10) highest={max(p95s):.2f}")
PY
echo "raw figures: $RAW" >&2
