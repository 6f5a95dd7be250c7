# The fuzz targets (fuzz/fuzz_*.cpp), two ways:
#  - always, when the unit tests are built: compiled into vmsync_unit_tests as plain functions
#    (VMSYNC_FUZZ_REPLAY), which test/unit/fuzz/test_fuzz_corpus.cpp runs on the committed seeds
#    (fuzz/corpus/) and on every input a fuzzer once broke vmsync with (fuzz/regressions/);
#  - with -DVMSYNC_FUZZ=ON and clang, as libFuzzer executables:
#      CC=clang CXX=clang++ cmake -S . -B build-fuzz -G Ninja -DVMSYNC_FUZZ=ON -DVMSYNC_BUILD_TESTS=OFF
#      cmake --build build-fuzz --target vmsync_fuzz        (fuzz/run.sh does both, then runs them)
#    Everything (the core library too) gets coverage instrumentation and ASan+UBSan, so a finding anywhere in
#    the code a target reaches is reported; only the fuzz executables link libFuzzer's main.
file(GLOB VMSYNC_FUZZ_SOURCES CONFIGURE_DEPENDS ${CMAKE_CURRENT_SOURCE_DIR}/fuzz/fuzz_*.cpp)

if(TARGET vmsync_unit_tests)
  target_sources(vmsync_unit_tests PRIVATE ${VMSYNC_FUZZ_SOURCES})
  target_include_directories(vmsync_unit_tests PRIVATE ${CMAKE_CURRENT_SOURCE_DIR}/fuzz)
  target_compile_definitions(vmsync_unit_tests PRIVATE VMSYNC_FUZZ_REPLAY
                             VMSYNC_FUZZ_DIR="${CMAKE_CURRENT_SOURCE_DIR}/fuzz")
endif()

if(NOT VMSYNC_FUZZ)
  return()
endif()
if(NOT CMAKE_CXX_COMPILER_ID MATCHES "Clang")
  message(FATAL_ERROR "VMSYNC_FUZZ needs clang (libFuzzer): configure with CXX=clang++")
endif()

target_compile_options(vmsync_settings INTERFACE
  -fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer)
target_link_options(vmsync_settings INTERFACE -fsanitize=address,undefined)

# The targets link their own copy of the core without src/core/fix: no target reaches it, and the fuzz build
# then does not depend on work in progress there.
get_target_property(VMSYNC_FUZZ_CORE_SOURCES vmsync_core SOURCES)
list(FILTER VMSYNC_FUZZ_CORE_SOURCES EXCLUDE REGEX "/src/core/fix/")
add_library(vmsync_fuzz_core STATIC EXCLUDE_FROM_ALL ${VMSYNC_FUZZ_CORE_SOURCES})
get_target_property(_vmsync_core_deps vmsync_core MANUALLY_ADDED_DEPENDENCIES)
if(_vmsync_core_deps)
  add_dependencies(vmsync_fuzz_core ${_vmsync_core_deps}) # the generated version source
endif()
target_include_directories(vmsync_fuzz_core PUBLIC ${CMAKE_CURRENT_SOURCE_DIR}/include)
target_link_libraries(vmsync_fuzz_core
  PUBLIC vmsync_settings nlohmann_json::nlohmann_json fmt::fmt CURL::libcurl yaml-cpp Threads::Threads OpenSSL::Crypto ZLIB::ZLIB
         simdjson::simdjson)

add_custom_target(vmsync_fuzz)
foreach(src IN LISTS VMSYNC_FUZZ_SOURCES)
  get_filename_component(name ${src} NAME_WE)
  add_executable(${name} ${src})
  target_include_directories(${name} PRIVATE ${CMAKE_CURRENT_SOURCE_DIR}/fuzz)
  target_link_libraries(${name} PRIVATE vmsync_fuzz_core)
  target_link_options(${name} PRIVATE -fsanitize=fuzzer)
  add_dependencies(vmsync_fuzz ${name})
endforeach()
