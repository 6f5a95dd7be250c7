# Build policy shared by every target: language level and sanitizers.
add_library(vmsync_settings INTERFACE)
target_compile_features(vmsync_settings INTERFACE cxx_std_20)
set(CMAKE_CXX_EXTENSIONS OFF)
if(NOT CMAKE_BUILD_TYPE AND NOT CMAKE_CONFIGURATION_TYPES)
  set(CMAKE_BUILD_TYPE RelWithDebInfo CACHE STRING "Build type" FORCE)
endif()
if(VMSYNC_SANITIZE)
  target_compile_options(vmsync_settings INTERFACE -fsanitize=address,undefined -fno-omit-frame-pointer
                                                   -fno-sanitize-recover=undefined)
  target_link_options(vmsync_settings INTERFACE -fsanitize=address,undefined)
  # GCC's flow analysis misfires on ASan-instrumented libstdc++ (std::regex, std::function: "may be used
  # uninitialized" in regex_automaton.h), so under the sanitizers that one warning is not an error; the plain
  # -Werror build still has it, and ASan itself reports real uses of uninitialised memory.
  if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU")
    target_compile_options(vmsync_settings INTERFACE -Wno-maybe-uninitialized)
  endif()
endif()
find_program(CCACHE_EXE ccache)
if(CCACHE_EXE)
  set(CMAKE_CXX_COMPILER_LAUNCHER ${CCACHE_EXE})
endif()
find_program(MOLD_EXE mold)
if(MOLD_EXE AND CMAKE_CXX_COMPILER_ID MATCHES "GNU|Clang")
  target_link_options(vmsync_settings INTERFACE -fuse-ld=mold)
endif()
