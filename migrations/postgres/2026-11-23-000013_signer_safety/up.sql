-- Signer safety. Personal data moves into sealed columns (XChaCha20-Poly1305 under a key that
-- is not in the database). The application seals what the old columns hold and then drops them,
-- once, at its first start after this migration (see `db::upgrade`): SQL alone has no key.

-- A signature's name, email, postcode and comment, sealed; NULL once erased (withdrawal,
-- retention).
ALTER TABLE signatures ADD COLUMN personal TEXT;
-- The keyed hash of the email's domain, so moderation can find every signature from one
-- domain without the addresses.
ALTER TABLE signatures ADD COLUMN domain_key TEXT;
CREATE INDEX signatures_by_domain ON signatures (domain_key);
-- How the name may appear in public: 'full', 'initials' or 'none'.
ALTER TABLE signatures ADD COLUMN display TEXT NOT NULL DEFAULT 'none';
UPDATE signatures SET display = 'full' WHERE public;
-- The hash of the withdraw link mailed after confirming; NULL once the data is gone.
ALTER TABLE signatures ADD COLUMN withdraw_hash TEXT;
ALTER TABLE signatures ADD COLUMN withdrawn_at TIMESTAMP;
-- When its personal data was erased (withdrawn, or retention).
ALTER TABLE signatures ADD COLUMN erased_at TIMESTAMP;
CREATE UNIQUE INDEX signatures_by_withdraw ON signatures (withdraw_hash);

ALTER TABLE confirmation_tokens ADD COLUMN personal TEXT;
ALTER TABLE confirmation_tokens ADD COLUMN display TEXT NOT NULL DEFAULT 'none';
UPDATE confirmation_tokens SET display = 'full' WHERE public;

-- A queued email (recipient, subject, bodies), sealed; NULL once sent.
ALTER TABLE email_jobs ADD COLUMN content TEXT;

-- When the petition was closed by hand (a closing date is closes_at): retention counts from
-- it. For petitions closed before this version the day is unknown: it counts from now, so an
-- upgrade never erases anyone's data earlier than the notice said.
ALTER TABLE petitions ADD COLUMN closed_at TIMESTAMP;
UPDATE petitions SET closed_at = CURRENT_TIMESTAMP WHERE status = 'closed';

-- Facts about the site itself: the id of the data key its rows are sealed under, and whether
-- the one-time sealing of older rows is done.
CREATE TABLE site_state (
    name TEXT PRIMARY KEY NOT NULL,
    value TEXT NOT NULL
);
