-- The hourly cap of confirmation emails to one address counts per network that asked: a
-- stranger who keeps submitting someone's address uses up only the allowance of the
-- stranger's own network, never its owner's (the signature's own counter is the backstop).
CREATE TABLE email_allowances (
    signature_id INTEGER NOT NULL REFERENCES signatures (id) ON DELETE CASCADE,
    network TEXT NOT NULL,
    window_start TIMESTAMP NOT NULL,
    sent INTEGER NOT NULL,
    PRIMARY KEY (signature_id, network)
);
CREATE INDEX email_allowances_by_window ON email_allowances (window_start);
