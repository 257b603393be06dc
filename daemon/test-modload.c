/* guestbox - tests of the modules.dep closure.
 * Copyright (C) 2026 the guestbox authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

/**
 * A fixture modules.dep (nested and shared dependencies, '-' vs '_',
 * compressed names, a built-in module, a cycle) and the expected load
 * order; then, if the Debian kernel's modules are installed, a few real
 * closures (nothing is loaded).
 */

#include <config.h>

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "modload.h"
#define CHECK_QUIET
#include "check.h"

static const char modules_dep[] =
  "kernel/fs/ext4/ext4.ko: kernel/lib/crc16.ko kernel/fs/mbcache.ko "
  "kernel/fs/jbd2/jbd2.ko\n"
  "kernel/lib/crc16.ko:\n"
  "kernel/fs/mbcache.ko:\n"
  "kernel/fs/jbd2/jbd2.ko:\n"
  "kernel/fs/fat/vfat.ko: kernel/fs/fat/fat.ko\n"
  "kernel/fs/fat/fat.ko:\n"
  "kernel/drivers/scsi/virtio_scsi.ko: kernel/drivers/scsi/scsi_mod.ko "
  "kernel/drivers/virtio/virtio_ring.ko kernel/drivers/virtio/virtio.ko\n"
  "kernel/drivers/scsi/scsi_mod.ko: kernel/drivers/scsi/scsi_common.ko\n"
  "kernel/drivers/scsi/scsi_common.ko:\n"
  "kernel/drivers/virtio/virtio_ring.ko: kernel/drivers/virtio/virtio.ko\n"
  "kernel/drivers/virtio/virtio.ko:\n"
  "kernel/drivers/char/virtio_console.ko.xz: "
  "kernel/drivers/virtio/virtio_ring.ko kernel/drivers/virtio/virtio.ko\n"
  "kernel/net/dash-name.ko:\n"
  "kernel/x/cycle_a.ko: kernel/x/cycle_b.ko\n"
  "kernel/x/cycle_b.ko: kernel/x/cycle_a.ko\n"
  "kernel/x/broken.ko: kernel/x/missing.ko\n"
  "no colon line is ignored\n";

static const char modules_builtin[] = "kernel/fs/nls/nls_base.ko\n";

struct closure_case {
  const char *name;
  const char *expect[8];        /* NULL-terminated; expect[0]=="!" error */
};

static void
check_closure (struct modload *m, const struct closure_case *c)
{
  char **list = modload_closure (m, c->name);
  bool ok;
  size_t i;

  if (c->expect[0] && strcmp (c->expect[0], "!") == 0) {
    CHECK (list == NULL, "closure %s fails", c->name);
    printf ("closure %-16s error: %s\n", c->name, strerror (errno));
    return;
  }
  ok = list != NULL;
  for (i = 0; ok && c->expect[i]; ++i)
    ok = list[i] && strcmp (list[i], c->expect[i]) == 0;
  ok = ok && list[i] == NULL;
  CHECK (ok, "closure %s", c->name);
  printf ("closure %-16s", c->name);
  for (i = 0; list && list[i]; ++i)
    printf (" %s", list[i]);
  printf ("\n");
  for (i = 0; list && list[i]; ++i)
    free (list[i]);
  free (list);
}

int
main (void)
{
  static const struct closure_case cases[] = {
    { "ext4", { "kernel/fs/jbd2/jbd2.ko", "kernel/fs/mbcache.ko",
                "kernel/lib/crc16.ko", "kernel/fs/ext4/ext4.ko" } },
    { "vfat", { "kernel/fs/fat/fat.ko", "kernel/fs/fat/vfat.ko" } },
    { "virtio_scsi", { "kernel/drivers/virtio/virtio.ko",
                       "kernel/drivers/virtio/virtio_ring.ko",
                       "kernel/drivers/scsi/scsi_common.ko",
                       "kernel/drivers/scsi/scsi_mod.ko",
                       "kernel/drivers/scsi/virtio_scsi.ko" } },
    { "virtio-scsi", { "kernel/drivers/virtio/virtio.ko",
                       "kernel/drivers/virtio/virtio_ring.ko",
                       "kernel/drivers/scsi/scsi_common.ko",
                       "kernel/drivers/scsi/scsi_mod.ko",
                       "kernel/drivers/scsi/virtio_scsi.ko" } },
    { "virtio_console", { "kernel/drivers/virtio/virtio.ko",
                          "kernel/drivers/virtio/virtio_ring.ko",
                          "kernel/drivers/char/virtio_console.ko.xz" } },
    { "dash_name", { "kernel/net/dash-name.ko" } },
    { "dash-name", { "kernel/net/dash-name.ko" } },
    { "nls_base", { NULL } },                  /* built-in: nothing */
    { "cycle_a", { "kernel/x/cycle_b.ko", "kernel/x/cycle_a.ko" } },
    { "broken", { "!" } },
    { "nonexistent", { "!" } },
    { "", { "!" } },
  };
  char dir[] = "/tmp/gbox-test-modload-XXXXXX";
  char path[256], err[512];
  struct modload *m;
  FILE *fp;
  size_t i;

  if (mkdtemp (dir) == NULL)
    return EXIT_FAILURE;
  snprintf (path, sizeof path, "%s/modules.dep", dir);
  fp = fopen (path, "w");
  fputs (modules_dep, fp);
  fclose (fp);
  snprintf (path, sizeof path, "%s/modules.builtin", dir);
  fp = fopen (path, "w");
  fputs (modules_builtin, fp);
  fclose (fp);

  m = modload_open (dir);
  CHECK (m != NULL, "modload_open fixture");
  if (m == NULL)
    return EXIT_FAILURE;
  for (i = 0; i < sizeof cases / sizeof cases[0]; ++i)
    check_closure (m, &cases[i]);
  /* Loading an unknown module gives a one-line error (nothing loaded). */
  CHECK (modload_load (m, "nonexistent", err, sizeof err) == -1 &&
         strstr (err, "not found"), "load nonexistent: %s", err);
  printf ("load nonexistent: %s\n", err);
  modload_close (m);

  snprintf (path, sizeof path, "%s/modules.dep", dir);
  unlink (path);
  CHECK (modload_open (dir) == NULL && errno == ENOENT,
         "modload_open without modules.dep fails with ENOENT");
  snprintf (path, sizeof path, "%s/modules.builtin", dir);
  unlink (path);
  rmdir (dir);

  /* The real Debian kernel's modules.dep, when installed. */
  m = modload_open ("/lib/modules/6.1.0-56-amd64");
  if (m) {
    static const char *const real[] = {
      "ext4", "vfat", "xfs", "btrfs", "virtio_scsi", "virtio_console",
      "isofs", "fuse", "nls_cp437", "sd_mod", NULL
    };
    for (i = 0; real[i]; ++i) {
      char **list = modload_closure (m, real[i]);
      size_t n = 0, j;
      bool last_ok;
      for (; list && list[n]; ++n)
        ;
      /* Non-empty closure ending with the module itself, or built-in. */
      last_ok = list && (n == 0 || strstr (list[n - 1], real[i]));
      CHECK (last_ok, "real closure of %s", real[i]);
      printf ("real closure %-14s %zu modules\n", real[i], n);
      for (j = 0; list && list[j]; ++j)
        free (list[j]);
      free (list);
    }
    modload_close (m);
  }
  else
    printf ("no /lib/modules/6.1.0-56-amd64: real closures not checked\n");

  return check_finish ("test-modload");
}
