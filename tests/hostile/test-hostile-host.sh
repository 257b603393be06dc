#!/bin/bash -
# guestbox - what qemu and the cache get from the host: no inherited
# file descriptors in qemu (close_range in the child), and a cache
# directory squatted by another user does not stop anyone (a private
# cache for the run, with a warning).
# Copyright (C) 2026 the guestbox authors
# SPDX-License-Identifier: GPL-2.0-or-later

set -e
. "${top_srcdir:=$(dirname "$0")/../..}/tests/functions.sh"
. "$top_srcdir/tests/images.sh"
requires_appliance
requires mkfs.ext4 runuser
make_workdir

make_linux_tree "$T/root" hostguest
ext4_image "$T/disk.img" 24 "$T/root"
qemu=$(command -v "${GBOX_QEMU:-qemu-system-x86_64}")

# 1. Descriptors 7 and 9 of the caller (not close-on-exec) must not
# reach qemu: a wrapper records the descriptors qemu would get.  It
# writes them atomically: the background snapshot maker runs the
# wrapper too, and may do so while the test reads the file.
printf '#!/bin/sh\nls /proc/$$/fd > "%s.$$"\nmv -f "%s.$$" "%s"\nexec %s "$@"\n' \
  "$T/fds" "$T/fds" "$T/fds" "$qemu" > "$T/qemu-wrapper"
chmod +x "$T/qemu-wrapper"
out=$(GBOX_QEMU=$T/qemu-wrapper "$VIRT_CAT" -a "$T/disk.img" /etc/hostname \
        7<"$T/disk.img" 9>"$T/fd9")
expect_eq "virt-cat with descriptors 7 and 9 open" hostguest "$out"
[ -s "$T/fds" ] || fail "the qemu wrapper did not run"
if grep -qx '[79]' "$T/fds"; then
  fail "qemu inherited the caller's descriptors: $(tr '\n' ' ' < "$T/fds")"
fi
ok "qemu got none of the caller's descriptors ($(tr '\n' ' ' < "$T/fds"))"

# 2. /var/tmp/guestbox-UID of nobody made by someone else (here root),
# HOME unusable, no XDG_CACHE_HOME: the run works with a private cache
# and says so; the private cache is gone afterwards.
nobody_uid=$(id -u nobody)
squat=/var/tmp/guestbox-$nobody_uid
if [ ! -e "$squat" ] && [ "$(id -u)" = 0 ]; then
  mkdir -m 0755 "$squat"
  cleanup_fn "rmdir '$squat'"
  U=$(mktemp -d /tmp/gbsquat.XXXXXX)
  cleanup_fn "rm -rf '$U'"
  chmod 755 "$U"; cp "$T/disk.img" "$U/disk.img"; chmod 644 "$U/disk.img"
  mkdir "$U/tmp"; chown nobody "$U/tmp"
  rc=0
  runuser -u nobody -- env -i PATH="$PATH" HOME=/nonexistent \
    TMPDIR="$U/tmp" "$VIRT_CAT" -a "$U/disk.img" /etc/hostname \
    > "$T/out" 2> "$T/err" || rc=$?
  expect_eq "squatted cache: exit status" 0 "$rc"
  expect_eq "squatted cache: output" hostguest "$(cat "$T/out")"
  grep -q "^virt-cat: warning: cache directory $squat is owned by another user.*using the private cache" "$T/err" ||
    fail "squatted cache: no warning: $(cat "$T/err")"
  ok "squatted cache: $(head -c 200 "$T/err")"
  [ -z "$(ls -A "$U/tmp")" ] || fail "private cache left: $(ls -A "$U/tmp")"
  ok "squatted cache: the private cache is removed"
else
  echo "SKIP: $squat exists or not root: squatting not tested"
fi
check_no_qemu
