DROP TABLE petition_translations;
ALTER TABLE petitions DROP COLUMN text_version;
ALTER TABLE petitions DROP COLUMN language;
