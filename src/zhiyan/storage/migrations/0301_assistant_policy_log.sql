-- Every content-policy decision, with the rule that fired, for the operator to audit.
CREATE TABLE policy_decisions (
    id INTEGER PRIMARY KEY,
    at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    user_id TEXT,
    channel TEXT,
    stage TEXT NOT NULL CHECK (stage IN ('input', 'output', 'document')),
    action TEXT NOT NULL CHECK (action IN ('allow', 'refuse', 'redact')),
    rule TEXT NOT NULL,
    category TEXT,
    lang TEXT,
    excerpt TEXT
);
CREATE INDEX policy_decisions_at ON policy_decisions (at);
