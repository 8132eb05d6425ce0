DROP INDEX customer_relations_identity;
DROP TABLE customer_relations;
DROP TABLE relation_types;
