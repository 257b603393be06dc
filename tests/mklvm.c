/* guestbox - mklvm: make an LVM volume group on a test image with the
 * project's own appliance (no loop devices on the host).
 * Copyright (C) 2026 the guestbox authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

/**
 * Test helper: mklvm DISK.img PV VG LV:MIB [LV:MIB ...] attaches DISK
 * read-write, makes PV (a user device name such as /dev/sda1) a
 * physical volume, creates VG on it and the logical volumes in order.
 * On a new physical volume the first LV starts 1 MiB into PV and each
 * next one follows the previous (4 MiB extents), which the tests use to
 * write filesystem images into the LVs with dd.
 */

#include <config.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <inttypes.h>

#include "guestbox.h"

int
main (int argc, char *argv[])
{
  gbox_h *h;
  char *pvs[1];
  int i;

  if (argc < 5) {
    fprintf (stderr, "usage: mklvm DISK PV VG LV:MIB...\n");
    exit (EXIT_FAILURE);
  }
  h = gbox_create ();
  if (h == NULL) {
    perror ("mklvm");
    exit (EXIT_FAILURE);
  }
  gbox_set_program (h, "mklvm");
  pvs[0] = argv[2];
  if (gbox_add_drive (h, argv[1], "raw", 0) == -1 ||
      gbox_launch (h) == -1 ||
      gbox_pvcreate (h, argv[2]) == -1 ||
      gbox_vgcreate (h, argv[3], pvs, 1) == -1)
    goto error;
  for (i = 4; i < argc; ++i) {
    char *colon = strchr (argv[i], ':');
    if (colon == NULL) {
      fprintf (stderr, "mklvm: %s: expected LV:MIB\n", argv[i]);
      gbox_close (h);
      exit (EXIT_FAILURE);
    }
    *colon = '\0';
    if (gbox_lvcreate (h, argv[i], argv[3], strtoull (colon + 1, NULL, 10))
        == -1)
      goto error;
  }
  if (gbox_shutdown (h) == -1)
    goto error;
  gbox_close (h);
  exit (EXIT_SUCCESS);

 error:
  fprintf (stderr, "mklvm: error: %s\n", gbox_last_error (h));
  gbox_close (h);
  exit (EXIT_FAILURE);
}
