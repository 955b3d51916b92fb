# The Debian package of the daemon (`cpack -G DEB`, run by scripts/package.sh): runtimed,
# runtimed-init and the managed runtimes under /usr, the systemd unit (packaging/runtimed.service)
# and its configuration, /etc/default/runtimed; and the package's test. Only a build configured
# with -DRUNTIMED_PACKAGE=ON packages: the unit and /etc/default/runtimed have absolute
# destinations, which a `cmake --install --prefix` of an ordinary build must not write.

# The package's test, in every build (scripts/test.sh runs it from build-test; `ctest -L package`):
# builds the package with scripts/package.sh (or takes RUNTIMED_DEB=/path/to.deb from the
# environment), installs it, runs the installed unit's ExecStart, invokes functions, purges. The
# package is host-wide, so nothing runs beside it; the time limit includes a cold Release build.
add_test(NAME package_deb_install
  COMMAND ${CMAKE_SOURCE_DIR}/tests/package/deb_install_test.sh ${CMAKE_SOURCE_DIR})
set_tests_properties(package_deb_install PROPERTIES LABELS package TIMEOUT 900 RUN_SERIAL TRUE
  SKIP_RETURN_CODE 77)

option(RUNTIMED_PACKAGE "Install the systemd unit and /etc/default/runtimed; configure cpack -G DEB"
       OFF)
if(NOT RUNTIMED_PACKAGE)
  return()
endif()
if(RUNTIMED_SANITIZE OR RUNTIMED_FUZZ)
  message(FATAL_ERROR "RUNTIMED_PACKAGE: package a build without sanitizers (scripts/package.sh)")
endif()

# Where Debian 12's packages put their units (merged /usr makes it /usr/lib/systemd/system too).
install(FILES packaging/runtimed.service DESTINATION /lib/systemd/system)
install(FILES packaging/runtimed.default DESTINATION /etc/default RENAME runtimed)
install(FILES docs/user-guide.md DESTINATION ${CMAKE_INSTALL_DOCDIR})

# cpack builds only what is installed (scripts/package.sh built it), not the tests and benchmarks.
set(CMAKE_SKIP_INSTALL_ALL_DEPENDENCY ON)

set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME runtimed)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_CONTACT "runtimed maintainers <runtimed@localhost>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "AWS-Lambda-compatible function runtime for Linux")
set(CPACK_PACKAGE_DESCRIPTION
    "runtimed serves Lambda's Invoke and function-management API on loopback and runs every\n\
function in its own sandboxed execution environment (cgroup, namespaces, seccomp) speaking\n\
the Lambda Runtime API. Includes the systemd unit runtimed.service.")
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_STRIP_FILES ON)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)  # runtimed_<version>_<arch>.deb
set(CPACK_DEBIAN_PACKAGE_SECTION admin)
# Library dependencies come from dpkg-shlibdeps on the binaries. Programs the daemon runs:
# mkfs.ext4 for every environment's /tmp (e2fsprogs is not Essential). The managed runtimes run on
# the host's /usr/bin/python3 and /usr/bin/node: recommended, so apt installs them by default,
# while a host that runs only its own `provided` bootstraps may leave them out.
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_DEPENDS "e2fsprogs")
set(CPACK_DEBIAN_PACKAGE_RECOMMENDS "python3, nodejs")
# Maintainer scripts (deb-systemd-helper, /var/lib/runtimed) and the conffile list.
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA
    "${CMAKE_SOURCE_DIR}/packaging/deb/conffiles;${CMAKE_SOURCE_DIR}/packaging/deb/postinst;\
${CMAKE_SOURCE_DIR}/packaging/deb/prerm;${CMAKE_SOURCE_DIR}/packaging/deb/postrm")
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION TRUE)
include(CPack)
