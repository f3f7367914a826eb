DROP INDEX signatures_by_withdraw_resent;
ALTER TABLE signatures DROP COLUMN withdraw_hash_resent;
