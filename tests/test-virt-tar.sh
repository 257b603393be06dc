#!/bin/bash -
# guestbox - virt-tar-out, virt-tar-in, virt-copy-out and virt-copy-in.
# A round trip (virt-tar-out, then virt-tar-in into a fresh filesystem)
# reproduces a tree with names holding newlines and invalid UTF-8,
# symlinks, hard links, a sparse file, owners, modes, times and a big
# directory, as virt-ls sees it; unpacking refuses what would leave
# the target directory; failures leave the filesystem e2fsck-clean
# with one error line; copy-out never writes outside its directory.
# Copyright (C) 2026 the guestbox authors
# SPDX-License-Identifier: GPL-2.0-or-later

set -e
. "${top_srcdir:=$(dirname "$0")/..}/tests/functions.sh"
. "$top_srcdir/tests/images.sh"
requires_appliance
requires mkfs.ext4 e2fsck python3 bsdtar setpriv
make_workdir
C=$top_builddir/copy
MKBIGDIR=$top_builddir/tests/mkbigdir
# TAR_BIG_ENTRIES=100000 for the full-size directory (slower under TCG).
: "${TAR_BIG_ENTRIES:=20000}"

# --- The source tree. ---
S=$T/src
mkdir -p "$S/dir/sub/deep" "$S/dir/empty" "$S/huge" "$S/etc"
echo hostname-src > "$S/etc/hostname"
echo text > "$S/dir/file.txt"
echo deep > "$S/dir/sub/deep/f"
printf 'newline\n' > "$S/dir/new
line"
printf 'bad\n' > "$S/dir/$(printf 'bad-\377\376-utf8')"
ln -s file.txt "$S/dir/rel"
ln -s /etc/passwd "$S/dir/abs"
ln -s /etc "$S/dir/etclink"
ln -s nowhere "$S/dir/dangling"
echo hard > "$S/dir/hard1"
ln "$S/dir/hard1" "$S/dir/hard2"
truncate -s 64M "$S/dir/sparse"
echo end >> "$S/dir/sparse"
echo setuid > "$S/dir/setuid"; chmod 4755 "$S/dir/setuid"
echo private > "$S/dir/private"; chmod 0600 "$S/dir/private"
chmod 0700 "$S/dir/empty"
mkfifo "$S/dir/fifo"
chown -R 1234:5678 "$S/dir/sub"
chown -h 42:43 "$S/dir/rel"
touch -h -d '2001-02-03 04:05:06' "$S/dir/file.txt" "$S/dir/rel" "$S/dir/sub"
python3 -c 'import os, sys; os.setxattr(sys.argv[1], "user.tag", b"hello \xff")' "$S/dir/hard1"
mkfs.ext4 -q -F -N $((TAR_BIG_ENTRIES + 4096)) -d "$S" "$T/src.img" 256M >/dev/null
"$MKBIGDIR" "$T/src.img" /huge "$TAR_BIG_ENTRIES"
e2fsck -fyD "$T/src.img" >/dev/null 2>&1 || [ $? -le 1 ]

fresh () {                      # IMAGE [SIZE]: an empty ext4
  local n=()
  [ -n "${2:-}" ] || n=(-N $((TAR_BIG_ENTRIES + 4096)))
  rm -f "$1"; mkfs.ext4 -q -F "${n[@]}" "$1" "${2:-256M}" >/dev/null
}
listing () {                    # IMAGE: what must survive a round trip
  # type,mode,size,uid,gid,atime,mtime,ctime,checksum,path[,link]: no
  # atime or ctime, and no size for directories (it depends on how the
  # directory grew).
  "$top_builddir/ls/virt-ls" -a "$1" -m /dev/sda -lR --csv --checksum --uids --times --time-t / |
    awk -F, 'BEGIN { OFS = "," } { $6 = ""; $8 = ""; if ($1 == "d") $3 = ""; print }' |
    grep -av ',/lost+found$' | grep -av ',/$'
}

# --- Round trip: a file, and stdout into stdin with gzip. ---
t0=$(date +%s.%N)
"$C/virt-tar-out" -a "$T/src.img" -m /dev/sda / "$T/out.tar"
t1=$(date +%s.%N)
echo "virt-tar-out: $(stat -c %s "$T/out.tar") bytes in $(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }') s"
bsdtar -tvf "$T/out.tar" > "$T/toc"
grep -q '^hrw.* ./dir/hard2 link to ./dir/hard1$\|^hrw.* ./dir/hard1 link to ./dir/hard2$' "$T/toc" ||
  fail "no hard link in the tar: $(grep hard "$T/toc")"
