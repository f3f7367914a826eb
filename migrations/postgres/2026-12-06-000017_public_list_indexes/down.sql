DROP INDEX signatures_comments_recent;
DROP INDEX signatures_public_recent;
