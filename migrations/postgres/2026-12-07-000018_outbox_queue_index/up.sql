-- The outbox worker takes the oldest due emails, confirmations before update mailings. The
-- old index found every waiting email and sorted them all for each round of 128: with tens of
-- thousands waiting at a campaign peak, each round read them all. This one holds them in the
-- order they are taken, so a round reads only what it takes.
DROP INDEX email_jobs_due;
CREATE INDEX email_jobs_due ON email_jobs (sent_at, failed_at, (update_id IS NOT NULL), id, next_attempt_at);
