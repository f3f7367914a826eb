DROP TABLE network_hash_seeds;
DROP TABLE organizer_sessions;
