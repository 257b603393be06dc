#!/bin/bash -
# guestbox - the command lines of virt-tar-out, virt-tar-in,
# virt-copy-out and virt-copy-in, and their man pages (no appliance).
# Copyright (C) 2026 the guestbox authors
# SPDX-License-Identifier: GPL-2.0-or-later

set -e
top_srcdir=${top_srcdir:-..}
top_builddir=${top_builddir:-..}
. "$top_srcdir/man/command-checks.sh"

for c in virt-tar-out virt-tar-in virt-copy-out virt-copy-in; do
  echo "--- $c"
  check_command ./$c "$top_srcdir/man/$c.pod"
done

prog_name=virt-tar-out
expect_error "tar-out: one argument" "a directory and an output file" \
  ./virt-tar-out -a disk.img /etc
expect_error "tar-out: relative directory" "must be an absolute path" \
  ./virt-tar-out -a disk.img etc out.tar
expect_error "tar-out: bad optional argument" "unknown optional argument 'foo:1'" \
  ./virt-tar-out -a disk.img /etc out.tar foo:1
prog_name=virt-tar-in
expect_error "tar-in: one argument" "an input tar file" ./virt-tar-in -a disk.img x.tar
expect_error "tar-in: relative directory" "must be an absolute path" \
  ./virt-tar-in -a disk.img x.tar etc
prog_name=virt-copy-out
expect_error "copy-out: no local dir" "a local directory" \
  ./virt-copy-out -a disk.img /etc
prog_name=virt-copy-in
expect_error "copy-in: relative destination" "must be an absolute path" \
  ./virt-copy-in -a disk.img file etc
# The compression options belong to virt-tar-out only.
prog_name=virt-tar-in
expect_error "tar-in has no -z" "invalid option" ./virt-tar-in -z -a disk.img - /
exit $failed
