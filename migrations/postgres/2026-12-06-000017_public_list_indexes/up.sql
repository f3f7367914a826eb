-- The petition page lists its latest public signers and public comments: each walks its own
-- index newest first, instead of every confirmed signature (a petition with few public
-- comments read tens of thousands of rows for each refresh of its page).
CREATE INDEX signatures_public_recent ON signatures (petition_id, public, status, confirmed_at);
CREATE INDEX signatures_comments_recent ON signatures (petition_id, comment_public, status, confirmed_at);
