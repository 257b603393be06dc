#!/bin/bash -
# guestbox - set up a fresh Debian 12 machine (as root), build, and then
#   ./quickstart.sh demo   make a small sample disk and run virt-cat/virt-ls on it
#   ./quickstart.sh check  run the whole test suite
# Copyright (C) 2026 the guestbox authors
# SPDX-License-Identifier: GPL-2.0-or-later

set -euo pipefail
cd "$(dirname "$0")"
mode=${1:-demo}
case "$mode" in
  demo|check) ;;
  *) echo "usage: $0 demo|check" >&2; exit 2 ;;
esac

# Build and test requirements (Debian package names).
packages=(
  build-essential autoconf automake pkg-config perl
  qemu-system-x86 qemu-utils linux-image-amd64
  libtirpc-dev rpcsvc-proto libxml2-dev libmagic-dev zlib1g-dev liblzma-dev
  libext2fs-dev libblkid-dev libhivex-dev nettle-dev libsqlite3-dev
  libwin-hivex-perl libxml2-utils python3 time
  e2fsprogs erofs-utils dosfstools mtools fdisk cpio libarchive-tools
  lvm2 xfsprogs ntfs-3g btrfs-progs nbdkit libnbd-bin
  clang libclang-rt-14-dev
  libjson-c-dev librpm-dev rpm db5.3-util libkmod-dev
  mdadm cryptsetup-bin ldmtool icoutils netpbm
  psmisc
  libvirt-dev libvirt-daemon libvirt-clients prometheus-node-exporter prometheus
  parallel yamllint curl
)
# The libguestfs tools: the reference that the tests compare outputs
# with byte for byte (never used by guestbox itself).  Only for check.
if [ "$mode" = check ]; then
  packages+=(libguestfs-tools guestfs-tools)
fi

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$p")
  fi
done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" != 0 ]; then
    echo "$0: missing packages: ${missing[*]}" >&2
    echo "$0: run as root, or install them with apt-get first" >&2
    exit 1
  fi
  echo "== installing: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q
  apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

echo "== building"
configure_flags=()
[ "${CI:-}" = true ] && configure_flags+=(--enable-werror)
if [ ! -x configure ] || [ configure.ac -nt configure ]; then
  ./autogen.sh
fi
if [ ! -f Makefile ] || [ configure -nt config.status ]; then
  ./configure "${configure_flags[@]}"
fi
make -j"$(nproc)"

case "$mode" in
demo)
  echo "== making a sample disk (sample.img)"
  tree=$(mktemp -d)
  trap 'rm -rf "$tree"' EXIT
  mkdir -p "$tree/etc" "$tree/usr/bin" "$tree/home/guest"
  ln -s usr/bin "$tree/bin"
  cp /bin/true "$tree/usr/bin/"
  echo "sample" > "$tree/etc/hostname"
  printf 'NAME="Sample Linux"\nID=sample\n' > "$tree/etc/os-release"
  echo "/dev/sda / ext4 defaults 0 1" > "$tree/etc/fstab"
  echo "hello from the guest" > "$tree/home/guest/hello.txt"
  rm -f sample.img
  mkfs.ext4 -q -F -d "$tree" sample.img 64M
  echo "== ./cat/virt-cat -a sample.img /etc/hostname"
  ./cat/virt-cat -a sample.img /etc/hostname
  echo "== ./ls/virt-ls -l -a sample.img /home/guest"
  ./ls/virt-ls -l -a sample.img /home/guest
  ;;
check)
  echo "== running the test suite"
  rc=0
  make -j"$(nproc)" check REQUIRE_APPLIANCE=1 || rc=$?
  # Count the results from automake's per-test .trs files.
  pass=0 fail=0 skip=0
  while read -r res; do
    case "$res" in
      PASS|XFAIL) pass=$((pass + 1)) ;;
      SKIP) skip=$((skip + 1)) ;;
      *) fail=$((fail + 1)) ;;
    esac
  done < <(find . -name '*.trs' -exec sed -n 's/^:test-result: //p' {} +)
  if [ "$rc" != 0 ]; then
    find . -name 'test-suite.log' -exec grep -l 'FAIL\|ERROR' {} + 2>/dev/null |
      while read -r f; do echo "== $f"; tail -n 60 "$f"; done
  fi
  [ $((pass + fail + skip)) -gt 0 ] || { echo "no test was run" >&2; rc=1; }
  [ "$rc" = 0 ] && [ "$fail" -gt 0 ] && rc=1
  echo "$pass passed, $fail failed, $skip skipped"
  exit "$rc"
  ;;
esac
