// The SQLite schema as a list of forward migrations, and the code that applies them.
#include "store/sqlite/sqlite_schema.h"

#include <array>
#include <string>

#include <spdlog/spdlog.h>

namespace memtrace::sqlite {
namespace {

// Step i takes a database from user_version i to i + 1. Append new steps; never edit a released one.
//
// Layout notes:
// - Every key starts with the namespace, so namespaces never see each other's rows and every index
//   range is per namespace.
// - memories.pk is the rowid, the key of the FTS row. Recall walks an index newest-first
//   ((ns, session_id, id), (ns, agent_id, id), (ns, id)) or the tag table (ns, tag, memory_id), and
//   stops after `limit` rows: O(log n + k). A substring search walks the trigram index's matches by
//   pk, newest first, and stops once memories.id_hwm (the largest id at or below a row in pk order)
//   shows that no row left can be among the `limit` largest ids.
// - memories.tags keeps the tags in their given order as a JSON array of strings; memory_tags holds
//   one row per tag for exact all-of matching.
// - memories_fts is an external-content FTS5 table with the trigram tokenizer (case-insensitive
//   substring search). A memory's row reaches it shortly after its write, in a batch (see fts_pending).
// - sessions.memory_rows counts the session's memory rows, kept by triggers on memories; a summary's live
//   count subtracts the expired rows not purged yet (memories_expiring_by_session), as Redis does.
// - session_metadata holds one row per key; its (ns, key, value, session_id) index answers
//   containment queries newest-first. session_agents holds the creator (wrote = 0) and every agent
//   that wrote into the session (wrote = 1); its (ns, agent_id, session_id) index answers "sessions of
//   this agent".
// - changes is the change log behind watch(): one row per write, appended in the write's own
//   transaction. seq is the rowid, so a new row gets max(seq) + 1; pruning always keeps the newest row,
//   so a sequence number is never reused (the same guarantee as AUTOINCREMENT without its extra
//   sqlite_sequence write on every insert).
// - changes is also the durable change feed (read_changes): rows with a feed_kind, kept for the change
//   retention (7 days by default); the cursor is the seq as decimal text.
// - memories_fts has columnsize=0: nothing here ranks by bm25, and it saves a row write per insert.
// - memories_tag_fts indexes about half the trigrams of a memory's content (its minimizers) once per
//   tag of the memory (sqlite_tag_index.h), so that a search naming content and a tag walks only that
//   tag's matches. Contentless, detail=none: it only finds candidates; the search checks content and
//   tags exactly.
constexpr std::array kMigrations = {
    R"sql(
CREATE TABLE agents (
  ns TEXT NOT NULL,
  id TEXT NOT NULL,
  description TEXT NOT NULL DEFAULT '',
  created_at INTEGER NOT NULL,
  PRIMARY KEY (ns, id)
) WITHOUT ROWID;

CREATE TABLE sessions (
  ns TEXT NOT NULL,
  id TEXT NOT NULL,
  created_by TEXT NOT NULL,
  status TEXT NOT NULL CHECK (status IN ('active', 'closed')),
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL,
  closed_at INTEGER,
  PRIMARY KEY (ns, id)
) WITHOUT ROWID;
CREATE INDEX sessions_by_status ON sessions (ns, status, id);

CREATE TABLE session_metadata (
  ns TEXT NOT NULL,
  session_id TEXT NOT NULL,
  key TEXT NOT NULL,
  value TEXT NOT NULL,
  PRIMARY KEY (ns, session_id, key),
  FOREIGN KEY (ns, session_id) REFERENCES sessions (ns, id)
) WITHOUT ROWID;
CREATE INDEX session_metadata_by_value ON session_metadata (ns, key, value, session_id);

CREATE TABLE session_agents (
  ns TEXT NOT NULL,
  session_id TEXT NOT NULL,
  agent_id TEXT NOT NULL,
  wrote INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (ns, session_id, agent_id),
  FOREIGN KEY (ns, session_id) REFERENCES sessions (ns, id)
) WITHOUT ROWID;
CREATE INDEX session_agents_by_agent ON session_agents (ns, agent_id, session_id);

CREATE TABLE memories (
  pk INTEGER PRIMARY KEY,
  ns TEXT NOT NULL,
  id TEXT NOT NULL,
  session_id TEXT NOT NULL,
  agent_id TEXT NOT NULL,
  type TEXT NOT NULL,
  content TEXT NOT NULL,
  tags TEXT NOT NULL DEFAULT '[]',
  importance REAL NOT NULL,
  created_at INTEGER NOT NULL,
  expires_at INTEGER,
  metadata_json TEXT NOT NULL DEFAULT '{}',
  reasoning TEXT,
  FOREIGN KEY (ns, session_id) REFERENCES sessions (ns, id)
);
CREATE UNIQUE INDEX memories_by_id ON memories (ns, id);
CREATE INDEX memories_by_session ON memories (ns, session_id, id);
CREATE INDEX memories_by_agent ON memories (ns, agent_id, id);
CREATE INDEX memories_by_expiry ON memories (expires_at) WHERE expires_at IS NOT NULL;

CREATE TABLE memory_tags (
  ns TEXT NOT NULL,
  tag TEXT NOT NULL,
  memory_id TEXT NOT NULL,
  PRIMARY KEY (ns, tag, memory_id)
) WITHOUT ROWID;

CREATE VIRTUAL TABLE memories_fts USING fts5 (
  content, content = 'memories', content_rowid = 'pk', tokenize = 'trigram', columnsize = 0
);

CREATE TABLE changes (
  seq INTEGER PRIMARY KEY,
  at INTEGER NOT NULL,
  kind INTEGER NOT NULL,
  ns TEXT NOT NULL,
  session_id TEXT NOT NULL
);
)sql",
    // API keys of the HTTP transport: only the SHA-256 of each token is kept.
    R"sql(
CREATE TABLE api_keys (
  id TEXT PRIMARY KEY,
  ns TEXT NOT NULL,
  hash TEXT NOT NULL UNIQUE,
  label TEXT NOT NULL DEFAULT '',
  created_at INTEGER NOT NULL,
  revoked_at INTEGER
) WITHOUT ROWID;
CREATE INDEX api_keys_by_namespace ON api_keys (ns, created_at);
)sql",
    // Task claims: one row per task that has (or had) a holder. A row whose lease_until has passed is a
    // free task; the next claim overwrites it, a release deletes it.
    R"sql(
CREATE TABLE task_claims (
  ns TEXT NOT NULL,
  task_id TEXT NOT NULL,
  holder_agent TEXT NOT NULL,
  holder_session TEXT NOT NULL,
  claimed_at INTEGER NOT NULL,
  lease_until INTEGER NOT NULL,
  PRIMARY KEY (ns, task_id)
) WITHOUT ROWID;
)sql",
    // Tasks that stay done, fencing tokens and task history. A task_claims row now outlives its claim:
    // state 'claimed' (in force while lease_until is ahead), 'free' (released or reopened) or 'done'
    // (holder_* is who finished it); token is the newest issued for the task and survives restarts.
    R"sql(
