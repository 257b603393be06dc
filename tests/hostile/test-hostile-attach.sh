#!/bin/bash -
# guestbox - how disks reach qemu.
#  1. The image file is opened once: swapped for another file after it
#     was probed (by a qemu-img wrapper), the original is still what
#     the appliance reads; every block node is on a descriptor we gave
#     qemu (-v says so).
#  2. qcow2 chains: refused without --format, with the command line
#     that opens them; with --format=qcow2 the whole chain opens, each
#     backing file probed by our rules and named under -v; a backing
#     file that is a FIFO is refused without being opened.  With an
#     explicit format, a vmdk with an extent, a QED with a backing file
#     and a qcow2 whose parent is one are refused, the file they name
#     never opened.
#  3. Writing commands attach the disk read-only until the first write:
#     a failed or no-op virt-edit, virt-copy-in or virt-tar-in on a
#     damaged ext4 (in a qcow2) and on an ext4 whose journal needs
#     recovery leaves the image byte-for-byte unchanged; a real edit
#     then writes the replayed journal and the edit.
# Copyright (C) 2026 the guestbox authors
# SPDX-License-Identifier: GPL-2.0-or-later

set -e
. "$top_srcdir/tests/functions.sh"
. "$top_srcdir/tests/images.sh"
. "$top_srcdir/tests/hostile/hostile.sh"
requires_appliance
requires mkfs.ext4 qemu-img sfdisk debugfs dumpe2fs e2fsck perl
make_workdir
VIRT_EDIT=$top_builddir/edit/virt-edit
C=$top_builddir/copy

make_linux_tree "$T/tree" original
ext4_image "$T/root.img" 24 "$T/tree"
mbr_disk "$T/disk.img" 32 "$T/root.img"

# --- 1. The image swapped after probing ---------------------------------
make_linux_tree "$T/tree2" swapped
ext4_image "$T/root2.img" 24 "$T/tree2"
mbr_disk "$T/other.img" 32 "$T/root2.img"
cp "$T/disk.img" "$T/victim.img"
cat > "$T/qemu-img-swap" <<EOF
#!/bin/sh
# Swap the image for another file once it has been probed.
[ -e "$T/other.img" ] && mv -f "$T/other.img" "$T/victim.img"
exec qemu-img "\$@"
EOF
chmod +x "$T/qemu-img-swap"
out=$(GBOX_QEMU_IMG=$T/qemu-img-swap "$VIRT_CAT" -v -a "$T/victim.img" \
        /etc/hostname 2>"$T/log")
[ ! -e "$T/other.img" ] || fail "the wrapper did not swap the image"
expect_eq "swapped after probing: the probed file is read" original "$out"
grep -q "block graph: [0-9]* nodes, each on a file we opened" "$T/log" ||
  { cat "$T/log" >&2; fail "no block graph check under -v"; }
ok "the block graph was checked before the disk was attached"
check_no_qemu

# --- 2. qcow2 chains ------------------------------------------------------
mkdir "$T/chain"
cp "$T/disk.img" "$T/chain/base.img"
(cd "$T/chain" &&
 qemu-img create -q -f qcow2 -b base.img -F raw mid.qcow2 &&
 qemu-img create -q -f qcow2 -b mid.qcow2 -F qcow2 top.qcow2)
expect_error "qcow2 overlay without --format" \
  "^virt-cat: error: .*top.qcow2: the image \(probed as qcow2\) refers to another file 'mid.qcow2'.*: virt-cat --format=qcow2 -a .*top.qcow2" \
  "$VIRT_CAT" -a "$T/chain/top.qcow2" /etc/hostname
out=$("$VIRT_CAT" -v --format=qcow2 -a "$T/chain/top.qcow2" /etc/hostname \
        2>"$T/log")
expect_eq "--format=qcow2 opens the whole chain" original "$out"
grep -q "top.qcow2: backing file $T/chain/mid.qcow2 (probed as qcow2)" "$T/log" &&
  grep -q "mid.qcow2: backing file $T/chain/base.img (probed as raw)" "$T/log" ||
  { grep backing "$T/log" >&2; fail "-v does not name each backing file"; }
