# The git commit for `vmsync version`, read at every build (not only at configure time), so that a rebuild after
# a commit reports the new commit; "-dirty" when tracked files differ from it; "unknown" outside a checkout (a
# source tarball). generated/version.cpp is rewritten only when its text changes, so nothing relinks otherwise.
set(VMSYNC_VERSION_CPP ${CMAKE_CURRENT_BINARY_DIR}/generated/version.cpp)
set(_vmsync_version_args
  -DSOURCE_DIR=${CMAKE_CURRENT_SOURCE_DIR} -DTEMPLATE=${CMAKE_CURRENT_SOURCE_DIR}/cmake/version.cpp.in
  -DOUTPUT=${VMSYNC_VERSION_CPP} -DPROJECT_VERSION=${PROJECT_VERSION}
  -P ${CMAKE_CURRENT_SOURCE_DIR}/cmake/WriteVersion.cmake)
execute_process(COMMAND ${CMAKE_COMMAND} ${_vmsync_version_args}) # so that the file exists before the first build
add_custom_target(vmsync_version_info
  COMMAND ${CMAKE_COMMAND} ${_vmsync_version_args}
  BYPRODUCTS ${VMSYNC_VERSION_CPP}
  VERBATIM)
