DROP TABLE petition_updates;
ALTER TABLE signatures DROP COLUMN wants_updates;
