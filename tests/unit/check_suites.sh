#!/bin/sh
# Fails unless every GoogleTest suite in BINARY is among the SUITE arguments (the suites CMake
# registered as ctest tests, read from the sources): a suite CMake missed would never run.
#   check_suites.sh BINARY SUITE...
binary=$1
shift
missing=$("$binary" --gtest_list_tests | grep -E '^[^ ]+\.( |$)' | sed 's/ .*//; s/\.$//; s|^.*/||' | sort -u |
  while read -r suite; do
    found=0
    for registered in "$@"; do [ "$registered" = "$suite" ] && found=1; done
    [ $found = 1 ] || echo "$suite"
  done)
if [ -n "$missing" ]; then
  echo "suites not registered with ctest: $missing" >&2
  exit 1
fi
echo "all $# suites registered"
