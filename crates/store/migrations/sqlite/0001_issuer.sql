-- The issuer's state on SQLite (see crates/store/src/lib.rs for what each table holds and why).
-- Times are seconds since the Unix epoch; list numbers and indexes are u32 in INTEGER columns.

-- Short-lived protocol records (PAR, login sessions, codes, access tokens, offers, notifications).
CREATE TABLE sessions (
    kind TEXT NOT NULL,
    key TEXT NOT NULL,
    value BLOB NOT NULL,
    expires_at INTEGER NOT NULL,
    PRIMARY KEY (kind, key)
) WITHOUT ROWID;
CREATE INDEX sessions_expires_at ON sessions (expires_at);

-- Server nonces (c_nonce, DPoP nonce, attestation challenge).
CREATE TABLE nonces (
    kind TEXT NOT NULL,
    nonce TEXT NOT NULL,
    expires_at INTEGER NOT NULL,
    PRIMARY KEY (kind, nonce)
) WITHOUT ROWID;
CREATE INDEX nonces_expires_at ON nonces (expires_at);

-- Replay guards (DPoP proof, attestation PoP and key proof jti), until the proof would be too old.
CREATE TABLE replay_guard (
    scope TEXT NOT NULL,
    id TEXT NOT NULL,
    expires_at INTEGER NOT NULL,
    PRIMARY KEY (scope, id)
) WITHOUT ROWID;
CREATE INDEX replay_guard_expires_at ON replay_guard (expires_at);

-- Pre-authorized codes with the key of their tx_code and the wrong attempts still allowed.
CREATE TABLE pre_authorized_codes (
    code_key TEXT PRIMARY KEY NOT NULL,
    tx_code_key TEXT,
    attempts_left INTEGER NOT NULL CHECK (attempts_left > 0),
    record BLOB NOT NULL,
    expires_at INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX pre_authorized_codes_expires_at ON pre_authorized_codes (expires_at);

-- The one row every status allocation locks first, so allocations of all instances are serial.
CREATE TABLE status_allocator (
    id INTEGER PRIMARY KEY NOT NULL CHECK (id = 1)
);
INSERT INTO status_allocator (id) VALUES (1);

-- Status lists: size, how many places were given out, and a version that moves with every change.
CREATE TABLE status_lists (
    list INTEGER PRIMARY KEY NOT NULL CHECK (list > 0),
    size INTEGER NOT NULL CHECK (size > 0),
    given INTEGER NOT NULL DEFAULT 0 CHECK (given >= 0 AND given <= size),
    version INTEGER NOT NULL DEFAULT 0
);

-- Every place given out (never given twice: the primary key), with its status value.
CREATE TABLE status_slots (
    list INTEGER NOT NULL REFERENCES status_lists (list),
    idx INTEGER NOT NULL CHECK (idx >= 0),
    value INTEGER NOT NULL DEFAULT 0 CHECK (value >= 0 AND value <= 255),
    PRIMARY KEY (list, idx)
) WITHOUT ROWID;
CREATE INDEX status_slots_set ON status_slots (list, idx) WHERE value <> 0;

-- Issued credentials: what revocation needs, no claim values.
CREATE TABLE credentials (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    subject_key TEXT NOT NULL,
    format TEXT NOT NULL,
    configuration_id TEXT NOT NULL,
    list INTEGER NOT NULL,
    idx INTEGER NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('valid', 'revoked', 'suspended')),
    issued_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    UNIQUE (list, idx),
    FOREIGN KEY (list, idx) REFERENCES status_slots (list, idx)
);
CREATE INDEX credentials_subject ON credentials (subject_key, issued_at);

-- Deferred issuances awaiting a reviewer.
CREATE TABLE deferred (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    transaction_key TEXT NOT NULL UNIQUE,
    state TEXT NOT NULL CHECK (state IN ('pending', 'approved', 'rejected', 'issued')),
    reason TEXT NOT NULL,
    record BLOB NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
);
CREATE INDEX deferred_expires_at ON deferred (expires_at);
