// Sandbox tests (label `sandbox`, they start bubblewrap): the persistent shell, writes outside
// the workspace failing, no loopback access without --allow-network, process limits and a
// contained fork bomb, timeouts, and an agent killed with SIGKILL mid-step losing nothing.
#include "hearth/agent/sandbox.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <thread>

#include "hearth/agent/agent.h"
#include "hearth/llm/scripted_backend.h"
#include "testing.h"

namespace hearth::agent {
namespace {
namespace fs = std::filesystem;

class SandboxTest : public ::testing::Test {
 protected:
  void SetUp() override {
    workspace_ = testing::temp_path("ws");
    fs::create_directories(workspace_);
  }
  std::unique_ptr<Sandbox> start(bool allow_network = false, int max_processes = 64) {
    auto sandbox = Sandbox::start({workspace_, allow_network, max_processes, int64_t{4} << 30});
    EXPECT_TRUE(sandbox.ok()) << sandbox.error().message();
    return sandbox.ok() ? std::move(sandbox).value() : nullptr;
  }
  CommandResult run(Sandbox& s, const std::string& command, double timeout = 10) {
    Result<CommandResult> r = s.run(command, timeout, 10000);
    EXPECT_TRUE(r.ok()) << r.error().message();
    return r.ok() ? *r : CommandResult{};
  }
  fs::path workspace_;
};

TEST_F(SandboxTest, ShellKeepsDirectoryAndEnvironment) {
  auto s = start();
  ASSERT_TRUE(s);
  CommandResult a = run(*s, "mkdir -p sub && cd sub && export GREETING=hello && echo made");
  EXPECT_EQ(a.exit_code, 0);
  EXPECT_EQ(a.output, "made\n");
  CommandResult b = run(*s, "pwd; echo $GREETING; false");
  EXPECT_EQ(b.output, (workspace_ / "sub").string() + "\nhello\n");
  EXPECT_EQ(b.exit_code, 1);
  CommandResult syntax = run(*s, "if then fi");
  EXPECT_NE(syntax.exit_code, 0);
  EXPECT_FALSE(syntax.shell_exited);
  CommandResult no_newline = run(*s, "printf abc");
  EXPECT_EQ(no_newline.output, "abc");
}

TEST_F(SandboxTest, OnlyTheWorkspaceAndPrivateTmpAreWritable) {
  auto s = start();
  ASSERT_TRUE(s);
  const fs::path outside = workspace_.parent_path() / "outside";
  fs::create_directories(outside);
  EXPECT_EQ(run(*s, "echo x > inside.txt").exit_code, 0);
  EXPECT_TRUE(fs::exists(workspace_ / "inside.txt"));
  EXPECT_NE(run(*s, "echo x > " + (outside / "f.txt").string()).exit_code, 0);
  EXPECT_FALSE(fs::exists(outside / "f.txt"));
  CommandResult usr = run(*s, "touch /usr/hearth-sandbox-test");
  EXPECT_NE(usr.exit_code, 0);
  EXPECT_NE(usr.output.find("Read-only file system"), std::string::npos) << usr.output;
  EXPECT_FALSE(fs::exists("/usr/hearth-sandbox-test"));
  // /tmp works but is private.
  EXPECT_EQ(run(*s, "echo x > /tmp/hearth-private-test && cat /tmp/hearth-private-test").output,
            "x\n");
  EXPECT_FALSE(fs::exists("/tmp/hearth-private-test"));
}

TEST_F(SandboxTest, EnvironmentSecretsStayOutside) {
  ::setenv("OPENAI_API_KEY", "sk-secret", 1);
  auto s = start();
  ::unsetenv("OPENAI_API_KEY");
  ASSERT_TRUE(s);
  EXPECT_EQ(run(*s, "echo \"key=$OPENAI_API_KEY\"").output, "key=\n");
}

// A listening socket on the host's loopback, and the command that tries to reach it.
class Listener {
 public:
  Listener() {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_EQ(::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
    EXPECT_EQ(::listen(fd_, 4), 0);
    socklen_t len = sizeof addr;
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
  }
  ~Listener() { ::close(fd_); }
  std::string connect_command() const {
    return "exec 3<>/dev/tcp/127.0.0.1/" + std::to_string(port_) + " && echo connected";
  }

 private:
  int fd_;
  int port_ = 0;
};

TEST_F(SandboxTest, NoNetworkUnlessAllowed) {
  Listener listener;
  auto closed = start(false);
  ASSERT_TRUE(closed);
  CommandResult blocked = run(*closed, listener.connect_command());
  EXPECT_NE(blocked.exit_code, 0);
  EXPECT_EQ(blocked.output.find("connected"), std::string::npos) << blocked.output;
  auto open = start(true);
  ASSERT_TRUE(open);
  EXPECT_EQ(run(*open, listener.connect_command()).output, "connected\n");
}

TEST_F(SandboxTest, ProcessCountIsLimited) {
  auto s = start(false, 32);
  ASSERT_TRUE(s);
  CommandResult r = run(*s,
                        "for i in $(seq 100); do sleep 5 & done 2>&1 | tail -n 1; "
                        "jobs -p | wc -l",
                        20);
  EXPECT_NE(r.output.find("fork"), std::string::npos) << s->process_limit() << "\n" << r.output;
}

// Host processes living in the given pid namespace ("pid:[4026532123]").
size_t processes_in_namespace(const std::string& ns) {
  size_t n = 0;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator("/proc", ec)) {
    std::error_code link_error;
    const fs::path target = fs::read_symlink(entry.path() / "ns" / "pid", link_error);
    n += !link_error && target.string() == ns ? 1 : 0;
  }
  return n;
}

TEST_F(SandboxTest, ForkBombIsContained) {
  auto s = start(false, 64);
  ASSERT_TRUE(s);
  std::string ns = run(*s, "readlink /proc/self/ns/pid").output;
  ASSERT_FALSE(ns.empty());
  ns.pop_back();
  const auto started = std::chrono::steady_clock::now();
  CommandResult bomb = run(*s, "bomb() { bomb | bomb & }; bomb; sleep 60", 3);
  EXPECT_TRUE(bomb.timed_out);
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(15));
  // A fresh shell replaced the sandbox, and no process of the bomb's namespace is left.
  EXPECT_EQ(run(*s, "echo alive").output, "alive\n");
  size_t left = processes_in_namespace(ns);
  for (int i = 0; i < 150 && left > 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    left = processes_in_namespace(ns);
  }
  EXPECT_EQ(left, 0u) << ns;
}

TEST_F(SandboxTest, TimeoutsAndExitsRestartTheShell) {
  auto s = start();
  ASSERT_TRUE(s);
  CommandResult slow = run(*s, "echo begun; sleep 30", 1);
  EXPECT_TRUE(slow.timed_out);
  EXPECT_EQ(slow.output, "begun\n");
  CommandResult quit = run(*s, "exit 3");
  EXPECT_TRUE(quit.shell_exited);
  EXPECT_EQ(quit.exit_code, 3);
  EXPECT_EQ(run(*s, "echo back").output, "back\n");
}

TEST_F(SandboxTest, LongOutputKeepsHeadAndTail) {
  auto s = start();
  ASSERT_TRUE(s);
  Result<CommandResult> r = s->run("seq 1 200000", 20, 2000);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->output.rfind("1\n2\n3\n", 0), 0u);
  EXPECT_NE(r->output.find("bytes omitted"), std::string::npos);
  EXPECT_EQ(r->output.substr(r->output.size() - 7), "200000\n");
  EXPECT_LE(r->output.size(), 2100u);
}

