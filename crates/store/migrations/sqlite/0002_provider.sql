-- The MitID test provider's state (eudi-mitid-test-provider's ProviderStore), so that several
-- issuer instances share its logins: pending login requests, authorization codes and access
-- tokens as JSON, keyed by the secret key of the code or token (never the secret).
CREATE TABLE provider_records (
    kind TEXT NOT NULL CHECK (kind IN ('login', 'code', 'token')),
    key TEXT NOT NULL,
    client_id TEXT NOT NULL,
    value BLOB NOT NULL,
    expires_at INTEGER NOT NULL,
    PRIMARY KEY (kind, key)
);
CREATE INDEX provider_records_client ON provider_records (kind, client_id);
CREATE INDEX provider_records_expires_at ON provider_records (kind, expires_at);

-- One row per kind, locked by every insert of that kind, so limits hold across instances.
CREATE TABLE provider_locks (
    kind TEXT PRIMARY KEY NOT NULL
);
INSERT INTO provider_locks (kind) VALUES ('login'), ('code'), ('token');
