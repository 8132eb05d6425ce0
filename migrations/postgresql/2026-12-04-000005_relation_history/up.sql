-- Relations keep their history: an update raises the version, a delete
-- marks the relation deleted instead of removing it, and every change is
-- written to customer_relation_changes (README, "History and the change feed").
ALTER TABLE customer_relations
    ADD COLUMN version INTEGER NOT NULL DEFAULT 1,
    ADD COLUMN modified_at TIMESTAMP,
    ADD COLUMN modified_by TEXT,
    ADD COLUMN deleted_at TIMESTAMP,
    ADD COLUMN deleted_by TEXT;

-- Uniqueness holds among live relations only: an identical relation may be
-- created again once the first is deleted.
DROP INDEX customer_relations_identity;
CREATE UNIQUE INDEX customer_relations_identity
    ON customer_relations (customer_number, relation_type_code, COALESCE(title_code, ''), reference)
    WHERE deleted_at IS NULL;
-- A customer's relations: the live ones in Id order
-- (GetCustomerRelationsByCustomer), their count for the bound on them, read
-- from the index alone (with deleted_at only in the table, the count had to
-- visit every row, which cost a third of the create throughput), and all of
-- them for purge.
CREATE INDEX customer_relations_by_customer
    ON customer_relations (customer_number, deleted_at, id);
-- FindCustomerRelationsByReference: without a type by the live relations'
-- references; with one by the type and the reference (this index also
-- answers "is this relation type in use?" and the foreign key check, as the
-- one-column index it replaces did).
CREATE INDEX customer_relations_by_reference
    ON customer_relations (reference) WHERE deleted_at IS NULL;
DROP INDEX customer_relations_type;
CREATE INDEX customer_relations_type
    ON customer_relations (relation_type_code, reference, title_code);

-- One row per change: its kind and the relation's values after it (when
-- and by whom is the record's own stamp for that kind). `sequence` is
-- the change feed's position. Writers on several instances commit in any
-- order, so a change is not numbered when it is written: the feed numbers
-- the changes that have committed, one numbering at a time under the lock
-- on customer_relation_feed, so that a number is never handed out below
-- one a reader may already have seen (README, "History and the change feed").
CREATE TABLE customer_relation_changes (
    id                 BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    sequence           BIGINT UNIQUE,
    kind               TEXT NOT NULL CHECK (kind IN ('Created', 'Updated', 'Deleted')),
    -- Not a foreign key: a change is written in the transaction of the write
    -- that made it, and purge erases both; a key would make every erased
    -- relation search this table.
    relation_id        BIGINT NOT NULL,
    customer_number    INTEGER NOT NULL,
    relation_type_code TEXT NOT NULL,
    reference          TEXT NOT NULL,
    title_code         TEXT,
    additional_value   TEXT,
    source             TEXT,
    version            INTEGER NOT NULL,
    created_at         TIMESTAMP NOT NULL,
    created_by         TEXT NOT NULL,
    modified_at        TIMESTAMP,
    modified_by        TEXT,
    deleted_at         TIMESTAMP,
    deleted_by         TEXT
);
CREATE INDEX customer_relation_changes_by_customer
    ON customer_relation_changes (customer_number, relation_id, id);
CREATE INDEX customer_relation_changes_unnumbered
    ON customer_relation_changes (id) WHERE sequence IS NULL;

-- The last sequence number handed out; its one row is the numbering's lock.
CREATE TABLE customer_relation_feed (
    last_sequence BIGINT NOT NULL
);
INSERT INTO customer_relation_feed (last_sequence) VALUES (0);

-- The relations that exist already were created before the history began:
-- each gets its Created change, so that the feed replays to the live state.
INSERT INTO customer_relation_changes
    (kind, relation_id, customer_number, relation_type_code, reference,
     title_code, additional_value, source, version, created_at, created_by)
SELECT 'Created', id, customer_number, relation_type_code, reference,
       title_code, additional_value, source, version, created_at, created_by
FROM customer_relations ORDER BY id;
