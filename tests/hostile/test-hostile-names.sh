#!/bin/bash -
# guestbox - file names with newlines, control characters, invalid
# UTF-8, quotes, commas and leading dashes: virt-ls lists each exactly
# once (its --csv output parses back to the exact bytes), virt-cat
# reads each by name.
# Copyright (C) 2026 the guestbox authors
# SPDX-License-Identifier: GPL-2.0-or-later

set -e
. "${top_srcdir:=$(dirname "$0")/../..}/tests/functions.sh"
. "$top_srcdir/tests/images.sh"
requires_appliance
requires mkfs.ext4 python3
make_workdir
export LC_ALL=C

# NAME<TAB>CONTENT, NAME in $'...' notation.
names=(
  $'new\nline'      $'cr\rreturn'     $'tab\there'
  $'esc\e[31mred'   $'bell\a'         $'inv\xff\xfeutf8'
  $'caf\xc3\xa9'    'a,b "quoted"'    '-rf'
  ' leading space'  $'\x01\x02\x7f'   'back\slash'
)
make_linux_tree "$T/root" namesguest
echo '/dev/sda / ext4 defaults 0 1' > "$T/root/etc/fstab"
mkdir "$T/root/n"
i=0
for n in "${names[@]}"; do
  printf 'content %d\n' "$i" > "$T/root/n/$n"
  i=$((i + 1))
done
ext4_image "$T/names.img" 32 "$T/root"

# Every name exactly once in the CSV listing, byte for byte.
"$VIRT_LS" -a "$T/names.img" --csv -lR /n > "$T/csv"
printf '%s\0' "${names[@]}" > "$T/want"
python3 - "$T/csv" "$T/want" <<'PY' || fail "virt-ls --csv does not parse back to the names"
import csv, io, sys
text = open(sys.argv[1], "rb").read().decode("latin-1")
got = sorted(r[-1][len("/n/"):] for r in csv.reader(io.StringIO(text, newline=""))
             if r[-1].startswith("/n/"))
want = sorted(open(sys.argv[2], "rb").read().decode("latin-1").split("\0")[:-1])
if got != want:
    print("got:  %r\nwant: %r" % (got, want))
    sys.exit(1)
PY
ok "virt-ls --csv -lR: ${#names[@]} hostile names parse back exactly"

# The plain listing holds every name too (raw, like ls).
out=$("$VIRT_LS" -a "$T/names.img" /n; echo .)
for n in "${names[@]}"; do
  case "$out" in *"$n"*) ;; *) fail "virt-ls: $(printf %q "$n") missing" ;; esac
done
ok "virt-ls: every name listed"

# virt-cat reads each of them by name (one launch).
paths=()
want=
i=0
for n in "${names[@]}"; do
  paths+=("/n/$n")
  want+="content $i"$'\n'
  i=$((i + 1))
done
expect_eq "virt-cat of every hostile name" "$(printf %s "$want")" "$("$VIRT_CAT" -a "$T/names.img" "${paths[@]}")"
check_no_qemu
