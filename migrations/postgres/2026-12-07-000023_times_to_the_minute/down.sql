-- Times cut to the minute cannot be made exact again.
SELECT 1;
