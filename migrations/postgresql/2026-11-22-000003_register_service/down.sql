DROP INDEX customer_relations_type;
DROP INDEX customers_city_key;
DROP INDEX customers_zip_key;
DROP INDEX customers_name_key;
ALTER TABLE customers
    DROP COLUMN city_key,
    DROP COLUMN zip_key,
    DROP COLUMN name_key,
    DROP COLUMN comment,
    DROP COLUMN url,
    DROP COLUMN country,
    DROP COLUMN city,
    DROP COLUMN zip,
    DROP COLUMN street,
    ALTER COLUMN name TYPE TEXT COLLATE "default",
    ALTER COLUMN validity TYPE TEXT COLLATE "default";