ok "-v names each backing file with its probed format"
check_no_qemu
# A QED image with a backing file is refused too (the man page says so).
(cd "$T/chain" && qemu-img create -q -f qed -b base.img -F raw over.qed)
expect_error "QED with a backing file, probed" \
  "^virt-cat: error: .*over.qed: the image \(probed as qed\) refers to another file 'base.img'.*--format=qed" \
  "$VIRT_CAT" -a "$T/chain/over.qed" /etc/hostname
# A backing file that is not an image (a FIFO that records an open).
fifo_trap "$T/chain/trap.fifo"
(cd "$T/chain" &&
 qemu-img create -q -f qcow2 -u -b trap.fifo -F raw fifo.qcow2 32M)
expect_error "a FIFO as backing file" \
  "^virt-cat: error: .*fifo.qcow2: its backing file: .*trap.fifo: not a regular file or block device" \
  "$VIRT_CAT" --format=qcow2 -a "$T/chain/fifo.qcow2" /etc/hostname
expect_eq "the FIFO was not opened" no "$(fifo_opened "$T/chain/trap.fifo")"
# With an explicit format, only a qcow2 chain is opened (each file
# through a descriptor of ours): a vmdk whose descriptor names an
# extent, a QED with a backing file, and a qcow2 whose parent is such a
# QED are refused with one error line, and the file they name (a FIFO
# that records an open) is never opened, by us or by qemu.
fifo_trap "$T/chain/extent.fifo"
printf '# Disk DescriptorFile\nversion=1\nCID=fffffffe\nparentCID=ffffffff\ncreateType="monolithicFlat"\nRW 65536 FLAT "extent.fifo" 0\n' \
  > "$T/chain/extents.vmdk"
fifo_trap "$T/chain/parent.fifo"
(cd "$T/chain" &&
 qemu-img create -q -f qed -u -b parent.fifo -F raw parent.qed 32M &&
 qemu-img create -q -f qcow2 -u -b parent.qed -F qed child.qcow2 32M)
for c in "vmdk:extents.vmdk:extent.fifo:the vmdk image refers to another file '\(vmdk descriptor naming extent files\)', which qemu would open by name; it is not opened" \
         "qed:parent.qed:parent.fifo:the qed image refers to another file 'parent.fifo', which qemu would open by name; it is not opened" \
         "qcow2:child.qcow2:parent.fifo:the backing file .*parent.qed \(probed as qed\) refers to another file 'parent.fifo'; not opened"; do
  IFS=: read -r fmt img trap msg <<< "$c"
  rc=0
  "$VIRT_CAT" --format="$fmt" -a "$T/chain/$img" /etc/hostname \
    >"$T/out" 2>"$T/err" || rc=$?
  expect_eq "--format=$fmt $img: exit status" 1 "$rc"
  expect_eq "--format=$fmt $img: one error line" 1 "$(wc -l < "$T/err")"
  grep -Eq "^virt-cat: error: .*$img: $msg" "$T/err" ||
    fail "--format=$fmt $img: unexpected error: $(cat "$T/err")"
  ok "--format=$fmt $img refused: $(cat "$T/err")"
  expect_eq "--format=$fmt $img: $trap was not opened" no \
    "$(fifo_opened "$T/chain/$trap")"
  fifo_trap "$T/chain/$trap"
done
check_no_qemu

