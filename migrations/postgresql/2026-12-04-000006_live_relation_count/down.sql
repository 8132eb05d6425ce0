DROP TRIGGER customer_relations_counted_on_update ON customer_relations;
DROP TRIGGER customer_relations_counted_on_insert_or_delete ON customer_relations;
DROP FUNCTION count_live_relations();
ALTER TABLE customers DROP COLUMN live_relations;
