/* guestbox - unit test of the LVM names (no VM).
 * Copyright (C) 2026 the guestbox authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

/**
 * Device-mapper names to /dev/VG/LV (fstab.c), and fstab specs naming
 * logical volumes (/dev/VG/LV, /dev/mapper/VG-LV) resolved against a
 * filesystem list; the VG/LV names of virt-resize --lv-expand.
 * Table-driven.
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
  static const struct { const char *s, *vg, *lv; } lvnames[] = {
    { "vg0/root", "vg0", "root" }, { "/dev/vg0/root", "vg0", "root" },
    { "my-vg/lv_1.x+", "my-vg", "lv_1.x+" },
    { "vg0", NULL, NULL }, { "vg0/", NULL, NULL }, { "/vg0/root", NULL, NULL },
    { "vg0/root/x", NULL, NULL }, { "-vg/root", NULL, NULL },
    { "vg/-root", NULL, NULL }, { "v g/root", NULL, NULL },
    { "vg/r$oot", NULL, NULL }, { "", NULL, NULL },
    { "vg/0123456789012345678901234567890123456789", NULL, NULL },
  };
  size_t i;

  for (i = 0; i < sizeof lvnames / sizeof lvnames[0]; ++i) {
    char vg[32], lv[32];
    int r = lvm_split_name (lvnames[i].s, vg, lv, sizeof vg);
    if (lvnames[i].vg)
      CHECK (r == 0 && strcmp (vg, lvnames[i].vg) == 0 &&
             strcmp (lv, lvnames[i].lv) == 0, "LV name '%s' -> %s %s",
             lvnames[i].s, lvnames[i].vg, lvnames[i].lv);
    else
      CHECK (r == -1, "LV name '%s' refused", lvnames[i].s);
  }
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
