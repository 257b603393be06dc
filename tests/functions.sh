# guestbox - helpers shared by the shell tests.  Source it with
#   . "$top_srcdir/tests/functions.sh"
# Copyright (C) 2026 the guestbox authors
# SPDX-License-Identifier: GPL-2.0-or-later

: "${top_builddir:=..}"
: "${top_srcdir:=..}"
top_builddir=$(cd "$top_builddir" && pwd)
top_srcdir=$(cd "$top_srcdir" && pwd)

VIRT_CAT=$top_builddir/cat/virt-cat
VIRT_LS=$top_builddir/ls/virt-ls

# Skip (77) when a host tool is missing, except that REQUIRE_APPLIANCE=1
# (set by CI) turns a missing appliance requirement into a failure.
requires () {
  for t in "$@"; do
    if ! command -v "$t" >/dev/null 2>&1; then
      echo "$0: SKIP: '$t' is not installed"
      exit 77
    fi
  done
}

requires_appliance () {
  local why=
  command -v qemu-system-x86_64 >/dev/null 2>&1 || why="qemu-system-x86_64 is not installed"
  if [ -z "$why" ] && [ -z "${GBOX_KERNEL:-}" ] && \
     ! ls /boot/vmlinuz-* >/dev/null 2>&1; then
    why="no kernel in /boot (install linux-image-amd64)"
  fi
  if [ -n "$why" ]; then
    if [ "${REQUIRE_APPLIANCE:-0}" = 1 ]; then
      echo "$0: FAIL: $why (REQUIRE_APPLIANCE=1)"
      exit 1
    fi
    echo "$0: SKIP: $why"
    exit 77
  fi
}

# A private work dir removed at exit, with its own TMPDIR so that
# leftover temp dirs can be counted.  Functions registered with
# cleanup_fn run first.
_cleanup_fns=
cleanup_fn () { _cleanup_fns="$*; $_cleanup_fns"; }
_on_exit () {
  local rc=$?
  eval "$_cleanup_fns" 2>/dev/null || true
  [ -n "${T:-}" ] && rm -rf "$T"
  exit $rc
}
make_workdir () {
  T=$(mktemp -d "${TMPDIR:-/tmp}/gbtest.XXXXXX")
  trap _on_exit EXIT
  mkdir -p "$T/tmp"
  export TMPDIR=$T/tmp
}

# Use the appliance cache shared by the whole suite (built once), unless
# the test sets its own XDG_CACHE_HOME.
: "${XDG_CACHE_HOME:=$top_builddir/tests/cache}"
export XDG_CACHE_HOME

fail () { echo "$0: FAIL: $*" >&2; exit 1; }
ok () { echo "ok - $*"; }

# expect_eq WHAT EXPECTED ACTUAL
expect_eq () {
  if [ "$2" != "$3" ]; then
    echo "$0: FAIL: $1" >&2
    echo "--- expected" >&2; printf '%s\n' "$2" >&2
    echo "--- actual" >&2; printf '%s\n' "$3" >&2
    exit 1
  fi
  ok "$1"
}

# qemu processes started from this test's temp dir (their sockets live
# there), to prove none is left behind.
qemu_left () {
  pgrep -f "qemu-system.*${TMPDIR}/gbox-" 2>/dev/null || true
}
check_no_qemu () {
  local p
  p=$(qemu_left)
  [ -z "$p" ] || fail "qemu left running: $p"
  [ -z "$(ls -A "$TMPDIR")" ] || fail "temp files left in TMPDIR: $(ls -A "$TMPDIR")"
}

# expect_error WHAT PATTERN CMD...: CMD must exit 1 with exactly one line
# on stderr matching PATTERN, and leave no qemu.
expect_error () {
  local what=$1 pat=$2 rc=0 lines
  shift 2
  "$@" >"$T/out" 2>"$T/err" </dev/null || rc=$?
  [ "$rc" = 1 ] || { cat "$T/err" >&2; fail "$what: exit status $rc, expected 1"; }
  lines=$(wc -l <"$T/err")
  [ "$lines" = 1 ] || { cat "$T/err" >&2; fail "$what: $lines lines on stderr, expected 1"; }
  grep -qE -- "$pat" "$T/err" || { cat "$T/err" >&2; fail "$what: stderr does not match '$pat'"; }
  check_no_qemu
  ok "$what: $(cat "$T/err")"
}
