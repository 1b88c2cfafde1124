// `ddx compare` from the command line: the JSON rows contract (key names and
// values), exit statuses, bad input, and byte-identical output with
// --no-timing.
#include <gtest/gtest.h>

#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <set>
#include <string>

#include "derivations/compare.hpp"
#include "run_ddx.hpp"

namespace ddx {
namespace {

using testing::run_ddx;

// The JSON document on standard output (the command writes nothing else on success).
nlohmann::json json_of(const std::string& arguments, int* status) {
  const testing::CommandResult run = run_ddx(arguments);
  *status = run.status;
  return nlohmann::json::parse(run.output);
}

TEST(CompareCli, RowsContract) {
  int status = -1;
  const nlohmann::json j = json_of("compare --format json --no-timing", &status);
  EXPECT_EQ(status, 0);  // ddx-fused within kDdxFusedUlps everywhere
  const auto& rows = j.at("rows");
  ASSERT_TRUE(rows.is_array());
  // Default grid: 3 precisions × 9 margins × 4 variants × 3 quantities.
  EXPECT_EQ(rows.size(), 3u * 9u * 4u * 3u);
  const std::set<std::string> precisions{"float", "double", "long-double"};
  const std::set<std::string> variants{"naive-composed", "stable-composed", "framework-fused", "ddx-fused"};
  const std::set<std::string> quantities{"loss", "grad-target", "grad-other"};
  const std::set<std::string> statuses{"ok", "wrong-zero", "inf", "nan"};
  const std::set<double> margins{1, 10, 20, 30, 40, 50, 100, 700, 800};
  std::set<std::string> seen_status;
  for (const auto& row : rows) {
    for (const char* key : {"precision", "margin", "variant", "quantity", "value", "truth", "ulps", "bits", "status"})
      ASSERT_TRUE(row.contains(key)) << key << " in " << row.dump();
    EXPECT_TRUE(row["beyond_underflow"].is_boolean());
    EXPECT_TRUE(precisions.count(row["precision"].get<std::string>()));
    ASSERT_TRUE(row["margin"].is_number());
    EXPECT_TRUE(margins.count(row["margin"].get<double>()));
    EXPECT_TRUE(variants.count(row["variant"].get<std::string>()));
    EXPECT_TRUE(quantities.count(row["quantity"].get<std::string>()));
    ASSERT_TRUE(row["value"].is_string());
    ASSERT_TRUE(row["truth"].is_string());
    const std::string st = row["status"].get<std::string>();
    EXPECT_TRUE(statuses.count(st)) << st;
    seen_status.insert(st);
    if (st == "inf" || st == "nan") {
      EXPECT_TRUE(row["ulps"].is_null());
      EXPECT_TRUE(row["bits"].is_null());
      EXPECT_TRUE(row["value"] == "nan" || row["value"] == "inf" || row["value"] == "-inf");
    } else {
      EXPECT_TRUE(row["ulps"].is_number());
      EXPECT_TRUE(row["bits"].is_number());
    }
    if (st == "wrong-zero") {
      EXPECT_TRUE(row["value"] == "0" || row["value"] == "-0");
      EXPECT_NE(row["truth"], "0");
    }
  }
  // The default grid shows the failures: wrong zeros (framework-fused) and
  // NaN (naive-composed: exp(a) overflows and softmax divides inf by inf).
  EXPECT_TRUE(seen_status.count("ok"));
  EXPECT_TRUE(seen_status.count("wrong-zero"));
  EXPECT_TRUE(seen_status.count("nan"));
  ASSERT_TRUE(j.contains("thresholds"));
  EXPECT_EQ(j["thresholds"]["table"].size(), 3u * 4u);
  ASSERT_TRUE(j.contains("cost"));
  EXPECT_EQ(j["cost"].size(), 3u * 4u);
  for (const auto& c : j["cost"]) {
    EXPECT_GT(c["nodes"].get<int>(), 0);
    EXPECT_GT(c["memory_bytes"].get<int>(), 0);
    EXPECT_FALSE(c.contains("ns_per_element"));  // --no-timing
  }
  EXPECT_TRUE(j["ddx_fused"]["passed"].get<bool>());
}

TEST(CompareCli, TimingOnlyWhenAsked) {
  int status = -1;
  const nlohmann::json j = json_of("compare --format json --margins 1 --precisions double", &status);
  EXPECT_EQ(status, 0);
  for (const auto& c : j["cost"]) EXPECT_TRUE(c["ns_per_element"].is_number());
}

TEST(CompareCli, ByteIdenticalWithNoTiming) {
  for (const char* format : {"text", "md", "html", "json"}) {
    const std::string arguments = std::string("compare --no-timing --classes 4 --format ") + format;
    const testing::CommandResult a = run_ddx(arguments), b = run_ddx(arguments);
    EXPECT_EQ(a.status, 0) << format;
    EXPECT_EQ(a.output, b.output) << format;
  }
}

TEST(CompareCli, BadInputExitsTwoNamingTheOption) {
  const std::pair<const char*, const char*> cases[] = {
      {"compare --precisions quad", "--precisions"},
      {"compare --precisions 50", "--precisions"},
      {"compare --margins 1,ten", "--margins"},
      {"compare --margins ''", "--margins"},
      {"compare --classes 1", "--classes"},
      {"compare --classes three", "--classes"},
      {"compare --format pdf", "--format"},
  };
  for (const auto& [arguments, option] : cases) {
    const testing::CommandResult run = run_ddx(arguments);
    EXPECT_EQ(run.status, 2) << arguments;
    EXPECT_NE(run.output.find(option), std::string::npos) << arguments << ": " << run.output;
  }
}

TEST(CompareCli, HelpStatesTheExitStatus) {
  const testing::CommandResult run = run_ddx("compare --help");
  EXPECT_EQ(run.status, 0);
  EXPECT_NE(run.output.find(fmt::format("within {} ulps", compare::kDdxFusedUlps)), std::string::npos);
  EXPECT_NE(run.output.find("--no-timing"), std::string::npos);
}

}  // namespace
}  // namespace ddx
