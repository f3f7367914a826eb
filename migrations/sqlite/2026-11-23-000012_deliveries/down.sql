DROP TABLE deliveries;
DROP TABLE delivery_packages;
