#!/bin/bash -
# guestbox - virt-resize's command line and man page (no appliance).
# Copyright (C) 2026 the guestbox authors
# SPDX-License-Identifier: GPL-2.0-or-later

set -e
top_srcdir=${top_srcdir:-..}
top_builddir=${top_builddir:-..}
. "$top_srcdir/man/command-checks.sh"

# check_command of command-checks.sh assumes the -a/-m/-i options of
# the inspection commands, which virt-resize does not have (it takes
# IN OUT): the same checks without those.
prog=./virt-resize
prog_name=virt-resize
pod=$top_srcdir/man/virt-resize.pod

r=0; out=$($prog --help 2>&1) || r=$?
if [ $r -eq 0 ] && echo "$out" | grep -q "^Usage:" &&
   echo "$out" | grep -q "virt-resize(1)"; then
  echo "ok: --help"
else
  fail "--help: exit $r, output: $out"
fi
version=$(sed -n 's/^#define PACKAGE_VERSION "\(.*\)"/\1/p' "$top_builddir/config.h")
for v in --version -V; do
  r=0; out=$($prog $v 2>&1) || r=$?
  if [ $r -eq 0 ] && [ "$out" = "virt-resize $version" ]; then
    echo "ok: $v: $out"
  else
    fail "$v: exit $r, output '$out'"
  fi
done
expect_error "unknown option" "unrecognized option|invalid option" \
  $prog --no-such-option
expect_error "unknown short option" "invalid option" $prog -Z
expect_error "missing argument of --expand" "requires an argument" \
  $prog --expand

long=$($prog --long-options) || fail "--long-options failed"
short=$($prog --short-options) || fail "--short-options failed"
documented=$(documented_options "$pod")
[ -n "$long" ] && [ -n "$short" ] && [ -n "$documented" ] ||
  fail "empty option list"
for opt in $long $short; do
  if echo "$documented" | grep -qx -- "$opt"; then
    echo "ok: $opt is documented"
  else
    fail "$opt is not documented in virt-resize.pod (=item B<$opt>)"
  fi
done
for opt in $documented; do
  if printf '%s\n' $long $short | grep -qx -- "$opt"; then
    echo "ok: $opt of virt-resize.pod exists"
  else
    fail "virt-resize.pod documents $opt, which virt-resize does not have"
  fi
done
for opt in $($prog --help | sed 's/\[--options\]//' |
             grep -o -- '--\?-[a-zA-Z][a-zA-Z-]*' |
             sed 's/^-\([^-]\).*/-\1/' | sort -u); do
  if printf '%s\n' $long $short | grep -qx -- "$opt"; then
    echo "ok: --help mentions $opt, which exists"
  else
    fail "--help mentions $opt, which virt-resize does not have"
  fi
done

expect_error "no disks" "expecting two disk names" ./virt-resize
expect_error "one disk" "expecting two disk names" ./virt-resize in.img
expect_error "same disk" "the input and output disks are the same" \
  ./virt-resize a.img a.img
expect_error "bad --align-first" "expected auto, never or always" \
  ./virt-resize --align-first sometimes in.img out.img

# --machine-readable alone lists the capabilities: libguestfs's lines
# (align-first among them), then the filesystems it can expand; to a
# stream, a file or a descriptor, with "=FMT" or " FMT".
fixed=$(printf 'virt-resize\nntfsresize-force\n32bitok\n128-sector-alignment\nalignment\nalign-first\ninfile-uri')
caps=$(./virt-resize --machine-readable)
if [ "$(echo "$caps" | head -n7)" != "$fixed" ] ||
   echo "$caps" | tail -n +8 | grep -vqx 'ntfs\|btrfs\|xfs'; then
  fail "--machine-readable: $caps"
else
  echo "ok: --machine-readable capabilities"
fi
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
for form in "--machine-readable=file:$T/mr" "--machine-readable file:$T/mr"; do
  rm -f "$T/mr"
  out=$(./virt-resize $form)
  [ -z "$out" ] && [ "$(cat "$T/mr")" = "$caps" ] && echo "ok: $form" ||
    fail "$form: '$out' '$(cat "$T/mr" 2>&1)'"
done
[ "$(./virt-resize --machine-readable=stream:stderr 2>&1 >/dev/null)" = "$caps" ] &&
  echo "ok: stream:stderr" || fail "--machine-readable=stream:stderr"
expect_error "--machine-readable=bogus" "invalid format string for --machine-readable: bogus" \
  ./virt-resize --machine-readable=bogus
# libguestfs's spellings and options are accepted.
for o in --color --colours --colors --colour --wrap -d --debug \
         --no-extra-partition --no-copy-boot-loader; do
  ./virt-resize $o --machine-readable >/dev/null && echo "ok: $o" ||
    fail "$o refused"
done
for o in --lv-expand --LV-expand --lvexpand --LVexpand --resize-force \
         --alignment --unknown-filesystems; do
  printf '%s\n' $long | grep -qx -- "$o" && echo "ok: $o exists" ||
    fail "$o is not an option"
done
expect_error "--alignment 0" "alignment cannot be < 1" ./virt-resize --alignment 0 a b
expect_error "--alignment 2^31+1" "the alignment cannot be more than 2147483648 sectors" \
  ./virt-resize --alignment=2147483649 a b
expect_error "--unknown-filesystems" "unknown --unknown-filesystems: sometimes" \
  ./virt-resize --unknown-filesystems sometimes a b
for o in "--alignment 128" "--alignment=2048" "--alignment=3000" "--alignment 4096" "--unknown-filesystems=error" "--dryrun" "-n"; do
  r=0; ./virt-resize $o a.img b.img >/dev/null 2>"$T/err" || r=$?
  grep -q "Try 'virt-resize --help'" "$T/err" && fail "$o refused: $(cat "$T/err")" ||
    echo "ok: $o accepted"
done

exit $failed
