-- The event log, unique keys and projection snapshots (PostgreSQL).
-- Published migrations are never edited: a change is a new file.

CREATE TABLE events (
    position       BIGINT  PRIMARY KEY,      -- global, gapless: assigned under an advisory lock
    stream         TEXT    NOT NULL,
    version        BIGINT  NOT NULL,         -- per stream, from 1
    event_type     TEXT    NOT NULL,
    schema_version BIGINT  NOT NULL,
    data           TEXT    NOT NULL,         -- JSON text, byte for byte as hashed (not jsonb,
    metadata       TEXT    NOT NULL,         -- which would reorder keys)
    recorded_at    BIGINT  NOT NULL,         -- microseconds since the Unix epoch
    hash           BYTEA   NOT NULL,         -- SHA-256(previous hash || canonical bytes)
    UNIQUE (stream, version)
);

-- The log is append-only: the application never updates or deletes an event.
CREATE FUNCTION events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the event log is append-only';
END;
$$;
CREATE TRIGGER events_no_update_or_delete BEFORE UPDATE OR DELETE ON events
    FOR EACH ROW EXECUTE FUNCTION events_append_only();

CREATE TABLE unique_keys (
    key      TEXT   PRIMARY KEY,
    stream   TEXT   NOT NULL,
    position BIGINT NOT NULL
);

CREATE TABLE snapshots (
    name     TEXT    PRIMARY KEY,
    version  BIGINT  NOT NULL,
    position BIGINT  NOT NULL,
    data     BYTEA   NOT NULL
);
