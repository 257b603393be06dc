/* guestbox - tests of the Linux root decision and fstab mapping.
 * Copyright (C) 2026 the guestbox authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

/**
 * inspect_linux_root on fixture trees (no mount, no VM): a root with an
 * fstab of every kind of spec, trees that are not roots, symlinks that
 * try to leave the tree, a fifo and an oversize file as /etc/fstab.
 */

#include <config.h>

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>

#include "daemon.h"
#define CHECK_QUIET
#include "check.h"

static char tmpdir[] = "/tmp/gbox-test-inspect-XXXXXX";

static struct gbd_fs fs[] = {
  { "/dev/sda1", "/dev/sdc1", "ext4", "root", "1111-aaaa", "", "" },
  { "/dev/sda2", "/dev/sdc2", "ext2", "boot", "2222-bbbb", "", "" },
  { "/dev/sdb1", "/dev/sda1", "xfs", "home", "3333-cccc", "pu-3", "homes" },
  { "/dev/sdb2", "/dev/sda2", "swap", "", "4444-dddd", "", "" },
  { "/dev/sdc", "/dev/sdb", "vfat", "EFI", "ABCD-EF01", "", "" },
};

static void
path_of (char *buf, size_t len, const char *tree, const char *rel)
{
  snprintf (buf, len, "%s/%s%s", tmpdir, tree, rel);
}

static void
mk (const char *tree, const char *rel, const char *content)
{
  char path[4096];
  path_of (path, sizeof path, tree, rel);
  if (content == NULL) {
    if (mkdir (path, 0755) == -1 && errno != EEXIST)
      perror (path);
  }
  else {
    FILE *fp = fopen (path, "w");
    if (fp == NULL) {
      perror (path);
      exit (EXIT_FAILURE);
    }
    fputs (content, fp);
    fclose (fp);
  }
}

static void
ln (const char *tree, const char *rel, const char *target)
{
  char path[4096];
  path_of (path, sizeof path, tree, rel);
  if (symlink (target, path) == -1)
    perror (path);
}

struct expect {
  const char *tree;
  int result;                   /* 1 root, 0 not */
  const char *mps[8][2];        /* mountpoint, device */
};

static void
check_tree (const struct expect *e)
{
  char path[4096];
  gbox_inspected_os os;
  int rootfd, r;
  size_t i, n = 0;
  bool ok;

  path_of (path, sizeof path, e->tree, "");
  rootfd = open (path, O_PATH | O_DIRECTORY);
  if (inspect_os_init (&os) == -1) {
    perror ("inspect_os_init");
    exit (EXIT_FAILURE);
  }
  r = inspect_linux_root (rootfd, "/dev/sda1", fs, 5, &os);
  close (rootfd);
  while (e->mps[n][0])
    n++;
  ok = r == e->result;
  if (r == 1) {
    ok = ok && strcmp (os.root, "/dev/sda1") == 0 &&
      os.mountpoints.mountpoints_len == n;
    for (i = 0; ok && i < n; ++i)
      ok = strcmp (os.mountpoints.mountpoints_val[i].mountpoint,
                   e->mps[i][0]) == 0 &&
        strcmp (os.mountpoints.mountpoints_val[i].device, e->mps[i][1]) == 0;
  }
  printf ("tree %-14s result %d", e->tree, r);
  for (i = 0; r == 1 && i < os.mountpoints.mountpoints_len; ++i)
    printf (" %s=%s", os.mountpoints.mountpoints_val[i].mountpoint,
            os.mountpoints.mountpoints_val[i].device);
  printf ("\n");
  CHECK (ok, "tree %s", e->tree);
  xdr_free ((xdrproc_t) xdr_gbox_inspected_os, (char *) &os);
}