ALTER TABLE task_claims ADD COLUMN token INTEGER NOT NULL DEFAULT 0;
ALTER TABLE task_claims ADD COLUMN state TEXT NOT NULL DEFAULT 'claimed';
ALTER TABLE task_claims ADD COLUMN done_at INTEGER;
ALTER TABLE task_claims ADD COLUMN result_id TEXT;
CREATE TABLE task_history (
  seq INTEGER PRIMARY KEY,
  ns TEXT NOT NULL,
  task_id TEXT NOT NULL,
  at INTEGER NOT NULL,
  kind TEXT NOT NULL,
  agent TEXT NOT NULL,
  session TEXT NOT NULL,
  token INTEGER NOT NULL,
  memory_id TEXT
);
CREATE INDEX task_history_by_task ON task_history (ns, task_id, seq);
)sql",
    // The durable change feed: a `changes` row now also says what changed (feed_kind, NULL for rows that
    // only wake watchers, e.g. expiry), who (agent) and which record (subject). The partial indexes
    // serve read_changes per namespace and per session without touching wake-up-only rows.
    R"sql(
ALTER TABLE changes ADD COLUMN feed_kind TEXT;
ALTER TABLE changes ADD COLUMN agent TEXT NOT NULL DEFAULT '';
ALTER TABLE changes ADD COLUMN subject TEXT NOT NULL DEFAULT '';
CREATE INDEX changes_feed ON changes (ns, seq) WHERE feed_kind IS NOT NULL;
CREATE INDEX changes_feed_by_session ON changes (ns, session_id, seq) WHERE feed_kind IS NOT NULL;
)sql",
    // Facts that supersede facts, and deduplication. superseded_by / valid_until are set on a memory
    // when a newer one supersedes it. dedup_key is store/dedup.h's fingerprint of a memory written
    // since this version (older rows have none and are never found as duplicates); its partial index
    // finds the candidates of one fingerprint newest first, and the write compares the fields.
    R"sql(
