-- A signature confirmed while invalidated gets no receipt; receipt_due remembers that it is
-- owed one, which a restore then sends. (Signature ids never reused: db::ids_never_reused
-- rebuilds the table with AUTOINCREMENT once the plaintext columns are gone.)
ALTER TABLE signatures ADD COLUMN receipt_due BOOLEAN NOT NULL DEFAULT 0;
