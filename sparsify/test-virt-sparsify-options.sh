#!/bin/bash -
# guestbox - virt-sparsify's command line and man page (no appliance).
# Copyright (C) 2026 the guestbox authors
# SPDX-License-Identifier: GPL-2.0-or-later

set -e
top_srcdir=${top_srcdir:-..}
top_builddir=${top_builddir:-..}
. "$top_srcdir/man/command-checks.sh"

prog=./virt-sparsify
pod=$top_srcdir/man/virt-sparsify.pod
prog_name=virt-sparsify

# The checks of command-checks.sh that apply to a command without -i
# and -m (virt-sparsify takes disks as arguments, not -a).
check_help_version "$prog"

expect_error "unknown option" "unrecognized option" $prog --no-such-option
expect_error "unknown short option" "invalid option" $prog -Z
expect_error "-a is not an option here" "invalid option" $prog -a d.img out.img
expect_error "no disks" "expected an input and an output" $prog
expect_error "one disk" "expected an input and an output" $prog in.img
expect_error "three disks" "expected an input and an output" $prog a b c
expect_error "--in-place with two disks" "takes one disk image" $prog --in-place a b
expect_error "--in-place with --convert" "cannot be used with" $prog --in-place --convert qcow2 a
expect_error "--check-tmpdir value" "unknown value 'sometimes'" $prog --check-tmpdir sometimes a b
expect_error "--convert value" "invalid format" $prog --convert 'qcow2,x' a b
expect_error "--check-tmpdir with --in-place" "cannot use --in-place and --check-tmpdir" $prog --in-place --check-tmpdir=warn a
expect_error "--machine-readable format" "invalid format string for --machine-readable: bogus" $prog --machine-readable=bogus
expect_error "--machine-readable stream" "invalid output stream" $prog --machine-readable=stream:nowhere

T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT

# --check-tmpdir takes libguestfs's abbreviations.
for v in i ignore c cont continue w warn warning f fail error; do
    r=0; $prog --check-tmpdir=$v --in-place >/dev/null 2>"$T/err" || r=$?
    grep -q "unknown value" "$T/err" && fail "--check-tmpdir=$v refused" ||
        echo "ok: --check-tmpdir=$v"
done

# --machine-readable alone: libguestfs's capability lines, on stdout,
# on stderr, in a file or on a descriptor, with "=FMT" or " FMT".
caps=$(printf 'virt-sparsify\nlinux-swap\nzero\ncheck-tmpdir\nin-place\ntmp-option')
got=$($prog --machine-readable | head -6)
[ "$got" = "$caps" ] && echo "ok: --machine-readable" ||
    fail "--machine-readable: '$got'"
for form in "--machine-readable=file:$T/mr" "--machine-readable file:$T/mr"; do
    rm -f "$T/mr"
    out=$($prog $form)
    [ -z "$out" ] && [ "$(head -6 "$T/mr")" = "$caps" ] &&
        echo "ok: $form" || fail "$form: stdout '$out', file '$(cat "$T/mr" 2>&1)'"
done
got=$($prog --machine-readable stream:stderr 2>&1 >/dev/null | head -6)
[ "$got" = "$caps" ] && echo "ok: --machine-readable stream:stderr" ||
    fail "stream:stderr: '$got'"
got=$($prog --machine-readable=fd:3 3>"$T/fd" && head -6 "$T/fd")
[ "$got" = "$caps" ] && echo "ok: --machine-readable=fd:3" || fail "fd:3: '$got'"
# --color, --wrap, --debug-gc are accepted.
for o in --color --colours --wrap --debug-gc; do
    $prog $o --machine-readable >/dev/null && echo "ok: $o accepted" ||
        fail "$o refused"
done

# Without an appliance (GBOX_KERNEL names no kernel) the copy stops at
# launch, after qemu-img info has given the input's virtual size (-v).
if command -v qemu-img >/dev/null 2>&1; then
    vsize ()
    {
        (cd "$T" && GBOX_KERNEL=$T/no-kernel XDG_CACHE_HOME=$T/cache TMPDIR=$T \
          "$OLDPWD/$prog" -v --check-tmpdir=ignore "$@" 2>&1 >/dev/null |
          sed -n 's/.*input disk virtual size is \([0-9]*\) bytes/\1/p')
    }
    # A qcow2 input as qemu >= 8 describes it: the nested child entry
    # (the file, with its own "virtual-size") comes first.
    qemu-img create -q -f qcow2 "$T/in.qcow2" 1G
    cat > "$T/qemu-img" <<'EOS'
#!/bin/sh
if [ "$1" = info ]; then
cat <<'EOJ'
{
    "children": [
        {
            "name": "file",
            "info": {
                "children": [],
                "virtual-size": 197120,
                "filename": "in.qcow2",
                "format": "file",
                "actual-size": 200704,
                "dirty-flag": false
            }
        }
    ],
    "virtual-size": 1073741824,
    "filename": "in.qcow2",
    "cluster-size": 65536,
    "format": "qcow2",
    "actual-size": 200704,
    "dirty-flag": false
}
EOJ
exit 0
fi
exec qemu-img "$@"
EOS
    chmod +x "$T/qemu-img"
    got=$(GBOX_QEMU_IMG=$T/qemu-img vsize in.qcow2 out.qcow2)
    [ "$got" = 1073741824 ] && echo "ok: virtual size of a qcow2 with children first" ||
        fail "virtual size of a qcow2 with children first: '$got'"
    got=$(vsize in.qcow2 out.qcow2)
    [ "$got" = 1073741824 ] && echo "ok: virtual size of a qcow2" ||
        fail "virtual size of a qcow2: '$got'"
    # A local file whose name qemu-img would read as a description is
    # opened as a file.
    name='json:{"driver":"null-co","size":4096}'
    truncate -s 3M "$T/$name"
    got=$(vsize --format=raw "$name" out.img)
    [ "$got" = 3145728 ] && echo "ok: a file named json:{...} is a file" ||
        fail "a file named json:{...}: virtual size '$got'"
    # expect_fail WHAT PATTERN CMD...: exit 1, PATTERN on stderr.
    expect_fail ()
    {
        local what=$1 pat=$2 r=0
        shift 2
        "$@" >/dev/null 2>"$T/err" </dev/null || r=$?
        [ $r -eq 1 ] && grep -Eq -- "$pat" "$T/err" && echo "ok: $what" ||
            fail "$what: exit $r: $(cat "$T/err")"
    }
    # --tmp prebuilt:FILE must be a qcow2 with a backing file.
    expect_fail "--tmp prebuilt: missing" "prebuilt:file: .*does not exist" $prog --tmp prebuilt:$T/none "$T/in.qcow2" "$T/o"
    expect_fail "--tmp prebuilt: no backing" "does not have backing file" $prog --tmp prebuilt:$T/in.qcow2 "$T/in.qcow2" "$T/o"
    expect_fail "--tmp elsewhere" "must point to a directory, block device or prebuilt file" $prog --tmp $T/none "$T/in.qcow2" "$T/o"
fi

check_options_documented "$prog" "$pod"

exit $failed