ALTER TABLE memories ADD COLUMN superseded_by TEXT;
ALTER TABLE memories ADD COLUMN valid_until INTEGER;
ALTER TABLE memories ADD COLUMN dedup_key TEXT;
CREATE INDEX memories_by_dedup_key ON memories (ns, dedup_key, id) WHERE dedup_key IS NOT NULL;
)sql",
    // Retry-safe writes: the memory each idempotency key of a namespace was last written for, kept
    // kIdempotencyWindowMs (purge_expired deletes older rows).
    R"sql(
CREATE TABLE idempotency_keys (
  ns TEXT NOT NULL,
  key TEXT NOT NULL,
  memory_id TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  PRIMARY KEY (ns, key)
) WITHOUT ROWID;
CREATE INDEX idempotency_keys_by_age ON idempotency_keys (created_at);
)sql",
    // Substring indexing after the write: a new memory's pk goes into fts_pending in the write's own
    // transaction, and the content indexer (sqlite_content_index.cpp) moves pending rows into
    // memories_fts in batches. Searches read memories_fts and fts_pending together, so a memory is
    // found from the moment its write commits. Rows written before this version are all indexed.
    R"sql(
CREATE TABLE fts_pending (pk INTEGER PRIMARY KEY);
)sql",
    // The session context without reading every row of its session. Its summary counts the session's
    // live memories and finds the newest: memories_by_session now carries created_at and expires_at, so
    // that count reads the index alone. Its decisions (read apart from the rest: they deserve a place
    // however old) come from a partial index of decisions, which only a decision pays for on the write
    // path. At 100k memories in a session each of the two had read all 100k rows.
    R"sql(
DROP INDEX memories_by_session;
CREATE INDEX memories_by_session ON memories (ns, session_id, id, created_at, expires_at);
CREATE INDEX memories_decisions_by_session ON memories (ns, session_id, id) WHERE type = 'decision';
)sql",
    // A substring search that stops after its first matches. It reads the trigram index's matches
    // newest first by pk, and a row's id_hwm bounds the ids of every row at or below it in pk order
    // (NULL: the row's own id is that bound, the common case, as ids grow with time). The insert sets
    // it from the row before; here, a running maximum over the rows there are.
    R"sql(
ALTER TABLE memories ADD COLUMN id_hwm TEXT;
WITH marks AS (
  SELECT pk, id, max(id) OVER (ORDER BY pk ROWS UNBOUNDED PRECEDING) AS hwm FROM memories
)
UPDATE memories SET id_hwm = marks.hwm FROM marks WHERE marks.pk = memories.pk AND marks.hwm > marks.id;
)sql",
    // A session's summary without walking its memories: sessions.memory_rows counts its rows (kept by
    // the triggers, whichever statement inserts or deletes), and the partial index finds those among
    // them that expired but are not purged yet, so live = rows - expired. At 1M memories in a session
    // the count had walked 1M index entries for every context read and session search.
    R"sql(
ALTER TABLE sessions ADD COLUMN memory_rows INTEGER NOT NULL DEFAULT 0;
UPDATE sessions SET memory_rows =
  (SELECT count(*) FROM memories AS m WHERE m.ns = sessions.ns AND m.session_id = sessions.id);
CREATE TRIGGER memories_counted_in AFTER INSERT ON memories BEGIN
  UPDATE sessions SET memory_rows = memory_rows + 1 WHERE ns = NEW.ns AND id = NEW.session_id;
END;
CREATE TRIGGER memories_counted_out AFTER DELETE ON memories BEGIN
  UPDATE sessions SET memory_rows = memory_rows - 1 WHERE ns = OLD.ns AND id = OLD.session_id;
END;
CREATE INDEX memories_expiring_by_session ON memories (ns, session_id, expires_at)
  WHERE expires_at IS NOT NULL;
)sql",
    // The session context reads a session's memories in the order its digest keeps them (most
    // important first, then newest) and stops when its budget is full: about 130 rows of a 2,000-token
    // digest, where it had read the session's newest 1,000 rows and ranked them. The index holds only
    // what a digest shows (nothing superseded) and carries expires_at and superseded_by (always NULL
    // here, one byte), so that counting them reads the index alone: SQLite looks for every column the
    // query names, the partial index's own condition too.
    R"sql(
CREATE INDEX memories_by_rank ON memories (ns, session_id, importance DESC, id DESC, expires_at, superseded_by)
  WHERE superseded_by IS NULL;
)sql",
    // How many memories a digest could show, without walking them: the session's rows less the
    // expired ones (memories_expiring_by_session) less the superseded ones still live, found here. A
    // context read of a 1,000-memory session had counted 1,000 entries of memories_by_rank.
    R"sql(
