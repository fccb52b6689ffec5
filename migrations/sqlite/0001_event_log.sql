-- The event log, unique keys and projection snapshots (SQLite).
-- Published migrations are never edited: a change is a new file.

CREATE TABLE events (
    position       INTEGER PRIMARY KEY,      -- global, gapless, assigned by the writer
    stream         TEXT    NOT NULL,
    version        INTEGER NOT NULL,         -- per stream, from 1
    event_type     TEXT    NOT NULL,
    schema_version INTEGER NOT NULL,
    data           TEXT    NOT NULL,         -- JSON text, byte for byte as hashed
    metadata       TEXT    NOT NULL,         -- JSON text, byte for byte as hashed
    recorded_at    INTEGER NOT NULL,         -- microseconds since the Unix epoch
    hash           BLOB    NOT NULL,         -- SHA-256(previous hash || canonical bytes)
    UNIQUE (stream, version)
) STRICT;

-- The log is append-only: the application never updates or deletes an event.
CREATE TRIGGER events_no_update BEFORE UPDATE ON events
BEGIN
    SELECT RAISE(ABORT, 'the event log is append-only');
END;
CREATE TRIGGER events_no_delete BEFORE DELETE ON events
BEGIN
    SELECT RAISE(ABORT, 'the event log is append-only');
END;

CREATE TABLE unique_keys (
    key      TEXT    PRIMARY KEY,
    stream   TEXT    NOT NULL,
    position INTEGER NOT NULL                -- first position of the append that claimed it
) STRICT;

CREATE TABLE snapshots (
    name     TEXT    PRIMARY KEY,
    version  INTEGER NOT NULL,
    position INTEGER NOT NULL,
    data     BLOB    NOT NULL
) STRICT;
