/* guestbox - tests of the device name map on a fake sysfs tree.
 * Copyright (C) 2026 the guestbox authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

/**
 * Builds /sys/block and /dev look-alikes in a temporary directory, with
 * the kernel's sdX names in another order than the SCSI addresses, and
 * checks the user names, the translations both ways, the partition list
 * and disks_ready.  No real device is opened.
 */

#include <config.h>

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include "daemon.h"
#define CHECK_QUIET
#include "check.h"

static char tmpdir[] = "/tmp/gbox-test-devices-XXXXXX";

static void
xmkdir (const char *rel, const char *name)
{
  char path[4096];
  snprintf (path, sizeof path, "%s%s%s", tmpdir, rel, name);
  if (mkdir (path, 0755) == -1 && errno != EEXIST) {
    perror (path);
    exit (EXIT_FAILURE);
  }
}

/* A disk KNAME at SCSI address HCTL with partitions PARTS. */
static void
fake_disk (const char *kname, const char *hctl, const char *const *parts)
{
  char path[4096], target[256];
  size_t i;

  xmkdir ("/sys/block/", kname);
  snprintf (path, sizeof path, "%s/sys/block/%s/device", tmpdir, kname);
  snprintf (target, sizeof target,
            "../../../devices/platform/virtio-mmio/host0/target/%s", hctl);
  if (symlink (target, path) == -1) {
    perror (path);
    exit (EXIT_FAILURE);
  }
  for (i = 0; parts && parts[i]; ++i) {
    snprintf (path, sizeof path, "%s/sys/block/%s/%s", tmpdir, kname,
              parts[i]);
    mkdir (path, 0755);
  }
}

static void
test_names (void)
{
  static const struct { size_t i; const char *name; } cases[] = {
    { 0, "sda" }, { 1, "sdb" }, { 25, "sdz" }, { 26, "sdaa" },
    { 27, "sdab" }, { 51, "sdaz" }, { 52, "sdba" }, { 701, "sdzz" },
    { 702, "sdaaa" },
  };
  size_t i;

  for (i = 0; i < sizeof cases / sizeof cases[0]; ++i) {
    char buf[16];
    disk_index_to_name (cases[i].i, buf, sizeof buf);
    CHECK (strcmp (buf, cases[i].name) == 0, "disk %zu -> %s (got %s)",
           cases[i].i, cases[i].name, buf);
  }
  printf ("disk_index_to_name: %zu cases\n", i);
}

