#!/bin/bash -
# guestbox - every command takes "--opt VALUE" as well as "--opt=VALUE"
# (for the options whose value is optional too, --format first), and
# the old-style syntax of virt-cat, virt-ls and virt-edit (no -a).
# No appliance: GBOX_KERNEL names a missing kernel, so that a command
# line that parsed and opened its disks stops at launch.
# Copyright (C) 2026 the guestbox authors
# SPDX-License-Identifier: GPL-2.0-or-later

set -e
top_builddir=$(cd "${top_builddir:-..}" && pwd)
failed=0

command -v qemu-img >/dev/null 2>&1 || {
  [ "${REQUIRE_APPLIANCE:-0}" = 1 ] && { echo "FAIL: qemu-img missing"; exit 1; }
  echo "SKIP: qemu-img is not installed"; exit 77
}

T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
cd "$T"
mkdir tmp
export TMPDIR=$T/tmp GBOX_KERNEL=$T/no-kernel XDG_CACHE_HOME=$T/cache
# A qcow2 naming a backing file (inside this directory): refused when
# probed, opened when --format=qcow2 is given.
qemu-img create -q -f raw base.img 1M
qemu-img create -q -f qcow2 -u -b base.img -F raw over.qcow2 1M
truncate -s 1M out.img

# launches WHAT CMD...: the command got as far as launching (the
# format was taken), not refusing the probed backing file.
launches ()
{
  local what=$1 r=0
  shift
  "$@" >out 2>err </dev/null || r=$?
  if [ $r -ne 1 ] || ! grep -q "cannot read kernel" err ||
     grep -q "refers to another file" err; then
    echo "FAIL: $what: exit $r: $(cat err)"
    failed=1
  else
    echo "ok: $what"
  fi
}

# refuses WHAT CMD...: the probed backing file is refused.
refuses ()
{
  local r=0 what=$1
  shift
  "$@" >out 2>err </dev/null || r=$?
  if [ $r -ne 1 ] || ! grep -q "refers to another file" err; then
    echo "FAIL: $what: exit $r: $(cat err)"
    failed=1
  else
    echo "ok: $what"
  fi
}

b=$top_builddir
for form in "--format qcow2" "--format=qcow2"; do
  launches "virt-cat $form" $b/cat/virt-cat $form -a over.qcow2 /etc/fstab
  launches "virt-ls $form" $b/ls/virt-ls $form -a over.qcow2 /
  launches "virt-df $form" $b/df/virt-df $form -a over.qcow2
  launches "virt-edit $form" $b/edit/virt-edit $form -a over.qcow2 -e 's/a/b/' /etc/hosts
  launches "virt-inspector $form" $b/inspect/virt-inspector $form -a over.qcow2
  launches "virt-zerofree $form" $b/zerofree/virt-zerofree $form -a over.qcow2
  launches "virt-sparsify $form" $b/sparsify/virt-sparsify $form over.qcow2 out.img
  launches "virt-resize $form" $b/resize/virt-resize $form over.qcow2 out.img
  launches "virt-filesystems $form" $b/filesystems/virt-filesystems $form -a over.qcow2
  launches "virt-copy-out $form" $b/copy/virt-copy-out $form -a over.qcow2 /etc "$T"
  launches "virt-tar-out $form" $b/copy/virt-tar-out $form -a over.qcow2 /etc out.tar
done
# --format alone (then another option) goes back to probing.
refuses "virt-cat --format -a" $b/cat/virt-cat --format=qcow2 -a base.img --format -a over.qcow2 /etc/fstab
# Old-style syntax: the disk without -a.
launches "virt-cat old-style" $b/cat/virt-cat --format=qcow2 over.qcow2 /etc/fstab
launches "virt-ls old-style" $b/ls/virt-ls --format=qcow2 over.qcow2 /
launches "virt-edit old-style" $b/edit/virt-edit --format=qcow2 over.qcow2 /etc/hosts
refuses "virt-cat old-style probes" $b/cat/virt-cat over.qcow2 /etc/fstab

# The other optional values: --checksum TYPE (virt-ls) is taken, an
# unknown word after --checksum is a directory.
r=0; $b/ls/virt-ls -lR --checksum sha999 -a over.qcow2 / >out 2>err || r=$?
grep -q "unknown checksum" err && { echo "FAIL: --checksum took a directory"; failed=1; } || echo "ok: --checksum DIR"
r=0; $b/ls/virt-ls -lR --checksum sha256 -a over.qcow2 >out 2>err || r=$?
grep -q "no directory name given" err && echo "ok: --checksum sha256" || { echo "FAIL: --checksum sha256: $(cat err)"; failed=1; }
r=0; $b/ls/virt-ls -lR --checksum=sha999 -a over.qcow2 / >out 2>err || r=$?
grep -q "unknown checksum" err && echo "ok: --checksum=BAD refused" || { echo "FAIL: --checksum=sha999 accepted"; failed=1; }

exit $failed
