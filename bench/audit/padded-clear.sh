#!/usr/bin/env bash
# How much of what sealing costs a replay is its bytes (docs/performance.md, "Replay,
# where the time goes"): copies the clear log into OUT/clear and OUT/padded and the
# sealed log into OUT/sealed, lengthens each `user.created`'s name in OUT/padded by as
# many characters as sealing added to that event on average (the payloads' total length,
# sealed minus clear, over the `user.created` events), and vacuums the three copies so
# their files are laid out alike. The originals are not touched. Then, for example:
#
#   VERITY=target/release/verity CLEAR=/tmp/seed-plain SEALED=/tmp/seed-sealed \
#     OUT=/tmp/padded bench/audit/padded-clear.sh
#   VERITY=target/release/verity CLEAR=/tmp/padded/clear SEALED=/tmp/padded/padded \
#     SEALED_FLAGS= bench/audit/replay-pairs.sh       # padded clear against clear
#
# The padded copy's chain no longer verifies (its events were edited below the store);
# it is for measuring, nothing else.
set -euo pipefail
: "${CLEAR:?the clear log's data directory}" "${SEALED:?the sealed log's data directory}"
: "${OUT:?where to put the three copies}"

mkdir -p "$OUT"
for name in clear padded sealed; do rm -rf "${OUT:?}/$name"; done
cp -r "$CLEAR" "$OUT/clear"
cp -r "$CLEAR" "$OUT/padded"
cp -r "$SEALED" "$OUT/sealed"

python3 - "$OUT" <<'PY'
import sqlite3, sys
out = sys.argv[1]
def total(path):
    with sqlite3.connect(path) as db:
        return db.execute(
            "SELECT sum(length(data)), count(*) FILTER (WHERE event_type = 'user.created') FROM events"
        ).fetchone()
clear, created = total(f"{out}/clear/verity.db")
sealed, _ = total(f"{out}/sealed/verity.db")
pad = round((sealed - clear) / created)
db = sqlite3.connect(f"{out}/padded/verity.db")
db.execute("DROP TRIGGER events_no_update")
db.execute(
    "UPDATE events SET data = replace(data, '\"name\":\"', '\"name\":\"' || ?) "
    "WHERE event_type = 'user.created'",
    ("x" * pad,),
)
db.commit()
padded, _ = total(f"{out}/padded/verity.db")
print(f"payloads: clear {clear:,} bytes, sealed {sealed:,}, padded {padded:,} "
      f"({pad} characters added to each of {created:,} user.created)")
for name in ("clear", "padded", "sealed"):
    with sqlite3.connect(f"{out}/{name}/verity.db") as each:
        each.execute("DELETE FROM snapshots")
    each = sqlite3.connect(f"{out}/{name}/verity.db")
    each.execute("VACUUM")
    each.close()
PY
