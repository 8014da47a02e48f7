-- Extensions, registrations and call records.

CREATE TABLE extensions (
    number       TEXT PRIMARY KEY,
    display_name TEXT NOT NULL DEFAULT '',
    realm        TEXT NOT NULL,
    ha1_md5      TEXT NOT NULL CHECK (length(ha1_md5) = 32),
    ha1_sha256   TEXT NOT NULL CHECK (length(ha1_sha256) = 64),
    enabled      BOOLEAN NOT NULL DEFAULT TRUE,
    created_at   TIMESTAMPTZ NOT NULL,
    updated_at   TIMESTAMPTZ NOT NULL
);

CREATE TABLE bindings (
    aor        TEXT NOT NULL,
    contact    TEXT NOT NULL,
    expires_at DOUBLE PRECISION NOT NULL,
    call_id    TEXT NOT NULL,
    cseq       BIGINT NOT NULL,
    source     TEXT NOT NULL,
    user_agent TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (aor, contact)
);

CREATE TABLE call_records (
    call_id     TEXT PRIMARY KEY,
    caller      TEXT NOT NULL,
    callee      TEXT NOT NULL,
    route       TEXT NOT NULL,
    start_at    TIMESTAMPTZ NOT NULL,
    answer_at   TIMESTAMPTZ,
    end_at      TIMESTAMPTZ,
    duration    DOUBLE PRECISION,
    disposition TEXT CHECK (disposition IN ('answered', 'busy', 'no_answer', 'cancelled', 'failed'))
);

CREATE INDEX call_records_by_start ON call_records (start_at);
