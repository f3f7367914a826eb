-- Delivery packages made (the ZIP itself is not kept: it holds personal data) and deliveries
-- recorded: which signed checkpoint was handed to whom, and when. Shown publicly.
CREATE TABLE delivery_packages (
    id SERIAL PRIMARY KEY,
    petition_id INTEGER NOT NULL REFERENCES petitions (id),
    organizer_id INTEGER REFERENCES organizers (id) ON DELETE SET NULL,
    created_at TIMESTAMP NOT NULL,
    size BIGINT NOT NULL,
    total BIGINT NOT NULL,
    signatures BIGINT NOT NULL,
    paper BIGINT NOT NULL,
    with_emails BOOLEAN NOT NULL,
    manifest_sha256 TEXT NOT NULL
);
CREATE INDEX delivery_packages_by_petition ON delivery_packages (petition_id, id);

CREATE TABLE deliveries (
    id SERIAL PRIMARY KEY,
    petition_id INTEGER NOT NULL REFERENCES petitions (id),
    package_id INTEGER REFERENCES delivery_packages (id),
    organizer_id INTEGER REFERENCES organizers (id) ON DELETE SET NULL,
    recipient TEXT NOT NULL,
    delivered_on TIMESTAMP NOT NULL,
    size BIGINT NOT NULL,
    total BIGINT NOT NULL,
    checkpoint TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX deliveries_by_petition ON deliveries (petition_id, delivered_on);

-- Witnesses' cosignatures of checkpoints: a signature line of the checkpoint's note by a key
-- the operator trusts (witness_keys), added to the note when it is served.
CREATE TABLE log_cosignatures (
    id SERIAL PRIMARY KEY,
    petition_id INTEGER NOT NULL REFERENCES petitions (id),
    size BIGINT NOT NULL,
    witness TEXT NOT NULL,
    line TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    UNIQUE (petition_id, size, witness)
);
