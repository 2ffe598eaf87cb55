// The dashboards (config/grafana/dashboards) and alert rules (config/prometheus/alerts.yml)
// may only name metrics a live server exports: a renamed metric must break this test, not
// an operator's dashboard on election day.
#include <gtest/gtest.h>

#include <cctype>
#include <cstring>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "support.hpp"

namespace observernet::testing {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

const fs::path kSource = OBSERVERNET_SOURCE_DIR;

// Metric names in a PromQL expression: what is left once strings, label matchers, ranges,
// numbers and durations, grouping label lists, function names and keywords are removed.
std::set<std::string> metric_names(const std::string& expr) {
  static const std::set<std::string> keywords = {
      "and",  "or",         "unless",      "by",     "without", "on", "ignoring",
      "bool", "group_left", "group_right", "offset", "inf",     "nan"};
  static const std::set<std::string> label_lists = {"by",       "without",    "on",
                                                    "ignoring", "group_left", "group_right"};
  std::set<std::string> names;
  auto ident_char = [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == ':';
  };
  std::size_t i = 0;
  auto skip_block = [&](char open, char close) {
    int depth = 0;
    for (; i < expr.size(); ++i) {
      if (expr[i] == '"' || expr[i] == '\'') {
        const char quote = expr[i];
        for (++i; i < expr.size() && expr[i] != quote; ++i) {
          if (expr[i] == '\\') ++i;
        }
      } else if (expr[i] == open) {
        ++depth;
      } else if (expr[i] == close && --depth == 0) {
        ++i;
        return;
      }
    }
  };
  while (i < expr.size()) {
    const char c = expr[i];
    if (c == '"' || c == '\'' || c == '`') {
      for (++i; i < expr.size() && expr[i] != c; ++i) {
        if (expr[i] == '\\') ++i;
      }
      ++i;
    } else if (c == '{') {
      skip_block('{', '}');
    } else if (c == '[') {
      skip_block('[', ']');
    } else if (std::isdigit(static_cast<unsigned char>(c)) || c == '.') {
      while (i < expr.size() && (ident_char(expr[i]) || expr[i] == '.')) ++i;  // 0.99, 5m, 1e3
    } else if (ident_char(c)) {
      const std::size_t start = i;
      while (i < expr.size() && ident_char(expr[i])) ++i;
      const std::string word = expr.substr(start, i - start);
      std::size_t next = i;
      while (next < expr.size() && std::isspace(static_cast<unsigned char>(expr[next]))) ++next;
      // A function or aggregation: `rate(`, `sum (`, or `sum by (le) (`.
      bool call = next < expr.size() && expr[next] == '(';
      for (const char* clause : {"by", "without"}) {
        const std::string_view rest = std::string_view(expr).substr(next);
        if (rest.starts_with(clause) &&
            (rest.size() == std::strlen(clause) || !ident_char(rest[std::strlen(clause)]))) {
          call = true;
        }
      }
      if (label_lists.contains(word) && call) {
        i = next;
        skip_block('(', ')');
      } else if (!call && !keywords.contains(word)) {
        names.insert(word);
      }
    } else {
      ++i;
    }
  }
  return names;
}

// Every `expr` of a Grafana dashboard's panels, rows' panels included.
void panel_exprs(const json& panels, std::vector<std::string>& out) {
  for (const auto& panel : panels) {
    if (panel.contains("panels")) panel_exprs(panel["panels"], out);
    if (!panel.contains("targets")) continue;
    for (const auto& target : panel["targets"]) {
      if (target.contains("expr")) out.push_back(target["expr"].get<std::string>());
    }
  }
}

// Every `expr:` of a Prometheus rules file, inline or as a block scalar (| or >).
std::vector<std::string> rule_exprs(const std::string& yaml) {
  std::vector<std::string> out;
  std::istringstream in(yaml);
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  auto indent = [](const std::string& l) { return l.find_first_not_of(' '); };
  for (std::size_t n = 0; n < lines.size(); ++n) {
    const std::string& line = lines[n];
    const auto at = line.find("expr:");
    if (at == std::string::npos || line.find_first_not_of(" -") != at) continue;
    std::string value = line.substr(at + 5);
    value.erase(0, value.find_first_not_of(' '));
    if (value.empty() || value[0] == '|' || value[0] == '>') {
      value.clear();
      while (n + 1 < lines.size() && (lines[n + 1].find_first_not_of(' ') == std::string::npos ||
                                      indent(lines[n + 1]) > indent(line))) {
        value += lines[++n] + "\n";
      }
    }
    out.push_back(value);
  }
  return out;
}

// What /metrics of a live server names: every family, histograms with their series.
std::set<std::string> exported(std::uint16_t port) {
  std::set<std::string> names = {"up"};  // Prometheus's own, per scrape target
  const HttpResult r = http_request(port, "GET", "/metrics");
  std::istringstream in(r.body);
  for (std::string line; std::getline(in, line);) {
    if (!line.starts_with("# TYPE ")) continue;
    std::istringstream fields(line.substr(7));
    std::string name, type;
    fields >> name >> type;
    names.insert(name);
    if (type == "histogram" || type == "summary") {
      for (const char* suffix : {"_bucket", "_sum", "_count"}) names.insert(name + suffix);
    }
  }
  return names;
}

TEST(MonitoringTest, TheExtractorFindsMetricsAndNothingElse) {
  EXPECT_EQ(
      metric_names(
          R"(histogram_quantile(0.99, sum by (le, route) (rate(http_request_duration_seconds_bucket{route!~"/livez|/readyz"}[5m]))) > 0.2)"),
      (std::set<std::string>{"http_request_duration_seconds_bucket"}));
  EXPECT_EQ(
      metric_names(
          R"(sum(rate(a_total{status=~"5.."}[5m])) / ignoring(x) sum(rate(b_total[5m] offset 1h)) and on() vector(1))"),
      (std::set<std::string>{"a_total", "b_total"}));
  EXPECT_EQ(metric_names("sum without (instance) (rate(x_total[1m])) > bool 0"),
            (std::set<std::string>{"x_total"}));
  EXPECT_EQ(metric_names("count(observernet_build_info) >= 100"),
            (std::set<std::string>{"observernet_build_info"}));
}

TEST(MonitoringTest, DashboardsAndAlertsNameOnlyExportedMetrics) {
  TestServer server;
  http_request(server.port(), "GET", "/readyz");
  const std::set<std::string> known = exported(server.port());
  ASSERT_TRUE(known.contains("http_requests_total"));

  std::vector<std::pair<std::string, std::string>> exprs;  // file, expression
  std::size_t dashboards = 0;
  for (const auto& entry : fs::directory_iterator(kSource / "config/grafana/dashboards")) {
    if (entry.path().extension() != ".json") continue;
    ++dashboards;
    std::vector<std::string> found;
    panel_exprs(json::parse(read_file(entry.path().string())).at("panels"), found);
    EXPECT_FALSE(found.empty()) << entry.path();
    for (auto& e : found) exprs.emplace_back(entry.path().filename().string(), e);
  }
  EXPECT_EQ(dashboards, 3u);  // API performance, worker performance, infrastructure
  const auto rules = rule_exprs(read_file((kSource / "config/prometheus/alerts.yml").string()));
  EXPECT_GE(rules.size(), 7u);
  for (const auto& e : rules) exprs.emplace_back("alerts.yml", e);

  for (const auto& [file, expr] : exprs) {
    const auto names = metric_names(expr);
    EXPECT_FALSE(names.empty()) << file << ": no metric in " << expr;
    for (const auto& name : names) {
      EXPECT_TRUE(known.contains(name)) << file << ": " << name << " is not exported, in " << expr;
    }
  }
}

}  // namespace
}  // namespace observernet::testing
