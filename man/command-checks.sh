# guestbox - checks of a command's command line, sourced by the
# test-virt-*-options.sh scripts of each command's folder (bash).
# Copyright (C) 2026 the guestbox authors
# SPDX-License-Identifier: GPL-2.0-or-later
#
# None of these boots the appliance.  Usage:
#   . "$top_srcdir/man/command-checks.sh"
#   check_command ./virt-cat "$top_srcdir/man/virt-cat.pod"
#   expect_error 'what' 'stderr pattern' ./virt-cat ARGS...
#   exit $failed

failed=0

fail () { echo "FAIL: $*"; failed=1; }

# expect_error DESCRIPTION PATTERN COMMAND...: exit status 1, nothing on
# stdout, PATTERN (grep -E) on stderr, and the "Try" hint.
expect_error ()
{
    local what=$1 pattern=$2 out err r
    shift 2
    out=$(mktemp) err=$(mktemp)
    r=0
    "$@" >"$out" 2>"$err" </dev/null || r=$?
    if [ $r -ne 1 ]; then
        fail "$what: exit status $r, expected 1 ($*)"
    elif [ -s "$out" ]; then
        fail "$what: wrote to stdout: $(head -c 200 "$out")"
    elif ! grep -Eq -- "$pattern" "$err"; then
        fail "$what: stderr does not match '$pattern':"; cat "$err"
    elif ! grep -qxF "Try '$prog_name --help' for more information." "$err"; then
        fail "$what: no \"Try '$prog_name --help'\" hint:"; cat "$err"
    else
        echo "ok: $what: $(head -n1 "$err")"
    fi
    rm -f "$out" "$err"
}

# The options a page documents: the B<...> of its "=item B<-...>" lines,
# without "=VALUE".
documented_options ()
{
    sed -n 's/^=item B<\(-[^>]*\)>.*/\1/p' "$1" | sed 's/=.*//' | sort -u
}

# --help, --version and -V of PROG.
check_help_version ()
{
    local prog=$1 version out r
    prog_name=$(basename "$prog")

    # --help: exit 0, usage on stdout pointing at the man page.
    r=0; out=$("$prog" --help 2>&1) || r=$?
    if [ $r -eq 0 ] && echo "$out" | grep -q "^Usage:" &&
       echo "$out" | grep -q "$prog_name(1)"; then
        echo "ok: --help"
    else
        fail "--help: exit $r, output: $out"
    fi

    # --version and -V: "virt-X VERSION".
    version=$(sed -n 's/^#define PACKAGE_VERSION "\(.*\)"/\1/p' \
                  "${top_builddir:-..}/config.h")
    for v in --version -V; do
        r=0; out=$("$prog" $v 2>&1) || r=$?
        if [ $r -eq 0 ] && [ "$out" = "$prog_name $version" ]; then
            echo "ok: $v: $out"
        else
            fail "$v: exit $r, output '$out', expected '$prog_name $version'"
        fi
    done
}

# Every option of PROG is documented in POD, every documented option
# exists, and --help names no option PROG does not have.
check_options_documented ()
{
    local prog=$1 pod=$2 long short documented opt
    prog_name=$(basename "$prog")

    # Every option is documented, every documented option exists.
    long=$("$prog" --long-options) ||
        fail "--long-options failed"
    short=$("$prog" --short-options) ||
        fail "--short-options failed"
    documented=$(documented_options "$pod")
    [ -n "$long" ] && [ -n "$short" ] && [ -n "$documented" ] ||
        fail "empty option list (long: '$long', short: '$short', pod: '$documented')"
    for opt in $long $short; do
        case "$opt" in
            --*|-?) ;;
            *) fail "bad line in the option lists: '$opt'" ;;
        esac
        if echo "$documented" | grep -qx -- "$opt"; then
            echo "ok: $opt is documented in $(basename "$pod")"
        else
            fail "$opt is not documented in $(basename "$pod") (=item B<$opt>)"
        fi
    done
    for opt in $documented; do
        if printf '%s\n' $long $short | grep -qx -- "$opt"; then
            echo "ok: $opt of $(basename "$pod") exists"
        else
            fail "$(basename "$pod") documents $opt, which $prog_name does not have"
        fi
    done
    # --help mentions no option that does not exist ("[--options]" in
    # the synopsis aside).
    for opt in $("$prog" --help | sed 's/\[--options\]//' |
                 grep -o -- '--\?-[a-zA-Z][a-zA-Z0-9-]*' |
                 sed 's/^-\([^-]\).*/-\1/' | sort -u); do
        if printf '%s\n' $long $short | grep -qx -- "$opt"; then
            echo "ok: --help mentions $opt, which exists"
        else
            fail "--help mentions $opt, which $prog_name does not have"
        fi
    done
}

# All of the above, and the errors of the -a/-i/-m options that the
# commands mounting a guest tree share.
check_command ()
{
    local prog=$1 pod=$2

    check_help_version "$prog"
    expect_error "unknown option" "unrecognized option|invalid option" \
        "$prog" --no-such-option
    expect_error "unknown short option" "invalid option" "$prog" -Z
    expect_error "missing argument of -a" "requires an argument" "$prog" -a
    expect_error "no -a" "at least one -a" "$prog" /etc/hostname
    expect_error "--format after the last -a" "--format must appear before" \
        "$prog" -a disk.img --format=raw /etc/hostname
    expect_error "-i with -m" "-i and -m cannot be used together" \
        "$prog" -a disk.img -i -m /dev/sda1 /etc/hostname
    expect_error "-m without a device" "no device given" \
        "$prog" -a disk.img -m :/boot /etc/hostname
    expect_error "-m with a relative mountpoint" "must be an absolute path" \
        "$prog" -a disk.img -m /dev/sda1:boot /etc/hostname

    check_options_documented "$prog" "$pod"
}

