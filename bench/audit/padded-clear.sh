#!/usr/bin/env bash
# How much of what sealing costs a replay is its bytes (docs/performance.md, "Replay,
# where the time goes"): copies the clear log into OUT/clear and OUT/padded and the
# sealed log into OUT/sealed, lengthens each `user.created`'s name in OUT/padded by as
# many characters as sealing added to that event on average (the payloads' total length,
# sealed minus clear, over the `user.created` events), and vacuums the three copies so
# their files are laid out alike. With PAD=member each type's payloads get instead a
# member no fold reads, as long as sealing made that type's payload and metadata on
# average (a log of sign-ins, whose sign-ins and sessions grow too). The originals are
# not touched. Then, for example:
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

python3 - "$OUT" "${PAD:-name}" <<'PY'
import sqlite3, sys
out, how = sys.argv[1], sys.argv[2]
def lengths(path):
    """Per event type: how many, and the total length of payloads and metadata."""
    with sqlite3.connect(path) as db:
        return {
            event_type: (count, data, metadata)
            for event_type, count, data, metadata in db.execute(
                "SELECT event_type, count(*), sum(length(data)), sum(length(metadata)) "
                "FROM events GROUP BY event_type"
            )
        }
clear = lengths(f"{out}/clear/verity.db")
sealed = lengths(f"{out}/sealed/verity.db")
db = sqlite3.connect(f"{out}/padded/verity.db")
db.execute("DROP TRIGGER events_no_update")
if how == "name":
    # The sealed log's extra payload length, all on each user.created's name.
    created = clear["user.created"][0]
    extra = sum(s[1] for s in sealed.values()) - sum(c[1] for c in clear.values())
    pad = round(extra / created)
    db.execute(
        "UPDATE events SET data = replace(data, '\"name\":\"', '\"name\":\"' || ?) "
        "WHERE event_type = 'user.created'",
        ("x" * pad,),
    )
    print(f"{pad} characters added to the name of each of {created:,} user.created")
else:
    # PAD=member: each type's payloads given a member no fold reads, as long as sealing
    # made that type's payload and metadata longer on average.
    for event_type, (count, data, metadata) in clear.items():
        _, sealed_data, sealed_metadata = sealed.get(event_type, (count, data, metadata))
        pad = round((sealed_data + sealed_metadata - data - metadata) / count)
        if pad <= len(',"pad":""'):
            continue
        db.execute(
            "UPDATE events SET data = substr(data, 1, length(data) - 1) "
            "|| ',\"pad\":\"' || ? || '\"}' WHERE event_type = ?",
            ("x" * (pad - len(',"pad":""')), event_type),
        )
        print(f"{pad} characters added to each of {count:,} {event_type}")
db.commit()
for name in ("clear", "padded", "sealed"):
    total = sum(d + m for _, d, m in lengths(f"{out}/{name}/verity.db").values())
    print(f"{name}: payloads and metadata {total:,} bytes")
    with sqlite3.connect(f"{out}/{name}/verity.db") as each:
        each.execute("DELETE FROM snapshots")
    each = sqlite3.connect(f"{out}/{name}/verity.db")
    each.execute("VACUUM")
    each.close()
PY
