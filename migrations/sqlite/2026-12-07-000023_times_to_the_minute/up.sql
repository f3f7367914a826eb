-- A signature's row keeps its times to the minute, as the public log does: exact times could
-- tie a row to other records (a mail server's or a network's logs). An erased row keeps no
-- window of emails.
UPDATE signatures SET
  created_at = strftime('%Y-%m-%d %H:%M:00', created_at),
  confirmed_at = strftime('%Y-%m-%d %H:%M:00', confirmed_at),
  withdrawn_at = strftime('%Y-%m-%d %H:%M:00', withdrawn_at),
  erased_at = strftime('%Y-%m-%d %H:%M:00', erased_at),
  emails_window_start = CASE WHEN erased_at IS NULL
    THEN strftime('%Y-%m-%d %H:%M:00', emails_window_start) END;
