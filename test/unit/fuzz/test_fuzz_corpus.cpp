// The fuzz targets (fuzz/fuzz_*.cpp, compiled in as plain functions) on every committed seed and on every input
// that once broke vmsync (fuzz/regressions/<target>/<what-it-broke>): whatever the compiler, each must end in a
// result or a vmsync::Error, never a crash, a foreign exception or a broken invariant.
#include <algorithm>
#include <cstdint>
#include <doctest/doctest.h>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

int vmsync_fuzz_kubeconfig(const std::uint8_t *data, std::size_t size);
int vmsync_fuzz_exec_credential(const std::uint8_t *data, std::size_t size);
int vmsync_fuzz_storage_nodes(const std::uint8_t *data, std::size_t size);
int vmsync_fuzz_list_page(const std::uint8_t *data, std::size_t size);
int vmsync_fuzz_list_page_parser(const std::uint8_t *data, std::size_t size);
int vmsync_fuzz_manifests(const std::uint8_t *data, std::size_t size);
int vmsync_fuzz_vm_pages(const std::uint8_t *data, std::size_t size);

namespace {

namespace fs = std::filesystem;
using Target = int (*)(const std::uint8_t *, std::size_t);

std::vector<fs::path> inputs(const std::string &target) {
  std::vector<fs::path> out;
  for (const char *kind : {"corpus", "regressions"}) {
    const fs::path dir = fs::path(VMSYNC_FUZZ_DIR) / kind / target;
    std::error_code ec;
    for (const auto &e : fs::directory_iterator(dir, ec))
      if (e.is_regular_file()) out.push_back(e.path());
  }
  std::sort(out.begin(), out.end());
  return out;
}

void replay(const std::string &target, Target fn, std::size_t at_least) {
  const auto files = inputs(target);
  CHECK(files.size() >= at_least);
  for (const auto &f : files) {
    std::ifstream in(f, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    const std::string data = ss.str();
    INFO("input ", f.string());
    CHECK_NOTHROW(fn(reinterpret_cast<const std::uint8_t *>(data.data()), data.size()));
  }
}

} // namespace

TEST_CASE("fuzz corpus: kubeconfig") { replay("kubeconfig", vmsync_fuzz_kubeconfig, 5); }
TEST_CASE("fuzz corpus: exec_credential") { replay("exec_credential", vmsync_fuzz_exec_credential, 5); }
TEST_CASE("fuzz corpus: storage_nodes") { replay("storage_nodes", vmsync_fuzz_storage_nodes, 5); }
TEST_CASE("fuzz corpus: list_page") { replay("list_page", vmsync_fuzz_list_page, 5); }
TEST_CASE("fuzz corpus: list_page_parser") { replay("list_page_parser", vmsync_fuzz_list_page_parser, 5); }
TEST_CASE("fuzz corpus: manifests") { replay("manifests", vmsync_fuzz_manifests, 5); }
TEST_CASE("fuzz corpus: vm_pages") { replay("vm_pages", vmsync_fuzz_vm_pages, 5); }
