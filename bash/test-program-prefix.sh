#!/bin/bash -
# guestbox - installing under other names (configure --program-prefix,
# as beside the libguestfs tools): "make install" with the transform
# configure would give for --program-prefix=gb- puts the commands, the
# man pages and the completions under gb-virt-*, and the completion
# script completes those names.  No appliance.
# Copyright (C) 2026 the guestbox authors
# SPDX-License-Identifier: GPL-2.0-or-later

set -e
srcdir=${srcdir:-.}
top_builddir=$(cd "${top_builddir:-..}" && pwd)
failed=0
fail () { echo "FAIL: $*"; failed=1; }

T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
commands="virt-cat virt-df virt-edit virt-inspector virt-ls virt-resize virt-sparsify virt-zerofree virt-filesystems virt-tar-out virt-tar-in virt-copy-out virt-copy-in"

${MAKE:-make} -s -C "$top_builddir" install DESTDIR="$T" prefix=/usr \
  program_transform_name='s&^&gb-&' >"$T/install.log" 2>&1 ||
  { cat "$T/install.log"; fail "make install"; exit 1; }

for c in $commands; do
  [ -x "$T/usr/bin/gb-$c" ] && [ ! -e "$T/usr/bin/$c" ] &&
    echo "ok: bin/gb-$c" || fail "bin/gb-$c (or $c) installed wrongly"
  [ -f "$T/usr/share/man/man1/gb-$c.1" ] && [ ! -e "$T/usr/share/man/man1/$c.1" ] &&
    echo "ok: man1/gb-$c.1" || fail "man1/gb-$c.1 (or $c.1) installed wrongly"
  [ -f "$T/usr/share/bash-completion/completions/gb-$c" ] &&
    [ ! -e "$T/usr/share/bash-completion/completions/$c" ] &&
    echo "ok: completion gb-$c" || fail "completion gb-$c (or $c) installed wrongly"
done
[ -f "$T/usr/share/man/man1/gb-guestbox.1" ] || [ -f "$T/usr/share/man/man1/guestbox.1" ] ||
  fail "guestbox.1 not installed"

# The installed script registers the installed names and completes
# their options.
PATH=$T/usr/bin:$PATH
. "$T/usr/share/bash-completion/completions/gb-virt-cat"
for c in $commands; do
  complete -p "gb-$c" 2>/dev/null | grep -q _guestbox_virt_tools &&
    echo "ok: gb-$c is registered" || fail "gb-$c is not registered"
  complete -p "$c" >/dev/null 2>&1 && fail "$c is registered too"
done
COMP_WORDS=(gb-virt-ls -lR --che)
COMP_CWORD=2
_guestbox_virt_tools
[ "${COMPREPLY[*]}" = "--checksum --checksums" ] && echo "ok: gb-virt-ls --che" ||
  fail "gb-virt-ls --che: '${COMPREPLY[*]}'"

exit $failed
