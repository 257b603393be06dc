#!/bin/bash -
# guestbox - virt-cat's command line and man page (no appliance).
# Copyright (C) 2026 the guestbox authors
# SPDX-License-Identifier: GPL-2.0-or-later

set -e
top_srcdir=${top_srcdir:-..}
top_builddir=${top_builddir:-..}
. "$top_srcdir/man/command-checks.sh"

check_command ./virt-cat "$top_srcdir/man/virt-cat.pod"

expect_error "no file name" "no file name given" ./virt-cat -a disk.img

# libvirt is loaded only for -c/-d: a library that is not libvirt (a
# stand-in named libvirt.so.0 found first) gives one error line.
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
echo 'int not_libvirt;' > "$T/fake.c"
if ${CC:-cc} -shared -fPIC -o "$T/libvirt.so.0" "$T/fake.c"; then
  r=0; LD_LIBRARY_PATH=$T ./virt-cat -d guest /etc/hostname > "$T/out" 2> "$T/err" || r=$?
  [ $r = 1 ] && [ "$(cat "$T/err")" = "virt-cat: error: the libvirt library lacks virInitialize" ] &&
    echo "ok: -d without a usable libvirt: one error line" ||
    fail "-d without a usable libvirt: exit $r, stderr: $(cat "$T/err")"
  LD_LIBRARY_PATH=$T ./virt-cat --help > /dev/null &&
    echo "ok: without -d, libvirt is not loaded" ||
    fail "--help failed with a stand-in libvirt on the library path"
else
  fail "cannot build the stand-in library with ${CC:-cc}"
fi

exit $failed
