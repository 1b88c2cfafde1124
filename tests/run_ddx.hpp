// Running the built `ddx` binary from a test, as a user would.
#pragma once

#include <gtest/gtest.h>
#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <string>

namespace ddx::testing {

struct CommandResult {
  int status = -1;     // the exit status, or -1 when the program did not exit normally
  std::string output;  // stdout and stderr together
};

// Runs `ddx ARGUMENTS` through the shell (so arguments may be quoted).
inline CommandResult run_ddx(const std::string& arguments) {
  const std::string command = std::string(DDX_BINARY) + " " + arguments + " 2>&1";
  CommandResult run;
  FILE* pipe = popen(command.c_str(), "r");
  if (pipe == nullptr) {
    ADD_FAILURE() << "cannot run " << command;
    return run;
  }
  std::array<char, 4096> buffer;
  for (std::size_t n; (n = std::fread(buffer.data(), 1, buffer.size(), pipe)) > 0;) run.output.append(buffer.data(), n);
  const int raw = pclose(pipe);
  run.status = WIFEXITED(raw) ? WEXITSTATUS(raw) : -1;
  return run;
}

}  // namespace ddx::testing
