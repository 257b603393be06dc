# guestbox - bash completion for the virt-* commands.
# Copyright (C) 2026 the guestbox authors
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Installed once per command name in the bash-completion directory, so
# that bash-completion loads it when a virt-* command is first
# completed.  The options come from the command itself (its hidden
# --long-options and --short-options), so this file never needs to
# change when a command gains an option.

_guestbox_virt_tools ()
{
    local tool=${COMP_WORDS[0]} cur=${COMP_WORDS[COMP_CWORD]} prev= prev2=
    local opts formats="raw qcow2 auto vmdk vdi vhdx vpc qed"

    [ "$COMP_CWORD" -ge 1 ] && prev=${COMP_WORDS[COMP_CWORD-1]}
    [ "$COMP_CWORD" -ge 2 ] && prev2=${COMP_WORDS[COMP_CWORD-2]}
    COMPREPLY=()

    # --format=FMT, whether or not '=' breaks words.
    if [ "$prev" = "=" ] && [ "$prev2" = "--format" ]; then
        COMPREPLY=( $(compgen -W "$formats" -- "$cur") )
        return 0
    fi
    if [ "$cur" = "=" ] && [ "$prev" = "--format" ]; then
        COMPREPLY=( $(compgen -W "$formats") )
        return 0
    fi
    case "$cur" in
        --format=*)
            COMPREPLY=( $(compgen -P "--format=" -W "$formats" -- "${cur#--format=}") )
            return 0 ;;
    esac

    # The values of the options that take a word from a list.
    local values=
    case "$prev" in
        --blocksize) values="512 4096" ;;
        --check-tmpdir) values="ignore continue warn fail" ;;
        --align-first) values="auto never always" ;;
        --unknown-filesystems) values="ignore warn error" ;;
        --checksum|--checksums) values="crc md5 sha1 sha224 sha256 sha384 sha512" ;;
        --convert|--output-format) values="$formats" ;;
    esac
    if [ -n "$values" ]; then
        COMPREPLY=( $(compgen -W "$values" -- "$cur") )
        return 0
    fi

    case "$prev" in
        -a|--add)
            # Disk images are host files (or nbd:// URIs).
            compopt -o filenames 2>/dev/null
            COMPREPLY=( $(compgen -f -- "$cur") )
            return 0 ;;
        -m|--mount)
            # Devices exist only inside the appliance.
            return 0 ;;
    esac

    case "$cur" in
        --*)
            opts=$("$tool" --long-options 2>/dev/null)
            COMPREPLY=( $(compgen -W "$opts" -- "$cur") )
            ;;
        -*)
            opts="$("$tool" --short-options 2>/dev/null) $("$tool" --long-options 2>/dev/null)"
            COMPREPLY=( $(compgen -W "$opts" -- "$cur") )
            ;;
        *)
            # Paths inside the guest: nothing to offer without booting
            # it.  The commands that copy to or from the host take host
            # files too.
            case "$tool" in
                *virt-copy-in|*virt-copy-out|*virt-tar-in|*virt-tar-out)
                    compopt -o filenames 2>/dev/null
                    COMPREPLY=( $(compgen -f -- "$cur") ) ;;
            esac
            ;;
    esac
    return 0
}

# Every command, under the names it is installed as (make install
# rewrites this line when configure --program-prefix/--program-suffix
# renames them).
complete -F _guestbox_virt_tools virt-cat virt-df virt-edit virt-inspector virt-ls virt-resize virt-sparsify virt-zerofree virt-filesystems virt-tar-out virt-tar-in virt-copy-out virt-copy-in
