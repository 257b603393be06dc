#!/bin/bash -
# guestbox - guestbox-init refuses to run when it is not PID 1.
# Copyright (C) 2026 the guestbox authors
# SPDX-License-Identifier: GPL-2.0-or-later

# On a host, init must exit with an error before touching anything:
# no mounts, no modules, no reboot.

set -e

before=$(cat /proc/self/mountinfo | wc -l)
set +e
out=$(./guestbox-init 2>&1)
status=$?
set -e
after=$(cat /proc/self/mountinfo | wc -l)

echo "guestbox-init exit status: $status"
echo "guestbox-init said: $out"
if [ "$status" -ne 1 ]; then
    echo "FAIL: expected exit status 1"
    exit 1
fi
case "$out" in
    *"must run as PID 1"*) ;;
    *) echo "FAIL: no clear error message"; exit 1 ;;
esac
if [ "$before" -ne "$after" ]; then
    echo "FAIL: the mount table changed ($before -> $after lines)"
    exit 1
fi

# The daemon: --appliance outside the appliance is ignored, and its
# mount procedures stay refused (checked by test-daemon-proto); here
# just its option errors.
set +e
./guestboxd > /dev/null 2>&1; s1=$?
./guestboxd --channel fd:9999 > /dev/null 2>&1; s2=$?
./guestboxd --channel fd:0 --sysroot /nonexistent-gbox > /dev/null 2>&1; s3=$?
set -e
echo "guestboxd without --channel: $s1; bad fd: $s2; bad sysroot: $s3"
if [ "$s1" -ne 1 ] || [ "$s2" -ne 1 ] || [ "$s3" -ne 1 ]; then
    echo "FAIL: guestboxd option errors must exit 1"
    exit 1
fi
echo "ok"
