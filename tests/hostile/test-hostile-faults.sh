#!/bin/bash -
# guestbox - faults: a daemon that stops answering, fatal signals in
# the middle of a transfer, an unprivileged user, an unreadable kernel.
# Each ends with a clear error (or success), no qemu and no temp dir.
# Copyright (C) 2026 the guestbox authors
# SPDX-License-Identifier: GPL-2.0-or-later

set -e
. "${top_srcdir:=$(dirname "$0")/../..}/tests/functions.sh"
. "$top_srcdir/tests/images.sh"
requires_appliance
requires mkfs.ext4 runuser python3 sfdisk
make_workdir

make_linux_tree "$T/root" faultguest
echo '/dev/sda / ext4 defaults 0 1' > "$T/root/etc/fstab"
truncate -s 1G "$T/root/data/big"
ext4_image "$T/disk.img" 32 "$T/root"

# Background jobs start with SIGINT ignored (so does this whole test
# when the suite itself was started in the background; under nohup,
# SIGHUP too), and a command keeps a signal ignored that it was given
# ignored: undo that.
sigdfl () {
  exec python3 -c 'import os, signal, sys
signal.signal(signal.SIGINT, signal.SIG_DFL)
signal.signal(signal.SIGHUP, signal.SIG_DFL)
os.execvp(sys.argv[1], sys.argv[1:])' "$@"
}

# started_transfer CMD...: run CMD (stdout into a pipe) in the
# background; once 1 MiB has come through, run $ON_START; report the
# exit status in $T/rc.  The pipe keeps draining afterwards.
transfer () {
  { local r=0
    ( sigdfl "$@" ) 2>"$T/err" || r=$?
    echo $r > "$T/rc"; } | {
    head -c 1M > /dev/null
    eval "$ON_START"
    cat > /dev/null; }
}

# 0. qemu runs sandboxed (when it can) and without any network device.
qemu=$(command -v qemu-system-x86_64)
printf '#!/bin/sh\necho "$*" >> "%s"\nexec %s "$@"\n' "$T/qemu.args" "$qemu" > "$T/qemu-wrapper"
chmod +x "$T/qemu-wrapper"
out=$(GBOX_QEMU=$T/qemu-wrapper "$VIRT_CAT" -a "$T/disk.img" /etc/hostname)
expect_eq "through a recording qemu wrapper" faultguest "$out"
args=$(grep -v -- ' -version$' "$T/qemu.args" | tail -n1)
if "$qemu" -sandbox on,obsolete=deny,elevateprivileges=deny,spawn=deny,resourcecontrol=deny \
     -version >/dev/null 2>&1; then
  # As root qemu drops to another user itself (-runas), which needs
  # the set*id calls (test-hostile-attach.sh checks the user).
  if [ "$(id -u)" = 0 ]; then
    sandbox="-sandbox on,obsolete=deny,elevateprivileges=allow,spawn=deny,resourcecontrol=deny -runas "
  else
    sandbox="-sandbox on,obsolete=deny,elevateprivileges=deny,spawn=deny,resourcecontrol=deny"
  fi
  case "$args" in
    *"$sandbox"*) ;;
    *) fail "qemu supports -sandbox but was started without '$sandbox': $args" ;;
  esac
  ok "qemu runs under its seccomp sandbox"
fi
case "$args" in
  *-net*|*-nic*|*virtio-net*|*netdev*) fail "qemu was given a network device: $args" ;;
esac
ok "no network device"
check_no_qemu

# 1. The appliance stops answering mid-transfer (qemu SIGSTOPped): the
# call times out, qemu is killed, one error line.
ON_START='p=$(qemu_left); echo "$p" > "$T/qpid"; kill -STOP $p'
t0=$(date +%s)
GBOX_CALL_TIMEOUT=4 transfer "$VIRT_CAT" -a "$T/disk.img" /data/big
t=$(( $(date +%s) - t0 ))
qpid=$(cat "$T/qpid")
[ -n "$qpid" ] || fail "no qemu seen during the transfer"
[ "$(cat "$T/rc")" = 1 ] || { cat "$T/err" >&2; fail "stopped appliance: exit $(cat "$T/rc")"; }
[ "$(wc -l < "$T/err")" = 1 ] || { cat "$T/err" >&2; fail "stopped appliance: not one error line"; }
grep -qiE "^virt-cat: error: .*(timed out|did not answer within)" "$T/err" ||
  { cat "$T/err" >&2; fail "stopped appliance: the error does not say it timed out"; }
