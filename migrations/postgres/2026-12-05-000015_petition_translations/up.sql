-- A petition's text in several languages: the original (its language recorded on the petition)
-- and a version per language (hy, en, fr, ru). `text_version` counts changes to the original's
-- text; a version made from an older one needs an update.
ALTER TABLE petitions ADD COLUMN language TEXT NOT NULL DEFAULT 'en';
ALTER TABLE petitions ADD COLUMN text_version INTEGER NOT NULL DEFAULT 1;

CREATE TABLE petition_translations (
    id SERIAL PRIMARY KEY,
    petition_id INTEGER NOT NULL REFERENCES petitions (id) ON DELETE CASCADE,
    lang TEXT NOT NULL,
    title TEXT NOT NULL,
    summary TEXT NOT NULL,
    body_markdown TEXT NOT NULL,
    body_html TEXT NOT NULL,
    -- One addressee per line; empty: the original's.
    targets TEXT NOT NULL,
    source_version INTEGER NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    UNIQUE (petition_id, lang)
);

-- Where a signer came from: the tag of the link they followed (`?src=`), kept with the
-- submission and, once confirmed, with the signature.
ALTER TABLE confirmation_tokens ADD COLUMN source TEXT;
ALTER TABLE signatures ADD COLUMN source TEXT;

-- A signer may let their comment appear on the petition page (with their name as they chose).
ALTER TABLE confirmation_tokens ADD COLUMN comment_public BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE signatures ADD COLUMN comment_public BOOLEAN NOT NULL DEFAULT FALSE;
