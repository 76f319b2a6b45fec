// SessionStore on the SQLite C API through a small prepared-statement wrapper. WAL with
// synchronous=NORMAL: a committed entry survives the agent being killed (only a power cut can
// lose the last few), and readers (`hearth sessions`) do not block the running agent.
#include "hearth/agent/session_store.h"

#include <sqlite3.h>

#include <fmt/format.h>

#include <chrono>
#include <cstdlib>
#include <random>
#include <thread>

namespace hearth::agent {
namespace fs = std::filesystem;
namespace {

// How long a statement waits for another process's lock before failing.
constexpr std::chrono::milliseconds kBusyTimeout{5000};

constexpr const char* kSchema = R"sql(
CREATE TABLE IF NOT EXISTS sessions (
  id TEXT PRIMARY KEY,
  created_at REAL NOT NULL,
  updated_at REAL NOT NULL,
  task TEXT NOT NULL,
  workspace TEXT NOT NULL,
  backend TEXT NOT NULL,
  status TEXT NOT NULL,
  kind TEXT NOT NULL DEFAULT 'agent'
);
CREATE TABLE IF NOT EXISTS entries (
  session_id TEXT NOT NULL REFERENCES sessions(id),
  seq INTEGER NOT NULL,
  created_at REAL NOT NULL,
  kind TEXT NOT NULL,
  role TEXT NOT NULL,
  content TEXT NOT NULL,
  reasoning TEXT NOT NULL,
  tool_calls TEXT NOT NULL,
  tool_call_id TEXT NOT NULL,
  name TEXT NOT NULL,
  prompt_tokens INTEGER NOT NULL,
  completion_tokens INTEGER NOT NULL,
  duration_ms INTEGER NOT NULL,
  is_error INTEGER NOT NULL,
  data TEXT NOT NULL,
  PRIMARY KEY (session_id, seq)
);
)sql";

double now_seconds() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

std::string new_id() {
  std::random_device device;
  return fmt::format("{:08x}{:04x}", device(), device() & 0xFFFF);
}

// One prepared statement; bind() by 1-based index, step() until done.
class Statement {
 public:
  Statement(sqlite3* db, const char* sql) : db_(db) {
    if (sqlite3_prepare_v2(db, sql, -1, &stmt_, nullptr) != SQLITE_OK) stmt_ = nullptr;
  }
  ~Statement() { sqlite3_finalize(stmt_); }
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;

  bool ok() const { return stmt_ != nullptr; }
  Error error(std::string_view what) const {
    return make_error("session database: {}: {}", what, sqlite3_errmsg(db_));
  }
  void bind(int i, std::string_view text) {
    sqlite3_bind_text(stmt_, i, text.data(), static_cast<int>(text.size()), SQLITE_TRANSIENT);
  }
  void bind(int i, int64_t value) { sqlite3_bind_int64(stmt_, i, value); }
  void bind(int i, double value) { sqlite3_bind_double(stmt_, i, value); }
  // SQLITE_ROW, SQLITE_DONE or an error code.
  int step() { return sqlite3_step(stmt_); }

  std::string text(int column) const {
    const auto* p = sqlite3_column_text(stmt_, column);
    return p ? std::string(reinterpret_cast<const char*>(p),
                           static_cast<size_t>(sqlite3_column_bytes(stmt_, column)))
             : std::string();
  }
  int64_t integer(int column) const { return sqlite3_column_int64(stmt_, column); }
  double real(int column) const { return sqlite3_column_double(stmt_, column); }

 private:
  sqlite3* db_;
  sqlite3_stmt* stmt_ = nullptr;
};

SessionInfo read_session(const Statement& s) {
  SessionInfo info;
  info.id = s.text(0);
  info.created_at = s.real(1);
  info.updated_at = s.real(2);
  info.task = s.text(3);
  info.workspace = s.text(4);
  info.backend = s.text(5);
  info.status = s.text(6);
  info.kind = s.text(7);
  return info;
}

constexpr const char* kSessionColumns =
    "id, created_at, updated_at, task, workspace, backend, status, kind";

}  // namespace

std::string_view entry_kind_name(EntryKind kind) {
  return kind == EntryKind::kNote ? "note" : "message";
}

Result<fs::path> SessionStore::default_path() {
  fs::path dir;
  if (const char* xdg = std::getenv("XDG_DATA_HOME"); xdg != nullptr && *xdg != '\0') {
    dir = fs::path(xdg) / "hearth";
  } else if (const char* home = std::getenv("HOME"); home != nullptr && *home != '\0') {
    dir = fs::path(home) / ".local" / "share" / "hearth";
  } else {
    return make_error(
        "cannot find a data directory: neither XDG_DATA_HOME nor HOME is set; "
        "pass --db");
  }
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) return make_error("cannot create data directory '{}': {}", dir.string(), ec.message());
  return dir / "sessions.db";
}

