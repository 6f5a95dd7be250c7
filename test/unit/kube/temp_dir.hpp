#pragma once
// Test fixtures for the kube tests: a temporary folder removed on destruction (tests never write into the
// source tree) and an Environment whose variables come from a map instead of the process.
#include "vmsync/kube/config.hpp"

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <stdexcept>
#include <string>
#include <sys/stat.h>

namespace vmsync::test {

class TempDir {
public:
  TempDir() {
    std::string pattern = (std::filesystem::temp_directory_path() / "vmsync-test-XXXXXX").string();
    if (::mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
    path_ = pattern;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir &) = delete;
  TempDir &operator=(const TempDir &) = delete;

  [[nodiscard]] const std::string &path() const { return path_; }
  [[nodiscard]] std::string operator/(const std::string &relative) const { return path_ + "/" + relative; }

  // Writes `content` to `relative` (folders created as needed) and returns the absolute path.
  std::string write(const std::string &relative, const std::string &content, bool executable = false) const {
    const std::string file = *this / relative;
    std::filesystem::create_directories(std::filesystem::path(file).parent_path());
    {
      std::ofstream out(file, std::ios::binary | std::ios::trunc);
      out << content;
    }
    if (executable) ::chmod(file.c_str(), 0755);
    return file;
  }

private:
  std::string path_;
};

// An Environment with the given variables only, HOME as given, and a service-account folder that by default
// does not exist (so in-cluster config is never picked up by accident).
inline kube::Environment fake_env(std::map<std::string, std::string> vars, std::string home = "/nonexistent-home",
                                  std::string service_account_dir = "/nonexistent-serviceaccount") {
  kube::Environment env;
  env.getenv = [vars = std::move(vars)](const std::string &name) -> std::optional<std::string> {
    auto it = vars.find(name);
    if (it == vars.end()) return std::nullopt;
    return it->second;
  };
  env.home = std::move(home);
  env.service_account_dir = std::move(service_account_dir);
  return env;
}

} // namespace vmsync::test
