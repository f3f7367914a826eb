DROP TABLE setup_tokens;
DROP TABLE petition_organizers;
DROP TABLE organizers;
