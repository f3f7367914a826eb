-- An organizer's second factors: authenticator apps (their shared secret sealed under the data
-- key) for now. `confirmed_at` is NULL until a first code proved the app holds the secret;
-- `last_step` is the time step of the last code accepted, so that no code works twice.
CREATE TABLE organizer_factors (
    id SERIAL PRIMARY KEY,
    organizer_id INTEGER NOT NULL REFERENCES organizers (id) ON DELETE CASCADE,
    kind TEXT NOT NULL,
    secret TEXT NOT NULL,
    confirmed_at TIMESTAMP,
    last_step BIGINT,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX organizer_factors_by_organizer ON organizer_factors (organizer_id);

-- Single-use recovery codes, kept only as hashes.
CREATE TABLE recovery_codes (
    id SERIAL PRIMARY KEY,
    organizer_id INTEGER NOT NULL REFERENCES organizers (id) ON DELETE CASCADE,
    code_hash TEXT NOT NULL,
    used_at TIMESTAMP,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX recovery_codes_by_organizer ON recovery_codes (organizer_id);

-- When the session's organizer last proved their second factor (NULL: not in this session).
ALTER TABLE organizer_sessions ADD COLUMN factor_at TIMESTAMP;
