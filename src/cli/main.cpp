#include "app.hpp"

int main(int argc, char **argv) { return vmsync::cli::run(argc, argv); }
