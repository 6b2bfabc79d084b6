-- SMS and USSD: the durable inbound queue, the outbox, per-number sessions and history.

-- Every accepted inbound message, committed before the webhook answers. The unique
-- (provider, provider_msg_id) pair is what makes a provider's retry a no-op.
CREATE TABLE sms_inbound (
    id              INTEGER PRIMARY KEY,
    provider        TEXT NOT NULL,
    provider_msg_id TEXT NOT NULL,
    msisdn          TEXT NOT NULL,          -- sender, E.164
    shortcode       TEXT NOT NULL DEFAULT '',
    text            TEXT NOT NULL,
    received_at     REAL NOT NULL,          -- unix seconds
    -- queued -> answered | ignored | failed
    state           TEXT NOT NULL DEFAULT 'queued',
    lease_owner     TEXT,
    lease_until     REAL,
    attempts        INTEGER NOT NULL DEFAULT 0,
    outcome         TEXT,                   -- why: answer, stop, more, limited, opted_out …
    done_at         REAL,
    UNIQUE (provider, provider_msg_id)
);
CREATE INDEX sms_inbound_ready ON sms_inbound (state, id);
CREATE INDEX sms_inbound_number ON sms_inbound (msisdn, state);

-- One row per reply, written in the same transaction that marks its inbound message
-- answered; UNIQUE(inbound_id) and the idempotency key make the reply exist at most once.
CREATE TABLE sms_outbox (
    id              INTEGER PRIMARY KEY,
    inbound_id      INTEGER UNIQUE REFERENCES sms_inbound (id),
    idempotency_key TEXT NOT NULL UNIQUE,
    provider        TEXT NOT NULL,
    msisdn          TEXT NOT NULL,
    sender          TEXT NOT NULL DEFAULT '',
    text            TEXT NOT NULL,
    encoding        TEXT NOT NULL,
    segments        INTEGER NOT NULL,
    -- pending -> sent -> delivered | undelivered ; pending -> failed (gave up)
    state           TEXT NOT NULL DEFAULT 'pending',
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at REAL NOT NULL,
    lease_owner     TEXT,
    lease_until     REAL,
    provider_ref    TEXT,
    last_error      TEXT,
    created_at      REAL NOT NULL,
    sent_at         REAL,
    dlr_status      TEXT,
    dlr_at          REAL
);
CREATE INDEX sms_outbox_ready ON sms_outbox (state, next_attempt_at);
CREATE INDEX sms_outbox_ref ON sms_outbox (provider, provider_ref);

-- What a phone number chose and what it is owed.
CREATE TABLE sms_sessions (
    msisdn          TEXT PRIMARY KEY,
    lang            TEXT,
    opted_out       INTEGER NOT NULL DEFAULT 0,
    pending_more    TEXT,                   -- the rest of a cut reply, for MORE
    limited_until   REAL,                   -- a rate-limit notice was sent; stay quiet until
    day             TEXT,                   -- UTC date the quota counter belongs to
    day_count       INTEGER NOT NULL DEFAULT 0,
    updated_at      REAL NOT NULL
);

-- Conversation history per number (what was asked, what was answered).
CREATE TABLE sms_history (
    id              INTEGER PRIMARY KEY,
    msisdn          TEXT NOT NULL,
    role            TEXT NOT NULL,
    text            TEXT NOT NULL,
    at              REAL NOT NULL
);
CREATE INDEX sms_history_number ON sms_history (msisdn, id);
