DROP TABLE users;
DROP TABLE subscriptions;
DROP TABLE customers;
DROP TABLE titles;
