-- Signatures gathered on paper at events: counted in the public total, kept apart from online
-- ones. `paper_count` is their sum, kept in step in the same transaction as the rows.
ALTER TABLE petitions ADD COLUMN paper_count INTEGER NOT NULL DEFAULT 0;

CREATE TABLE paper_signatures (
    id INTEGER PRIMARY KEY NOT NULL,
    petition_id INTEGER NOT NULL REFERENCES petitions (id) ON DELETE CASCADE,
    count INTEGER NOT NULL CHECK (count > 0),
    collected_on TIMESTAMP NOT NULL,
    note TEXT NOT NULL DEFAULT '',
    organizer_id INTEGER REFERENCES organizers (id) ON DELETE SET NULL,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX paper_signatures_petition ON paper_signatures (petition_id);
