// End-to-end tests of `hearth debate` through the real binary with two different backends: a
// stub OpenAI-compatible server on 127.0.0.1 (started here; loopback only) and a scripted
// participant. A debate and a critique, stored and exported through `hearth sessions`; a TOML
// set-up; dataset mode; and the clear errors for local models and bad specs.
#include <gtest/gtest.h>

#include <atomic>
#include <fstream>
#include <mutex>

#include "hearth/base/json.h"
#include "loopback_server.h"
#include "process.h"
#include "testing.h"

namespace hearth {
namespace {

using testing::run_hearth;

// Replies by the request's last message: a stubborn "12" until it sees a peer or a review,
// then "15", streamed in pieces with usage, as an OpenAI server does.
class StubServer {
 public:
  std::string url() const { return http_.base_url() + "/v1"; }

  std::atomic<int> requests{0};
  std::vector<std::string> models() {
    std::lock_guard<std::mutex> lock(mutex_);
    return models_;
  }

 private:
  void handle(const httplib::Request& req, httplib::Response& res) {
    ++requests;
    const Json body = Json::parse(req.body);
    {
      std::lock_guard<std::mutex> lock(mutex_);
      models_.push_back(body.value("model", ""));
    }
    const std::string last = body["messages"].back().value("content", "");
    std::string reply;
    if (last.find("Critique this answer") != std::string::npos) {
      reply = "The count misses the last group of 3.\nFinal answer: 15";
    } else if (last.find("Another participant answered") != std::string::npos ||
               last.find("A reviewer wrote") != std::string::npos) {
      reply = "I recounted: 5 groups of 3.\nFinal answer: 15";
    } else {
      reply = "4 groups of 3.\nFinal answer: 12";
    }
    std::string stream;
    for (size_t i = 0; i < reply.size(); i += 8) {
      const Json chunk = {
          {"choices", Json::array({{{"index", 0}, {"delta", {{"content", reply.substr(i, 8)}}}}})}};
      stream += "data: " + chunk.dump() + "\n\n";
    }
    stream += "data: " +
              Json{{"choices", Json::array()},
                   {"usage", {{"prompt_tokens", 40}, {"completion_tokens", 12}}}}
                  .dump() +
              "\n\ndata: [DONE]\n\n";
    res.set_content(stream, "text/event-stream");
  }

