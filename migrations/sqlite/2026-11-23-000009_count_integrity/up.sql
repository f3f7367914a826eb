-- Count integrity. SQLite's INTEGER is already 64-bit: the counters need no change here
-- (PostgreSQL widens them to BIGINT).

-- Each submission keeps its own data beside its link, so the link in an email confirms exactly
-- what was submitted with it, whoever else used the same address before.
ALTER TABLE confirmation_tokens ADD COLUMN name TEXT NOT NULL DEFAULT '';
ALTER TABLE confirmation_tokens ADD COLUMN email TEXT NOT NULL DEFAULT '';
ALTER TABLE confirmation_tokens ADD COLUMN country TEXT NOT NULL DEFAULT '';
ALTER TABLE confirmation_tokens ADD COLUMN postcode TEXT;
ALTER TABLE confirmation_tokens ADD COLUMN comment TEXT;
ALTER TABLE confirmation_tokens ADD COLUMN public BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE confirmation_tokens ADD COLUMN wants_updates BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE confirmation_tokens ADD COLUMN locale TEXT NOT NULL DEFAULT 'en';
ALTER TABLE confirmation_tokens ADD COLUMN ip_hash TEXT;
UPDATE confirmation_tokens SET
    name = (SELECT s.name FROM signatures s WHERE s.id = confirmation_tokens.signature_id),
    email = (SELECT s.email FROM signatures s WHERE s.id = confirmation_tokens.signature_id),
    country = (SELECT s.country FROM signatures s WHERE s.id = confirmation_tokens.signature_id),
    postcode = (SELECT s.postcode FROM signatures s WHERE s.id = confirmation_tokens.signature_id),
    comment = (SELECT s.comment FROM signatures s WHERE s.id = confirmation_tokens.signature_id),
    public = (SELECT s.public FROM signatures s WHERE s.id = confirmation_tokens.signature_id),
    wants_updates = (SELECT s.wants_updates FROM signatures s WHERE s.id = confirmation_tokens.signature_id),
    locale = (SELECT s.locale FROM signatures s WHERE s.id = confirmation_tokens.signature_id),
    ip_hash = (SELECT s.ip_hash FROM signatures s WHERE s.id = confirmation_tokens.signature_id);

-- The confirmation-email cap counts per hour from the first email of the window.
ALTER TABLE signatures ADD COLUMN emails_window_start TIMESTAMP;

-- An export snapshot: which signatures, as of when, with which choices. The CSV, its manifest
-- and the delivery document read this record, so they agree however long after they are fetched.
CREATE TABLE export_snapshots (
    id INTEGER PRIMARY KEY NOT NULL,
    petition_id INTEGER NOT NULL REFERENCES petitions (id) ON DELETE CASCADE,
    organizer_id INTEGER REFERENCES organizers (id) ON DELETE SET NULL,
    created_at TIMESTAMP NOT NULL,
    -- The petition's title then: the manifest names it.
    title TEXT NOT NULL,
    country TEXT,
    confirmed_from TIMESTAMP,
    confirmed_before TIMESTAMP,
    row_count BIGINT NOT NULL,
    signature_count BIGINT NOT NULL,
    paper_count BIGINT NOT NULL
);
CREATE INDEX export_snapshots_petition ON export_snapshots (petition_id);
CREATE TABLE export_snapshot_signatures (
    snapshot_id INTEGER NOT NULL REFERENCES export_snapshots (id) ON DELETE CASCADE,
    -- No cascade: erasing a signature that a snapshot holds must be a decision, not a side effect.
    signature_id INTEGER NOT NULL REFERENCES signatures (id),
    PRIMARY KEY (snapshot_id, signature_id)
);

-- Updates: stored once; the emails are enqueued later, in batches, by a fan-out that follows a
-- cursor over signature ids up to `fanout_upto`. The idempotency key makes a double click one post.
ALTER TABLE petition_updates ADD COLUMN idempotency_key TEXT;
CREATE UNIQUE INDEX petition_updates_idempotency ON petition_updates (petition_id, idempotency_key);
ALTER TABLE petition_updates ADD COLUMN fanout_upto INTEGER NOT NULL DEFAULT 0;
ALTER TABLE petition_updates ADD COLUMN fanout_after INTEGER NOT NULL DEFAULT 0;
ALTER TABLE petition_updates ADD COLUMN fanout_pending BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE petition_updates ADD COLUMN fanout_lease_until TIMESTAMP;
-- An update email is rendered when it is sent, from the update and the signature it names
-- (no foreign keys: a job whose update or signature is gone is skipped when it comes up).
ALTER TABLE email_jobs ADD COLUMN update_id INTEGER;
ALTER TABLE email_jobs ADD COLUMN signature_id INTEGER;
CREATE UNIQUE INDEX email_jobs_update_signature ON email_jobs (update_id, signature_id);