grep -q '^lrwxrwxrwx .* ./dir/etclink -> /etc$' "$T/toc" || fail "symlink not stored as a link"
[ "$(grep -c ' ./huge/.' "$T/toc")" = "$TAR_BIG_ENTRIES" ] || fail "the big directory is incomplete"
ok "virt-tar-out: hard links, symlinks as links, $TAR_BIG_ENTRIES-entry directory"
requires tar
tar -tf "$T/out.tar" > "$T/gnu.names" 2> "$T/gnu.err" || { cat "$T/gnu.err" >&2; fail "GNU tar cannot read the archive"; }
bsdtar -tf "$T/out.tar" > "$T/bsd.names"
cmp "$T/gnu.names" "$T/bsd.names" || { diff "$T/gnu.names" "$T/bsd.names" | head >&2; fail "GNU tar and bsdtar list different names"; }
tar --numeric-owner -tvf "$T/out.tar" 2>/dev/null > "$T/gnu.toc"
grep -q '^-rw-r--r-- 0/0 *5 2001-02-03 04:05 ./dir/file.txt$' "$T/gnu.toc" &&
  grep -q '^-rw-r--r-- 1234/5678 *5 .* ./dir/sub/deep/f$' "$T/gnu.toc" ||
  fail "GNU tar: owner, size, time: $(grep 'file.txt\|deep/f' "$T/gnu.toc")"
ok "GNU tar and bsdtar list the same $(wc -l < "$T/bsd.names") names"

fresh "$T/one.img"
"$C/virt-tar-in" -a "$T/one.img" -m /dev/sda "$T/out.tar" /
fresh "$T/two.img"
"$C/virt-tar-out" -z -a "$T/src.img" -m /dev/sda / - |
  "$C/virt-tar-in" -a "$T/two.img" -m /dev/sda - /
check_no_qemu
for i in one two; do
  e2fsck -fn "$T/$i.img" >/dev/null 2>&1 || fail "$i.img: e2fsck -fn"
done
listing "$T/src.img" > "$T/src.ls"
listing "$T/one.img" > "$T/one.ls"
listing "$T/two.img" > "$T/two.ls"
[ "$(wc -l < "$T/src.ls")" -gt "$TAR_BIG_ENTRIES" ] || fail "short listing"
cmp "$T/src.ls" "$T/one.ls" || { diff "$T/src.ls" "$T/one.ls" | head -20 >&2; fail "round trip differs"; }
cmp "$T/src.ls" "$T/two.ls" || { diff "$T/src.ls" "$T/two.ls" | head -20 >&2; fail "gzip round trip differs"; }
ok "round trip reproduces the tree ($(wc -l < "$T/src.ls") entries: types, modes, sizes, checksums, owners, mtimes, links)"
for i in src one; do
  # (".." is the root directory, whose time the unpacking sets.)
  "$top_builddir/ls/virt-ls" -a "$T/$i.img" -m /dev/sda -l /dir | grep -av ' \.\.$' > "$T/$i.l"
done
cmp "$T/src.l" "$T/one.l" || { diff "$T/src.l" "$T/one.l" >&2; fail "ls -l /dir differs (link counts)"; }
grep -q "^-rw-r--r-- *2 .* hard1$" "$T/one.l" || fail "hard link count: $(grep hard1 "$T/one.l")"
ok "link counts and times as ls -l shows them"
debugfs -R "stat /dir/sparse" "$T/one.img" 2>/dev/null | grep -q "^EXTENTS:" &&
  blocks=$(debugfs -R "stat /dir/sparse" "$T/one.img" 2>/dev/null | sed -n 's/.*Blockcount: \([0-9]*\).*/\1/p')
[ -n "$blocks" ] && [ "$blocks" -lt 1024 ] || fail "the sparse file is not sparse ($blocks sectors)"
ok "the 64 MiB sparse file stays sparse ($blocks sectors)"

