DROP TABLE log_cosignatures;
DROP TABLE deliveries;
DROP TABLE delivery_packages;
