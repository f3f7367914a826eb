-- Signers who ticked "email me news about this petition".
ALTER TABLE signatures ADD COLUMN wants_updates BOOLEAN NOT NULL DEFAULT FALSE;

-- News organizers post on a petition, shown on its page and optionally emailed.
CREATE TABLE petition_updates (
    id SERIAL PRIMARY KEY,
    petition_id INTEGER NOT NULL REFERENCES petitions (id) ON DELETE CASCADE,
    title TEXT NOT NULL,
    body_markdown TEXT NOT NULL,
    body_html TEXT NOT NULL,
    organizer_id INTEGER REFERENCES organizers (id) ON DELETE SET NULL,
    created_at TIMESTAMP NOT NULL,
    -- How many signers it was emailed to (0 when not emailed).
    recipients INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX petition_updates_petition ON petition_updates (petition_id, created_at);
