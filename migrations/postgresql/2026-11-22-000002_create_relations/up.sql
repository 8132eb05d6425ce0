CREATE TABLE relation_types (
    code           TEXT PRIMARY KEY CHECK (code <> ''),
    name           TEXT NOT NULL,
    reference_type TEXT NOT NULL
                   CHECK (reference_type IN ('External', 'Customer', 'Subscription', 'User')),
    title_mode     TEXT NOT NULL
                   CHECK (title_mode IN ('Required', 'Optional', 'Forbidden'))
);

-- An identity column: Ids come from one sequence shared by every instance of
-- the service, and the Id of a deleted relation is never handed out again.
CREATE TABLE customer_relations (
    id                 BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    customer_number    INTEGER NOT NULL REFERENCES customers (customer_number),
    relation_type_code TEXT NOT NULL REFERENCES relation_types (code),
    reference          TEXT NOT NULL,
    title_code         TEXT REFERENCES titles (code),
    additional_value   TEXT,
    source             TEXT,
    created_at         TIMESTAMP NOT NULL,
    created_by         TEXT NOT NULL
);

-- The uniqueness rule of CreateCustomerRelation. A plain UNIQUE constraint
-- would treat two NULL titles as different; COALESCE makes "no title" equal
-- "no title" (title codes are never empty, so '' cannot collide).
CREATE UNIQUE INDEX customer_relations_identity
    ON customer_relations (customer_number, relation_type_code, COALESCE(title_code, ''), reference);

