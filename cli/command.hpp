// Commands that live in their own file under cli/ register themselves here;
// main() adds every registered command to the command line and runs the one
// that was parsed. A command file reads:
//
//   namespace {
//   ddx::cli::Command add_compare(CLI::App& app) {
//     auto options = std::make_shared<CompareOptions>();
//     CLI::App* sub = app.add_subcommand("compare", "...");
//     sub->add_option(...);
//     return {sub, [options] { return run_compare(*options); }};
//   }
//   const bool registered = ddx::cli::register_command(add_compare);
//   }  // namespace
//
// run() returns the exit status (0 passed, 1 a check failed, 2 bad usage or
// input) and may throw: std::invalid_argument (InputError, ShapeError, ...)
// exits with 2 and its message, anything else is an internal error.
#pragma once

#include <CLI/CLI.hpp>
#include <functional>
#include <vector>

namespace ddx::cli {

inline constexpr int kPassed = 0, kFailed = 1, kBadUsage = 2;

struct Command {
  CLI::App* app = nullptr;
  std::function<int()> run;
};

using Registrar = Command (*)(CLI::App& app);

inline std::vector<Registrar>& registrars() {
  static std::vector<Registrar> list;
  return list;
}

// Call from a namespace-scope initializer in the command's file.
inline bool register_command(Registrar add) {
  registrars().push_back(add);
  return true;
}

}  // namespace ddx::cli
