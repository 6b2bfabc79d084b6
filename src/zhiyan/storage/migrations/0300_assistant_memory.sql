-- Conversation memory: every turn per user and conversation, and a running summary of the
-- turns that no longer fit the token budget (summarized, never silently dropped).
CREATE TABLE assistant_messages (
    id INTEGER PRIMARY KEY,
    user_id TEXT NOT NULL,
    conversation_id TEXT NOT NULL,
    role TEXT NOT NULL CHECK (role IN ('user', 'assistant')),
    content TEXT NOT NULL,
    tokens INTEGER NOT NULL,
    summarized INTEGER NOT NULL DEFAULT 0,
    created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);
CREATE INDEX assistant_messages_conversation
    ON assistant_messages (user_id, conversation_id, summarized, id);

CREATE TABLE assistant_summaries (
    user_id TEXT NOT NULL,
    conversation_id TEXT NOT NULL,
    summary TEXT NOT NULL,
    tokens INTEGER NOT NULL,
    through_id INTEGER NOT NULL,
    updated_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    PRIMARY KEY (user_id, conversation_id)
);

-- A user's chosen language (the LANG command); it overrides detection.
CREATE TABLE assistant_user_prefs (
    user_id TEXT PRIMARY KEY,
    lang TEXT NOT NULL,
    updated_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);
