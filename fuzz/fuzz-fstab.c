/* guestbox - libFuzzer harness: the daemon's fstab parser.
 * Copyright (C) 2026 the guestbox authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

/**
 * The fuzzer's bytes are a guest's /etc/fstab: parse it, then classify
 * and resolve every entry (device name remapping, LABEL=/UUID=/
 * PARTUUID=/PARTLABEL= lookups) against a fixed filesystem list, the
 * way inspection does.
 */

#include <config.h>

#include <stdint.h>
#include <stdlib.h>

#include "daemon.h"

#define MAX_ENTRIES 256

static struct gbd_fs fs[] = {
  { "/dev/sda1", "/dev/sda1", "ext4", "root", "1234-abcd",
    "0d1e2f30-01", "Linux root" },
  { "/dev/sda2", "/dev/sdb2", "vfat", "", "ABCD-1234", "", "" },
  { "/dev/sdb1", "/dev/sdc1", "unknown", "", "", "", "" },
};

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  struct fstab_entry entries[MAX_ENTRIES];
  char buf[64];
  ssize_t n, i;

  n = parse_fstab ((const char *) data, size, entries, MAX_ENTRIES);
  if (n < 0)
    return 0;
  for (i = 0; i < n; ++i) {
    fstab_entry_is_mountable (&entries[i]);
    remap_device_name (entries[i].spec, buf, sizeof buf);
    resolve_fstab_spec (entries[i].spec, fs, sizeof fs / sizeof fs[0]);
  }
  free_fstab (entries, n);
  return 0;
}
