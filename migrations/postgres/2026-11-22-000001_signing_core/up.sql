CREATE TABLE petitions (
    id SERIAL PRIMARY KEY,
    slug TEXT NOT NULL UNIQUE,
    title TEXT NOT NULL,
    summary TEXT NOT NULL DEFAULT '',
    body_markdown TEXT NOT NULL,
    body_html TEXT NOT NULL,
    started_by TEXT NOT NULL DEFAULT '',
    owner_email TEXT,
    status TEXT NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'closed')),
    created_at TIMESTAMP NOT NULL,
    closes_at TIMESTAMP,
    -- Confirmed, not invalidated signatures; kept in step inside the confirming transaction.
    signature_count INTEGER NOT NULL DEFAULT 0,
    -- The last signer number handed out; never goes down, so numbers stay unique.
    last_number INTEGER NOT NULL DEFAULT 0
);

CREATE TABLE petition_goals (
    id SERIAL PRIMARY KEY,
    petition_id INTEGER NOT NULL REFERENCES petitions (id) ON DELETE CASCADE,
    goal INTEGER NOT NULL,
    UNIQUE (petition_id, goal)
);

CREATE TABLE petition_targets (
    id SERIAL PRIMARY KEY,
    petition_id INTEGER NOT NULL REFERENCES petitions (id) ON DELETE CASCADE,
    position INTEGER NOT NULL,
    name TEXT NOT NULL
);
CREATE INDEX petition_targets_petition ON petition_targets (petition_id, position);

-- One row per petition and country, created with the petition, so that confirming only ever
-- updates a row (no upsert race between instances).
CREATE TABLE country_counts (
    id SERIAL PRIMARY KEY,
    petition_id INTEGER NOT NULL REFERENCES petitions (id) ON DELETE CASCADE,
    country TEXT NOT NULL,
    count INTEGER NOT NULL DEFAULT 0,
    UNIQUE (petition_id, country)
);

CREATE TABLE signatures (
    id SERIAL PRIMARY KEY,
    petition_id INTEGER NOT NULL REFERENCES petitions (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    email TEXT NOT NULL,
    email_key TEXT NOT NULL,
    country TEXT NOT NULL,
    postcode TEXT,
    comment TEXT,
    public BOOLEAN NOT NULL DEFAULT FALSE,
    locale TEXT NOT NULL DEFAULT 'en',
    status TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'confirmed')),
    number INTEGER,
    created_at TIMESTAMP NOT NULL,
    confirmed_at TIMESTAMP,
    invalidated_at TIMESTAMP,
    invalidation_reason TEXT,
    emails_sent INTEGER NOT NULL DEFAULT 0,
    ip_hash TEXT,
    UNIQUE (petition_id, email_key)
);
CREATE INDEX signatures_recent ON signatures (petition_id, status, confirmed_at);

CREATE TABLE confirmation_tokens (
    id SERIAL PRIMARY KEY,
    signature_id INTEGER NOT NULL REFERENCES signatures (id) ON DELETE CASCADE,
    token_hash TEXT NOT NULL UNIQUE,
    created_at TIMESTAMP NOT NULL,
    expires_at TIMESTAMP NOT NULL
);

CREATE TABLE email_jobs (
    id SERIAL PRIMARY KEY,
    recipient TEXT NOT NULL,
    subject TEXT NOT NULL,
    body_text TEXT NOT NULL,
    body_html TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TIMESTAMP NOT NULL,
    lease_until TIMESTAMP,
    sent_at TIMESTAMP,
    failed_at TIMESTAMP,
    last_error TEXT
);
CREATE INDEX confirmation_tokens_signature ON confirmation_tokens (signature_id);
CREATE INDEX email_jobs_due ON email_jobs (sent_at, failed_at, next_attempt_at);
