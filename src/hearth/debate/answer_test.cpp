// Tests for answer extraction (numbers, multiple choice, text), majority vote, and participant
// SPEC parsing.
#include "hearth/debate/answer.h"

#include <gtest/gtest.h>

#include "hearth/debate/participant.h"

namespace hearth::debate {
namespace {

TEST(Answer, KindOfGoldAnswers) {
  EXPECT_EQ(answer_kind_of("42"), AnswerKind::kNumber);
  EXPECT_EQ(answer_kind_of("-1,234.5"), AnswerKind::kNumber);
  EXPECT_EQ(answer_kind_of("B"), AnswerKind::kChoice);
  EXPECT_EQ(answer_kind_of("(c)"), AnswerKind::kChoice);
  EXPECT_EQ(answer_kind_of("Paris"), AnswerKind::kText);
}

TEST(Answer, FinalAnswerText) {
  EXPECT_EQ(final_answer_text("Reasoning...\nFinal answer: 42"), "42");
  EXPECT_EQ(final_answer_text("**Final Answer:** Paris\nThanks"), "Paris");
  EXPECT_EQ(final_answer_text("final answer is: \\boxed{7}"), "7");
  EXPECT_EQ(final_answer_text("Final answer:\n\n  `x = 3`  \n"), "x = 3");
  EXPECT_EQ(final_answer_text("no marker here\nlast line."), "last line.");
}

TEST(Answer, Numbers) {
  EXPECT_EQ(extract_answer("3 + 4 = 7, so\nFinal answer: 7 apples", AnswerKind::kNumber), "7");
  EXPECT_EQ(extract_answer("Final answer: $1,234.50", AnswerKind::kNumber), "1234.5");
  EXPECT_EQ(extract_answer("It is -3.", AnswerKind::kNumber), "-3");
  EXPECT_EQ(extract_answer("We get 12 then 15", AnswerKind::kNumber), "15");
  EXPECT_EQ(extract_answer("Final answer: 8.0", AnswerKind::kNumber),
            extract_answer("final answer: 8", AnswerKind::kNumber));
  EXPECT_EQ(extract_answer("no digits at all", AnswerKind::kNumber), "");
  EXPECT_EQ(extract_answer("x2 is a name, 5 is the count", AnswerKind::kNumber), "5");
}

TEST(Answer, MultipleChoice) {
  EXPECT_EQ(extract_answer("A is wrong because...\nFinal answer: (C)", AnswerKind::kChoice), "C");
  EXPECT_EQ(extract_answer("Final answer: B) 42", AnswerKind::kChoice), "B");
  EXPECT_EQ(extract_answer("Final answer: d", AnswerKind::kChoice), "D");
  EXPECT_EQ(extract_answer("I think the answer is (B).", AnswerKind::kChoice), "B");
  EXPECT_EQ(extract_answer("My answer: A", AnswerKind::kChoice), "A");
  EXPECT_EQ(extract_answer("Options (A) and (D) fit; (D) is better", AnswerKind::kChoice), "D");
  EXPECT_EQ(extract_answer("E", AnswerKind::kChoice), "E");
  EXPECT_EQ(extract_answer("I cannot tell", AnswerKind::kChoice), "");
}

TEST(Answer, TextIsCaseAndSpaceInsensitive) {
  EXPECT_EQ(extract_answer("Final answer: The  Eiffel Tower.", AnswerKind::kText),
            extract_answer("final answer: the eiffel tower", AnswerKind::kText));
  EXPECT_EQ(extract_answer("Final answer: 4.0", AnswerKind::kText), "4");
}

TEST(Answer, MajorityTiesGoToTheFirst) {
  EXPECT_EQ(majority({"1", "2", "2"}), "2");
  EXPECT_EQ(majority({"1", "2", "", "1", "2"}), "1");
  EXPECT_EQ(majority({"", ""}), "");
  EXPECT_EQ(majority({}), "");
}

TEST(ParticipantSpec, ParsesKeysAndQuotedValues) {
  Result<ParticipantSpec> spec = parse_participant_spec(
      "name=alice,role=critic,endpoint=http://127.0.0.1:8080/v1,model=qwen3,temperature=0.2,"
      "system=\"Be terse, \\\"exact\\\".\",max_tokens=64");
  ASSERT_TRUE(spec.ok()) << spec.error().message();
  EXPECT_EQ(spec->name, "alice");
  EXPECT_EQ(spec->role, ParticipantRole::kCritic);
  EXPECT_EQ(spec->endpoint, "http://127.0.0.1:8080/v1");
  EXPECT_EQ(spec->model, "qwen3");
  EXPECT_EQ(spec->system, "Be terse, \"exact\".");
  EXPECT_DOUBLE_EQ(spec->temperature.value_or(-1), 0.2);
  EXPECT_EQ(spec->max_tokens.value_or(0), 64);
  EXPECT_EQ(describe_backend(*spec), "remote http://127.0.0.1:8080/v1 (qwen3)");

  Result<ParticipantSpec> scripted = parse_participant_spec("name=bob,script=b.jsonl");
  ASSERT_TRUE(scripted.ok());
  EXPECT_EQ(scripted->role, ParticipantRole::kAnswer);
}

TEST(ParticipantSpec, RejectsBadSpecsClearly) {
  const auto error = [](const char* spec) {
    Result<ParticipantSpec> r = parse_participant_spec(spec);
    return r.ok() ? std::string("(parsed)") : r.error().message();
  };
  EXPECT_NE(error("name=a,role=boss,script=x").find("unknown role 'boss'"), std::string::npos);
  EXPECT_NE(error("name=a,colour=red,script=x").find("unknown key 'colour'"), std::string::npos);
  EXPECT_NE(error("role=answer,script=x").find("needs a name"), std::string::npos);
  EXPECT_NE(error("name=a").find("exactly one backend"), std::string::npos);
  EXPECT_NE(error("name=a,script=x,gguf=y").find("exactly one backend"), std::string::npos);
  EXPECT_NE(error("name=a,endpoint=http://x/v1").find("needs model="), std::string::npos);
  EXPECT_NE(error("name=a,script=x,system=\"open").find("unterminated"), std::string::npos);
  EXPECT_NE(error("name=a,script=x,temperature=hot").find("not a number"), std::string::npos);
  EXPECT_NE(error("name=a script=x").find("exactly one backend"), std::string::npos);
}

TEST(ParticipantSpec, MissingLocalModelIsNamed) {
  Result<ParticipantSpec> spec = parse_participant_spec("name=carol,gguf=/models/q.gguf");
  ASSERT_TRUE(spec.ok());
  auto backend = make_backend(*spec);
  ASSERT_FALSE(backend.ok());
  EXPECT_NE(backend.error().message().find("participant 'carol'"), std::string::npos)
      << backend.error().message();
  EXPECT_NE(backend.error().message().find("/models/q.gguf"), std::string::npos);
}

TEST(ParticipantSpec, MissingScriptAndKeyVariableAreErrors) {
  auto missing = make_backend(*parse_participant_spec("name=a,script=/nonexistent.jsonl"));
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.error().message().find("/nonexistent.jsonl"), std::string::npos);
  auto no_key = make_backend(*parse_participant_spec(
      "name=a,endpoint=http://127.0.0.1:1/v1,model=m,api_key_env=HEARTH_TEST_NO_SUCH_VAR"));
  ASSERT_FALSE(no_key.ok());
  EXPECT_NE(no_key.error().message().find("HEARTH_TEST_NO_SUCH_VAR is not set"), std::string::npos);
}

}  // namespace
}  // namespace hearth::debate