[ $t -lt 60 ] || fail "stopped appliance: took ${t}s"
! kill -0 "$qpid" 2>/dev/null || { kill -CONT "$qpid"; kill -KILL "$qpid"; fail "stopped qemu left alive"; }
check_no_qemu
ok "appliance stopped mid-transfer: $(cat "$T/err") (${t}s), qemu killed"

# 1b. An appliance that never starts (the qemu wrapper stops itself
# before it runs qemu; only the -sandbox probe goes through): the launch
# timeout ends it, first for the snapshot restore, then for the cold
# boot tried after it; one error line, the stopped process killed.
printf '#!/bin/sh\ncase "$*" in *" -version") exec %s "$@" ;; esac\necho $$ >> "%s"\nkill -STOP $$\nexec %s "$@"\n' \
  "$qemu" "$T/stopped.pids" "$qemu" > "$T/qemu-stopper"
chmod +x "$T/qemu-stopper"
t0=$(date +%s)
expect_error "an appliance that never starts (GBOX_LAUNCH_TIMEOUT=3)" \
  "^virt-cat: error: .*within 3 s \(GBOX_LAUNCH_TIMEOUT\)" \
  env GBOX_QEMU="$T/qemu-stopper" GBOX_LAUNCH_TIMEOUT=3 \
  "$VIRT_CAT" -a "$T/disk.img" /etc/hostname
t=$(( $(date +%s) - t0 ))
[ -s "$T/stopped.pids" ] || fail "the stopping qemu wrapper never ran"
for p in $(cat "$T/stopped.pids"); do
  ! kill -0 "$p" 2>/dev/null || { kill -KILL "$p"; fail "stopped launch $p left alive"; }
done
[ $t -lt 60 ] || fail "launch timeout of 3 s took ${t}s"
ok "launch timeout: $(wc -l < "$T/stopped.pids") launch(es) tried, all killed, ${t}s"

# 2. Fatal signals in the middle of a transfer.
for sig in INT TERM HUP; do
  ON_START='pkill -'$sig' -f "^$VIRT_CAT -a $T/disk.img /data/big"'
  transfer "$VIRT_CAT" -a "$T/disk.img" /data/big
  rc=$(cat "$T/rc")
  case $sig:$rc in
    INT:130|TERM:143|HUP:129) ;;
    *) cat "$T/err" >&2; fail "SIG$sig during a transfer: exit status $rc" ;;
  esac
  check_no_qemu
  ok "SIG$sig during a transfer: died of the signal (exit $rc), no qemu, no temp dir"
done

# 2b. Fatal signals during virt-sparsify and virt-resize, once they
# write their output: no output that looks complete (sparsify: none at
# all; resize: the output has no partition table), no qemu, no temp
# dir.
# signal_when SIG PATTERN CMD...: run CMD, send SIG once its output
# matches PATTERN; sets RC.
signal_when () {
  local sig=$1 pat=$2 p
  shift 2
  sigdfl stdbuf -oL -eL "$@" > "$T/log" 2>&1 &
  p=$!
  while kill -0 $p 2>/dev/null && ! grep -q "$pat" "$T/log"; do sleep 0.02; done
  kill -$sig $p 2>/dev/null || true
  RC=0
  wait $p || RC=$?
}
SPARSIFY=$top_builddir/sparsify/virt-sparsify
RESIZE=$top_builddir/resize/virt-resize
if [ -x "$SPARSIFY" ] || [ -x "$RESIZE" ]; then
  mkdir "$T/w"
  head -c 200M /dev/urandom > "$T/root/data/blob"
  mkfs.ext4 -q -F -d "$T/root" "$T/w/fs.img" 384M
  rm "$T/root/data/blob"
  mbr_disk "$T/w/disk.img" 400 "$T/w/fs.img"
  wsum=$(sha256sum < "$T/w/disk.img")
