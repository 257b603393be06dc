# guestbox - building test disk images with host tools (no loop mounts).
# Sourced by the tests after functions.sh.
# Copyright (C) 2026 the guestbox authors
# SPDX-License-Identifier: GPL-2.0-or-later

# make_linux_tree DIR HOSTNAME: a small Linux-like root tree.
make_linux_tree () {
  local d=$1
  mkdir -p "$d/etc" "$d/usr/lib" "$d/usr/bin" "$d/var/log" "$d/home/user" \
           "$d/data" "$d/boot"
  ln -s usr/bin "$d/bin"
  cp /bin/true "$d/usr/bin/true"
  echo "$2" > "$d/etc/hostname"
  printf 'PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\nNAME="Debian GNU/Linux"\nVERSION_ID="12"\nID=debian\n' \
    > "$d/usr/lib/os-release"
  ln -s ../usr/lib/os-release "$d/etc/os-release"
  ln -s /usr/lib/os-release "$d/etc/os-release-abs"
  echo "hello world" > "$d/etc/motd"
  echo "spaced out" > "$d/etc/name with spaces"
  : > "$d/etc/empty"
  printf 'line1\nline2\n' > "$d/home/user/notes.txt"
}

# mbr_disk OUT SIZE_MB PART_IMAGE: an MBR disk with one partition at
# 1 MiB holding PART_IMAGE.
mbr_disk () {
  local out=$1 mb=$2 part=$3
  truncate -s "${mb}M" "$out"
  echo 'start=2048, type=83' | sfdisk -q -X dos "$out" >/dev/null
  dd if="$part" of="$out" bs=1M seek=1 conv=notrunc,sparse status=none
}

# gpt_disk OUT SIZE_MB PART1 [PART2]: a GPT disk with partitions of the
# sizes of the images given, filled with them.
gpt_disk () {
  local out=$1 mb=$2 p1=$3 p2=${4:-} s1 s2
  truncate -s "${mb}M" "$out"
  s1=$(( $(stat -c %s "$p1") / 512 ))
  if [ -n "$p2" ]; then
    s2=$(( $(stat -c %s "$p2") / 512 ))
    printf 'start=2048, size=%d, type=linux\nstart=%d, size=%d, type=linux\n' \
      "$s1" $((2048 + s1)) "$s2" | sfdisk -q -X gpt "$out" >/dev/null
    dd if="$p2" of="$out" bs=512 seek=$((2048 + s1)) conv=notrunc,sparse status=none
  else
    printf 'start=2048, size=%d, type=linux\n' "$s1" | sfdisk -q -X gpt "$out" >/dev/null
  fi
  dd if="$p1" of="$out" bs=512 seek=2048 conv=notrunc,sparse status=none
}

# ext4_image OUT SIZE_MB TREE [LABEL]
ext4_image () {
  local lbl=()
  [ -n "${4:-}" ] && lbl=(-L "$4")
  rm -f "$1"
  mkfs.ext4 -q -F "${lbl[@]}" -d "$3" "$1" "${2}M" >/dev/null
}

# vfat_image OUT SIZE_MB TREE: mkfs.vfat then mcopy the tree.
vfat_image () {
  rm -f "$1"
  mkfs.vfat -n GBVFAT -C "$1" $(( $2 * 1024 )) >/dev/null
  ( cd "$3" && for f in *; do mcopy -s -i "$1" "$f" ::/ ; done )
}