# --- 3. Read-only until the first write ------------------------------------
# A damaged ext4 in a qcow2: /etc's extent tree points outside the
# filesystem, so reading it is an ext4 error, which the guest kernel
# records in the superblock (on a disk attached read-write).
cp "$T/root.img" "$T/bad.img"
debugfs -w -R "sif /etc block[2] 99999999" "$T/bad.img" >/dev/null 2>&1
mbr_disk "$T/bad-raw.img" 32 "$T/bad.img"
qemu-img convert -q -f raw -O qcow2 "$T/bad-raw.img" "$T/damaged.qcow2"
# An ext4 whose journal holds a committed transaction (a block of
# random bytes for a free block) not yet written in place: mounting it,
# even read-only, replays the journal.
make_linux_tree "$T/tree3" journalled
rm -f "$T/j.img"
mkfs.ext4 -q -F -b 1024 -d "$T/tree3" "$T/j.img" 24M
head -c 1024 /dev/urandom > "$T/block"
blk=$(( 24 * 1024 - 1 ))
printf 'jo\njw -b %d %s\njc\n' "$blk" "$T/block" > "$T/jcmds"
debugfs -w -f "$T/jcmds" "$T/j.img" >/dev/null 2>&1
dumpe2fs -h "$T/j.img" 2>/dev/null | grep -q needs_recovery ||
  fail "the journal fixture does not need recovery"
mbr_disk "$T/journal.img" 32 "$T/j.img"

mkdir "$T/in"; echo seed > "$T/in/seed.txt"
tar -cf "$T/in.tar" -C "$T/in" seed.txt

for img in damaged.qcow2 journal.img; do
  sum=$(sha256sum < "$T/$img")
  unchanged () {
    [ "$(sha256sum < "$T/$img")" = "$sum" ] || fail "$img changed: $1"
    ok "$img unchanged: $1"
  }
  # No-op edit (perl's "1" changes no line).
  "$VIRT_EDIT" -a "$T/$img" -e 1 /etc/hostname >"$T/out" 2>"$T/err" || true
  check_no_qemu
  unchanged "no-op virt-edit ($(head -1 "$T/err"))"
  # A failing edit (no such file), a failing copy-in and tar-in (no such
  # directory).
  "$VIRT_EDIT" -a "$T/$img" -e 's/a/b/' /etc/nosuch >"$T/out" 2>"$T/err" &&
    fail "virt-edit of a missing file succeeded"
  check_no_qemu
  unchanged "failed virt-edit ($(head -1 "$T/err"))"
  "$C/virt-copy-in" -a "$T/$img" "$T/in/seed.txt" /nosuch >"$T/out" 2>"$T/err" &&
    fail "virt-copy-in into a missing directory succeeded"
  check_no_qemu
  unchanged "failed virt-copy-in ($(head -1 "$T/err"))"
  "$C/virt-tar-in" -a "$T/$img" "$T/in.tar" /nosuch >"$T/out" 2>"$T/err" &&
    fail "virt-tar-in into a missing directory succeeded"
  check_no_qemu
  unchanged "failed virt-tar-in ($(head -1 "$T/err"))"
done

# A real edit on the journalled disk: the replayed journal and the edit
# both reach the image, which is then clean.
"$VIRT_EDIT" -a "$T/journal.img" -e 's/journalled/edited/' /etc/hostname
check_no_qemu
expect_eq "the edit reached the image" edited \
  "$("$VIRT_CAT" -a "$T/journal.img" /etc/hostname)"
dd if="$T/journal.img" of="$T/j2.img" bs=1M skip=1 count=24 status=none
dumpe2fs -h "$T/j2.img" 2>/dev/null | grep -q needs_recovery &&
  fail "the journal still needs recovery after the edit"
cmp -s <(dd if="$T/j2.img" bs=1024 skip="$blk" count=1 status=none) "$T/block" ||
  fail "the replayed journal block is not in the image"
e2fsck -fn "$T/j2.img" >"$T/fsck" 2>&1 || { cat "$T/fsck" >&2; fail "e2fsck -fn"; }
ok "the replayed journal reached the image; e2fsck -fn is clean"
# And copy-in writes for real too.
"$C/virt-copy-in" -a "$T/journal.img" "$T/in/seed.txt" /data
expect_eq "virt-copy-in wrote" seed \
  "$("$VIRT_CAT" -a "$T/journal.img" /data/seed.txt)"
check_no_qemu

