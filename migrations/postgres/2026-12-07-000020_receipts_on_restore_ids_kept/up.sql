-- A signature confirmed while invalidated gets no receipt; receipt_due remembers that it is
-- owed one, which a restore then sends. (Ids come from a sequence here: never reused.)
ALTER TABLE signatures ADD COLUMN receipt_due BOOLEAN NOT NULL DEFAULT FALSE;
