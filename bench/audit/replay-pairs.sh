#!/usr/bin/env bash
# The cost of per-person encryption on replay, in pairs of runs (docs/performance.md,
# "Per-person encryption"): ROUNDS times, a replay from position 0 of the clear log and
# one of the sealed log, their order alternated each round, each database file read once
# before its run (so both start from the page cache) and its snapshots dropped. Prints
# each pair and the medians; on a noisy machine the median of the pairs' ratios is the
# figure to read, with its bootstrap 95 % interval and the same as a cost in speed.
#
#   VERITY=target/release/verity CLEAR=/tmp/seed-plain SEALED=/tmp/seed-sealed \
#     ROUNDS=20 bench/audit/replay-pairs.sh
#
# CLEAR and SEALED hold the same people seeded with `bench seed --users 100000` and
# `bench seed --users 100000 --sealed` (add `--sign-ins` to both for a log of sign-ins).
# With CLEAR_URL and SEALED_URL (postgres://…) the logs are those databases, seeded with
# the same `--database-url`; CLEAR and SEALED then hold only their master and audit keys.
set -euo pipefail
VERITY=${VERITY:-target/release/verity}
: "${CLEAR:?the clear log's data directory}" "${SEALED:?the sealed log's data directory}"

run() { # data directory, database URL or nothing, then `--sealed` or nothing:
  # "<seconds> <CPU seconds>"
  local store=(--data-dir "$1")
  if [ -n "$2" ]; then
    psql -q "$2" -c "DELETE FROM snapshots" > /dev/null
    store+=(--database-url "$2")
  else
    python3 -c "import sqlite3, sys; c = sqlite3.connect(sys.argv[1]); c.execute('DELETE FROM snapshots'); c.commit()" "$1/verity.db"
    cat "$1/verity.db" > /dev/null
  fi
  /usr/bin/time -f "%U %S" "$VERITY" --json "${store[@]}" bench startup ${3:-} 2>&1 | python3 -c '
import json, sys
lines = [line for line in sys.stdin.read().split("\n") if line]
seconds = [json.loads(line) for line in lines if line.startswith("{")][0]["seconds"]
user, system = lines[-1].split()
print(round(seconds, 4), round(float(user) + float(system), 3))'
}

# SEALED_FLAGS= (empty) replays SEALED as a clear log too: a padded clear log against
# the clear one (bench/audit/padded-clear.sh).
flags=${SEALED_FLAGS---sealed}
# VERITY may name several builds (space-separated): each round replays both logs with
# each, the builds in turn from a different one each round, and each build's figures are
# printed on their own (two builds compared in one run, on the same machine's moods).
read -r -a builds <<< "$VERITY"
for round in $(seq 1 "${ROUNDS:-15}"); do
  for turn in "${!builds[@]}"; do
    VERITY=${builds[$(( (turn + round) % ${#builds[@]} ))]}
    if (( round % 2 )); then
      clear=$(run "$CLEAR" "${CLEAR_URL:-}"); sealed=$(run "$SEALED" "${SEALED_URL:-}" $flags)
    else
      sealed=$(run "$SEALED" "${SEALED_URL:-}" $flags); clear=$(run "$CLEAR" "${CLEAR_URL:-}")
    fi
    echo "$VERITY $clear $sealed"
  done
done | python3 -c '
import random, statistics as st, sys
runs = {}
for line in sys.stdin:
    if line.strip():
        build, *figures = line.split()
        runs.setdefault(build, []).append(list(map(float, figures)))
for build, rows in runs.items():
    if len(runs) > 1:
        print(f"== {build}")
    for c, cc, s, sc in rows:
        print(f"clear {c:.3f} s (CPU {cc:.2f} s) | sealed {s:.3f} s (CPU {sc:.2f} s) | x{s / c:.3f}")
    med = lambda i: st.median(row[i] for row in rows)
    print(f"medians: clear {med(0):.3f} s, sealed {med(2):.3f} s: {100 * (med(2) / med(0) - 1):+.1f} %")
    ratio = st.median(row[2] / row[0] for row in rows)
    print(f"median of the pairs ratios: {100 * (ratio - 1):+.1f} % (CPU {100 * (st.median(row[3] / row[1] for row in rows) - 1):+.1f} %)")
    # A bootstrap 95 % interval of that median: the pairs drawn again with replacement.
    random.seed(1)
    ratios = [row[2] / row[0] for row in rows]
    medians = sorted(st.median(random.choices(ratios, k=len(ratios))) for _ in range(2000))
    low, high = medians[49], medians[1949]
    print(f"95 % interval of the median: {100 * (low - 1):+.1f} % to {100 * (high - 1):+.1f} %; "
          f"as a cost in speed: {100 * (1 - 1 / ratio):.1f} % ({100 * (1 - 1 / low):.1f} % to {100 * (1 - 1 / high):.1f} %)")'
