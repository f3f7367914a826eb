ALTER TABLE signatures DROP COLUMN comment_public;
ALTER TABLE confirmation_tokens DROP COLUMN comment_public;
ALTER TABLE signatures DROP COLUMN source;
ALTER TABLE confirmation_tokens DROP COLUMN source;
DROP TABLE petition_translations;
ALTER TABLE petitions DROP COLUMN text_version;
ALTER TABLE petitions DROP COLUMN language;
