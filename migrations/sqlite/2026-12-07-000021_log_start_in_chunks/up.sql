-- A log's start prepares the receipt tag of each signature counted so far here, in short
-- transactions, so that the one transaction that queues the petition's history under its
-- lock is a single INSERT ... SELECT: signing elsewhere waits for no long one.
CREATE TABLE log_start_tags (
    signature_id INTEGER PRIMARY KEY NOT NULL,
    petition_id INTEGER NOT NULL,
    receipt TEXT
);
CREATE INDEX log_start_tags_by_petition ON log_start_tags (petition_id);
