-- The issuer's state on PostgreSQL (see crates/store/src/lib.rs for what each table holds and why).
-- Times are seconds since the Unix epoch; list numbers and indexes are u32 in BIGINT columns.

-- Short-lived protocol records (PAR, login sessions, codes, access tokens, offers, notifications).
CREATE TABLE sessions (
    kind TEXT NOT NULL,
    key TEXT NOT NULL,
    value BYTEA NOT NULL,
    expires_at BIGINT NOT NULL,
    PRIMARY KEY (kind, key)
);
CREATE INDEX sessions_expires_at ON sessions (expires_at);

-- Server nonces (c_nonce, DPoP nonce, attestation challenge).
CREATE TABLE nonces (
    kind TEXT NOT NULL,
    nonce TEXT NOT NULL,
    expires_at BIGINT NOT NULL,
    PRIMARY KEY (kind, nonce)
);
CREATE INDEX nonces_expires_at ON nonces (expires_at);

-- Replay guards (DPoP proof, attestation PoP and key proof jti), until the proof would be too old.
CREATE TABLE replay_guard (
    scope TEXT NOT NULL,
    id TEXT NOT NULL,
    expires_at BIGINT NOT NULL,
    PRIMARY KEY (scope, id)
);
CREATE INDEX replay_guard_expires_at ON replay_guard (expires_at);

-- Pre-authorized codes with the key of their tx_code and the wrong attempts still allowed.
CREATE TABLE pre_authorized_codes (
    code_key TEXT PRIMARY KEY NOT NULL,
    tx_code_key TEXT,
    attempts_left BIGINT NOT NULL CHECK (attempts_left > 0),
    record BYTEA NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX pre_authorized_codes_expires_at ON pre_authorized_codes (expires_at);

-- The one row every status allocation locks first, so allocations of all instances are serial.
CREATE TABLE status_allocator (
    id BIGINT PRIMARY KEY NOT NULL CHECK (id = 1)
);
INSERT INTO status_allocator (id) VALUES (1);

-- Status lists: size, how many places were given out, and a version that moves with every change.
CREATE TABLE status_lists (
    list BIGINT PRIMARY KEY NOT NULL CHECK (list > 0),
    size BIGINT NOT NULL CHECK (size > 0),
    given BIGINT NOT NULL DEFAULT 0 CHECK (given >= 0 AND given <= size),
    version BIGINT NOT NULL DEFAULT 0
);

-- Every place given out (never given twice: the primary key), with its status value.
CREATE TABLE status_slots (
    list BIGINT NOT NULL REFERENCES status_lists (list),
    idx BIGINT NOT NULL CHECK (idx >= 0),
    value BIGINT NOT NULL DEFAULT 0 CHECK (value >= 0 AND value <= 255),
    PRIMARY KEY (list, idx)
);
CREATE INDEX status_slots_set ON status_slots (list, idx) WHERE value <> 0;

-- Issued credentials: what revocation needs, no claim values.
CREATE TABLE credentials (
    seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    subject_key TEXT NOT NULL,
    format TEXT NOT NULL,
    configuration_id TEXT NOT NULL,
    list BIGINT NOT NULL,
    idx BIGINT NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('valid', 'revoked', 'suspended')),
    issued_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    UNIQUE (list, idx),
    FOREIGN KEY (list, idx) REFERENCES status_slots (list, idx)
);
CREATE INDEX credentials_subject ON credentials (subject_key, issued_at);

-- Deferred issuances awaiting a reviewer.
CREATE TABLE deferred (
    seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    transaction_key TEXT NOT NULL UNIQUE,
    state TEXT NOT NULL CHECK (state IN ('pending', 'approved', 'rejected', 'issued')),
    reason TEXT NOT NULL,
    record BYTEA NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX deferred_expires_at ON deferred (expires_at);