Result<std::unique_ptr<SessionStore>> SessionStore::open(const fs::path& path) {
  sqlite3* db = nullptr;
  if (sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, nullptr) !=
      SQLITE_OK) {
    Error error = make_error("cannot open session database '{}': {}", path.string(),
                             db ? sqlite3_errmsg(db) : "out of memory");
    sqlite3_close(db);
    return error;
  }
  auto store = std::unique_ptr<SessionStore>(new SessionStore(db));
  sqlite3_busy_timeout(db, static_cast<int>(kBusyTimeout.count()));
  HEARTH_RETURN_IF_ERROR(store->exec("PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"));
  HEARTH_RETURN_IF_ERROR(store->exec(kSchema));
  HEARTH_RETURN_IF_ERROR(store->add_kind_column());
  return store;
}

SessionStore::~SessionStore() {
  sqlite3_close(db_);
}

// Where waiting could deadlock, SQLite answers SQLITE_BUSY at once instead of calling the busy
// handler: two processes opening the same new file meet this when one switches it to WAL while
// the other holds its write lock. Every statement run here is idempotent set-up, so a busy one
// is run again until the busy timeout has passed.
Status SessionStore::exec(const char* sql) {
  const auto deadline = std::chrono::steady_clock::now() + kBusyTimeout;
  while (true) {
    char* message = nullptr;
    const int rc = sqlite3_exec(db_, sql, nullptr, nullptr, &message);
    if (rc == SQLITE_OK) return {};
    Error error = make_error("session database: {}", message ? message : "unknown error");
    sqlite3_free(message);
    if (rc != SQLITE_BUSY || std::chrono::steady_clock::now() >= deadline) return error;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

// Databases written before debates shared the store lack the column; their sessions are agents'.
Status SessionStore::add_kind_column() {
  Statement s(db_, "SELECT 1 FROM pragma_table_info('sessions') WHERE name = 'kind'");
  if (!s.ok()) return s.error("preparing schema check");
  const int rc = s.step();
  if (rc == SQLITE_ROW) return {};
  if (rc != SQLITE_DONE) return s.error("checking the schema");
  return exec("ALTER TABLE sessions ADD COLUMN kind TEXT NOT NULL DEFAULT 'agent'");
}

Result<std::string> SessionStore::create(SessionInfo info) {
  Statement s(db_,
              "INSERT INTO sessions (id, created_at, updated_at, task, workspace, backend, "
              "status, kind) VALUES (?, ?, ?, ?, ?, ?, 'running', ?)");
  if (!s.ok()) return s.error("preparing insert");
  info.id = new_id();
  const double now = now_seconds();
  s.bind(1, info.id);
  s.bind(2, now);
  s.bind(3, now);
  s.bind(4, info.task);
  s.bind(5, info.workspace);
  s.bind(6, info.backend);
  s.bind(7, info.kind);
  if (s.step() != SQLITE_DONE) return s.error("creating a session");
  return info.id;
}

Result<int64_t> SessionStore::append(const std::string& id, Entry entry) {
  // The seq is computed inside the INSERT so concurrent writers cannot collide.
  Statement s(db_,
              "INSERT INTO entries (session_id, seq, created_at, kind, role, content, reasoning, "
              "tool_calls, tool_call_id, name, prompt_tokens, completion_tokens, duration_ms, "
              "is_error, data) VALUES (?1, (SELECT COALESCE(MAX(seq), 0) + 1 FROM entries "
              "WHERE session_id = ?1), ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14) "
              "RETURNING seq");
  if (!s.ok()) return s.error("preparing append");
  const llm::Message& m = entry.message;
  Json calls = Json::array();
  for (const llm::ToolCall& call : m.tool_calls) {
    calls.push_back({{"id", call.id}, {"name", call.name}, {"arguments", call.arguments}});
  }
  const double now = now_seconds();
  s.bind(1, id);
  s.bind(2, now);
  s.bind(3, entry_kind_name(entry.kind));
  s.bind(4, llm::role_name(m.role));
  s.bind(5, m.content);
  s.bind(6, m.reasoning);
  s.bind(7, to_json_text(calls));
  s.bind(8, m.tool_call_id);
  s.bind(9, m.name);
  s.bind(10, entry.prompt_tokens);
  s.bind(11, entry.completion_tokens);
  s.bind(12, entry.duration_ms);
  s.bind(13, int64_t{entry.is_error ? 1 : 0});
  s.bind(14, entry.data.is_null() ? std::string("{}") : to_json_text(entry.data));
  if (s.step() != SQLITE_ROW) return s.error("appending to session " + id);
  const int64_t seq = s.integer(0);
  if (s.step() != SQLITE_DONE) return s.error("appending to session " + id);
  Statement touch(db_, "UPDATE sessions SET updated_at = ? WHERE id = ?");
  touch.bind(1, now);
  touch.bind(2, id);
  if (touch.step() != SQLITE_DONE) return touch.error("updating session " + id);
  return seq;
}

Status SessionStore::set_status(const std::string& id, const std::string& status) {
  Statement s(db_, "UPDATE sessions SET status = ?, updated_at = ? WHERE id = ?");
  if (!s.ok()) return s.error("preparing status update");
  s.bind(1, status);
  s.bind(2, now_seconds());
  s.bind(3, id);
  if (s.step() != SQLITE_DONE) return s.error("setting the status of session " + id);
  return {};
}

Result<SessionInfo> SessionStore::with_totals(SessionInfo info) {
  Statement s(db_,
              "SELECT COUNT(*), COALESCE(SUM(prompt_tokens), 0), "
              "COALESCE(SUM(completion_tokens), 0) FROM entries WHERE session_id = ?");
  if (!s.ok()) return s.error("preparing totals");
  s.bind(1, info.id);
  if (s.step() != SQLITE_ROW) return s.error("reading totals");
  info.entries = s.integer(0);
  info.prompt_tokens = s.integer(1);
  info.completion_tokens = s.integer(2);
  return info;
}

Result<std::vector<SessionInfo>> SessionStore::list(int64_t limit) {
  const std::string sql = fmt::format(
      "SELECT {} FROM sessions ORDER BY created_at DESC, rowid DESC LIMIT ?", kSessionColumns);
  Statement s(db_, sql.c_str());
  if (!s.ok()) return s.error("preparing list");
  s.bind(1, limit);
  std::vector<SessionInfo> out;
  int rc;
  while ((rc = s.step()) == SQLITE_ROW) out.push_back(read_session(s));
  if (rc != SQLITE_DONE) return s.error("listing sessions");
  for (SessionInfo& info : out) {
    HEARTH_ASSIGN_OR_RETURN(info, with_totals(std::move(info)));
  }
  return out;
}

Result<SessionInfo> SessionStore::get(const std::string& id_or_prefix) {
  if (id_or_prefix.empty()) return make_error("empty session id");
  const std::string sql = fmt::format(
      "SELECT {} FROM sessions WHERE substr(id, 1, length(?1)) = ?1 ORDER BY id LIMIT 2",
      kSessionColumns);
  Statement s(db_, sql.c_str());
  if (!s.ok()) return s.error("preparing lookup");
  s.bind(1, id_or_prefix);
  std::vector<SessionInfo> found;
  int rc;
  while ((rc = s.step()) == SQLITE_ROW) found.push_back(read_session(s));
  if (rc != SQLITE_DONE) return s.error("looking up session " + id_or_prefix);
  if (found.empty())
    return make_error("no session '{}' (see `hearth sessions list`)", id_or_prefix);
  if (found.size() > 1 && found[0].id != id_or_prefix) {
    return make_error("session id '{}' is ambiguous: it starts {} and {}", id_or_prefix,
                      found[0].id, found[1].id);
  }
  return with_totals(std::move(found[0]));
}

Result<std::vector<Entry>> SessionStore::entries(const std::string& id) {
  Statement s(db_,
              "SELECT seq, created_at, kind, role, content, reasoning, tool_calls, tool_call_id, "
              "name, prompt_tokens, completion_tokens, duration_ms, is_error, data FROM entries "
              "WHERE session_id = ? ORDER BY seq");
  if (!s.ok()) return s.error("preparing entries");
  s.bind(1, id);
  std::vector<Entry> out;
  int rc;
  while ((rc = s.step()) == SQLITE_ROW) {
    Entry e;
    e.seq = s.integer(0);
    e.created_at = s.real(1);
    e.kind = s.text(2) == "note" ? EntryKind::kNote : EntryKind::kMessage;
    HEARTH_ASSIGN_OR_RETURN(e.message.role, llm::parse_role(s.text(3)));
    e.message.content = s.text(4);
    e.message.reasoning = s.text(5);
    HEARTH_ASSIGN_OR_RETURN(Json calls, parse_json(s.text(6), "stored tool_calls"));
    for (const Json& call : calls) {
      e.message.tool_calls.push_back(
          {call.value("id", ""), call.value("name", ""), call.value("arguments", "")});
    }
    e.message.tool_call_id = s.text(7);
    e.message.name = s.text(8);
    e.prompt_tokens = s.integer(9);
    e.completion_tokens = s.integer(10);
    e.duration_ms = s.integer(11);
    e.is_error = s.integer(12) != 0;
    HEARTH_ASSIGN_OR_RETURN(e.data, parse_json(s.text(13), "stored entry data"));
    out.push_back(std::move(e));
  }
  if (rc != SQLITE_DONE) return s.error("reading session " + id);
  return out;
}

}  // namespace hearth::agent
