// The config file (app/config.hpp): TOML text through parse_config_text, then the same
// keys as environment variables, then build_config for both uses.
#include <toml++/toml.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "fuzz_support.hpp"
#include "observernet/app/config.hpp"

using namespace observernet;

namespace {

// A `*_file` key reads the file it names: not something to let a fuzzer choose.
bool names_a_file(const toml::table& table) {
  for (const auto& [key, node] : table) {
    if (key.str().ends_with("_file")) return true;
    if (const auto* inner = node.as_table(); inner && names_a_file(*inner)) return true;
  }
  return false;
}

// Any refusal is a ConfigError, which the CLI prints as one line naming the key.
void build(const app::RawConfig& raw, app::Use use) {
  try {
    app::build_config(raw, use);
  } catch (const app::ConfigError&) {
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string text(fuzz::as_text(data, size));
  try {
    if (names_a_file(toml::parse(text))) return 0;
  } catch (const toml::parse_error&) {
  }
  app::RawConfig raw;
  try {
    raw = app::parse_config_text(text, "fuzz.toml");
  } catch (const app::ConfigError&) {
    return 0;
  }

  // The same settings as OBSERVERNET_* variables read the same (README.md, The binary).
  std::vector<std::string> environment;
  for (const auto& [key, value] : raw) {
    std::string name = "OBSERVERNET_";
    for (char c : key) name += c == '.' ? '_' : static_cast<char>(std::toupper(c));
    environment.push_back(name + "=" + value);
  }
  app::RawConfig from_environment;
  app::overlay_environment(from_environment, environment);
  FUZZ_CHECK(from_environment == raw);

  build(raw, app::Use::serve);
  build(raw, app::Use::migrate);
  return 0;
}
