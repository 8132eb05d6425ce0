-- The register service: OTRS's customer fields, and search keys.
-- *_key columns hold the Unicode lower case of their field (written by the
-- service, which also rewrites them after this migration, so that the fold
-- is the same as on SQLite). Searches compare keys, so they ignore case.
-- Sortable text is COLLATE "C": ordered by code point, as on SQLite, and
-- usable by an index for prefix LIKE patterns.

ALTER TABLE customers
    ADD COLUMN street   TEXT COLLATE "C",
    ADD COLUMN zip      TEXT COLLATE "C",
    ADD COLUMN city     TEXT COLLATE "C",
    ADD COLUMN country  TEXT COLLATE "C" CHECK (country IS NULL OR length(country) = 2),
    ADD COLUMN url      TEXT COLLATE "C",
    ADD COLUMN comment  TEXT COLLATE "C",
    ADD COLUMN name_key TEXT COLLATE "C" NOT NULL DEFAULT '',
    ADD COLUMN zip_key  TEXT COLLATE "C",
    ADD COLUMN city_key TEXT COLLATE "C",
    ALTER COLUMN name TYPE TEXT COLLATE "C",
    ALTER COLUMN validity TYPE TEXT COLLATE "C";

UPDATE customers SET name_key = lower(name);

CREATE INDEX customers_name_key ON customers (name_key);
CREATE INDEX customers_zip_key ON customers (zip_key);
CREATE INDEX customers_city_key ON customers (city_key);

-- "Is this relation type still in use?" and the foreign key check on delete.
CREATE INDEX customer_relations_type ON customer_relations (relation_type_code);
