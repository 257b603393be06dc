#!/bin/bash -
# guestbox - check the man pages (no appliance needed).
# Copyright (C) 2026 the guestbox authors
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Each page: valid POD (podchecker, pod2man --errors=die), the sections
# of STYLE.md in order.  guestbox.pod: every environment variable that
# the library and the appliance builder read is documented.

set -e
srcdir=${srcdir:-.}
top_srcdir=${top_srcdir:-..}
PODS=${PODS:-"guestbox.pod virt-cat.pod virt-ls.pod"}
failed=0

fail () { echo "FAIL: $*"; failed=1; }

if ! command -v podchecker >/dev/null; then
    echo "$0: podchecker not found (perl)"; exit 77
fi

sections="NAME SYNOPSIS DESCRIPTION OPTIONS EXAMPLES EXIT_STATUS ENVIRONMENT SEE_ALSO"
# The sections the libguestfs pages have beyond those, which a page may
# add between them (the required ones stay in order).
extra="OLD-STYLE_COMMAND_LINE WINDOWS_PATHS NON-INTERACTIVE_EDITING CSV_OUTPUT MACHINE-READABLE_OUTPUT BUGS NOTE_ABOUT_CSV_FORMAT STATVFS_NUMBERS COLUMNS"
# Sections users of the libguestfs pages look for: every page has BUGS;
# the pages of commands with --csv explain the format; virt-edit shows
# -e for scripts.
wanted () {
    case $1 in
        virt-ls.pod|virt-filesystems.pod) echo "BUGS NOTE_ABOUT_CSV_FORMAT" ;;
        virt-df.pod) echo "BUGS NOTE_ABOUT_CSV_FORMAT STATVFS_NUMBERS" ;;
        virt-edit.pod) echo "BUGS NON-INTERACTIVE_EDITING" ;;
        *) echo BUGS ;;
    esac
}

for pod in $PODS; do
    f=$srcdir/$pod
    if podchecker "$f" >/dev/null 2>&1; then
        echo "ok: $pod: podchecker"
    else
        podchecker "$f" || true
        fail "$pod: podchecker"
    fi
    if ${POD2MAN:-pod2man} --errors=die "$f" >/dev/null 2>&1; then
        echo "ok: $pod: pod2man"
    else
        fail "$pod: pod2man"
    fi
    got=$(sed -n 's/^=head1 //p' "$f" | tr ' ' '_' | grep -vxF -e "${extra// /$'\n'}" |
          tr '\n' ' ' | sed 's/ $//')
    if [ "$got" = "$sections" ]; then
        echo "ok: $pod: sections $got"
    else
        fail "$pod: sections are '$got', expected '$sections'"
    fi
    for w in $(wanted "$pod"); do
        if sed -n 's/^=head1 //p' "$f" | tr ' ' '_' | grep -qxF "$w"; then
            echo "ok: $pod: has ${w//_/ }"
        else
            fail "$pod: no ${w//_/ } section"
        fi
    done
    name=${pod%.pod}
    if sed -n '/^=head1 NAME/,/^=head1/p' "$f" | grep -q "^$name - "; then
        echo "ok: $pod: NAME says '$name - ...'"
    else
        fail "$pod: NAME section does not start with '$name - '"
    fi
done

# Environment variables read by the library (common/) and the
# appliance builder (appliance/), test helpers aside.
vars=$(cat "$top_srcdir"/common/*.c "$top_srcdir"/appliance/*.c 2>/dev/null |
       grep -o 'getenv[_a-z]* *("[A-Z_][A-Z0-9_]*"\(, *"[A-Z_][A-Z0-9_]*"\)\?' |
       grep -o '"[A-Z_][A-Z0-9_]*"' | tr -d '"' | sort -u)
for f in "$top_srcdir"/common/test-*.c "$top_srcdir"/appliance/test-*.c; do
    [ -f "$f" ] || continue
    for v in $(grep -o 'getenv *("[A-Z_][A-Z0-9_]*"' "$f" | grep -o '"[A-Z_0-9]*"' | tr -d '"'); do
        # A variable read only by a test helper is not for users.
        if ! grep -q "\"$v\"" $(ls "$top_srcdir"/common/*.c "$top_srcdir"/appliance/*.c | grep -v /test-); then
            vars=$(echo "$vars" | grep -vx "$v" || true)
        fi
    done
done
if [ -z "$vars" ]; then
    fail "found no getenv calls in common/ and appliance/"
fi
for v in $vars; do
    if grep -q "^=item C<$v>\|^=item C<[A-Z_]*>, C<$v>" "$srcdir/guestbox.pod"; then
        echo "ok: guestbox.pod documents \$$v"
    else
        fail "guestbox.pod does not document \$$v (=item C<$v>)"
    fi
done

exit $failed
