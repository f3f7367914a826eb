DROP INDEX email_jobs_due;
CREATE INDEX email_jobs_due ON email_jobs (sent_at, failed_at, next_attempt_at);
