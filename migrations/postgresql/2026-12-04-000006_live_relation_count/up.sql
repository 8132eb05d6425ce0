-- Each customer's count of live relations, kept by a trigger, so that the
-- bound on a customer's relations costs one row read per create instead of
-- a count of all of them (README, "Performance"). A create reads it under
-- the customer's row lock, which the trigger's update then holds until the
-- commit, so concurrent creates cannot pass the bound together.
ALTER TABLE customers ADD COLUMN live_relations INTEGER NOT NULL DEFAULT 0;
UPDATE customers SET live_relations = (
    SELECT COUNT(*) FROM customer_relations r
    WHERE r.customer_number = customers.customer_number AND r.deleted_at IS NULL);

CREATE FUNCTION count_live_relations() RETURNS trigger AS $$
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') AND OLD.deleted_at IS NULL THEN
        UPDATE customers SET live_relations = live_relations - 1
        WHERE customer_number = OLD.customer_number;
    END IF;
    IF TG_OP IN ('UPDATE', 'INSERT') AND NEW.deleted_at IS NULL THEN
        UPDATE customers SET live_relations = live_relations + 1
        WHERE customer_number = NEW.customer_number;
    END IF;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER customer_relations_counted_on_insert_or_delete
    AFTER INSERT OR DELETE ON customer_relations
    FOR EACH ROW EXECUTE FUNCTION count_live_relations();
CREATE TRIGGER customer_relations_counted_on_update
    AFTER UPDATE OF customer_number, deleted_at ON customer_relations
    FOR EACH ROW
    WHEN (OLD.customer_number IS DISTINCT FROM NEW.customer_number
          OR (OLD.deleted_at IS NULL) IS DISTINCT FROM (NEW.deleted_at IS NULL))
    EXECUTE FUNCTION count_live_relations();
