-- The order the persons' data keys were added in (docs/adr/0010-per-person-encryption.md,
-- "Replay"): people first appear in the log in about this order, so a replay from the
-- start reads their keys a run at a time. SQLite has it already as the rowid.
-- Published migrations are never edited: a change is a new file.

ALTER TABLE person_keys ADD COLUMN added BIGSERIAL;
CREATE INDEX person_keys_added ON person_keys (added);
