#!/bin/bash -
# guestbox - launching and stopping the appliance: the environment
# variables of the compatibility set, a qemu wrapper script, -v and -x,
# and signals during launch leaving no qemu and no temp dir behind.
# Copyright (C) 2026 the guestbox authors
# SPDX-License-Identifier: GPL-2.0-or-later

set -e
. "${top_srcdir:=$(dirname "$0")/..}/tests/functions.sh"
. "$top_srcdir/tests/images.sh"
requires_appliance
requires mkfs.ext4
make_workdir

make_linux_tree "$T/root" launchguest
echo '/dev/sda / ext4 defaults 0 1' > "$T/root/etc/fstab"
ext4_image "$T/disk.img" 32 "$T/root"

# A qemu wrapper that records its arguments and execs qemu last, through
# each of the two variable names.  It writes them atomically: the
# background snapshot maker runs the wrapper too, and may do so while
# the test reads the file.
qemu=$(command -v qemu-system-x86_64)
cat > "$T/wrapper" <<WRAP
#!/bin/sh
echo "\$@" > "$T/wrapper.args.\$\$"
mv -f "$T/wrapper.args.\$\$" "$T/wrapper.args"
echo "GLIBC_TUNABLES=\$GLIBC_TUNABLES" > "$T/wrapper.env.\$\$"
mv -f "$T/wrapper.env.\$\$" "$T/wrapper.env"
exec $qemu "\$@"
WRAP
chmod +x "$T/wrapper"
for var in GBOX_QEMU LIBGUESTFS_QEMU; do
  rm -f "$T/wrapper.args"
  out=$(env "$var=$T/wrapper" GBOX_APPEND="guestbox.test=$var" \
          "$VIRT_CAT" -a "$T/disk.img" /etc/hostname)
  expect_eq "$var wrapper: output" launchguest "$out"
  [ -s "$T/wrapper.args" ] || fail "$var wrapper was not run"
  grep -q "guestbox.test=$var" "$T/wrapper.args" || fail "GBOX_APPEND not on the kernel command line"
  ok "$var wrapper ran qemu, GBOX_APPEND reached the kernel command line"
  check_no_qemu
done
wait_snapshot_maker
out=$(LIBGUESTFS_APPEND="guestbox.test=lg" GBOX_QEMU="$T/wrapper" \
        "$VIRT_CAT" -a "$T/disk.img" /etc/hostname)
grep -q "guestbox.test=lg" "$T/wrapper.args" || fail "LIBGUESTFS_APPEND not used"
ok "LIBGUESTFS_APPEND"

# qemu's malloc asks for huge pages (the kernel's buffers), keeping
# the caller's glibc tunables.
expect_eq "qemu's GLIBC_TUNABLES" "GLIBC_TUNABLES=glibc.malloc.hugetlb=1" \
  "$(cat "$T/wrapper.env")"
wait_snapshot_maker
GLIBC_TUNABLES=glibc.malloc.arena_max=2 GBOX_QEMU="$T/wrapper" \
  "$VIRT_CAT" -a "$T/disk.img" /etc/hostname >/dev/null
expect_eq "qemu's GLIBC_TUNABLES with the caller's" \
  "GLIBC_TUNABLES=glibc.malloc.arena_max=2:glibc.malloc.hugetlb=1" \
  "$(cat "$T/wrapper.env")"

# GBOX_MEMSIZE and GBOX_ACCEL=tcg reach qemu.
wait_snapshot_maker
GBOX_MEMSIZE=384 GBOX_ACCEL=tcg GBOX_QEMU="$T/wrapper" \
  "$VIRT_CAT" -a "$T/disk.img" /etc/hostname >/dev/null
grep -q -- '-m 384' "$T/wrapper.args" || fail "GBOX_MEMSIZE not used"
grep -q -- '-accel tcg' "$T/wrapper.args" || fail "GBOX_ACCEL=tcg not used"
ok "GBOX_MEMSIZE and GBOX_ACCEL"
# No network device, ever.
if grep -qE -- '-net|netdev|virtio-net' "$T/wrapper.args"; then
  fail "qemu was given a network device"
