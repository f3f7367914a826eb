ALTER TABLE signatures DROP COLUMN receipt_due;