# --- Compressions, and guestfish's optional arguments. ---
for z in --bzip2 --xz --lzop; do
  "$C/virt-tar-out" $z -a "$T/src.img" -m /dev/sda /dir/sub - | bsdtar -tf - > "$T/z.toc"
  grep -qx './deep/f' "$T/z.toc" || fail "virt-tar-out $z: $(cat "$T/z.toc")"
done
"$C/virt-tar-out" -a "$T/src.img" -m /dev/sda /dir - compress:xz excludes:'*.txt sub' \
  numericowner:true > "$T/opt.tar.xz"
xz -t "$T/opt.tar.xz" || fail "compress:xz"
bsdtar -tf "$T/opt.tar.xz" > "$T/opt.toc"
! grep -q 'file.txt\|sub' "$T/opt.toc" && grep -qx './hard1' "$T/opt.toc" || fail "excludes: $(cat "$T/opt.toc")"
ok "bzip2, xz, lzop, compress:xz and excludes:"

# --- Compression on the host (gzip from a pipe stores no time in its
# header; libarchive in the appliance stores the current time), or in
# the appliance when the host has no such program; xattrs. ---
"$C/virt-tar-out" -z -a "$T/src.img" -m /dev/sda /dir - > "$T/host.tgz"
gzip -t "$T/host.tgz" && [ "$(od -An -tx1 -j4 -N4 "$T/host.tgz" | tr -d ' ')" = 00000000 ] ||
  fail "-z: not gzip made on the host: $(od -An -tx1 -N10 "$T/host.tgz")"
mkdir "$T/nogzip"
for f in /usr/bin/*; do [ "${f##*/}" = gzip ] || ln -s "$f" "$T/nogzip/"; done
PATH=$T/nogzip:/usr/sbin "$C/virt-tar-out" -z -a "$T/src.img" -m /dev/sda /dir - > "$T/app.tgz"
gzip -t "$T/app.tgz" && [ "$(od -An -tx1 -j4 -N4 "$T/app.tgz" | tr -d ' ')" != 00000000 ] ||
  fail "-z without a host gzip: not gzip made in the appliance: $(od -An -tx1 -N10 "$T/app.tgz")"
cmp <(bsdtar -tf "$T/host.tgz" | sort) <(bsdtar -tf "$T/app.tgz" | sort) || fail "-z: host and appliance archives differ"
ok "-z: gzip made on the host; without gzip on the host, in the appliance"
"$C/virt-tar-out" --xattrs -a "$T/src.img" -m /dev/sda /dir "$T/x.tar"
python3 - "$T/x.tar" <<'PY' || fail "--xattrs: user.tag not in the archive"
import sys, tarfile
t = tarfile.open(sys.argv[1], encoding="utf-8", errors="surrogateescape")
tags = [m.pax_headers.get("SCHILY.xattr.user.tag") for m in t.getmembers()
        if m.name in ("./hard1", "./hard2") and m.type == tarfile.REGTYPE]
sys.exit(0 if tags == ["hello \udcff"] or tags == ["hello \xff"] else 1)
PY
tar --xattrs --xattrs-include='*' -tf "$T/x.tar" > /dev/null 2>&1 || fail "GNU tar --xattrs cannot read the archive"
ok "--xattrs: SCHILY.xattr.user.tag stored"

# --- A failed virt-tar-out removes its partial regular file, and only
# that: an output that is not a regular file (a FIFO here, /dev/null
# for a user) stays. ---
rc=0
"$C/virt-tar-out" -a "$T/src.img" -m /dev/sda /no-such-dir "$T/failed.tar" \
  2> "$T/err" || rc=$?
[ "$rc" = 1 ] && [ ! -e "$T/failed.tar" ] ||
  fail "failed virt-tar-out to a file: exit $rc, $(ls -l "$T/failed.tar" 2>&1)"
mkfifo "$T/out.fifo"
cat "$T/out.fifo" > /dev/null &
reader=$!
rc=0
"$C/virt-tar-out" -a "$T/src.img" -m /dev/sda /no-such-dir "$T/out.fifo" \
  2> "$T/err" || rc=$?
wait $reader
[ "$rc" = 1 ] && [ -p "$T/out.fifo" ] ||
  fail "failed virt-tar-out to a FIFO: exit $rc, $(ls -l "$T/out.fifo" 2>&1)"
ok "a failed virt-tar-out removes its partial file, never a FIFO or device"

