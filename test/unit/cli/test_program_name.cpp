// The name in usage lines and errors (src/cli/program_name.cpp): kubectl's plugin name gives "kubectl vmsync".
#include "program_name.hpp"

#include <doctest/doctest.h>

using vmsync::cli::display_name;

TEST_CASE("display_name: kubectl-vmsync, by any path, is the kubectl plugin") {
  CHECK(display_name("kubectl-vmsync") == "kubectl vmsync");
  CHECK(display_name("/usr/local/bin/kubectl-vmsync") == "kubectl vmsync");
  CHECK(display_name("./kubectl-vmsync") == "kubectl vmsync");
}

TEST_CASE("display_name: every other name is vmsync") {
  CHECK(display_name("vmsync") == "vmsync");
  CHECK(display_name("/usr/bin/vmsync") == "vmsync");
  CHECK(display_name("") == "vmsync");
  CHECK(display_name("kubectl-vmsync-old") == "vmsync");
  CHECK(display_name("/opt/kubectl-vmsync/vmsync") == "vmsync");
  CHECK(display_name("kubectl_complete-vmsync") == "vmsync");
}
