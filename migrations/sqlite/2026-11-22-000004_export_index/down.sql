DROP INDEX signatures_export;
