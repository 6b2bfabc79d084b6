-- Idiom chain game (成语接龙) state, one row per conversation: the idioms played so far
-- in order (JSON array of {word, player}) and whether homophones may link them.
CREATE TABLE chengyu_chain (
    conversation_id TEXT PRIMARY KEY,
    homophone INTEGER NOT NULL DEFAULT 0,
    moves TEXT NOT NULL DEFAULT '[]',
    updated_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now'))
);
