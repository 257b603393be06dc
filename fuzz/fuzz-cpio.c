/* guestbox - libFuzzer harness: the appliance builder's cpio archive.
 * Copyright (C) 2026 the guestbox authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

/**
 * The fuzzer's bytes are lines "d NAME", "l NAME TARGET" or
 * "f NAME DATA": archive paths (normalisation, "." and ".." refusal,
 * parent directories, duplicates, the name table) then the newc
 * writer, into /dev/null.
 */

#include <config.h>

#include <fcntl.h>
#include <string.h>

#include "appliance-internal.h"

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  static int devnull = -1;
  char err[512];
  struct gbox_app_ctx cx = { .err = err, .errlen = sizeof err };
  struct gbox_app_cpio *a;
  char *text, *line, *save = NULL;
  uint64_t bytes;

  if (devnull == -1)
    devnull = open ("/dev/null", O_WRONLY | O_CLOEXEC);
  text = malloc (size + 1);
  a = gbox_app_cpio_new ();
  if (!text || !a)
    goto out;
  memcpy (text, data, size);
  text[size] = '\0';
  for (line = strtok_r (text, "\n", &save); line;
       line = strtok_r (NULL, "\n", &save)) {
    char *name = line + 2, *arg;

    if (strlen (line) < 3 || line[1] != ' ')
      continue;
    arg = strchr (name, ' ');
    if (arg)
      *arg++ = '\0';
    switch (line[0]) {
    case 'd':
      gbox_app_cpio_add_dir (&cx, a, name, 0755);
      break;
    case 'l':
      gbox_app_cpio_add_symlink (&cx, a, name, arg ? arg : "");
      break;
    case 'f':
      gbox_app_cpio_add_data (&cx, a, name, arg ? arg : "",
                              arg ? strlen (arg) : 0, 0644);
      break;
    }
    gbox_app_cpio_lookup (a, name);
  }
  gbox_app_cpio_write (&cx, a, devnull, false, &bytes);
 out:
  gbox_app_cpio_free (a);
  free (text);
  return 0;
}
