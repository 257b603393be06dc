#!/bin/bash -
# guestbox - virt-inspector's command line and man page, --xpath over a
# report on stdin, and the example report against the schema (no
# appliance).
# Copyright (C) 2026 the guestbox authors
# SPDX-License-Identifier: GPL-2.0-or-later

set -e
top_srcdir=${top_srcdir:-..}
top_builddir=${top_builddir:-..}
srcdir=${srcdir:-.}
. "$top_srcdir/man/command-checks.sh"

prog=./virt-inspector
pod=$top_srcdir/man/virt-inspector.pod
prog_name=virt-inspector
example=$srcdir/example-report.xml
rng=$srcdir/virt-inspector.rng

# The checks of command-checks.sh that apply to a command without -i
# and -m (virt-inspector mounts nothing for the user).
r=0; out=$($prog --help 2>&1) || r=$?
if [ $r -eq 0 ] && echo "$out" | grep -q "^Usage:" &&
   echo "$out" | grep -q "virt-inspector(1)"; then
    echo "ok: --help"
else
    fail "--help: exit $r, output: $out"
fi
version=$(sed -n 's/^#define PACKAGE_VERSION "\(.*\)"/\1/p' "$top_builddir/config.h")
for v in --version -V; do
    out=$($prog $v 2>&1)
    [ "$out" = "virt-inspector $version" ] && echo "ok: $v" || fail "$v: '$out'"
done

expect_error "unknown option" "unrecognized option" $prog --no-such-option
expect_error "unknown short option" "invalid option" $prog -Z
expect_error "-m is not an option" "invalid option" $prog -a disk.img -m /dev/sda1
expect_error "-i is not an option" "invalid option" $prog -a disk.img -i
expect_error "missing argument of -a" "requires an argument" $prog -a
expect_error "missing argument of --xpath" "requires an argument" $prog --xpath
expect_error "no -a" "at least one -a" $prog
expect_error "--format after the last -a" "--format must appear before" \
    $prog -a disk.img --format=raw
expect_error "extra argument" "extra argument on the command line: foo" \
    $prog -a disk.img foo
expect_error "--json with --xpath" "--json and --xpath cannot be used together" \
    $prog -a disk.img --json --xpath //root

long=$($prog --long-options)
short=$($prog --short-options)
documented=$(documented_options "$pod")
for opt in $long $short; do
    echo "$documented" | grep -qx -- "$opt" &&
        echo "ok: $opt is documented" || fail "$opt is not documented in $pod"
done
for opt in $documented; do
    printf '%s\n' $long $short | grep -qx -- "$opt" &&
        echo "ok: documented $opt exists" || fail "$pod documents $opt, which does not exist"
done
for opt in $($prog --help | sed 's/\[--options\]//' |
             grep -o -- '--\?-[a-zA-Z][a-zA-Z-]*' |
             sed 's/^-\([^-]\).*/-\1/' | sort -u); do
    printf '%s\n' $long $short | grep -qx -- "$opt" &&
        echo "ok: --help mentions $opt, which exists" ||
        fail "--help mentions $opt, which does not exist"
done

# The schema accepts the example report (and the libguestfs examples
# when they are installed), and rejects a report with a misplaced
# element.
if command -v xmllint >/dev/null; then
    for f in "$example" /usr/share/doc/guestfs-tools/example-*.xml; do
        [ -f "$f" ] || continue
        xmllint --noout --relaxng "$rng" "$f" 2>/dev/null &&
            echo "ok: $(basename "$f") validates" ||
            fail "$f does not validate against virt-inspector.rng"
    done
    bad=$(mktemp)
    sed 's|<root>/dev/sda2</root>|<root>/dev/sda2</root><mountpoint dev="x">/</mountpoint>|' \
        "$example" > "$bad"
    if xmllint --noout --relaxng "$rng" "$bad" 2>/dev/null; then
        fail "the schema accepts a mountpoint outside mountpoints"
    else
        echo "ok: the schema rejects a misplaced element"
    fi
    rm -f "$bad"
else
    echo "note: xmllint is not installed: schema checks skipped"
fi

# --xpath over a report on stdin: one result a line, by type.
check_xpath () {
    local query=$1 want=$2 got
    got=$($prog --xpath "$query" < "$example") || { fail "--xpath $query: exit $?"; return; }
    [ "$got" = "$want" ] && echo "ok: --xpath $query" ||
        fail "--xpath $query: got '$got', want '$want'"
}
check_xpath '//root/text()' "/dev/sda2
/dev/sdb1"
check_xpath '//operatingsystem[name="windows"]/hostname/text()' "WIN-GBOX"
check_xpath '//drive_mapping/@name' ' name="C"'
check_xpath 'count(//application)' "3"
check_xpath 'string(//operatingsystem[distro="debian"]/major_version)' "12"
check_xpath 'count(//application) > 2' "true"
check_xpath '//nothing' ""
check_xpath '//filesystem[@dev="/dev/sdb1"]' '<filesystem dev="/dev/sdb1">
  <type>ext4</type>
  <label>root</label>
</filesystem>'
check_xpath '1 div 0' "Infinity"
check_xpath 'string(//nothing)' ""
# Byte for byte as libguestfs's virt-inspector --xpath prints them
# (no appliance is started for --xpath over stdin).
if [ -x /usr/bin/virt-inspector ]; then
    for query in '//root/text()' '//drive_mapping/@name' '//mountpoint/@dev' \
        'count(//application)' 'string(//nothing)' 'string(//hostname)' \
        '//hostname=""' 'sum(//major_version) div 7' '0.5' '//nothing' \
        '//operatingsystem[name="windows"]/drive_mappings' '//application/name' \
        '//filesystem/label/text()' 'true()'; do
        ref=$(/usr/bin/virt-inspector --xpath "$query" < "$example" | od -c)
        ours=$($prog --xpath "$query" < "$example" | od -c)
        [ "$ref" = "$ours" ] && echo "ok: --xpath $query: as libguestfs prints it" ||
            fail "--xpath $query: libguestfs prints $ref, we print $ours"
    done
elif [ "${REQUIRE_APPLIANCE:-0}" = 1 ]; then
    fail "/usr/bin/virt-inspector (guestfs-tools) is not installed"
else
    echo "note: libguestfs's virt-inspector is not installed: --xpath comparison skipped"
fi
# Errors at run time: exit 1, one line on stderr, nothing on stdout.
expect_run_error () {
    local what=$1 want=$2 input=$3 out err r=0
    shift 3
    out=$(mktemp) err=$(mktemp)
    printf '%s' "$input" | "$@" >"$out" 2>"$err" || r=$?
    if [ $r -eq 1 ] && [ ! -s "$out" ] && [ "$(cat "$err")" = "$want" ]; then
        echo "ok: $what: $want"
    else
        fail "$what: exit $r, stdout '$(cat "$out")', stderr '$(cat "$err")'"
    fi
    rm -f "$out" "$err"
}
expect_run_error "invalid XPath" \
    "virt-inspector: error: --xpath: //[: invalid XPath expression" \
    "$(cat "$example")" $prog --xpath '//['
expect_run_error "--xpath on a non-XML stdin" \
    "virt-inspector: error: --xpath: standard input is not an XML document" \
    "not xml" $prog --xpath //root

exit $failed
