-- The expiring store: short-lived protocol state (authorization requests, codes,
-- refresh-token rotation bookkeeping, rate-limit counters). Not part of the event log:
-- rows are replaced, consumed and purged.
-- Published migrations are never edited: a change is a new file.

CREATE TABLE expiring (
    kind       TEXT   NOT NULL,              -- what it is, e.g. 'code'
    key        TEXT   NOT NULL,              -- which one
    value      BYTEA  NOT NULL,              -- opaque to the store
    count      BIGINT NOT NULL DEFAULT 0,    -- for counters (rate limits, lockouts)
    expires_at BIGINT NOT NULL,              -- microseconds since the Unix epoch
    PRIMARY KEY (kind, key)
);

-- The periodic purge deletes by expiry.
CREATE INDEX expiring_expires_at ON expiring (expires_at);
