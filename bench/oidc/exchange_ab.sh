#!/usr/bin/env bash
# The authorization-code exchange of several Verity binaries side by side in one run
# (docs/performance.md, "The code exchange, commit by commit"): each binary gets a store
# of its own (clients, a person signed in once) and two servers on CPU 0, RS256 and ES256
# access tokens (the clients' ID tokens the same); each round mints codes and redeems
# them on every server in turn (mint.lua, exchange.lua: the rows of run.sh), so noise
# spreads over all binaries alike.
#
#   cargo build --release -p verity
#   bench/oidc/exchange_ab.sh /work/bench-bin/before/verity /work/bench-bin/now91/verity target/release/verity
#
# Prints, per binary and algorithm, the median exchanges per second and the server's CPU
# time per exchange over the rounds, and the ratio to the first binary.
# Parameters (env): ROUNDS (3), OUT_DIR (a fresh /tmp/verity-exchange-ab.XXXXXX).
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
ROUNDS=${ROUNDS:-3}
TOP=${OUT_DIR:-$(mktemp -d /tmp/verity-exchange-ab.XXXXXX)}
mkdir -p "$TOP"
RAW=$TOP/raw.txt
TICK=$(getconf CLK_TCK)
REDIRECT=http://127.0.0.1:9999/cb
[ $# -ge 1 ] || { echo "usage: $0 VERITY_BINARY..." >&2; exit 2; }
for tool in wrk curl python3 taskset; do
  command -v "$tool" >/dev/null || { echo "missing $tool" >&2; exit 1; }
done
# cpu_ticks, json_field, basic_of, PIDS and its cleanup, start_verity, stop, exchange_row,
# set_up_verity_store.
. "$HERE/lib.sh"

RS=(); ES=()
for index in $(seq 0 $(($# - 1))); do
  binary=${@:$((index + 1)):1}
  VERITY=$(realpath "$binary"); OUT_DIR=$TOP/$index; DATA=$OUT_DIR/data
  mkdir -p "$OUT_DIR"
  set_up_verity_store
  RS+=("$(start_verity RS256 $((8180 + 2 * index)))"); PIDS+=("${RS[$index]}")
  ES+=("$(start_verity ES256 $((8181 + 2 * index)))"); PIDS+=("${ES[$index]}")
  echo "binary|$index|$VERITY" | tee -a "$RAW"
done
sleep 3

for round in $(seq "$ROUNDS"); do
  echo "# round $round $(date +%T) load $(cat /proc/loadavg)" | tee -a "$RAW"
  for index in $(seq 0 $(($# - 1))); do
    OUT_DIR=$TOP/$index
    exchange_row "RS256 $index" "${RS[$index]}" $((8180 + 2 * index)) "$OUT_DIR/web-RS256.json"
    exchange_row "ES256 $index" "${ES[$index]}" $((8181 + 2 * index)) "$OUT_DIR/web-ES256.json"
  done
done

python3 - "$RAW" <<'PY'
import re, statistics, sys
binaries, rows = {}, {}
for line in open(sys.argv[1]).read().splitlines():
    parts = line.split("|")
    if parts[0] == "binary":
        binaries[parts[1]] = parts[2]
    elif parts[0] == "verity":
        alg, index = parts[1].split()
        fields = dict(re.findall(r"(\w+)=([\d.]+)", parts[2]))
        rows.setdefault((alg, index), []).append(fields)
med = lambda key, field: statistics.median(float(x[field]) for x in rows[key])
print("| binary | alg | exchanges/s, median (runs) | vs the first | CPU per exchange | errors |")
print("|---|---|---:|---:|---:|---:|")
for alg in ["RS256", "ES256"]:
    first = med((alg, "0"), "rps")
    for index, path in binaries.items():
        key = (alg, index)
        runs = " / ".join(f"{float(x['rps']):,.0f}" for x in rows[key])
        errors = sum(int(x.get("non2xx3xx", 0)) + int(x.get("sockerr", 0)) for x in rows[key])
        print(f"| {path} | {alg} | **{med(key, 'rps'):,.0f}** ({runs}) | {med(key, 'rps') / first:.2f}x "
              f"| {med(key, 'cpu_us_per_req'):,.0f} µs | {errors} |")
PY
