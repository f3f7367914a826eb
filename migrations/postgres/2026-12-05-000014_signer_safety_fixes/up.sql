-- Queued emails about one signature, dropped when it is withdrawn.
CREATE INDEX email_jobs_signature ON email_jobs (signature_id);

-- Petitions that had closed by their closing date before closing times were recorded count
-- their retention from this upgrade, like those closed by hand (2026-11-23-000013).
UPDATE petitions SET closed_at = (now() AT TIME ZONE 'UTC')
WHERE closed_at IS NULL AND closes_at IS NOT NULL AND closes_at <= (now() AT TIME ZONE 'UTC');
