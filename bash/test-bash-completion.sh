#!/bin/bash -
# guestbox - the bash completion script, run in bash against the
# commands built in this tree (no appliance).
# Copyright (C) 2026 the guestbox authors
# SPDX-License-Identifier: GPL-2.0-or-later

set -e
srcdir=${srcdir:-.}
top_builddir=${top_builddir:-..}
failed=0

commands="virt-cat virt-df virt-edit virt-inspector virt-ls virt-resize virt-sparsify virt-zerofree virt-filesystems virt-tar-out virt-tar-in virt-copy-out virt-copy-in"
commands="$commands virt-filesystems virt-tar-out virt-tar-in virt-copy-out virt-copy-in"
for d in cat df edit inspect ls resize sparsify zerofree filesystems copy; do
    PATH=$top_builddir/$d:$PATH
done
. "$srcdir/guestbox-completion.bash"

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
touch "$tmp/disk-one.img" "$tmp/disk-two.qcow2"

# complete WORDS...: run the completion function with the cursor on the
# last word; prints the sorted candidates on one line.
complete_words ()
{
    COMP_WORDS=("$@")
    COMP_CWORD=$(( $# - 1 ))
    _guestbox_virt_tools
    printf '%s\n' "${COMPREPLY[@]}" | sort | tr '\n' ' ' | sed 's/ $//'
}

# check EXPECTED WORDS...
check ()
{
    local expected=$1 got
    shift
    got=$(complete_words "$@")
    if [ "$got" = "$expected" ]; then
        echo "ok: [$*] -> [$got]"
    else
        echo "FAIL: [$*] -> [$got], expected [$expected]"
        failed=1
    fi
}

check "--time --time-days --time-relative --time-t --times" virt-ls -lR --ti
check "--csv" virt-ls -lR --cs
check "--format" virt-cat --form
check "" virt-cat --no-such
check "-R" virt-ls -R
check "$tmp/disk-one.img $tmp/disk-two.qcow2" virt-cat -a "$tmp/disk"
check "$tmp/disk-two.qcow2" virt-ls --add "$tmp/disk-t"
check "qcow2" virt-cat --format = qc
check "--logical-volumes --logvols --long --lvs" virt-filesystems --l
check "$tmp/disk-one.img" virt-copy-in -a x "$tmp/disk-o"
# When '=' does not break words, the word keeps its "--format=".
check "--format=raw" virt-cat --format=r
check "" virt-ls -m /dev/s
check "4096" virt-cat --blocksize 4
check "fail" virt-sparsify --check-tmpdir f
check "error" virt-resize --unknown-filesystems e
check "sha224 sha256" virt-ls -lR --checksum sha2
check "qcow2" virt-sparsify --convert qc
check "" virt-cat -a disk.img /etc/ho
# "-" offers both lists, and every option the command prints; every
# command is registered.
for cmd in $commands; do
    all=$(complete_words $cmd -)
    missing=
    for opt in $($cmd --short-options) $($cmd --long-options); do
        case " $all " in
            *" $opt "*) ;;
            *) missing="$missing $opt" ;;
        esac
    done
    if [ -z "$missing" ] && [ -n "$all" ]; then
        echo "ok: '-' offers every option of $cmd"
    else
        echo "FAIL: $cmd: '-' does not offer:$missing"
        failed=1
    fi
    if complete -p "$cmd" 2>/dev/null | grep -q _guestbox_virt_tools; then
        echo "ok: $cmd is registered"
    else
        echo "FAIL: $cmd is not registered"
        failed=1
    fi
done
exit $failed