int
main (void)
{
  static const char *const sda_parts[] = { "sda1", "sda2", NULL };
  static const char *const sdb_parts[] = { "sdb1", "sdb10", "sdb2",
                                           "power", "holders", NULL };
  static const struct { const char *user, *kernel; } map[] = {
    { "/dev/sda", "sdb" }, { "/dev/sda1", "sdb1" }, { "/dev/sda10", "sdb10" },
    { "/dev/sdb", "sdc" }, { "/dev/sdc", "sdd" }, { "/dev/sdd", "sda" },
    { "/dev/sdd2", "sda2" },
  };
  static const char *const bad_user[] = {
    "/dev/sde", "/dev/vda", "/dev/sda1x", "/dev/sd", "sda", "/dev/sdaa", NULL
  };
  static const char *const expect_parts[] = {
    "/dev/sda1", "/dev/sda2", "/dev/sda10", "/dev/sdd1", "/dev/sdd2", NULL
  };
  char sysroot_[4096], devroot[4096];
  CLEANUP_FREE_STRING_LIST char **parts = NULL;
  size_t i;

  test_names ();

  if (mkdtemp (tmpdir) == NULL) {
    perror ("mkdtemp");
    return EXIT_FAILURE;
  }
  xmkdir ("/sys", "");
  xmkdir ("/sys/block", "");
  xmkdir ("/dev", "");
  /* Kernel names in another order than the SCSI addresses. */
  fake_disk ("sda", "2:0:1:0", sda_parts);
  fake_disk ("sdb", "0:0:0:0", sdb_parts);
  fake_disk ("sdc", "0:0:2:0", NULL);
  fake_disk ("sdd", "0:0:10:0", NULL);
  fake_disk ("sde", "not-an-address", NULL);     /* ignored */
  fake_disk ("vda", "0:0:3:0", NULL);            /* not sd: ignored */

  snprintf (sysroot_, sizeof sysroot_, "%s/sys", tmpdir);
  snprintf (devroot, sizeof devroot, "%s/dev", tmpdir);
  devices_set_roots (sysroot_, devroot);
  CHECK (devices_rescan () == 0, "rescan");
  CHECK (devices_count () == 4, "4 disks (got %zu)", devices_count ());
  for (i = 0; i < devices_count (); ++i)
    printf ("map: /dev/%s = kernel %s\n", devices_user_disk (i),
            devices_kernel_disk (i));

  for (i = 0; i < sizeof map / sizeof map[0]; ++i) {
    CLEANUP_FREE char *k = device_user_to_kernel (map[i].user);
    CLEANUP_FREE char *u = NULL;
    char want[4200];

    snprintf (want, sizeof want, "%s/%s", devroot, map[i].kernel);
    CHECK (k && strcmp (k, want) == 0, "%s -> %s (got %s)", map[i].user,
           want, k ? k : "(none)");
    u = device_kernel_to_user (want);
    CHECK (u && strcmp (u, map[i].user) == 0, "%s -> %s (got %s)", want,
           map[i].user, u ? u : "(none)");
    free (u);
    snprintf (want, sizeof want, "/dev/%s", map[i].kernel);
    u = device_kernel_to_user (want);
    CHECK (u && strcmp (u, map[i].user) == 0, "%s -> %s", want, map[i].user);
  }
  for (i = 0; bad_user[i]; ++i) {
    char *k = device_user_to_kernel (bad_user[i]);
    CHECK (k == NULL && errno == ENOENT, "%s is not a disk", bad_user[i]);
    free (k);
  }

  parts = devices_list_partitions ();
  CHECK (parts != NULL && count_strings (parts) == 5, "5 partitions");
  for (i = 0; parts && expect_parts[i]; ++i)
    CHECK (parts[i] && strcmp (parts[i], expect_parts[i]) == 0,
           "partition %zu: %s (got %s)", i, expect_parts[i],
           parts[i] ? parts[i] : "(none)");

  /* disks_ready: no /dev nodes yet -> times out with a clear error. */
  {
    gbox_disks_ready_args a = { .count = 4, .timeout_ms = 100 };
    uint64_t t0 = now_ms ();
    int r = do_disks_ready (&a, NULL);
    CHECK (r == -1 && now_ms () - t0 >= 100 && now_ms () - t0 < 2000,
           "disks_ready without /dev nodes times out");
  }
  if (geteuid () == 0) {
    static const char *const nodes[] = {
      "sda", "sda1", "sda2", "sdb", "sdb1", "sdb2", "sdb10", "sdc", "sdd", NULL
    };
    gbox_disks_ready_args a = { .count = 4, .timeout_ms = 2000 };
    char path[4200];
    int r;

    for (i = 0; nodes[i]; ++i) {
      snprintf (path, sizeof path, "%s/%s", devroot, nodes[i]);
      /* An unused major number: the nodes are never opened. */
      if (mknod (path, S_IFBLK | 0600, makedev (240, i)) == -1)
        perror (path);
    }
    r = do_disks_ready (&a, NULL);
    CHECK (r == 0, "disks_ready(4) with all nodes present");
    a.count = 5;
    a.timeout_ms = 50;
    r = do_disks_ready (&a, NULL);
    CHECK (r == -1, "disks_ready(5) times out");
  }
  else
    printf ("skipping the disks_ready success case (mknod needs root)\n");

  {
    char cmd[4200];
    snprintf (cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    if (system (cmd) != 0)
      printf ("warning: could not remove %s\n", tmpdir);
  }
  return check_finish ("test-devices");
}
