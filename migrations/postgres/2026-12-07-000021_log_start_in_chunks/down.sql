DROP TABLE log_start_tags;
