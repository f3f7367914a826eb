-- The outbox worker takes the oldest due emails, confirmations before update mailings. The
-- old index found every waiting email and sorted them all for each round: with tens of
-- thousands waiting at a campaign peak, each round read them all. This one holds only the
-- emails waiting, in the order rounds take them (PostgreSQL and SQLite both walk it without a
-- sort), so a round reads little more than what it takes, and it does not grow with every
-- email ever sent.
DROP INDEX email_jobs_due;
CREATE INDEX email_jobs_due ON email_jobs ((update_id IS NOT NULL), id, next_attempt_at)
    WHERE sent_at IS NULL AND failed_at IS NULL;
