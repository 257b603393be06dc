/* guestbox - mkstorage: build md RAID, LUKS and LVM test images with the
 * project's own appliance (no loop devices or device-mapper on the host).
 * Copyright (C) 2026 the guestbox authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

/**
 * Test helper: mkstorage DISK [SOURCE...] -- STEP...
 *
 * DISK is attached read-write as /dev/sda, each SOURCE read-only as
 * /dev/sdb, /dev/sdc, ...  The steps run in order:
 *
 *   md:NAME:LEVEL:METADATA:DEV,DEV...  mdadm --create (then stopped)
 *   luks:DEV:KEY:MAPNAME               open a LUKS device read-write
 *   pv:DEV  vg:VG:PV  lv:VG:LV:MIB     LVM
 *   copy:SRC:DST                       copy all of SRC to the start of DST
 *
 * Filesystem images are made on the host and copied in with "copy",
 * through dm-crypt when DST is an opened LUKS device.
 */

#include <config.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <inttypes.h>

#include "guestbox.h"

/* Split S at ':' into at most MAX fields (in place). */
static size_t
split (char *s, char **f, size_t max, char sep)
{
  size_t n = 0;

  f[n++] = s;
  while (n < max && (s = strchr (s, sep)) != NULL) {
    *s++ = '\0';
    f[n++] = s;
  }
  return n;
}

static int
step (gbox_h *h, char *arg)
{
  char *f[6];
  size_t n = split (arg, f, 6, ':');

  if (strcmp (f[0], "md") == 0 && n == 5) {
    char *devs[32];
    size_t nd = split (f[4], devs, 32, ',');
    return gbox_md_create (h, f[1], f[2], f[3], devs, nd);
  }
  if (strcmp (f[0], "luks") == 0 && n == 4)
    return gbox_luks_open (h, f[1], f[2], f[3], 0);
  if (strcmp (f[0], "pv") == 0 && n == 2)
    return gbox_pvcreate (h, f[1]);
  if (strcmp (f[0], "vg") == 0 && n == 3)
    return gbox_vgcreate (h, f[1], &f[2], 1);
  if (strcmp (f[0], "lv") == 0 && n == 4)
    return gbox_lvcreate (h, f[2], f[1], strtoull (f[3], NULL, 10));
  if (strcmp (f[0], "copy") == 0 && n == 3) {
    uint64_t size, written;
    if (gbox_device_size (h, f[1], &size) == -1)
      return -1;
    return gbox_copy_range (h, f[1], 0, f[2], 0, size, 0, &written);
  }
  fprintf (stderr, "mkstorage: %s: unknown step\n", f[0]);
  exit (EXIT_FAILURE);
}

int
main (int argc, char *argv[])
{
  gbox_h *h;
  int i, sep;

  for (sep = 1; sep < argc && strcmp (argv[sep], "--") != 0; ++sep)
    ;
  if (sep < 2 || sep >= argc - 1) {
    fprintf (stderr, "usage: mkstorage DISK [SOURCE...] -- STEP...\n");
    exit (EXIT_FAILURE);
  }
  h = gbox_create ();
  if (h == NULL) {
    perror ("mkstorage");
    exit (EXIT_FAILURE);
  }
  gbox_set_program (h, "mkstorage");
  if (getenv ("MKSTORAGE_DEBUG"))
    gbox_set_verbose (h, 1);
  for (i = 1; i < sep; ++i)
    if (gbox_add_drive (h, argv[i], "raw", i > 1) == -1)
      goto error;
  if (gbox_launch (h) == -1)
    goto error;
  for (i = sep + 1; i < argc; ++i)
    if (step (h, argv[i]) == -1)
      goto error;
  if (gbox_shutdown (h) == -1)
    goto error;
  gbox_close (h);
  exit (EXIT_SUCCESS);

 error:
  fprintf (stderr, "mkstorage: error: %s\n", gbox_last_error (h));
  gbox_close (h);
  exit (EXIT_FAILURE);
}
