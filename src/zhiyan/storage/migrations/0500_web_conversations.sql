-- The web chat's conversation list and the messages shown in it. A browser is identified
-- by a random cookie (owner); nothing here is shared between browsers.
CREATE TABLE web_conversations (
    id TEXT PRIMARY KEY,
    owner TEXT NOT NULL,
    title TEXT NOT NULL,
    created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
    updated_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now'))
);
CREATE INDEX web_conversations_owner ON web_conversations(owner, updated_at);

CREATE TABLE web_messages (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    conversation_id TEXT NOT NULL REFERENCES web_conversations(id) ON DELETE CASCADE,
    role TEXT NOT NULL CHECK (role IN ('user', 'assistant')),
    text TEXT NOT NULL,
    -- the reply's citations as a JSON list (assistant messages only)
    citations TEXT NOT NULL DEFAULT '[]',
    created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now'))
);
CREATE INDEX web_messages_conversation ON web_messages(conversation_id, id);

-- The key that ties CSRF tokens to a browser's cookie; one per installation, so tokens
-- survive a restart.
CREATE TABLE web_secret (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    key TEXT NOT NULL
);
