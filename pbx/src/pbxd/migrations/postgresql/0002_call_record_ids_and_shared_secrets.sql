-- Call records get their own key: a Call-ID is chosen by the caller and may come again (a
-- phone that reuses it, or an attacker), and keyed by it an answered call could be rewritten.
-- Existing rows keep their Call-ID as their id.

ALTER TABLE call_records ADD COLUMN record_id TEXT;

UPDATE call_records SET record_id = call_id;

ALTER TABLE call_records ALTER COLUMN record_id SET NOT NULL;

ALTER TABLE call_records DROP CONSTRAINT call_records_pkey;

ALTER TABLE call_records ADD PRIMARY KEY (record_id);

CREATE INDEX call_records_by_call_id ON call_records (call_id);

-- Keys every node of the cluster must share, made once by whichever node needs one first
-- (the key that signs pbxd's Record-Route, so that calls survive a failover).
CREATE TABLE shared_secrets (
    name  TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
