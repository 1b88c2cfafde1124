// Running headless Chromium from a test (tests labelled `browser`).
#pragma once

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

namespace ddx::testing {

// Debian's chromium, or another found on PATH.
inline std::string chromium_program() {
  for (const char* name : {"chromium", "chromium-browser", "google-chrome"}) {
    const std::string probe = std::string("command -v ") + name + " >/dev/null 2>&1";
    if (std::system(probe.c_str()) == 0) return name;
  }
  return "";
}

// A fresh directory under the system's temporary directory.
inline std::filesystem::path scratch_directory(const std::string& prefix) {
  std::string pattern = (std::filesystem::temp_directory_path() / (prefix + "-XXXXXX")).string();
  if (mkdtemp(pattern.data()) == nullptr) ADD_FAILURE() << "mkdtemp failed";
  return pattern;
}

inline std::string read_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

// Runs headless Chromium with the flags the project uses, a profile of its
// own (tests run in parallel), and `arguments`; returns standard output.
inline std::string run_chromium(const std::string& arguments, const std::filesystem::path& profile) {
  const std::string program = chromium_program();
  const std::string command = program +
                              " --headless --no-sandbox --disable-gpu --no-first-run --disable-background-networking"
                              " --user-data-dir=" + profile.string() + " " + arguments + " 2>/dev/null";
  std::string out;
  FILE* pipe = popen(command.c_str(), "r");
  if (pipe == nullptr) {
    ADD_FAILURE() << "cannot run " << command;
    return out;
  }
  std::array<char, 4096> buffer;
  for (std::size_t n; (n = std::fread(buffer.data(), 1, buffer.size(), pipe)) > 0;) out.append(buffer.data(), n);
  pclose(pipe);
  return out;
}

// Saves a 1280×1000 screenshot of `page` in `dir` and checks it is not blank:
// a blank page compresses to a few kilobytes, a page of text, tables and a
// figure to several tens of kilobytes.
inline void expect_screenshot_not_blank(const std::filesystem::path& page, const std::filesystem::path& dir) {
  const auto png = dir / "screenshot.png";
  run_chromium("--hide-scrollbars --window-size=1280,1000 --screenshot=" + png.string() + " file://" + page.string(),
               dir / "profile");
  ASSERT_TRUE(std::filesystem::exists(png));
  EXPECT_GT(std::filesystem::file_size(png), 30000u);
}

// The setup script installs chromium; without it the browser tests cannot run.
#define DDX_REQUIRE_CHROMIUM()                                                                 \
  do {                                                                                         \
    if (ddx::testing::chromium_program().empty()) {                                            \
      if (std::getenv("DDX_SKIP_BROWSER") != nullptr) GTEST_SKIP() << "DDX_SKIP_BROWSER is set"; \
      FAIL() << "chromium is not installed: run scripts/setup.sh (or set DDX_SKIP_BROWSER=1)";   \
    }                                                                                          \
  } while (0)

}  // namespace ddx::testing
