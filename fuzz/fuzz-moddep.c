/* guestbox - libFuzzer harness: the appliance builder's modules.dep reader.
 * Copyright (C) 2026 the guestbox authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

/**
 * The fuzzer's bytes are modules.dep, modules.softdep, modules.alias,
 * modules.builtin and modules.builtin.modinfo separated by "\n@@\n";
 * then the closures of a few modules are selected (cycles, softdeps,
 * aliases) and the filtered modules.dep is written.
 */

#include <config.h>

#include <string.h>

#include "appliance-internal.h"

#define NPARTS 5

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  static const char *const want[] = {
    "ext4", "virtio_scsi", "virtio-blk", "vfat", "a", "loop",
  };
  char err[512];
  struct gbox_app_ctx cx = { .err = err, .errlen = sizeof err };
  char *text, *part[NPARTS] = { NULL }, *p;
  size_t np = 0, i, modinfo_len = 0;
  struct gbox_app_moddb *db;

  text = malloc (size + 1);
  if (!text)
    return 0;
  memcpy (text, data, size);
  text[size] = '\0';
  for (p = text; np < NPARTS; ) {
    char *sep = strstr (p, "\n@@\n");

    part[np++] = p;
    if (!sep)
      break;
    *sep = '\0';
    p = sep + 4;
  }
  if (np == NPARTS)             /* the modinfo part may hold NULs */
    modinfo_len = size - (part[4] - text);

  db = gbox_app_moddb_new ();
  if (db &&
      gbox_app_moddb_parse (&cx, db, part[0], part[1], part[2], part[3],
                            part[4], modinfo_len) == 0) {
    for (i = 0; i < sizeof want / sizeof want[0]; ++i)
      gbox_app_moddb_select (&cx, db, want[i]);
    for (i = 0; i < gbox_app_moddb_nselected (db); ++i) {
      gbox_app_moddb_name (db, i);
      gbox_app_moddb_path (db, i);
    }
    free (gbox_app_moddb_filtered (db));
  }
  gbox_app_moddb_free (db);
  free (text);
  return 0;
}
