-- Organizer sessions live on the server: the cookie carries only a random id, of which
-- only the SHA-256 is stored here. Deleting a row ends that session at once.
CREATE TABLE organizer_sessions (
    id_hash TEXT PRIMARY KEY NOT NULL,
    organizer_id INTEGER NOT NULL REFERENCES organizers (id) ON DELETE CASCADE,
    created_at TIMESTAMP NOT NULL,
    last_seen_at TIMESTAMP NOT NULL
);
CREATE INDEX organizer_sessions_by_organizer ON organizer_sessions (organizer_id);

-- The random seed of one day's network-hash key (the key itself also needs the master key).
-- Only today's row is kept: once a day is over its seed is deleted, and that day's hashes can
-- no longer be recomputed by anyone.
CREATE TABLE network_hash_seeds (
    day TEXT PRIMARY KEY NOT NULL,
    seed TEXT NOT NULL
);
