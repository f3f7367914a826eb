DROP TABLE email_jobs;
DROP TABLE confirmation_tokens;
DROP TABLE signatures;
DROP TABLE country_counts;
DROP TABLE petition_targets;
DROP TABLE petition_goals;
DROP TABLE petitions;
