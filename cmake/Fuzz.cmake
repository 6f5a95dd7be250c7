# The fuzz targets (fuzz/fuzz_*.cpp), two ways:
#  - always, when the unit tests are built: compiled into vmsync_unit_tests as plain functions
#    (VMSYNC_FUZZ_REPLAY), which test/unit/fuzz/test_fuzz_corpus.cpp runs on the committed seeds
#    (fuzz/corpus/) and on every input a fuzzer once broke vmsync with (fuzz/regressions/);
#  - with -DVMSYNC_FUZZ=ON and clang, as libFuzzer executables:
#      CC=clang CXX=clang++ cmake -S . -B build-fuzz -G Ninja -DVMSYNC_FUZZ=ON -DVMSYNC_BUILD_TESTS=OFF
#      cmake --build build-fuzz --target vmsync_fuzz        (fuzz/run.sh does both, then runs them)
#    Everything (the core library too) gets coverage instrumentation and ASan+UBSan, so a finding anywhere in
#    the code a target reaches is reported; only the fuzz executables link libFuzzer's main. The targets link
#    the core library itself, so one clang build with -DVMSYNC_SANITIZE=ON -DVMSYNC_FUZZ=ON (CI's build-asan,
#    scripts/test.sh) compiles the core once for the sanitizer tests and the fuzzers: the coverage hooks in the
#    unit tests and the vmsync binary resolve to the sanitizer runtime's no-op defaults.
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

add_custom_target(vmsync_fuzz)
foreach(src IN LISTS VMSYNC_FUZZ_SOURCES)
  get_filename_component(name ${src} NAME_WE)
  add_executable(${name} ${src})
  target_include_directories(${name} PRIVATE ${CMAKE_CURRENT_SOURCE_DIR}/fuzz)
  target_link_libraries(${name} PRIVATE vmsync_core)
  target_link_options(${name} PRIVATE -fsanitize=fuzzer)
  add_dependencies(vmsync_fuzz ${name})
endforeach()
