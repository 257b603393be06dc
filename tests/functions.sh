# guestbox - helpers shared by the shell tests.  Source it with
#   . "$top_srcdir/tests/functions.sh"
# Copyright (C) 2026 the guestbox authors
# SPDX-License-Identifier: GPL-2.0-or-later

: "${top_srcdir:=$(dirname "${BASH_SOURCE[0]}")/..}"
top_srcdir=$(cd "$top_srcdir" && pwd)
# Run straight from a checkout: the build tree is the source tree.
: "${top_builddir:=$top_srcdir}"
top_builddir=$(cd "$top_builddir" && pwd)

VIRT_CAT=$top_builddir/cat/virt-cat
VIRT_LS=$top_builddir/ls/virt-ls

# skip_or_fail REASON: skip (77) with the reason, except that
# REQUIRE_APPLIANCE=1 (set by CI, where ./quickstart.sh installs every
# tool a test needs) turns the skip into a failure.
skip_or_fail () {
  if [ "${REQUIRE_APPLIANCE:-0}" = 1 ]; then
    echo "$0: FAIL: $* (REQUIRE_APPLIANCE=1)"
    exit 1
  fi
  echo "$0: SKIP: $*"
  exit 77
}

# Skip (77) when a host tool is missing; a failure under
# REQUIRE_APPLIANCE=1.
requires () {
  for t in "$@"; do
    command -v "$t" >/dev/null 2>&1 || skip_or_fail "'$t' is not installed"
  done
}

# requires_libguestfs TOOL...: the libguestfs tools used as the
# reference in byte-for-byte comparisons (their Debian paths, so that
# an installed guestbox of the same name is never taken for them).
# GBOX_COMPARE=0 skips the comparisons even in CI.  Sets the
# environment they need here (no KVM: force TCG).
requires_libguestfs () {
  local t
  if [ "${GBOX_COMPARE:-1}" = 0 ]; then
    echo "$0: SKIP: GBOX_COMPARE=0"; exit 77
  fi
  for t in "$@"; do
    [ -x "/usr/bin/$t" ] ||
      skip_or_fail "the libguestfs tools are not installed (/usr/bin/$t)"
  done
  export LIBGUESTFS_BACKEND=direct LIBGUESTFS_BACKEND_SETTINGS=force_tcg
  # Their appliance is built once for the whole suite, not per test.
  if [ -z "${LIBGUESTFS_CACHEDIR:-}" ]; then
    export LIBGUESTFS_CACHEDIR=$XDG_CACHE_HOME/libguestfs
    mkdir -p "$LIBGUESTFS_CACHEDIR"
  fi
}

# compare_lg WHAT TOOL ARGS...: run the libguestfs TOOL (/usr/bin/TOOL)
# and ours (the build tree's) with the same arguments, in the current
# directory; stdout and the exit status must be identical.  Each
# libguestfs run boots its own appliance (20-40 s under TCG): call this
# once per fixture and command line.  Ours is found as
# $top_builddir/DIR/TOOL, DIR being the tool's name less "virt-",
# unless GBOX_TOOL_DIR_<tool with - as _> names the directory.
compare_lg () {
  local what=$1 tool=$2 dir rc_ref=0 rc_ours=0 var run
  shift 2
  var=GBOX_TOOL_DIR_${tool//-/_}
  dir=${!var:-${tool#virt-}}
  /usr/bin/"$tool" "$@" > "$T/lg.out" 2> "$T/lg.err" </dev/null || rc_ref=$?
  "$top_builddir/$dir/$tool" "$@" > "$T/gb.out" 2> "$T/gb.err" </dev/null || rc_ours=$?
  # The libguestfs tools are not always deterministic under load (e.g.
  # virt-df sometimes lists no btrfs subvolumes, or names them after its
  # own appliance's disk): on a difference their command runs again, up
  # to twice more, and the comparison holds only if one of those runs
  # gives exactly our output.  Every run is in the log.
  for run in 2 3; do
    [ "$rc_ref" != "$rc_ours" ] || ! cmp -s "$T/lg.out" "$T/gb.out" || break
    echo "$what: libguestfs's run $((run - 1)) (exit $rc_ref) differs; running it again:" >&2
    diff -u "$T/lg.out" "$T/gb.out" >&2 || true
    rc_ref=0
    /usr/bin/"$tool" "$@" > "$T/lg.out" 2> "$T/lg.err" </dev/null || rc_ref=$?
  done
  if [ "$rc_ref" != "$rc_ours" ]; then
    echo "--- libguestfs stderr" >&2; cat "$T/lg.err" >&2
    echo "--- guestbox stderr" >&2; cat "$T/gb.err" >&2
    fail "$what: exit status $rc_ours, libguestfs $rc_ref"
  fi
  if ! cmp -s "$T/lg.out" "$T/gb.out"; then
    diff -u "$T/lg.out" "$T/gb.out" >&2 || true
    [ -s "$T/lg.err" ] && { echo "--- libguestfs stderr" >&2; cat "$T/lg.err" >&2; }
    fail "$what: stdout differs from libguestfs"
  fi
  ok "$what: identical to libguestfs (exit $rc_ours, $(wc -l < "$T/gb.out") lines)"
}

requires_appliance () {
  local why=
  command -v qemu-system-x86_64 >/dev/null 2>&1 || why="qemu-system-x86_64 is not installed"
  if [ -z "$why" ] && [ -z "${GBOX_KERNEL:-}" ] && \
     ! ls /boot/vmlinuz-* >/dev/null 2>&1; then
    why="no kernel in /boot (install linux-image-amd64)"
  fi
  [ -z "$why" ] || skip_or_fail "$why"
}

# A private work dir removed at exit, with its own TMPDIR so that
# leftover temp dirs can be counted.  Functions registered with
# cleanup_fn run first.
_cleanup_fns=
cleanup_fn () { _cleanup_fns="$*; $_cleanup_fns"; }
_on_exit () {
  local rc=$?
  eval "$_cleanup_fns" 2>/dev/null || true
  wait_snapshot_maker
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
# The first command on a cache without a snapshot starts a detached
# process that makes one, holding the snapshot lock while it works:
# wait until none does.
wait_snapshot_maker () {
  local l
  # With LIBGUESTFS_CACHEDIR set (requires_libguestfs), the commands
  # keep their appliance in DIR/guestbox-UID.
  for l in "$XDG_CACHE_HOME"/guestbox/appliance-*/snapshot/lock \
           "${LIBGUESTFS_CACHEDIR:-/nonexistent}"/guestbox-*/appliance-*/snapshot/lock; do
    [ -e "$l" ] && flock "$l" true
  done
  return 0
}
check_no_qemu () {
  local p
  wait_snapshot_maker
  p=$(qemu_left)
  if [ -n "$p" ]; then
    # Say what it is, to the log, before failing.
    ps -o pid,ppid,etimes,args -p "$(echo $p | tr ' ' ,)" >&2 || true
    for l in "$XDG_CACHE_HOME"/guestbox/appliance-*/snapshot/maker.log \
             "${LIBGUESTFS_CACHEDIR:-/nonexistent}"/guestbox-*/appliance-*/snapshot/maker.log; do
      [ -e "$l" ] && sed "s|^|$l: |" "$l" >&2
    done
    fail "qemu left running: $p"
  fi
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
