-- The persons' data keys (docs/adr/0010-per-person-encryption.md): each sealed under a
-- key the master key gives. Outside the hash chain: erasing a person replaces their key
-- with nothing and changes no event.
-- Published migrations are never edited: a change is a new file.

CREATE TABLE person_keys (
    subject   TEXT   PRIMARY KEY,            -- the person's user id
    sealed    BYTEA,                         -- their key, sealed; NULL once erased
    erased_at BIGINT                         -- microseconds since the Unix epoch
);
