-- A signature's row keeps its times to the minute, as the public log does: exact times could
-- tie a row to other records (a mail server's or a network's logs). An erased row keeps no
-- window of emails.
UPDATE signatures SET
  created_at = date_trunc('minute', created_at),
  confirmed_at = date_trunc('minute', confirmed_at),
  withdrawn_at = date_trunc('minute', withdrawn_at),
  erased_at = date_trunc('minute', erased_at),
  emails_window_start = CASE WHEN erased_at IS NULL
    THEN date_trunc('minute', emails_window_start) END;
