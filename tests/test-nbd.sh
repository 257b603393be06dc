#!/bin/bash -
# guestbox - NBD disk sources against a real nbdkit: the file plugin on
# a Unix socket and on 127.0.0.1, the memory plugin, the cow filter,
# every URI form (incl. the libguestfs nbd://?socket= form), and an
# unreachable server.
# Copyright (C) 2026 the guestbox authors
# SPDX-License-Identifier: GPL-2.0-or-later

set -e
. "${top_srcdir:=$(dirname "$0")/..}/tests/functions.sh"
. "$top_srcdir/tests/images.sh"
requires_appliance
requires nbdkit mkfs.ext4 sfdisk
make_workdir
VIRT_DF=$top_builddir/df/virt-df

make_linux_tree "$T/tree" nbdhost
ext4_image "$T/root.img" 40 "$T/tree" ROOT
mbr_disk "$T/disk.img" 48 "$T/root.img"

# start_nbdkit NAME ARGS...: nbdkit in the foreground of a background
# job, its pid file in $T/NAME.pid, killed at exit.
start_nbdkit () {
  local name=$1 i
  shift
  nbdkit -f -P "$T/$name.pid" "$@" &
  cleanup_fn "kill \$(cat '$T/$name.pid') 2>/dev/null"
  for i in $(seq 100); do [ -s "$T/$name.pid" ] && break; sleep 0.1; done
  [ -s "$T/$name.pid" ] || fail "nbdkit $name did not start"
}
# A free TCP port on 127.0.0.1.
free_port () {
  local p
  for p in $(seq 10809 10999); do
    (exec 3<>/dev/tcp/127.0.0.1/$p) 2>/dev/null || { echo $p; return; }
  done
}

start_nbdkit file -U "$T/file.sock" file "$T/disk.img"
for uri in "nbd+unix:///?socket=$T/file.sock" "nbd://?socket=$T/file.sock" \
           "nbd:///?socket=$T/file.sock"; do
  expect_eq "virt-cat $uri" "nbdhost" "$("$VIRT_CAT" -a "$uri" /etc/hostname)"
done
check_no_qemu

port=$(free_port)
start_nbdkit tcp -i 127.0.0.1 -p "$port" --exportname=disk file "$T/disk.img"
expect_eq "virt-ls over nbd://127.0.0.1:$port/disk" "$(ls "$T/tree/home/user")" \
  "$("$VIRT_LS" -a "nbd://127.0.0.1:$port/disk" /home/user)"
"$VIRT_DF" --csv -a "nbd://127.0.0.1:$port/disk" > "$T/df"
# A URI's guest is named by its last path element, as libguestfs does.
grep -q "^disk,/dev/sda1," "$T/df" ||
  fail "virt-df over TCP: $(cat "$T/df")"
ok "virt-df over TCP: $(tail -n1 "$T/df")"

# The cow filter: writes go to nbdkit's overlay, never to the file.
cp "$T/disk.img" "$T/cow.img"
start_nbdkit cow -U "$T/cow.sock" --filter=cow file "$T/cow.img"
"$top_builddir/edit/virt-edit" -a "nbd+unix:///?socket=$T/cow.sock" \
  -e 's/nbdhost/cowhost/' /etc/hostname
expect_eq "cow filter: the edit is seen through nbdkit" "cowhost" \
  "$("$VIRT_CAT" -a "nbd+unix:///?socket=$T/cow.sock" /etc/hostname)"
cmp -s "$T/disk.img" "$T/cow.img" || fail "the cow filter's file was written"
ok "cow filter: the file under it is unchanged"

# The memory plugin, filled through NBD by nbdcopy when it exists.
if command -v nbdcopy >/dev/null; then
  start_nbdkit mem -U "$T/mem.sock" memory 48M
  nbdcopy "$T/disk.img" "nbd+unix:///?socket=$T/mem.sock"
  expect_eq "memory plugin" "hello world" \
    "$("$VIRT_CAT" -a "nbd+unix:///?socket=$T/mem.sock" /etc/motd)"
else
  echo "skipped: memory plugin (nbdcopy is not installed)"
fi

# Unreachable servers: one line, exit 1, no qemu.
expect_error "no such socket" "nosuch.sock" \
  "$VIRT_CAT" -a "nbd+unix:///?socket=$T/nosuch.sock" /etc/hostname
port=$(free_port)
expect_error "nothing listening on 127.0.0.1:$port" "127.0.0.1" \
  "$VIRT_CAT" -a "nbd://127.0.0.1:$port/" /etc/hostname
expect_error "bad URI" "virt-cat: error: " \
  "$VIRT_CAT" -a "nbd://[::1/x" /etc/hostname
