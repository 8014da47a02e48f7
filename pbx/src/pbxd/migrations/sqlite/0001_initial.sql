-- Extensions, registrations and call records. Times are ISO 8601 text in UTC
-- ("2026-11-26T14:00:00.000000+00:00"), so that text order is time order.

CREATE TABLE extensions (
    number       TEXT PRIMARY KEY,
    display_name TEXT NOT NULL DEFAULT '',
    realm        TEXT NOT NULL,
    ha1_md5      TEXT NOT NULL CHECK (length(ha1_md5) = 32),
    ha1_sha256   TEXT NOT NULL CHECK (length(ha1_sha256) = 64),
    enabled      INTEGER NOT NULL DEFAULT 1 CHECK (enabled IN (0, 1)),
    created_at   TEXT NOT NULL,
    updated_at   TEXT NOT NULL
);

CREATE TABLE bindings (
    aor        TEXT NOT NULL,
    contact    TEXT NOT NULL,
    expires_at REAL NOT NULL,
    call_id    TEXT NOT NULL,
    cseq       INTEGER NOT NULL,
    source     TEXT NOT NULL,
    user_agent TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (aor, contact)
) WITHOUT ROWID;

CREATE TABLE call_records (
    call_id     TEXT PRIMARY KEY,
    caller      TEXT NOT NULL,
    callee      TEXT NOT NULL,
    route       TEXT NOT NULL,
    start_at    TEXT NOT NULL,
    answer_at   TEXT,
    end_at      TEXT,
    duration    REAL,
    disposition TEXT CHECK (disposition IN ('answered', 'busy', 'no_answer', 'cancelled', 'failed'))
);

CREATE INDEX call_records_by_start ON call_records (start_at);
