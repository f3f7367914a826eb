-- One optional image per petition, kept in the database so every instance can serve it.
CREATE TABLE petition_images (
    petition_id INTEGER PRIMARY KEY NOT NULL REFERENCES petitions (id) ON DELETE CASCADE,
    content_type TEXT NOT NULL,
    data BLOB NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
