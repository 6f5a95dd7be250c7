# The git commit for `vmsync version`; "unknown" outside a checkout (e.g. a source tarball).
find_package(Git QUIET)
set(VMSYNC_GIT_COMMIT "unknown")
if(GIT_FOUND AND EXISTS ${CMAKE_CURRENT_SOURCE_DIR}/.git)
  execute_process(COMMAND ${GIT_EXECUTABLE} rev-parse --short=12 HEAD
                  WORKING_DIRECTORY ${CMAKE_CURRENT_SOURCE_DIR}
                  OUTPUT_VARIABLE _commit OUTPUT_STRIP_TRAILING_WHITESPACE ERROR_QUIET RESULT_VARIABLE _rc)
  if(_rc EQUAL 0)
    set(VMSYNC_GIT_COMMIT ${_commit})
  endif()
endif()