Json call(const std::string& name, Json args) {
  return {{"name", name}, {"arguments", std::move(args)}};
}

std::unique_ptr<llm::ScriptedBackend> script(const std::vector<Json>& turns) {
  std::string text;
  for (const Json& t : turns) text += t.dump() + "\n";
  auto b = llm::ScriptedBackend::from_string(text, "kill-test", 0);
  EXPECT_TRUE(b.ok());
  return std::make_unique<llm::ScriptedBackend>(std::move(b).value());
}

bool process_running(const std::string& needle) {
  for (const auto& entry : fs::directory_iterator("/proc")) {
    std::ifstream in(entry.path() / "cmdline");
    std::string cmdline((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    std::replace(cmdline.begin(), cmdline.end(), '\0', ' ');
    if (cmdline.find(needle) != std::string::npos) return true;
  }
  return false;
}

TEST_F(SandboxTest, SessionSurvivesSigkillMidStepAndResumes) {
  const fs::path db = testing::temp_path("sessions.db");
  AgentConfig config;
  config.workspace = workspace_;
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    auto store = SessionStore::open(db);
    auto backend = script({
        {{"tool_calls", {call("write_file", {{"path", "a.txt"}, {"content", "A"}})}}},
        {{"content", "now wait"}, {"tool_calls", {call("bash", {{"command", "sleep 41.5"}})}}},
    });
    Agent agent(backend.get(), store->get(), config, nullptr, nullptr);
    (void)agent.run("write then wait");
    ::_exit(0);
  }
  // Wait until the second reply is stored and its command is running, then kill -9.
  auto store = SessionStore::open(db);
  ASSERT_TRUE(store.ok()) << store.error().message();
  std::string id;
  bool sleeping = false;
  for (int i = 0; i < 600 && !sleeping; ++i) {  // up to 30 s on a loaded machine
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    auto list = (*store)->list(1);
    if (list.ok() && !list->empty()) id = (*list)[0].id;
    sleeping = process_running("sleep 41.5");
  }
  ASSERT_TRUE(sleeping);
  ::kill(child, SIGKILL);
  int status;
  ::waitpid(child, &status, 0);
  // The sandboxed command dies with the agent.
  bool gone = false;
  for (int i = 0; i < 200 && !gone; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    gone = !process_running("sleep 41.5");
  }
  EXPECT_TRUE(gone);

  Result<std::vector<Entry>> before = (*store)->entries(id);
  ASSERT_TRUE(before.ok());
  ASSERT_EQ(before->size(), 5u);  // system, task, write call, its result, the bash call
  EXPECT_EQ(before->back().message.tool_calls[0].name, "bash");
  EXPECT_EQ((*store)->get(id)->status, "running");

  auto backend = script({
      {{"expect", {{"last_role", "user"}, {"contains", "interrupted"}}},
       {"content", "resumed and done"}},
  });
  Agent agent(backend.get(), store->get(), config, nullptr, nullptr);
  Result<RunResult> resumed = agent.resume(id, "carry on");
  ASSERT_TRUE(resumed.ok()) << resumed.error().message();
  EXPECT_EQ(resumed->reason, StopReason::kCompleted);
  Result<std::vector<Entry>> after = (*store)->entries(id);
  ASSERT_EQ(after->size(), 8u);
  EXPECT_EQ((*after)[5].message.role, llm::Role::kTool);
  EXPECT_TRUE((*after)[5].is_error);
  EXPECT_EQ((*after)[7].message.content, "resumed and done");
}

}  // namespace
}  // namespace hearth::agent
