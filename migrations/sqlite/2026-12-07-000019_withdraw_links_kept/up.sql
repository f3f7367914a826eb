-- The withdraw link a re-submission mails is kept beside the one in the signer's receipt, so
-- that anyone typing a signer's address into the form can no longer cancel the receipt's link.
ALTER TABLE signatures ADD COLUMN withdraw_hash_resent TEXT;
CREATE UNIQUE INDEX signatures_by_withdraw_resent ON signatures (withdraw_hash_resent);
