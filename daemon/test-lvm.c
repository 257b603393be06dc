/* guestbox - unit test of the LVM names (no VM).
 * Copyright (C) 2026 the guestbox authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

/**
 * Device-mapper names to /dev/VG/LV (fstab.c), and fstab specs naming
 * logical volumes (/dev/VG/LV, /dev/mapper/VG-LV) resolved against a
 * filesystem list.  Table-driven.
 */

#include <config.h>

#include <string.h>

#include "daemon.h"
#include "check.h"

int
main (void)
{
  static const struct { const char *dm, *want; } names[] = {
    { "vg0-root", "/dev/vg0/root" },
    { "my--vg-lv--1", "/dev/my-vg/lv-1" },
    { "a---b", "/dev/a-/b" },
    { "vg0", NULL },            /* no separator */
    { "vg0-a-b", NULL },        /* two separators */
    { "-root", NULL },
    { "vg0-", NULL },
    { "vg/0-root", NULL },
    { "vg 0-root", NULL },
    { "", NULL },
  };
  struct gbd_fs fs[3] = {
    { .device = (char *) "/dev/sda1", .uuid = (char *) "", .label = (char *) "BOOT",
      .partuuid = (char *) "", .partlabel = (char *) "" },
    { .device = (char *) "/dev/vg0/root", .uuid = (char *) "", .label = (char *) "",
      .partuuid = (char *) "", .partlabel = (char *) "" },
    { .device = (char *) "/dev/my-vg/data", .uuid = (char *) "", .label = (char *) "",
      .partuuid = (char *) "", .partlabel = (char *) "" },
  };
  static const struct { const char *spec; ssize_t want; } specs[] = {
    { "/dev/vg0/root", 1 }, { "/dev/mapper/vg0-root", 1 },
    { "/dev/my-vg/data", 2 }, { "/dev/mapper/my--vg-data", 2 },
    { "/dev/mapper/my-vg-data", -1 }, { "/dev/vg0/nosuch", -1 },
    { "/dev/mapper/vg0", -1 }, { "LABEL=BOOT", 0 }, { "/dev/vda1", 0 },
  };
  size_t i;

  for (i = 0; i < sizeof names / sizeof names[0]; ++i) {
    char buf[300];
    bool r = lvm_dm_name_to_path (names[i].dm, buf, sizeof buf);
    if (names[i].want)
      CHECK (r && strcmp (buf, names[i].want) == 0, "dm name '%s' -> %s",
             names[i].dm, names[i].want);
    else
      CHECK (!r, "dm name '%s' refused", names[i].dm);
  }
  for (i = 0; i < sizeof specs / sizeof specs[0]; ++i) {
    ssize_t r = resolve_fstab_spec (specs[i].spec, fs, 3);
    CHECK (r == specs[i].want, "fstab spec %s -> %zd (got %zd)",
           specs[i].spec, specs[i].want, r);
  }
  return check_finish ("test-lvm");
}
