# Warnings for our own code only (never for third-party headers); -Werror in CI and dev via VMSYNC_WERROR.
add_library(vmsync_warnings INTERFACE)
target_compile_options(vmsync_warnings INTERFACE
  -Wall -Wextra -Wpedantic -Wshadow -Wnon-virtual-dtor -Wold-style-cast -Wcast-align -Wunused
  -Woverloaded-virtual -Wconversion -Wsign-conversion -Wdouble-promotion -Wformat=2
  -Wimplicit-fallthrough)
if(VMSYNC_WERROR)
  target_compile_options(vmsync_warnings INTERFACE -Werror)
endif()
