-- Each customer's count of live relations, kept by triggers, so that the
-- bound on a customer's relations costs one row read per create instead of
-- a count of all of them (README, "Performance").
ALTER TABLE customers ADD COLUMN live_relations INTEGER NOT NULL DEFAULT 0;
UPDATE customers SET live_relations = (
    SELECT COUNT(*) FROM customer_relations r
    WHERE r.customer_number = customers.customer_number AND r.deleted_at IS NULL);

CREATE TRIGGER customer_relations_counted_on_insert
    AFTER INSERT ON customer_relations WHEN NEW.deleted_at IS NULL
BEGIN
    UPDATE customers SET live_relations = live_relations + 1
    WHERE customer_number = NEW.customer_number;
END;

CREATE TRIGGER customer_relations_counted_on_delete
    AFTER DELETE ON customer_relations WHEN OLD.deleted_at IS NULL
BEGIN
    UPDATE customers SET live_relations = live_relations - 1
    WHERE customer_number = OLD.customer_number;
END;

CREATE TRIGGER customer_relations_counted_on_update
    AFTER UPDATE OF customer_number, deleted_at ON customer_relations
    WHEN OLD.customer_number <> NEW.customer_number
      OR (OLD.deleted_at IS NULL) <> (NEW.deleted_at IS NULL)
BEGIN
    UPDATE customers SET live_relations = live_relations - 1
    WHERE customer_number = OLD.customer_number AND OLD.deleted_at IS NULL;
    UPDATE customers SET live_relations = live_relations + 1
    WHERE customer_number = NEW.customer_number AND NEW.deleted_at IS NULL;
END;
