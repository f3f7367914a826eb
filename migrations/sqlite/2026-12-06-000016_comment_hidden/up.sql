-- An organizer hides a public comment without losing the signer's choice, so that it can be
-- shown again.
ALTER TABLE signatures ADD COLUMN comment_hidden BOOLEAN NOT NULL DEFAULT 0;
