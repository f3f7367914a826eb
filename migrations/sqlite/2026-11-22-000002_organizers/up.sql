CREATE TABLE organizers (
    id INTEGER PRIMARY KEY NOT NULL,
    -- Lower-cased; one account per address.
    email TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    -- argon2id, PHC string format.
    password_hash TEXT NOT NULL,
    is_admin BOOLEAN NOT NULL DEFAULT FALSE,
    created_at TIMESTAMP NOT NULL
);

-- Who may manage which petition, besides admins, who manage all.
CREATE TABLE petition_organizers (
    id INTEGER PRIMARY KEY NOT NULL,
    petition_id INTEGER NOT NULL REFERENCES petitions (id) ON DELETE CASCADE,
    organizer_id INTEGER NOT NULL REFERENCES organizers (id) ON DELETE CASCADE,
    UNIQUE (petition_id, organizer_id)
);
CREATE INDEX petition_organizers_organizer ON petition_organizers (organizer_id);

-- One-time links that create the first admin account.
CREATE TABLE setup_tokens (
    id INTEGER PRIMARY KEY NOT NULL,
    token_hash TEXT NOT NULL UNIQUE,
    created_at TIMESTAMP NOT NULL,
    expires_at TIMESTAMP NOT NULL,
    used_at TIMESTAMP
);
