ALTER TABLE organizer_sessions DROP COLUMN factor_at;
DROP TABLE recovery_codes;
DROP TABLE organizer_factors;