# --- 4. qemu's confinement -------------------------------------------------
# As root (CI runs the suite as root), qemu runs as an unprivileged user:
# seen from an editor that virt-edit runs while qemu is up.
if [ "$(id -u)" = 0 ]; then
  cat > "$T/ed.sh" <<EOF2
#!/bin/sh
for p in \$(pgrep -f "qemu-system.*${TMPDIR}/gbox-"); do
  ps -o user= -p "\$p"
done > "$T/qemu.user"
EOF2
  chmod +x "$T/ed.sh"
  EDITOR=$T/ed.sh "$VIRT_EDIT" -a "$T/disk.img" /etc/hostname >/dev/null
  check_no_qemu
  users=$(sort -u "$T/qemu.user")
  [ -n "$users" ] || fail "no qemu seen from the editor"
  [ "$users" != root ] || fail "qemu runs as root"
  expect_eq "as root, qemu runs as an unprivileged user" \
    "$(getent passwd guestbox >/dev/null && echo guestbox || echo nobody)" "$users"
fi
# A qemu without -sandbox: --version has a second line saying so, -v a
# warning; with the real qemu --version is one line.
printf '#!/bin/sh\nfor a; do [ "$a" = -sandbox ] && { echo "qemu: -sandbox: no seccomp" >&2; exit 1; }; done\nexec qemu-system-x86_64 "$@"\n' \
  > "$T/qemu-nosandbox"
chmod +x "$T/qemu-nosandbox"
expect_eq "--version with a qemu without -sandbox" \
  "virt-cat $(sed -n 's/^PACKAGE_VERSION = //p' "$top_builddir/Makefile")
qemu sandbox: none (this qemu has no -sandbox: it runs without seccomp)$( [ "$(id -u)" = 0 ] && echo "; runs as user $users")" \
  "$(GBOX_QEMU=$T/qemu-nosandbox "$VIRT_CAT" --version)"
if qemu-system-x86_64 -sandbox on -version >/dev/null 2>&1; then
  expect_eq "--version with a qemu with -sandbox: one line" 1 \
    "$("$VIRT_CAT" --version | wc -l)"
fi
# (Cut short: only the command line matters here.)
GBOX_QEMU=$T/qemu-nosandbox GBOX_SNAPSHOT=0 GBOX_LAUNCH_TIMEOUT=1 \
  "$VIRT_CAT" -v -a "$T/disk.img" /etc/hostname >/dev/null 2>"$T/log" || true
grep -q "virt-cat: debug: warning: $T/qemu-nosandbox has no -sandbox (seccomp): qemu runs without the sandbox" "$T/log" ||
  fail "-v does not say that qemu has no -sandbox"
ok "-v says that qemu has no -sandbox"
check_no_qemu

# --- 5. SIGTERM while the editor runs: no copy of the guest file left ----
cat > "$T/ed-wait.sh" <<EOF2
#!/bin/sh
: > "$T/editing"
i=0; while [ \$i -lt 100 ] && [ ! -e "$T/stop" ]; do sleep 0.1; i=\$((i+1)); done
EOF2
chmod +x "$T/ed-wait.sh"
sum=$(sha256sum < "$T/disk.img")
EDITOR=$T/ed-wait.sh "$VIRT_EDIT" -a "$T/disk.img" /etc/hostname >/dev/null 2>&1 &
pid=$!
for i in $(seq 600); do [ -e "$T/editing" ] && break; sleep 0.1; done
[ -e "$T/editing" ] || fail "the editor never started"
[ -n "$(find "$TMPDIR" -name hostname)" ] || fail "no copy of the guest file while editing"
kill -TERM "$pid"
rc=0; wait "$pid" || rc=$?
: > "$T/stop"; sleep 0.3
expect_eq "virt-edit died of SIGTERM" 143 "$rc"
check_no_qemu
ok "SIGTERM during virt-edit: no temp copy, no qemu left"
[ "$(sha256sum < "$T/disk.img")" = "$sum" ] || fail "the image changed"
ok "SIGTERM during virt-edit: the image is unchanged"
