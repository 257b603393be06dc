/* guestbox - kernel modules, loaded on demand.
 * Copyright (C) 2026 the guestbox authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

/**
 * The appliance carries the modules of every filesystem in
 * common/fstypes.def and of the storage stack, and loads none of them
 * at boot (loading all of them costs seconds under TCG): a handler
 * asks for a filesystem type's modules (fs_modules, from the table) or
 * for one module by name (dm_mod, loop, raid1, ...) before it needs
 * them.  Before a snapshot is taken every module is loaded instead.
 * The loader itself is modload.c, shared with init.
 */

#include <config.h>

#include <inttypes.h>
#include <string.h>

#include "daemon.h"
#include "fstypes.h"
#include "modload.h"

static struct modload *mods;

size_t
fs_modules (const char *fstype, const char **out)
{
  const struct gbox_fstype *t = gbox_fstype_find (fstype);
  size_t j;

  if (t == NULL || t->modules[0] == NULL) {
    /* Anything else: a module of the same name, if there is one. */
    out[0] = fstype;
    return 1;
  }
  for (j = 0; j < GBOX_FS_MODULES_MAX && t->modules[j]; ++j)
    out[j] = t->modules[j];
  return j;
}

int
load_fs_modules (const char *fstype)
{
  const char *names[GBOX_FS_MODULES_MAX];
  char err[512];
  size_t n, i;

  if (!appliance_mode)
    return 0;
  if (mods == NULL) {
    mods = modload_open (NULL);
    if (mods == NULL) {
      debug ("modules.dep: %m");
      return -1;
    }
  }
  n = fs_modules (fstype, names);
  for (i = 0; i < n; ++i)
    if (modload_load (mods, names[i], err, sizeof err) == -1)
      debug ("%s", err);
  return 0;
}

/* The disks' controller drivers (/etc/guestbox/modules.disks, written
 * by the appliance builder), loaded once the library knows we are
 * ready: it attaches the disks meanwhile. */
void
load_disk_modules (void)
{
  FILE *fp;
  char line[256];
  uint64_t t0 = now_ms ();

  if (!appliance_mode)
    return;
  fp = fopen ("/etc/guestbox/modules.disks", "re");
  if (fp == NULL)
    return;
  while (fgets (line, sizeof line, fp)) {
    line[strcspn (line, " \t\r\n")] = '\0';
    if (line[0] != '\0' && line[0] != '#')
      load_fs_modules (line);
  }
  fclose (fp);
  debug ("disk modules loaded in %" PRIu64 " ms", now_ms () - t0);
}

/* Before a snapshot is taken: load every module of the appliance, so
 * that no restored appliance ever pays for loading one. */
int
load_all_modules (void)
{
  char err[512];
  unsigned n = 0;
  uint64_t t0 = now_ms ();
  int r;

  if (!appliance_mode)
    return 0;
  if (mods == NULL) {
    mods = modload_open (NULL);
    if (mods == NULL) {
      fprintf (stderr, "guestboxd: warning: modules.dep: %m\n");
      return -1;
    }
  }
  r = modload_load_all (mods, &n, err, sizeof err);
  if (r == -1)
    fprintf (stderr, "guestboxd: warning: %s\n", err);
  debug ("%u modules loaded in %" PRIu64 " ms", n, now_ms () - t0);
  return r;
}
