DROP TRIGGER customer_relation_changes_in_commit_order;
DROP TABLE customer_relation_changes;
DELETE FROM customer_relations WHERE deleted_at IS NOT NULL;
DROP INDEX customer_relations_by_reference;
DROP INDEX customer_relations_type;
CREATE INDEX customer_relations_type ON customer_relations (relation_type_code);
DROP INDEX customer_relations_by_customer;
DROP INDEX customer_relations_identity;
CREATE UNIQUE INDEX customer_relations_identity
    ON customer_relations (customer_number, relation_type_code, COALESCE(title_code, ''), reference);
ALTER TABLE customer_relations DROP COLUMN deleted_by;
ALTER TABLE customer_relations DROP COLUMN deleted_at;
ALTER TABLE customer_relations DROP COLUMN modified_by;
ALTER TABLE customer_relations DROP COLUMN modified_at;
ALTER TABLE customer_relations DROP COLUMN version;