  std::mutex mutex_;
  std::vector<std::string> models_;
  testing::LoopbackServer http_{[this](httplib::Server& server) {
    server.Post("/v1/chat/completions",
                [this](const httplib::Request& req, httplib::Response& res) { handle(req, res); });
  }};
};

std::string write(const std::string& name, const std::string& text) {
  const auto path = testing::temp_path(name);
  std::ofstream(path) << text;
  return path.string();
}

// A scripted reply costing what the stub's replies cost.
std::string line(const std::string& content, const std::string& expect = "") {
  Json turn = {{"content", content}, {"usage", {{"prompt_tokens", 40}, {"completion_tokens", 12}}}};
  if (!expect.empty()) turn["expect"] = {{"last_contains", expect}};
  return turn.dump() + "\n";
}

std::vector<Json> json_lines(const std::string& text) {
  std::vector<Json> out;
  size_t start = 0;
  while (start < text.size()) {
    const size_t end = text.find('\n', start);
    if (end > start) out.push_back(Json::parse(text.substr(start, end - start)));
    start = end == std::string::npos ? text.size() : end + 1;
  }
  return out;
}

TEST(DebateCli, DebateBetweenARemoteAndAScriptedParticipant) {
  StubServer server;
  const std::string db = testing::temp_path("s.db").string();
  const std::string bob = write("bob.jsonl", line("5 x 3 = 15.\nFinal answer: 15", "How many") +
                                                 line("Still 15.\nFinal answer: 15",
                                                      "Another participant answered:\n4 groups"));
  const auto result =
      run_hearth({"debate", "--db", db, "--rounds", "3", "-p",
                  "name=alice,role=answer,endpoint=" + server.url() + ",model=stub-1", "-p",
                  "name=bob,role=answer,script=" + bob, "How many eggs are in 5 groups of 3?"});
  ASSERT_EQ(result.exit_code, 0) << result.err;
  EXPECT_EQ(result.out, "I recounted: 5 groups of 3.\nFinal answer: 15\n");
  // Live view: who speaks, in order, with tokens; the stop and the totals.
  EXPECT_NE(result.err.find("▸ alice · answer · round 0"), std::string::npos) << result.err;
  EXPECT_NE(result.err.find("▸ bob · revise · round 1"), std::string::npos);
  EXPECT_NE(result.err.find("final answer: 15 (40 + 12 tokens"), std::string::npos);
  EXPECT_NE(result.err.find("converged after round 1"), std::string::npos);
  EXPECT_NE(result.err.find("debate: converged after 1 round(s), final answer by vote; 4 calls"),
            std::string::npos);
  EXPECT_EQ(server.requests.load(), 2);
  EXPECT_EQ(server.models(), (std::vector<std::string>{"stub-1", "stub-1"}));

  // The transcript is in the shared session store, listed and exported like an agent's.
  const auto list = run_hearth({"sessions", "list", "--db", db});
  ASSERT_EQ(list.exit_code, 0) << list.err;
  EXPECT_NE(list.out.find("completed"), std::string::npos);
  EXPECT_NE(list.out.find("[debate] How many eggs"), std::string::npos) << list.out;
  const std::string id = list.out.substr(0, list.out.find(' '));
  const auto md = run_hearth({"sessions", "show", "--db", db, id});
  ASSERT_EQ(md.exit_code, 0) << md.err;
  EXPECT_NE(md.out.find("# Debate " + id), std::string::npos);
  EXPECT_NE(md.out.find("  - alice (answer): remote " + server.url() + " (stub-1)"),
            std::string::npos)
      << md.out;
  EXPECT_NE(md.out.find("### bob (answer, revise) — "), std::string::npos);
  const auto jsonl = run_hearth({"sessions", "export", "--db", db, "--format", "jsonl", id});
  ASSERT_EQ(jsonl.exit_code, 0) << jsonl.err;
  const std::vector<Json> lines = json_lines(jsonl.out);
  ASSERT_EQ(lines.size(), 9u);  // header, set-up, question, 4 turns, converged, vote
  EXPECT_EQ(lines[0]["kind"], "debate");
  EXPECT_EQ(lines[3]["participant"], "alice");
  EXPECT_EQ(lines[3]["prompt_tokens"], 40);
}

TEST(DebateCli, CritiqueWithJsonlOutputAndAScriptedJudge) {
  StubServer server;
  const std::string judge =
      write("judge.jsonl", line("Both now agree on 15.\nFinal answer: 15", "Answer 1:"));
  const std::string answerer =
      write("ann.jsonl", line("4 groups.\nFinal answer: 12") +
                             line("Right, 5 groups.\nFinal answer: 15", "A reviewer wrote:"));
  const auto result =
      run_hearth({"debate", "--db", testing::temp_path("s.db").string(), "--mode", "critique",
                  "--output", "jsonl", "-p", "name=ann,role=answer,script=" + answerer, "-p",
                  "name=cris,role=critic,endpoint=" + server.url() + ",model=critic-model", "-p",
                  "name=judy,role=judge,script=" + judge, "How many eggs are in 5 groups of 3?"});
  ASSERT_EQ(result.exit_code, 0) << result.err;
  const std::vector<Json> events = json_lines(result.out);
  std::vector<std::string> turns;
  for (const Json& e : events) {
    if (e["type"] == "turn") {
      turns.push_back(e["participant"].get<std::string>() + ":" + e["phase"].get<std::string>());
    }
  }
  // Round 1: critique, revision; round 2: the critic now agrees (exact stop); synthesis.
  EXPECT_EQ(turns, (std::vector<std::string>{"ann:answer", "cris:critique", "ann:revise",
                                             "cris:critique", "judy:synthesize"}));
  ASSERT_FALSE(events.empty());
  const Json& done = events.back();
  EXPECT_EQ(done["type"], "done");
  EXPECT_EQ(done["method"], "judge");
  EXPECT_EQ(done["answer"], "15");
  EXPECT_EQ(done["stop_reason"], "converged");
  EXPECT_EQ(done["calls"], 5);
  EXPECT_EQ(server.requests.load(), 2);
}

TEST(DebateCli, ConfigFileAndDatasetMode) {
  StubServer server;
  // Per question alice (scripted) answers: single, debate, then self-consistency samples:
  // four fit in the debate's 4 calls x 52 tokens, and their 12-15 tie goes to 12.
  const std::string alice =
      write("alice.jsonl", line("Final answer: 12") + line("Final answer: 15") +
                               line("Final answer: 15", "Another participant") +
                               line("Final answer: 12") + line("Final answer: 12") +
                               line("Final answer: 15") + line("Final answer: 15"));
  const std::string config =
      write("panel.toml", "rounds = 2\n[[participant]]\nname = \"alice\"\nscript = \"" + alice +
                              "\"\n[[participant]]\nname = \"stub\"\nendpoint = \"" + server.url() +
                              "\"\nmodel = \"m\"\n");
  const std::string dataset =
      write("d.jsonl", "{\"question\": \"How many eggs in 5 groups of 3?\", \"answer\": 15}\n");
  const auto result = run_hearth({"debate", "--config", config, "--dataset", dataset});
  ASSERT_EQ(result.exit_code, 0) << result.err;
  EXPECT_NE(result.out.find("single (alice)                       0.000       0/1       1"),
            std::string::npos)
      << result.out;
  EXPECT_NE(
      result.out.find("self-consistency (alice)             0.000       0/1       4        208"),
      std::string::npos);
  EXPECT_NE(result.out.find("debate                               1.000       1/1       4"),
            std::string::npos)
      << result.out;
  EXPECT_NE(result.err.find("question 1/1: single wrong"), std::string::npos) << result.err;
}

// Two participants on one local GGUF model (loaded once, shared) and a scripted judge: the local
// replies are noise (random weights) but every turn runs the real template, forward pass and
// parser, and lands in the transcript.
TEST(DebateCli, LocalModelParticipants) {
  HEARTH_REQUIRE_TESTDATA(model, "models/tiny-qwen3-f16.gguf");
  const std::string judge = write("local-judge.jsonl", line("Final answer: 4", "Answer 1:"));
  const std::string local = "gguf=" + model.string() + ",temperature=0,max_tokens=6,context=512";
  const auto result = run_hearth(
      {"debate", "--db", testing::temp_path("s.db").string(), "--rounds", "1", "--output",
       "jsonl", "-p", "name=ann,role=answer," + local, "-p", "name=bob,role=answer,system=Be brief.," + local,
       "-p", "name=judy,role=judge,script=" + judge, "What is 2 + 2?"});
  ASSERT_EQ(result.exit_code, 0) << result.err;
  int local_turns = 0;
  for (const Json& e : json_lines(result.out)) {
    if (e["type"] == "turn" && e["participant"] != "judy") ++local_turns;
  }
  // Two answers and two revisions (bob's system prompt makes his noise differ from ann's, so the
  // first answers do not converge).
  EXPECT_EQ(local_turns, 4) << result.out;
}

TEST(DebateCli, ClearErrors) {
  const auto local =
      run_hearth({"debate", "--db", testing::temp_path("s.db").string(), "-p",
                  "name=a,gguf=/models/a.gguf", "-p", "name=b,gguf=/models/b.gguf", "q"});
  EXPECT_EQ(local.exit_code, 1);
  EXPECT_NE(local.err.find("/models/a.gguf"), std::string::npos) << local.err;
  const auto bad_spec = run_hearth({"debate", "-p", "name=a,rol=answer,script=x", "q"});
  EXPECT_EQ(bad_spec.exit_code, 2);
  EXPECT_NE(bad_spec.err.find("unknown key 'rol'"), std::string::npos) << bad_spec.err;
  const auto one = run_hearth({"debate", "-p", "name=a,script=x", "q"});
  EXPECT_EQ(one.exit_code, 2);
  EXPECT_NE(one.err.find("at least two participants"), std::string::npos) << one.err;
  // A refused connection is a dropped participant; with nobody left the debate fails.
  const auto down =
      run_hearth({"debate", "--db", testing::temp_path("s2.db").string(), "-p",
                  "name=a,endpoint=http://127.0.0.1:1/v1,model=m", "-p",
                  "name=b,script=" + write("fail.jsonl", "{\"error\": \"offline\"}\n"), "q"});
  EXPECT_EQ(down.exit_code, 1);
  EXPECT_NE(down.err.find("hearth: error: the debate failed"), std::string::npos) << down.err;
  EXPECT_NE(down.err.find("b: scripted failure"), std::string::npos);
}

}  // namespace
}  // namespace hearth
