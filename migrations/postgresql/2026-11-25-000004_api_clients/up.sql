-- API clients: who may call the services (README, "Security"). The secret
-- itself is never stored, only its SHA-256 digest (hex).
CREATE TABLE api_clients (
    name          TEXT PRIMARY KEY CHECK (name <> '' AND length(name) <= 100),
    role          TEXT NOT NULL CHECK (role IN ('reader', 'integration', 'admin')),
    -- Relation type codes separated by commas; NULL: every type.
    scope         TEXT CHECK (scope IS NULL OR scope <> ''),
    validity      TEXT NOT NULL DEFAULT 'Valid' CHECK (validity IN ('Valid', 'Invalid')),
    secret_digest TEXT NOT NULL CHECK (length(secret_digest) = 64),
    created_at    TIMESTAMP NOT NULL
);
