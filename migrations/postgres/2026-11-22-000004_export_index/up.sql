-- Exports and the delivery document read confirmed signatures in id order, batch by batch:
-- this index makes each batch a range scan instead of a sort of every signature.
CREATE INDEX signatures_export ON signatures (petition_id, status, id);