fi
ok "no network device"

# -v streams the console and debug lines; -x traces the calls.
# (A restored appliance boots no kernel: look at a cold boot.)
GBOX_SNAPSHOT=0 "$VIRT_CAT" -v -a "$T/disk.img" /etc/hostname > /dev/null 2> "$T/v.err"
grep -q 'Linux version' "$T/v.err" || fail "-v: no kernel console"
grep -q 'virt-cat: debug: ' "$T/v.err" || fail "-v: no debug lines"
ok "-v shows the console and debug lines"
"$VIRT_CAT" -x -a "$T/disk.img" /etc/hostname > /dev/null 2> "$T/x.err"
grep -q 'download' "$T/x.err" || fail "-x: no trace of download"
grep -q 'inspect_mount' "$T/x.err" || fail "-x: no trace of inspect_mount"
ok "-x traces each call"
# Nothing could be written: qemu quits without the daemon's shutdown
# (its unmounts); virt-edit, which writes, still shuts it down.
if grep -q 'trace: shutdown' "$T/x.err" ||
   ! grep -q '"execute":"quit"' "$T/x.err"; then
  fail "a read-only session ran the daemon's shutdown, or did not quit qemu"
fi
cp "$T/disk.img" "$T/edit.img"
EDITOR=true "$top_builddir/edit/virt-edit" -x -a "$T/edit.img" /etc/hostname \
  > /dev/null 2> "$T/xe.err" || { cat "$T/xe.err"; fail "virt-edit -x"; }
grep -q 'trace: shutdown = ok' "$T/xe.err" ||
  fail "virt-edit: no shutdown before qemu quit"
ok "read-only sessions quit qemu at once; writing ones shut the daemon down"
GBOX_TRACE=1 "$VIRT_CAT" -a "$T/disk.img" /etc/hostname > /dev/null 2> "$T/x2.err"
grep -q 'download' "$T/x2.err" || fail "GBOX_TRACE=1: no trace"
ok "GBOX_TRACE=1"
check_no_qemu

# A qemu that cannot start: one clear error line.
expect_error "qemu binary missing" 'virt-cat: error: .*(/nonexistent/qemu|launch failed)' \
  env GBOX_QEMU=/nonexistent/qemu "$VIRT_CAT" -a "$T/disk.img" /etc/hostname

# A prebuilt appliance directory that is not one.
mkdir "$T/notanappliance"
expect_error "GBOX_PATH not an appliance" "virt-cat: error: .*notanappliance.*initrd" \
  env GBOX_PATH="$T/notanappliance" "$VIRT_CAT" -a "$T/disk.img" /etc/hostname

# Signals during launch: no qemu and no temp dir left.  (A background
# job of a script starts with SIGINT ignored, and under nohup SIGHUP
# is ignored; the command keeps them: restore the defaults first.)
for sig in INT TERM HUP; do
  env --default-signal=INT,QUIT,HUP "$VIRT_CAT" -a "$T/disk.img" /etc/hostname \
    > /dev/null 2>&1 &
  pid=$!
  # Wait until qemu runs, then signal the command.
  for i in $(seq 100); do
    [ -n "$(qemu_left)" ] && break
    sleep 0.05
  done
  [ -n "$(qemu_left)" ] || fail "SIG$sig: qemu never started"
  kill -s "$sig" "$pid"
  rc=0; wait "$pid" || rc=$?
  [ "$rc" -ne 0 ] || fail "SIG$sig: command exited 0"
  for i in $(seq 50); do
    [ -z "$(qemu_left)" ] && break
    sleep 0.1
  done
  check_no_qemu
  ok "SIG$sig during launch: exit $rc, no qemu, no temp dir"
done