int
main (void)
{
  static const char fstab[] =
    "# /etc/fstab: static file system information.\n"
    "UUID=1111-AAAA /               ext4    errors=remount-ro 0 1\n"
    "LABEL=boot     /boot           ext2    defaults        0 2\n"
    "/dev/vdb1      /home           xfs     defaults        0 2\n"
    "UUID=4444-dddd none            swap    sw              0 0\n"
    "proc           /proc           proc    defaults        0 0\n"
    "tmpfs          /tmp            tmpfs   defaults        0 0\n"
    "UUID=ffff-ffff /missing        ext4    defaults        0 2\n"
    "/dev/disk/by-uuid/ABCD-EF01 /boot/efi vfat umask=0077 0 1\n"
    "PARTLABEL=homes /home/again\\040x xfs defaults 0 0\n"
    "LABEL=boot     /boot           ext2    defaults        0 2\n"
    "server:/export /nfs            nfs     defaults        0 0\n"
    "broken line\n";
  static const struct expect cases[] = {
    { "debian", 1, { { "/", "/dev/sda1" }, { "/boot", "/dev/sda2" },
                     { "/home", "/dev/sdb1" }, { "/boot/efi", "/dev/sdc" },
                     { "/home/again x", "/dev/sdb1" } } },
    { "noetc", 0, { { NULL } } },
    { "nobin", 0, { { NULL } } },
    { "norelease", 0, { { NULL } } },
    { "binescape", 0, { { NULL } } },
    { "fstabescape", 1, { { "/", "/dev/sda1" } } },
    { "fstabinside", 1, { { "/", "/dev/sda1" }, { "/boot", "/dev/sda2" },
                          { "/home", "/dev/sdb1" },
                          { "/boot/efi", "/dev/sdc" },
                          { "/home/again x", "/dev/sdb1" } } },
    { "fstabfifo", 1, { { "/", "/dev/sda1" } } },
    { "fstabhuge", 1, { { "/", "/dev/sda1" } } },
  };
  char path[4096];
  size_t i;

  if (mkdtemp (tmpdir) == NULL)
    return EXIT_FAILURE;

  /* A Debian-like root with a usrmerge /bin symlink. */
  mk ("debian", "", NULL);
  mk ("debian", "/etc", NULL);
  mk ("debian", "/usr", NULL);
  mk ("debian", "/usr/bin", NULL);
  ln ("debian", "/bin", "usr/bin");
  mk ("debian", "/etc/fstab", fstab);

  mk ("noetc", "", NULL);
  mk ("noetc", "/usr", NULL);
  mk ("noetc", "/usr/bin", NULL);

  mk ("nobin", "", NULL);
  mk ("nobin", "/etc", NULL);
  mk ("nobin", "/etc/os-release", "ID=x\n");

  mk ("norelease", "", NULL);
  mk ("norelease", "/etc", NULL);
  mk ("norelease", "/bin", NULL);

  /* /bin points outside the tree (where the host has /usr/bin). */
  mk ("binescape", "", NULL);
  mk ("binescape", "/etc", NULL);
  mk ("binescape", "/etc/os-release", "ID=x\n");
  ln ("binescape", "/bin", "../../../../../../usr/bin");

  /* /etc/fstab pointing at the host's fstab: not followed out. */
  mk ("fstabescape", "", NULL);
  mk ("fstabescape", "/etc", NULL);
  mk ("fstabescape", "/bin", NULL);
  mk ("fstabescape", "/usr", NULL);
  mk ("fstabescape", "/usr/lib", NULL);
  mk ("fstabescape", "/usr/lib/os-release", "ID=x\n");
  ln ("fstabescape", "/etc/fstab", "../../../../../../etc/fstab");

  /* An absolute symlink resolved inside the tree. */
  mk ("fstabinside", "", NULL);
  mk ("fstabinside", "/etc", NULL);
  mk ("fstabinside", "/bin", NULL);
  mk ("fstabinside", "/etc/fstab.real", fstab);
  ln ("fstabinside", "/etc/fstab", "/etc/fstab.real");

  mk ("fstabfifo", "", NULL);
  mk ("fstabfifo", "/etc", NULL);
  mk ("fstabfifo", "/bin", NULL);
  mk ("fstabfifo", "/etc/os-release", "ID=x\n");
  path_of (path, sizeof path, "fstabfifo", "/etc/fstab");
  mkfifo (path, 0644);

  mk ("fstabhuge", "", NULL);
  mk ("fstabhuge", "/etc", NULL);
  mk ("fstabhuge", "/bin", NULL);
  path_of (path, sizeof path, "fstabhuge", "/etc/fstab");
  {
    FILE *fp = fopen (path, "w");
    for (i = 0; i < 40000; ++i)
      fputs ("LABEL=boot /boot ext2 defaults 0 2\n", fp);
    fclose (fp);
  }

  for (i = 0; i < sizeof cases / sizeof cases[0]; ++i)
    check_tree (&cases[i]);

  {
    char cmd[4200];
    snprintf (cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    if (system (cmd) != 0)
      printf ("warning: could not remove %s\n", tmpdir);
  }
  return check_finish ("test-inspect");
}
