-- The register service: OTRS's customer fields, and search keys.
-- *_key columns hold the Unicode lower case of their field (written by the
-- service, which also rewrites them after this migration: SQLite's lower()
-- folds ASCII only). Searches compare keys, so they ignore case everywhere.

ALTER TABLE customers ADD COLUMN street TEXT;
ALTER TABLE customers ADD COLUMN zip TEXT;
ALTER TABLE customers ADD COLUMN city TEXT;
ALTER TABLE customers ADD COLUMN country TEXT CHECK (country IS NULL OR length(country) = 2);
ALTER TABLE customers ADD COLUMN url TEXT;
ALTER TABLE customers ADD COLUMN comment TEXT;
ALTER TABLE customers ADD COLUMN name_key TEXT NOT NULL DEFAULT '';
ALTER TABLE customers ADD COLUMN zip_key TEXT;
ALTER TABLE customers ADD COLUMN city_key TEXT;

UPDATE customers SET name_key = lower(name);

CREATE INDEX customers_name_key ON customers (name_key);
CREATE INDEX customers_zip_key ON customers (zip_key);
CREATE INDEX customers_city_key ON customers (city_key);

-- "Is this relation type still in use?" and the foreign key check on delete.
CREATE INDEX customer_relations_type ON customer_relations (relation_type_code);
