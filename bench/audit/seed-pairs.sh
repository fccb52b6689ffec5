#!/usr/bin/env bash
# The cost of per-person encryption on appends that create people, in pairs of runs
# (docs/performance.md, "Per-person encryption", "Creating people, again"): ROUNDS times,
# `bench seed` of USERS people into a fresh store in clear and sealed, their order
# alternated each round. Prints each pair and the medians; on a noisy machine the median
# of the pairs' ratios is the figure to read.
#
#   VERITY=target/release/verity USERS=20000 ROUNDS=20 bench/audit/seed-pairs.sh
#   # PostgreSQL: a database made and dropped for each run on this server
#   POSTGRES=postgres://verity@127.0.0.1:5432 bench/audit/seed-pairs.sh
#
# SEED_FLAGS passes more flags to `bench seed` (`--alphabetical` for the old order).
set -euo pipefail
VERITY=${VERITY:-target/release/verity}
USERS=${USERS:-20000}

run() { # `--sealed` or nothing: "<seconds> <CPU seconds>"
  local dir database=() name
  dir=$(mktemp -d)
  if [[ -n "${POSTGRES:-}" ]]; then
    name="seed_pairs_$$_$RANDOM"
    psql -q "$POSTGRES/postgres" -c "CREATE DATABASE $name"
    database=(--database-url "$POSTGRES/$name")
  fi
  # shellcheck disable=SC2086
  /usr/bin/time -f "%U %S" "$VERITY" --json --data-dir "$dir" "${database[@]}" \
    bench seed --users "$USERS" ${SEED_FLAGS:-} ${1:-} 2>&1 | python3 -c '
import json, sys
lines = [line for line in sys.stdin.read().split("\n") if line]
seconds = [json.loads(line) for line in lines if line.startswith("{")][0]["seconds"]
user, system = lines[-1].split()
print(round(seconds, 4), round(float(user) + float(system), 3))'
  rm -rf "$dir"
  if [[ -n "${POSTGRES:-}" ]]; then
    psql -q "$POSTGRES/postgres" -c "DROP DATABASE $name"
  fi
}

for round in $(seq 1 "${ROUNDS:-10}"); do
  if (( round % 2 )); then clear=$(run); sealed=$(run --sealed)
  else sealed=$(run --sealed); clear=$(run); fi
  echo "$clear $sealed"
done | USERS=$USERS python3 -c '
import os, statistics as st, sys
users = int(os.environ["USERS"])
rows = [list(map(float, line.split())) for line in sys.stdin if line.strip()]
for c, cc, s, sc in rows:
    print(f"clear {users / c:,.0f} people/s (CPU {cc:.2f} s) | sealed {users / s:,.0f} people/s (CPU {sc:.2f} s) | {100 * (c / s - 1):+.1f} %")
med = lambda i: st.median(row[i] for row in rows)
print(f"medians: clear {users / med(0):,.0f} people/s, sealed {users / med(2):,.0f} people/s")
print(f"median of the pairs ratios: {100 * (st.median(row[0] / row[2] for row in rows) - 1):+.1f} % (CPU {100 * (st.median(row[3] / row[1] for row in rows) - 1):+.1f} %)")'
