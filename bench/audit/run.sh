#!/usr/bin/env bash
# The auditors' figures (docs/performance.md, "Audit", "Per-person encryption"), on
# SQLite, in one run on a quiet machine:
#
#   cargo build --release -p verity
#   bench/audit/run.sh        # USERS=100000 EVENTS_PER_USER=10 (1,000,003 events) by default
#
# 1. a log of USERS x EVENTS_PER_USER events, sealed as the server writes it; a person's
#    history and their account at an instant (`bench audit`, target p95 <= 50 / 100 ms);
# 2. `audit verify` of that log with the pinned key, 3 times (target >= 300,000 events/s);
# 3. appends with and without the automatic checkpointer, alternated, 5 runs each
#    (target: checkpoints cost <= 2 %), and once with checkpoints ten times as often;
# 4. appends of personal events in clear and sealed, alternated, 5 runs each, and the
#    replay of the same log seeded in clear and sealed, 3 runs each (target: sealing costs
#    <= 10 % of each).
#
# Every figure goes to OUT_DIR/raw.txt (one JSON line each, prefixed by what it is); the
# last lines are the medians against the targets.
#
# Parameters (env): VERITY (target/release/verity), USERS (100000), EVENTS_PER_USER (10),
# APPEND_SECONDS (10), OUT_DIR (a fresh /tmp/verity-audit-bench.XXXXXX).
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
VERITY=$(realpath "${VERITY:-$HERE/../../target/release/verity}")
USERS=${USERS:-100000}
EVENTS_PER_USER=${EVENTS_PER_USER:-10}
APPEND_SECONDS=${APPEND_SECONDS:-10}
OUT_DIR=${OUT_DIR:-$(mktemp -d /tmp/verity-audit-bench.XXXXXX)}
mkdir -p "$OUT_DIR"
RAW=$OUT_DIR/raw.txt
[ -x "$VERITY" ] || { echo "missing $VERITY (cargo build --release -p verity)" >&2; exit 1; }
command -v python3 >/dev/null || { echo "missing python3" >&2; exit 1; }
export VERITY__LOG__LEVEL=warn

record() { # record LABEL COMMAND...: runs it, keeps its last JSON line under LABEL
  local label=$1
  shift
  local line
  line=$("$@" 2>>"$OUT_DIR/stderr.txt" | grep '^{' | tail -n 1)
  echo "$label $line" | tee -a "$RAW"
}

# 1. The log, and the auditor's questions on it.
SEALED=$OUT_DIR/sealed
echo "seeding $USERS people x $EVENTS_PER_USER events (sealed)..." >&2
record seed-sealed "$VERITY" --json --data-dir "$SEALED" bench seed --users "$USERS" \
  --events-per-user "$EVENTS_PER_USER" --sealed
record audit-questions "$VERITY" --json --data-dir "$SEALED" bench audit --samples 200

# 2. Full verification with the pinned key.
"$VERITY" --data-dir "$SEALED" audit key >"$OUT_DIR/audit-key.jwk" 2>>"$OUT_DIR/stderr.txt"
"$VERITY" --data-dir "$SEALED" audit checkpoint >/dev/null 2>>"$OUT_DIR/stderr.txt"
for run in 1 2 3; do
  record "verify run=$run" "$VERITY" --json --data-dir "$SEALED" audit verify \
    --public-key "$OUT_DIR/audit-key.jwk" --checkpoints "$OUT_DIR/sealed-audit/checkpoints.jsonl"
done

# 3. Automatic checkpoints.
CKPT=$OUT_DIR/append-checkpoints
for run in 1 2 3 4 5; do
  record "append-plain run=$run" "$VERITY" --json --data-dir "$CKPT" bench append \
    --writers 64 --seconds "$APPEND_SECONDS"
  record "append-checkpoints run=$run" "$VERITY" --json --data-dir "$CKPT" bench append \
    --writers 64 --seconds "$APPEND_SECONDS" --checkpoint-every 10000
done
record "append-checkpoints-1000 run=1" "$VERITY" --json --data-dir "$CKPT" bench append \
  --writers 64 --seconds "$APPEND_SECONDS" --checkpoint-every 1000

# 4. Sealing: appends, then replay.
for run in 1 2 3 4 5; do
  record "append-personal-clear run=$run" "$VERITY" --json --data-dir "$OUT_DIR/personal-clear" \
    bench append --personal --writers 64 --seconds 4
  record "append-personal-sealed run=$run" "$VERITY" --json --data-dir "$OUT_DIR/personal-sealed" \
    bench append --personal --sealed --writers 64 --seconds 4
done
CLEAR=$OUT_DIR/clear
echo "seeding the same log in clear..." >&2
record seed-clear "$VERITY" --json --data-dir "$CLEAR" bench seed --users "$USERS" \
  --events-per-user "$EVENTS_PER_USER"
drop_snapshots() { python3 - "$1/verity.db" <<'PY'
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
db.execute("DELETE FROM snapshots")
db.commit()
PY
}
for run in 1 2 3; do
  drop_snapshots "$CLEAR"
  record "replay-clear run=$run" "$VERITY" --json --data-dir "$CLEAR" bench startup
  drop_snapshots "$SEALED"
  record "replay-sealed run=$run" "$VERITY" --json --data-dir "$SEALED" bench startup --sealed
done

python3 - "$RAW" <<'PY' | tee -a "$RAW"
import json, statistics, sys
runs = {}
for line in open(sys.argv[1]):
    label, _, rest = line.partition(" {")
    if not rest:
        continue
    name = label.split(" run=")[0]
    runs.setdefault(name, []).append(json.loads("{" + rest))

def median(name, field):
    values = []
    for run in runs.get(name, []):
        if field in run:
            values.append(float(run[field]))
        elif field == "events_per_second" and run.get("seconds"):
            values.append(run["events"] / run["seconds"])  # `bench startup` gives both
    return statistics.median(values) if values else float("nan")

questions = runs.get("audit-questions", [{}])[0]
print(f"questions {json.dumps(questions)}")
print(f"median verify events_per_second={median('verify', 'events_per_second'):.0f} (target >= 300000)")
plain = median("append-plain", "events_per_second")
ckpt = median("append-checkpoints", "events_per_second")
print(f"median append events_per_second plain={plain:.0f} with_checkpoints={ckpt:.0f} "
      f"cost={100 * (1 - ckpt / plain):.1f}% (target <= 2%) "
      f"every_1000={median('append-checkpoints-1000', 'events_per_second'):.0f}")
clear = median("append-personal-clear", "events_per_second")
sealed = median("append-personal-sealed", "events_per_second")
print(f"median personal appends clear={clear:.0f} sealed={sealed:.0f} cost={100 * (1 - sealed / clear):.1f}% (target <= 10%)")
rc = median("replay-clear", "events_per_second")
rs = median("replay-sealed", "events_per_second")
print(f"median replay events_per_second clear={rc:.0f} sealed={rs:.0f} cost={100 * (1 - rs / rc):.1f}% (target <= 10%)")
PY
echo "raw figures: $RAW"
