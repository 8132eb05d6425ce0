-- The customer register that relations are checked against.
-- Validity follows OTRS: records are made invalid, never deleted.

CREATE TABLE titles (
    code     TEXT PRIMARY KEY CHECK (code <> ''),
    name     TEXT NOT NULL,
    validity TEXT NOT NULL DEFAULT 'Valid'
             CHECK (validity IN ('Valid', 'Invalid', 'InvalidTemporarily'))
);

CREATE TABLE customers (
    customer_number INTEGER PRIMARY KEY,
    name            TEXT NOT NULL,
    validity        TEXT NOT NULL DEFAULT 'Valid'
                    CHECK (validity IN ('Valid', 'Invalid', 'InvalidTemporarily'))
);

CREATE TABLE subscriptions (
    id              BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    customer_number INTEGER NOT NULL REFERENCES customers (customer_number),
    title_code      TEXT NOT NULL REFERENCES titles (code),
    start_date      DATE NOT NULL,
    end_date        DATE CHECK (end_date IS NULL OR end_date >= start_date),
    UNIQUE (customer_number, title_code, start_date)
);

-- E-mail addresses are stored lower-cased, so the key is case-insensitive.
CREATE TABLE users (
    email           TEXT PRIMARY KEY,
    name            TEXT,
    customer_number INTEGER REFERENCES customers (customer_number),
    validity        TEXT NOT NULL DEFAULT 'Valid'
                    CHECK (validity IN ('Valid', 'Invalid', 'InvalidTemporarily'))
);
