DROP TABLE email_allowances;
