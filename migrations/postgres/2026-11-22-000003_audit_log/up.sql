-- Every organizer action: who, what, when. Kept when the organizer or petition goes.
CREATE TABLE audit_log (
    id SERIAL PRIMARY KEY,
    organizer_id INTEGER REFERENCES organizers (id) ON DELETE SET NULL,
    petition_id INTEGER REFERENCES petitions (id) ON DELETE SET NULL,
    action TEXT NOT NULL,
    detail TEXT NOT NULL DEFAULT '',
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX audit_log_created ON audit_log (created_at);
