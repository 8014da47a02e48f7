-- Call records get their own key: a Call-ID is chosen by the caller and may come again (a
-- phone that reuses it, or an attacker), and keyed by it an answered call could be rewritten.
-- Existing rows keep their Call-ID as their id. SQLite cannot change a primary key in place,
-- so the table is rebuilt (its index goes with the old table and is made again).

CREATE TABLE call_records_v2 (
    record_id   TEXT PRIMARY KEY,
    call_id     TEXT NOT NULL,
    caller      TEXT NOT NULL,
    callee      TEXT NOT NULL,
    route       TEXT NOT NULL,
    start_at    TEXT NOT NULL,
    answer_at   TEXT,
    end_at      TEXT,
    duration    REAL,
    disposition TEXT CHECK (disposition IN ('answered', 'busy', 'no_answer', 'cancelled', 'failed'))
);

INSERT INTO call_records_v2
    (record_id, call_id, caller, callee, route, start_at, answer_at, end_at, duration, disposition)
SELECT call_id, call_id, caller, callee, route, start_at, answer_at, end_at, duration, disposition
FROM call_records;

DROP TABLE call_records;

ALTER TABLE call_records_v2 RENAME TO call_records;

CREATE INDEX call_records_by_start ON call_records (start_at);

CREATE INDEX call_records_by_call_id ON call_records (call_id);

-- Keys every node of the cluster must share, made once by whichever node needs one first
-- (the key that signs pbxd's Record-Route, so that calls survive a failover).
CREATE TABLE shared_secrets (
    name  TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