CREATE INDEX memories_superseded_by_session ON memories (ns, session_id, expires_at)
  WHERE superseded_by IS NOT NULL;
)sql",
    // Content + tag searches from a trigram index keyed by tag (sqlite_tag_index.h): at 1M memories a
    // word's matches of one tag had been found by walking all the word's matches, 15-20 ms at p99. The
    // memories already in memories_fts are indexed here now (those pending reach both indexes through
    // the content indexer): 48 s for 1M memories on a 2-core VM, once. memtrace_tag_trigrams is registered
    // on every connection of the store. Its terms are many and sparse, and FTS5's merges pay per term:
    // merging segments eight at a time instead of four made filling it a third cheaper, for ~50 µs more
    // on a search that reads every candidate at 100k memories.
    R"sql(
CREATE VIRTUAL TABLE memories_tag_fts USING fts5 (
  tokens, content = '', tokenize = 'ascii', columnsize = 0, detail = none
);
INSERT INTO memories_tag_fts (memories_tag_fts, rank) VALUES ('automerge', 8);
INSERT INTO memories_tag_fts (rowid, tokens)
  SELECT pk, document FROM (
    SELECT m.pk AS pk, memtrace_tag_trigrams(m.ns, m.tags, m.content) AS document FROM memories AS m
    WHERE NOT EXISTS (SELECT 1 FROM fts_pending AS p WHERE p.pk = m.pk) ORDER BY m.pk)
  WHERE document IS NOT NULL;
)sql",
    // The content indexer merges both FTS5 indexes' segments itself, a few pages per transaction
    // (merge_content_indexes in sqlite_content_index.h). FTS5's own merges ran inside the transaction
    // that flushed a segment, which holds the write lock: at 100k memories and 16 writes in flight the
    // slowest index transactions took 30-90 ms, most of it merging, and every write in flight waited.
    // 'usermerge' is how many segments of a level a merge waits for, what 'automerge' had said (the
    // default 4, and 8 for the index keyed by tag).
    R"sql(
INSERT INTO memories_fts (memories_fts, rank) VALUES ('automerge', 0);
INSERT INTO memories_tag_fts (memories_tag_fts, rank) VALUES ('automerge', 0);
INSERT INTO memories_tag_fts (memories_tag_fts, rank) VALUES ('usermerge', 8);
)sql",
};

Result<int> read_user_version(Connection& connection) {
  auto statement = connection.prepare("PRAGMA user_version", "read the schema version");
  if (!statement) return tl::unexpected(statement.error());
  auto row = statement->step();
  if (!row) return tl::unexpected(row.error());
  return *row ? static_cast<int>(statement->int64(0)) : 0;
}

Error too_new(const Connection& connection, int version) {
  return Error{ErrorCode::kUnavailable, "the database " + connection.path() + " has schema version " +
                                            std::to_string(version) +
                                            ", newer than this memtrace-mcp understands (up to " +
                                            std::to_string(latest_schema_version()) +
                                            "); upgrade memtrace-mcp or point it at another database file"};
}

}  // namespace

int latest_schema_version() {
  return static_cast<int>(kMigrations.size());
}

Result<void> migrate(Connection& connection) {
  // Fast path for the common case of an up-to-date file: no write lock taken.
  auto current = read_user_version(connection);
  if (!current) return tl::unexpected(current.error());
  if (*current > latest_schema_version()) return tl::unexpected(too_new(connection, *current));
  if (*current == latest_schema_version()) return {};

  auto transaction = Transaction::begin(connection, Transaction::Kind::kWrite, "migrate the schema");
  if (!transaction) return tl::unexpected(transaction.error());
  // Read again under the write lock: another process may have migrated in the meantime.
  current = read_user_version(connection);
  if (!current) return tl::unexpected(current.error());
  if (*current > latest_schema_version()) return tl::unexpected(too_new(connection, *current));
  if (*current > 0) {  // an existing file: some steps index every memory again, which takes a while
    spdlog::info("sqlite: upgrading {} from schema version {} to {}; a large store takes a minute or two",
                 connection.path(), *current, latest_schema_version());
  }
  for (int version = *current; version < latest_schema_version(); ++version) {
    if (auto applied = connection.exec(kMigrations[static_cast<std::size_t>(version)],
                                       "migrate the schema to version " + std::to_string(version + 1));
        !applied) {
      return applied;
    }
  }
  if (auto set = connection.exec("PRAGMA user_version = " + std::to_string(latest_schema_version()),
                                 "record the schema version");
      !set) {
    return set;
  }
  return transaction->commit();
}

}  // namespace memtrace::sqlite
