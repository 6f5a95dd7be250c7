# Installation of the man page and shell completions where man-db, bash-completion, zsh and fish look for them,
# and the Debian package: `cpack -G DEB` in the build folder (or `cmake --build BUILD --target package`).
set(VMSYNC_ZSH_COMPLETION_DIR ${CMAKE_INSTALL_DATADIR}/zsh/vendor-completions
    CACHE STRING "Where _vmsync goes (Debian's zsh reads vendor-completions; others use site-functions)")

install(FILES man/vmsync.1 DESTINATION ${CMAKE_INSTALL_MANDIR}/man1)
install(FILES completions/vmsync.bash RENAME vmsync DESTINATION ${CMAKE_INSTALL_DATADIR}/bash-completion/completions)
install(FILES completions/_vmsync DESTINATION ${VMSYNC_ZSH_COMPLETION_DIR})
install(FILES completions/vmsync.fish DESTINATION ${CMAKE_INSTALL_DATADIR}/fish/vendor_completions.d)

# man/vmsync.1 is generated from the CLI definition and man/*.in, and committed (so that building the package
# needs no vmsync run). After changing an option or a man/*.in file: cmake --build BUILD --target update-man.
add_custom_target(update-man
  COMMAND sh -c "\"$1\" __man --source \"$2\" > \"$2/vmsync.1.tmp\" && mv \"$2/vmsync.1.tmp\" \"$2/vmsync.1\""
          update-man $<TARGET_FILE:vmsync> ${CMAKE_CURRENT_SOURCE_DIR}/man
  DEPENDS vmsync
  COMMENT "Regenerating man/vmsync.1"
  VERBATIM)

set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME vmsync)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY ${PROJECT_DESCRIPTION})
set(CPACK_PACKAGE_DESCRIPTION
    "vmsync check shows, per vminsert and vmselect pod, the drift between the vmstorage nodes it should use and the ones it runs with; vmsync fix repairs the list and restarts stale pods in the safe order.")
set(CPACK_PACKAGE_CONTACT "vmsync maintainers <vmsync@localhost>")
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_STRIP_FILES ON)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT) # vmsync_<version>_<arch>.deb
set(CPACK_DEBIAN_PACKAGE_SECTION admin)
set(CPACK_DEBIAN_PACKAGE_RECOMMENDS "bash-completion")
# Runtime libraries: computed by dpkg-shlibdeps from the binary (libcurl4, libyaml-cpp0.7, libfmt9, libsimdjson14, libmimalloc2.0, libssl3, libc6,
# libstdc++6, ...) with the versions this build needs; without dpkg-dev, the Debian 12 names by hand.
find_program(DPKG_SHLIBDEPS_EXE dpkg-shlibdeps)
if(DPKG_SHLIBDEPS_EXE)
  set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
else()
  set(CPACK_DEBIAN_PACKAGE_DEPENDS "libcurl4, libyaml-cpp0.7, libfmt9, libsimdjson14, libmimalloc2.0, libssl3, libstdc++6, libc6")
endif()
include(CPack)

# The container image from the Containerfile, built without a registry (mmdebstrap, buildah; cached):
# cmake --build BUILD --target image writes BUILD/image/vmsync-image.tar (scripts/image.sh says how).
add_custom_target(image
  COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/scripts/image.sh ${CMAKE_BINARY_DIR}
  DEPENDS vmsync
  COMMENT "Building the container image (scripts/image.sh)"
  USES_TERMINAL
  VERBATIM)