# --- Unpacking refuses to leave the target directory. ---
python3 - "$T/evil.tar" <<'PY'
import io, sys, tarfile
t = tarfile.open(sys.argv[1], "w", format=tarfile.PAX_FORMAT)
def add(name, data=b"evil\n", **kw):
    i = tarfile.TarInfo(name)
    for k, v in kw.items(): setattr(i, k, v)
    if i.type == tarfile.REGTYPE: i.size = len(data)
    t.addfile(i, io.BytesIO(data) if i.type == tarfile.REGTYPE else None)
add("ok-before")
add("link", type=tarfile.SYMTYPE, linkname="/etc")
add("link/hostname")
add("../escape")
add("dotdot/../../escape2")
add("hl", type=tarfile.LNKTYPE, linkname="../../etc/hostname")
t.close()
PY
mkdir -p "$T/e/etc" "$T/e/target"
echo guest-hostname > "$T/e/etc/hostname"
rm -f "$T/evil.img"; mkfs.ext4 -q -F -d "$T/e" "$T/evil.img" 64M
expect_error "a tar writing through a symlink and with .. names" \
  "^virt-tar-in: error: .*(symlink|\.\.)" \
  "$C/virt-tar-in" -a "$T/evil.img" -m /dev/sda "$T/evil.tar" /target
e2fsck -fn "$T/evil.img" >/dev/null 2>&1 || fail "e2fsck -fn after a refused tar"
expect_eq "the guest's /etc/hostname is untouched" guest-hostname \
  "$("$top_builddir/cat/virt-cat" -a "$T/evil.img" -m /dev/sda /etc/hostname)"
out=$("$top_builddir/ls/virt-ls" -a "$T/evil.img" -m /dev/sda -R /)
echo "$out" | grep -q escape && fail "an entry escaped: $out"
ok "nothing outside /target: $(echo $out)"

# --- Failures: bad and truncated tars, a full filesystem. ---
head -c 100000 "$T/out.tar" > "$T/trunc.tar"
head -c 70000 /dev/urandom > "$T/random.tar"
fresh "$T/small.img" 8M
for f in trunc random; do
  expect_error "a $f tar" "^virt-tar-in: error: " \
    "$C/virt-tar-in" -a "$T/small.img" -m /dev/sda "$T/$f.tar" /
  e2fsck -fn "$T/small.img" >/dev/null 2>&1 || fail "e2fsck -fn after a $f tar"
done
head -c 20M /dev/urandom > "$S/big-random"
bsdtar -cf "$T/full.tar" -C "$S" big-random
expect_error "a full filesystem" "^virt-tar-in: error: .*(space|Write failed)" \
  "$C/virt-tar-in" -a "$T/small.img" -m /dev/sda "$T/full.tar" /
e2fsck -fn "$T/small.img" >/dev/null 2>&1 || fail "e2fsck -fn after a full filesystem"
ok "bad, truncated and too big tars: one error line, e2fsck -fn clean"

# An image another command has open for writing is refused.
mkfifo "$T/slow"
"$C/virt-tar-in" -a "$T/small.img" -m /dev/sda "$T/slow" / 2>"$T/first.err" &
first=$!
exec 8>"$T/slow"
for i in $(seq 1 100); do
  grep -q "$T/tmp" <(pgrep -af qemu-system) 2>/dev/null && break
  sleep 0.2
done
sleep 2
rc=0
"$C/virt-copy-in" -a "$T/small.img" -m /dev/sda "$S/etc" / 2>"$T/err" || rc=$?
[ "$rc" = 1 ] && [ "$(wc -l < "$T/err")" = 1 ] &&
  grep -q '^virt-copy-in: error: .*\(lock\|in use\)' "$T/err" ||
  { cat "$T/err" >&2; fail "an image in use: exit $rc"; }
ok "an image in use: $(cat "$T/err")"
exec 8>&-
# The first one gets an empty stream (its writer closed): an empty
# archive, nothing to unpack, success.
rc=0; wait $first || rc=$?
[ "$rc" = 0 ] && [ ! -s "$T/first.err" ] ||
  { cat "$T/first.err" >&2; fail "the first virt-tar-in: exit $rc"; }
ok "the first virt-tar-in (an empty archive) succeeded"
check_no_qemu