fi
for sig in INT TERM HUP; do
  [ -x "$SPARSIFY" ] || break
  rm -f "$T/w/out.img"
  signal_when $sig '^Copying' "$SPARSIFY" "$T/w/disk.img" "$T/w/out.img"
  if [ $RC = 0 ]; then
    echo "virt-sparsify finished before SIG$sig arrived: not exercised"
    continue
  fi
  [ ! -e "$T/w/out.img" ] || fail "SIG$sig during virt-sparsify left $T/w/out.img (exit $RC)"
  check_no_qemu
  ok "SIG$sig during virt-sparsify's copy: exit $RC, no output file, no qemu, no temp dir"
done
for sig in INT TERM HUP; do
  [ -x "$RESIZE" ] || break
  truncate -s 0 "$T/w/out.img"
  truncate -s 600M "$T/w/out.img"
  signal_when $sig '^\[.*\] Copying /dev/sda1' "$RESIZE" --expand /dev/sda1 \
    "$T/w/disk.img" "$T/w/out.img"
  if [ $RC = 0 ]; then
    echo "virt-resize finished before SIG$sig arrived: not exercised"
    continue
  fi
  [ "$(od -An -tx1 -j510 -N2 "$T/w/out.img" | tr -d ' ')" != 55aa ] ||
    fail "SIG$sig during virt-resize left a partition table on the output (exit $RC)"
  check_no_qemu
  ok "SIG$sig during virt-resize's copy: exit $RC, output has no partition table, no qemu, no temp dir"
done
if [ -n "${wsum:-}" ]; then
  expect_eq "the input of virt-sparsify/virt-resize unchanged" "$wsum" "$(sha256sum < "$T/w/disk.img")"
  rm -rf "$T/w"
fi

# 3. An unprivileged user, a private cache built from scratch.
U=$(mktemp -d /tmp/gbnobody.XXXXXX)
cleanup_fn "rm -rf '$U'"
cp "$T/disk.img" "$U/disk.img"
chmod 755 "$U"; chmod 644 "$U/disk.img"
mkdir "$U/home"; chown nobody "$U/home"
as_nobody () {
  runuser -u nobody -- env -i PATH="$PATH" HOME="$U/home" \
    XDG_CACHE_HOME="$U/home/cache" TMPDIR="$U/home" "$@"
}
out=$(as_nobody "$VIRT_CAT" -a "$U/disk.img" /etc/hostname)
expect_eq "as nobody (cold cache, no privileges)" faultguest "$out"
# The first command on an empty cache leaves a detached process making
# the snapshot, with its own temp dir until it is done.
XDG_CACHE_HOME=$U/home/cache wait_snapshot_maker
[ -e "$U/home/cache/guestbox" ] || fail "nobody's cache was not used"
[ -z "$(find "$U/home" -maxdepth 1 -name 'gbox-*')" ] || fail "temp dir left by nobody"

# 4. A kernel the user cannot read: the error names it and the fix.
kernel=$(ls /boot/vmlinuz-* | sort -V | tail -n1)
cp "$kernel" "$U/vmlinuz-private"
chmod 600 "$U/vmlinuz-private"
rc=0
as_nobody env GBOX_KERNEL="$U/vmlinuz-private" \
  "$VIRT_CAT" -a "$U/disk.img" /etc/hostname > "$T/out" 2> "$T/err" || rc=$?
[ $rc = 1 ] && [ "$(wc -l < "$T/err")" = 1 ] &&
  grep -q "^virt-cat: error: .*$U/vmlinuz-private.*Permission denied.*GBOX_KERNEL" "$T/err" ||
  { cat "$T/err" >&2; fail "unreadable kernel: exit $rc"; }
ok "unreadable kernel: $(cat "$T/err")"
check_no_qemu
