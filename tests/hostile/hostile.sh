# guestbox - helpers for the hostile-input tests (tests/hostile/).
# Sourced after tests/functions.sh and tests/images.sh.
# Copyright (C) 2026 the guestbox authors
# SPDX-License-Identifier: GPL-2.0-or-later

# Every run is bounded: a command that takes longer is a hang.
: "${HOSTILE_BOUND:=120}"

# The read-only commands that exist in this build: NAME PATH.
hostile_commands () {
  local c
  for c in cat/virt-cat ls/virt-ls df/virt-df inspect/virt-inspector; do
    [ -x "$top_builddir/$c" ] && echo "$(basename "$c") $top_builddir/$c"
  done
  return 0
}

# The arguments a read-only command is tried with on any image.
hostile_args () {
  case $1 in
    virt-cat) echo /etc/hostname ;;
    virt-ls) echo -lR / ;;
    *) ;;
  esac
}

# run_bounded LABEL CMD...: run CMD with stdout through "head -c 1M"
# (a huge output ends in SIGPIPE, never fills the disk), bounded in
# time, measuring its peak RSS (qemu included: it is a waited-for
# descendant).  Sets RC, SECS, RSS_MB, ERRLINES; stdout in $T/out,
# stderr in $T/err.
run_bounded () {
  local label=$1 t0 t1
  shift
  t0=$(date +%s.%N)
  { local r=0
    timeout -k 5 "$HOSTILE_BOUND" /usr/bin/time -f %M -o "$T/rss" \
      "$@" 2>"$T/err" </dev/null || r=$?
    echo $r > "$T/rc"; } | head -c 1M > "$T/out"
  t1=$(date +%s.%N)
  RC=$(cat "$T/rc")
  SECS=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }')
  RSS_MB=$(awk '/^[0-9]+$/ { printf "%d", $1 / 1024 }' "$T/rss" 2>/dev/null)
  ERRLINES=$(wc -l < "$T/err")
  [ "$RC" != 124 ] && [ "$RC" != 137 ] || {
    cat "$T/err" >&2; fail "$label: still running after ${HOSTILE_BOUND}s"; }
}

# classify: error (exit 1, exactly one stderr line of the command's
# error format), ok (exit 0, silent stderr), warning (exit 0, a few
# warning lines), sigpipe (killed by SIGPIPE
# writing to a closed output, silent stderr), or bad.
classify () {
  local name=$1
  if [ "$RC" = 1 ] && [ "$ERRLINES" = 1 ] && \
     grep -q "^$name: error: " "$T/err"; then
    echo error
  elif [ "$RC" = 0 ] && [ "$ERRLINES" = 0 ]; then
    echo ok
  elif [ "$RC" = 0 ] && [ "$ERRLINES" -le 8 ] && \
       ! grep -qv "^$name: warning: " "$T/err"; then
    echo warning
  elif [ "$RC" = 141 ] && [ "$ERRLINES" = 0 ]; then
    echo sigpipe
  else
    echo bad
  fi
}

# A results table row: printed, and appended to $HOSTILE_TABLE if set.
table_row () {
  local row="| $1 | $2 | $3 | $4 s | $5 MB |"
  echo "row: $row"
  if [ -n "${HOSTILE_TABLE:-}" ]; then echo "$row" >> "$HOSTILE_TABLE"; fi
  return 0
}

# A FIFO that records being opened: the proof that no process (qemu,
# qemu-img) opened a host file named by an image.  fifo_trap PATH;
# fifo_opened PATH says yes/no and releases the watcher.
fifo_trap () {
  rm -f "$1" "$1.opened"
  mkfifo "$1"
  ( : > "$1"; echo opened > "$1.opened" ) &
  cleanup_fn "exec 9<>'$1'; exec 9>&-"
}
fifo_opened () {
  if [ -e "$1.opened" ]; then echo yes; else
    exec 9<>"$1"; sleep 0.2; exec 9>&-
    rm -f "$1.opened"
    echo no
  fi
}
