-- Projection snapshots bound to the hash chain (SQLite): the hash of the event at the
-- snapshot's position, and a signature by the audit key over the snapshot, which the
-- database does not hold. Snapshots saved before this migration have neither and are
-- not trusted: the read models fold the log from position 0 once.
-- Published migrations are never edited: a change is a new file.

ALTER TABLE snapshots ADD COLUMN chain_hash TEXT NOT NULL DEFAULT '';
ALTER TABLE snapshots ADD COLUMN seal BLOB NOT NULL DEFAULT x'';