# --- virt-copy-out: links stay links, nothing outside LOCALDIR. ---
mkdir "$T/co1"
"$C/virt-copy-out" -a "$T/src.img" -m /dev/sda /dir /dir/file.txt /dir/etclink "$T/co1"
[ "$(readlink "$T/co1/dir/etclink")" = /etc ] && [ "$(readlink "$T/co1/dir/abs")" = /etc/passwd ] ||
  fail "symlinks not copied as links"
cmp "$T/co1/dir/file.txt" "$S/dir/file.txt" && cmp "$T/co1/file.txt" "$S/dir/file.txt" ||
  fail "file contents"
[ "$(cat "$T/co1/dir/new
line")" = newline ] && [ -f "$T/co1/dir/$(printf 'bad-\377\376-utf8')" ] || fail "odd names"
[ "$(cat "$T/co1/etclink/hostname")" = hostname-src ] || fail "a guest symlink to a directory is the guest's directory"
[ "$(stat -c %h "$T/co1/dir/hard1")" = 2 ] || fail "hard link"
ok "virt-copy-out: files, directories, links as links, odd names"
mkdir "$T/co2" "$T/victim"
ln -s "$T/victim" "$T/co2/dir"
ln -s "$T/victim/file" "$T/co2/file.txt"
expect_error "LOCALDIR/dir is a symlink" "^virt-copy-out: error: " \
  "$C/virt-copy-out" -a "$T/src.img" -m /dev/sda /dir "$T/co2"
expect_error "LOCALDIR/file.txt is a symlink" "^virt-copy-out: error: .*not a regular file" \
  "$C/virt-copy-out" -a "$T/src.img" -m /dev/sda /dir/file.txt "$T/co2"
[ -z "$(ls -A "$T/victim")" ] || fail "written through a symlink: $(ls -A "$T/victim")"
ok "nothing written through a symlink in LOCALDIR"

# --- virt-copy-in. ---
mkdir -p "$T/in/tree/sub"
echo one > "$T/in/tree/sub/one"
ln -s sub/one "$T/in/tree/link"
echo conf > "$T/in/resolv.conf"
fresh "$T/three.img" 32M
"$C/virt-copy-in" -a "$T/three.img" -m /dev/sda "$T/in/tree" "$T/in/resolv.conf" /
e2fsck -fn "$T/three.img" >/dev/null 2>&1 || fail "e2fsck -fn after virt-copy-in"
md5 () { md5sum "$1" | cut -d' ' -f1; }
expect_eq "virt-copy-in" "-,0644,5,$(md5 "$T/in/resolv.conf"),/resolv.conf
l,0777,7,,/tree/link,sub/one
-,0644,4,$(md5 "$T/in/tree/sub/one"),/tree/sub/one" \
  "$("$top_builddir/ls/virt-ls" -a "$T/three.img" -m /dev/sda -lR --csv --checksum / |
     grep -v '^d')"
expect_error "copy-in of a missing file" "^virt-copy-in: error: .*No such file" \
  "$C/virt-copy-in" -a "$T/three.img" -m /dev/sda "$T/in/nonexistent" /
check_no_qemu

# --- An image the user cannot write is refused before anything starts
# (as root every file is writable, so the check runs as "nobody"). ---
chmod 711 "$T"
mkdir -m 755 "$T/ro"
cp "$T/three.img" "$T/ro/ro.img"
chmod 444 "$T/ro/ro.img"
chmod 644 "$T/in/resolv.conf"
sum=$(sha256sum < "$T/ro/ro.img")
for cmd in "virt-tar-in -a $T/ro/ro.img - /" \
           "virt-copy-in -a $T/ro/ro.img $T/in/resolv.conf /"; do
  rc=0
  setpriv --reuid=65534 --regid=65534 --clear-groups \
    env HOME=/nonexistent XDG_CACHE_HOME=$T/ro/cache "$C"/$cmd \
    < /dev/null > "$T/ro.out" 2> "$T/ro.err" || rc=$?
  expect_eq "${cmd%% *} on a read-only image: exit status" 1 $rc
  expect_eq "${cmd%% *} on a read-only image: one error line" \
    "${cmd%% *}: error: $T/ro/ro.img: Permission denied" "$(cat "$T/ro.err")"
done
expect_eq "the read-only image is unchanged" "$sum" "$(sha256sum < "$T/ro/ro.img")"
[ ! -e "$T/ro/cache" ] || fail "an appliance was started for a read-only image"
check_no_qemu
