DROP INDEX email_jobs_signature;
