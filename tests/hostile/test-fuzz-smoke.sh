#!/bin/bash -
# guestbox - build the libFuzzer harnesses (fuzz/) and run each for a
# few seconds from its seed corpus: any crash, leak, timeout or
# out-of-memory is a failure (the input is kept under fuzz/findings/).
# "make fuzz FUZZ_TIME=N" runs them longer.  The registry hive seeds
# are written by hivexregedit into hives made by tests/mkhive (a check
# program, built before the tests run).
# Copyright (C) 2026 the guestbox authors
# SPDX-License-Identifier: GPL-2.0-or-later

set -e
. "${top_srcdir:=$(dirname "$0")/../..}/tests/functions.sh"
requires clang python3 hivexregedit
: "${FUZZ_SMOKE_TIME:=3}"
make_workdir

F=$top_srcdir/fuzz
# The harnesses are built in the source tree's fuzz/ (a read-only tree,
# as in "make distcheck", cannot hold them).
if [ ! -f "$F/fuzz.mk" ] || [ ! -w "$F" ]; then
  echo "$0: SKIP: $F is missing or read-only"
  exit 77
fi
# fuzz.mk takes the generated sources and libraries from the source
# tree: a build in another directory ("make distcheck") has none there.
if [ "$(cd "$top_srcdir" && pwd -P)" != "$(cd "$top_builddir" && pwd -P)" ]; then
  echo "$0: SKIP: the fuzz harnesses build only in the source tree"
  exit 77
fi
# A plain make, not a sub-make of "make check" (whose MAKEFLAGS would
# make it print "make[N]:" lines and complain about the jobserver).
unset MAKEFLAGS MFLAGS MAKELEVEL
if ! make -s -C "$F" -f fuzz.mk all seeds/.stamp \
     MKHIVE="$top_builddir/tests/mkhive" > "$T/build.log" 2>&1; then
  if grep -q 'libclang_rt.fuzzer\|cannot find.*fuzzer' "$T/build.log"; then
    echo "$0: SKIP: clang has no libFuzzer (install libclang-rt-14-dev)"
    exit 77
  fi
  cat "$T/build.log" >&2
  fail "building the fuzz harnesses"
fi
harnesses=$(make -s -C "$F" -f fuzz.mk --no-print-directory \
  --eval 'print-harnesses: ; @echo $(HARNESSES)' print-harnesses |
  grep -v '^make')
[ -n "$harnesses" ] || fail "no fuzz harness found"
for h in $harnesses; do
  mkdir -p "$T/corpus-$h" "$F/findings/$h"
  dict=
  [ ! -f "$F/seeds/$h.dict" ] || dict=-dict=$F/seeds/$h.dict
  if ! "$F/fuzz-$h" -max_total_time="$FUZZ_SMOKE_TIME" -timeout=10 \
        -rss_limit_mb=2048 -max_len=65536 -print_final_stats=1 $dict \
        -artifact_prefix="$F/findings/$h/" \
        "$T/corpus-$h" "$F/seeds/$h" > "$T/$h.log" 2>&1; then
    tail -n 40 "$T/$h.log" >&2
    fail "fuzz-$h found a problem (input saved in fuzz/findings/$h/)"
  fi
  runs=$(awk '/stat::number_of_executed_units/ { print $NF }' "$T/$h.log")
  ok "fuzz-$h: $runs runs in ${FUZZ_SMOKE_TIME}s, no finding"
done
