#!/bin/sh
# A test that a cross build registers in place of one that cannot run there
# (tests/cross/meson.build: cross_skip): prints why and exits 77, which
# meson counts as skipped.  Usage: skip.sh REASON...
echo "skipped in this cross build: $*"
exit 77
