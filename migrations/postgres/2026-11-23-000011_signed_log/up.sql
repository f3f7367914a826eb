-- The signed log of each petition (see src/log). Every event that changes the public total is
-- queued in log_pending by the use case that causes it (in its transaction), then appended to
-- log_entries by the one sequencer, with the Merkle tree's perfect subtrees in log_nodes and a
-- signed checkpoint in log_checkpoints. Entries, nodes and checkpoints are only ever inserted.

-- The log's origin line (`<host>/petitions/<slug>`), fixed when the log starts: moving the
-- site to another address does not change which log this is.
ALTER TABLE petitions ADD COLUMN log_origin TEXT;
-- Whether the petition's log has been started (its state so far entered as events, once).
ALTER TABLE petitions ADD COLUMN log_started BOOLEAN NOT NULL DEFAULT FALSE;

-- A counted signature's commitment: SHA-256 over its random salt and its data. The receipt
-- code a signer is given is derived from the salt; only its hash is kept here.
ALTER TABLE signatures ADD COLUMN salt TEXT;
ALTER TABLE signatures ADD COLUMN commitment TEXT;
ALTER TABLE signatures ADD COLUMN receipt_hash TEXT;
CREATE UNIQUE INDEX signatures_by_receipt ON signatures (receipt_hash);

CREATE TABLE log_pending (
    id SERIAL PRIMARY KEY,
    petition_id INTEGER NOT NULL REFERENCES petitions (id),
    kind TEXT NOT NULL,
    delta BIGINT NOT NULL,
    commitment TEXT,
    batch INTEGER,
    receipt TEXT,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX log_pending_by_petition ON log_pending (petition_id, id);

CREATE TABLE log_entries (
    petition_id INTEGER NOT NULL REFERENCES petitions (id),
    idx BIGINT NOT NULL,
    kind TEXT NOT NULL,
    delta BIGINT NOT NULL,
    commitment TEXT,
    data TEXT NOT NULL,
    PRIMARY KEY (petition_id, idx)
);
CREATE INDEX log_entries_by_commitment ON log_entries (petition_id, commitment);

CREATE TABLE log_nodes (
    petition_id INTEGER NOT NULL REFERENCES petitions (id),
    level INTEGER NOT NULL,
    idx BIGINT NOT NULL,
    hash BYTEA NOT NULL,
    PRIMARY KEY (petition_id, level, idx)
);

CREATE TABLE log_checkpoints (
    id SERIAL PRIMARY KEY,
    petition_id INTEGER NOT NULL REFERENCES petitions (id),
    size BIGINT NOT NULL,
    total BIGINT NOT NULL,
    root BYTEA NOT NULL,
    note TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    UNIQUE (petition_id, size)
);

-- Who sequences: one instance at a time, by lease.
CREATE TABLE log_sequencer (
    id INTEGER PRIMARY KEY NOT NULL,
    holder TEXT NOT NULL,
    lease_until TIMESTAMP NOT NULL
);
INSERT INTO log_sequencer (id, holder, lease_until) VALUES (1, '', '1970-01-01 00:00:00');
