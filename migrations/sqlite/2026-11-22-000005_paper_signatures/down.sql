DROP TABLE paper_signatures;
ALTER TABLE petitions DROP COLUMN paper_count;
