// Tests for the SQLite session store and its transcripts.
#include "hearth/agent/session_store.h"

#include <gtest/gtest.h>
#include <sqlite3.h>

#include <chrono>
#include <thread>

#include "hearth/agent/transcript.h"
#include "testing.h"

namespace hearth::agent {
namespace {

TEST(SessionStore, StoresSessionsAndEntriesInOrder) {
  const auto path = testing::temp_path("sessions.db");
  auto store = SessionStore::open(path);
  ASSERT_TRUE(store.ok()) << store.error().message();
  SessionInfo info;
  info.task = "make a file";
  info.workspace = "/w";
  info.backend = "scripted s";
  Result<std::string> id = (*store)->create(info);
  ASSERT_TRUE(id.ok()) << id.error().message();

  llm::Message assistant;
  assistant.role = llm::Role::kAssistant;
  assistant.tool_calls = {{"c1", "bash", R"({"command":"ls"})"}};
  Entry reply;
  reply.message = assistant;
  reply.prompt_tokens = 10;
  reply.completion_tokens = 3;
  Entry task;
  task.message = llm::Message::user("make a file");
  ASSERT_TRUE((*store)->append(*id, task).ok());
  Result<int64_t> seq = (*store)->append(*id, reply);
  ASSERT_TRUE(seq.ok());
  EXPECT_EQ(*seq, 2);
  Entry result;
  result.message = llm::Message::tool_result(assistant.tool_calls[0], "a.txt");
  result.duration_ms = 5;
  ASSERT_TRUE((*store)->append(*id, result).ok());
  Entry note;
  note.kind = EntryKind::kNote;
  note.message = llm::Message::system("budget: done");
  note.data = {{"stop_reason", "max_steps"}};
  ASSERT_TRUE((*store)->append(*id, note).ok());
  ASSERT_TRUE((*store)->set_status(*id, "max_steps").ok());

  // A second connection sees everything: each append committed on its own.
  auto reader = SessionStore::open(path);
  ASSERT_TRUE(reader.ok());
  Result<SessionInfo> got = (*reader)->get(id->substr(0, 5));
  ASSERT_TRUE(got.ok()) << got.error().message();
  EXPECT_EQ(got->status, "max_steps");
  EXPECT_EQ(got->entries, 4);
  EXPECT_EQ(got->prompt_tokens, 10);
  Result<std::vector<Entry>> entries = (*reader)->entries(*id);
  ASSERT_TRUE(entries.ok()) << entries.error().message();
  ASSERT_EQ(entries->size(), 4u);
  EXPECT_EQ((*entries)[1].message.tool_calls[0].arguments, R"({"command":"ls"})");
  EXPECT_EQ((*entries)[2].message.tool_call_id, "c1");
  EXPECT_EQ((*entries)[3].kind, EntryKind::kNote);
  EXPECT_EQ((*entries)[3].data["stop_reason"], "max_steps");

  const std::string md = transcript_markdown(*got, *entries);
  EXPECT_NE(md.find("Tool call `bash`"), std::string::npos) << md;
  EXPECT_NE(md.find("> note: budget: done"), std::string::npos);
  const std::string jsonl = transcript_jsonl(*got, *entries);
  EXPECT_EQ(std::count(jsonl.begin(), jsonl.end(), '\n'), 5);
  EXPECT_NE(jsonl.find(R"("tool_call_id":"c1")"), std::string::npos);

  Result<std::vector<SessionInfo>> list = (*reader)->list(10);
  ASSERT_TRUE(list.ok());
  ASSERT_EQ(list->size(), 1u);
  EXPECT_NE(session_line((*list)[0]).find("make a file"), std::string::npos);
}

TEST(SessionStore, ReportsUnknownIds) {
  auto store = SessionStore::open(testing::temp_path("s.db"));
  ASSERT_TRUE(store.ok());
  Result<SessionInfo> missing = (*store)->get("nope");
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.error().message().find("no session 'nope'"), std::string::npos);
}

// Two agents starting at once open the same new file: while one holds its write lock, the
// other's switch to WAL gets SQLITE_BUSY at once, without the busy handler. Opening waits.
TEST(SessionStore, OpensANewFileAnotherProcessIsWriting) {
  const auto path = testing::temp_path("busy.db");
  sqlite3* other = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &other), SQLITE_OK);
  ASSERT_EQ(
      sqlite3_exec(other, "BEGIN IMMEDIATE; CREATE TABLE scratch (x);", nullptr, nullptr, nullptr),
      SQLITE_OK);
  std::thread release([other] {
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    sqlite3_exec(other, "COMMIT", nullptr, nullptr, nullptr);
  });
  auto store = SessionStore::open(path);
  release.join();
  sqlite3_close(other);
  ASSERT_TRUE(store.ok()) << store.error().message();
  EXPECT_TRUE((*store)->list(10).ok());
}

// Debates share the store: their sessions carry kind "debate"; databases from before the
// column existed open with their sessions read as agents'.
TEST(SessionStore, KeepsTheKindOfSessionAndUpgradesOldDatabases) {
  const auto path = testing::temp_path("old.db");
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(db,
                         "CREATE TABLE sessions (id TEXT PRIMARY KEY, created_at REAL NOT NULL, "
                         "updated_at REAL NOT NULL, task TEXT NOT NULL, workspace TEXT NOT NULL, "
                         "backend TEXT NOT NULL, status TEXT NOT NULL);"
                         "INSERT INTO sessions VALUES ('old1', 1, 1, 'old task', '/w', 'b', "
                         "'completed');",
                         nullptr, nullptr, nullptr),
            SQLITE_OK);
  sqlite3_close(db);

  auto store = SessionStore::open(path);
  ASSERT_TRUE(store.ok()) << store.error().message();
  SessionInfo info;
  info.kind = "debate";
  info.task = "is 2 + 2 = 4?";
  Result<std::string> id = (*store)->create(info);
  ASSERT_TRUE(id.ok()) << id.error().message();
  Result<SessionInfo> debate = (*store)->get(*id);
  ASSERT_TRUE(debate.ok());
  EXPECT_EQ(debate->kind, "debate");
  EXPECT_NE(session_line(*debate).find("[debate] is 2 + 2"), std::string::npos);
  Result<SessionInfo> old = (*store)->get("old1");
  ASSERT_TRUE(old.ok()) << old.error().message();
  EXPECT_EQ(old->kind, "agent");
  EXPECT_EQ(session_line(*old).find("[agent]"), std::string::npos);
}

}  // namespace
}  // namespace hearth::agent
