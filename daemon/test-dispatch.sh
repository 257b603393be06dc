#!/bin/bash -
# guestbox - the daemon's dispatch table covers every procedure.
# Copyright (C) 2026 the guestbox authors
# SPDX-License-Identifier: GPL-2.0-or-later

# Compares the procedures of protocol.x (number and name) with the
# table that guestboxd --list-procedures prints.

set -e
: "${top_srcdir:=..}"

proto="$top_srcdir/common/protocol.x"
expected=$(sed -n 's/^ *GBOX_PROC_\([A-Z0-9_]*[A-Z0-9]\) *= *\([0-9]*\).*/\2 \1/p' "$proto" |
             tr 'A-Z' 'a-z' | sort -n)
actual=$(./guestboxd --list-procedures | sort -n)

echo "protocol.x procedures: $(echo "$expected" | wc -l)"
echo "dispatch table rows:   $(echo "$actual" | wc -l)"
if [ -z "$expected" ] || [ "$expected" != "$actual" ]; then
    echo "FAIL: the dispatch table and protocol.x differ:"
    diff <(echo "$expected") <(echo "$actual") || :
    exit 1
fi
echo "dispatch table complete"
