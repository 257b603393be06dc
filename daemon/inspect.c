/* guestbox - operating system inspection (simple version).
 * Copyright (C) 2026 the guestbox authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

/**
 * inspect_os: mount each candidate filesystem read-only at a private
 * directory outside the sysroot, decide whether it is a Linux root
 * (/etc, a release or fstab file, a bin directory: all resolved inside
 * that filesystem), and map its /etc/fstab to devices.  The decision
 * and the fstab mapping (inspect_linux_root) work on any directory fd,
 * so test-inspect runs them on fixture trees without a VM.  A fuller
 * inspector (distro, version, packages, Windows) extends this later.
 */

#include <config.h>

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>

#include "daemon.h"

#define INSPECT_DIR "/run/gbox-inspect"
#define FSTAB_MAX_BYTES (1024 * 1024)
#define FSTAB_MAX_ENTRIES 1024
#define MOUNTPOINTS_MAX 1024
#define OSES_MAX 64

static bool
is_type_in_root (int rootfd, const char *path, mode_t type)
{
  struct stat st;
  return stat_in_root (rootfd, path, &st) == 0 &&
    (st.st_mode & S_IFMT) == type;
}

static int
add_mountpoint (gbox_os *os, const char *mp, const char *dev)
{
  gbox_mountpoint *m;
  size_t i;

  for (i = 0; i < os->mountpoints.mountpoints_len; ++i)
    if (strcmp (os->mountpoints.mountpoints_val[i].mountpoint, mp) == 0)
      return 0;                 /* first one wins */
  if (os->mountpoints.mountpoints_len >= MOUNTPOINTS_MAX ||
      strlen (mp) >= GBOX_PATH_MAX || strlen (dev) >= GBOX_PATH_MAX)
    return 0;
  m = realloc (os->mountpoints.mountpoints_val,
               (os->mountpoints.mountpoints_len + 1) * sizeof *m);
  if (m == NULL)
    return -1;
  os->mountpoints.mountpoints_val = m;
  m = &m[os->mountpoints.mountpoints_len];
  m->mountpoint = strdup (mp);
  m->device = strdup (dev);
  os->mountpoints.mountpoints_len++;
  if (m->mountpoint == NULL || m->device == NULL)
    return -1;
  return 0;
}

int
inspect_linux_root (int rootfd, const char *rootdev,
                    const struct gbd_fs *fs, size_t nfs, gbox_os *os)
{
  CLEANUP_FREE char *text = NULL;
  struct fstab_entry *entries = NULL;
  size_t len = 0, i;
  ssize_t n;

  memset (os, 0, sizeof *os);
  if (!is_type_in_root (rootfd, "/etc", S_IFDIR))
    return 0;
  if (!is_type_in_root (rootfd, "/etc/fstab", S_IFREG) &&
      !is_type_in_root (rootfd, "/etc/os-release", S_IFREG) &&
      !is_type_in_root (rootfd, "/usr/lib/os-release", S_IFREG))
    return 0;
  /* A bin directory, or a separate /usr (where a usrmerged /bin
   * points) named by fstab. */
  if (!is_type_in_root (rootfd, "/bin", S_IFDIR) &&
      !is_type_in_root (rootfd, "/usr/bin", S_IFDIR) &&
      !(is_type_in_root (rootfd, "/usr", S_IFDIR) &&
        is_type_in_root (rootfd, "/etc/fstab", S_IFREG)))
    return 0;

  os->root = strdup (rootdev);
  if (os->root == NULL || add_mountpoint (os, "/", rootdev) == -1)
    goto error;

  text = read_file_in_root (rootfd, "/etc/fstab", FSTAB_MAX_BYTES, &len);
  if (text == NULL) {
    debug ("inspect: %s: /etc/fstab: %m", rootdev);
    return 1;                   /* no usable fstab: just "/" */
  }
  entries = calloc (FSTAB_MAX_ENTRIES, sizeof *entries);
  if (entries == NULL)
    goto error;
  n = parse_fstab (text, len, entries, FSTAB_MAX_ENTRIES);
  if (n == -1)
    goto error;
  for (i = 0; i < (size_t) n; ++i) {
    ssize_t idx;

    if (!fstab_entry_is_mountable (&entries[i]) ||
        strcmp (entries[i].file, "/") == 0)
      continue;
    idx = resolve_fstab_spec (entries[i].spec, fs, nfs);
    if (idx < 0) {
      debug ("inspect: %s: fstab: %s not found", rootdev, entries[i].spec);
      continue;
    }
    if (add_mountpoint (os, entries[i].file, fs[idx].device) == -1) {
      free_fstab (entries, n);
      goto error;
    }
  }
  free_fstab (entries, n);
  free (entries);
  return 1;

 error:
  free (entries);
  xdr_free ((xdrproc_t) xdr_gbox_os, (char *) os);
  memset (os, 0, sizeof *os);
  return -1;
}

/* Types that can never hold a Linux root, not worth a mount. */
static bool
skip_type (const char *type)
{
  static const char *const skip[] = {
    "swap", "unknown", "vfat", "msdos", "exfat", "ntfs", "iso9660", "udf",
    "LVM2_member", "linux_raid_member", "crypto_LUKS", "BitLocker",
    "zfs_member", "VMFS_volume_member", NULL
  };
  size_t i;

  for (i = 0; skip[i]; ++i)
    if (strcmp (type, skip[i]) == 0)
      return true;
  return false;
}

static int
compare_oses (const void *a, const void *b)
{
  return strverscmp (((const gbox_os *) a)->root, ((const gbox_os *) b)->root);
}

/* What every inspection starts with: refuse host mode, rescan the
 * disks, list the filesystems and make the private mount point.  Returns
 * the filesystems (free with free_fs_list), or NULL after replying with
 * the error; WHO names the procedure in messages, DIR is the mount
 * point to create. */
struct gbd_fs *
inspect_begin (const char *who, const char *dir, size_t *nfs)
{
  struct gbd_fs *fs;

  if (!appliance_mode) {
    reply_with_error_errno (EPERM, "%s: refusing to mount in host mode "
                            "(only the appliance inspects disks)", who);
    return NULL;
  }
  if (devices_rescan () == -1) {
    reply_with_perror ("%s: /sys/block", who);
    return NULL;
  }
  fs = devices_list_filesystems (nfs);
  if (fs == NULL) {
    reply_with_perror ("%s: list_filesystems", who);
    return NULL;
  }
  if (mkdir (dir, 0700) == -1 && errno != EEXIST) {
    reply_with_perror ("%s: mkdir %s", who, dir);
    free_fs_list (fs, *nfs);
    return NULL;
  }
  return fs;
}

int
do_inspect_os (void *argsv, void *retv)
{
  gbox_inspect_os_ret *ret = retv;
  struct gbd_fs *fs;
  size_t nfs, i;

  fs = inspect_begin ("inspect_os", INSPECT_DIR, &nfs);
  if (fs == NULL)
    return -1;
  ret->oses.oses_val = calloc (OSES_MAX, sizeof (gbox_os));
  if (ret->oses.oses_val == NULL) {
    reply_with_perror ("calloc");
    free_fs_list (fs, nfs);
    return -1;
  }

  for (i = 0; i < nfs && ret->oses.oses_len < OSES_MAX; ++i) {
    gbox_os *os = &ret->oses.oses_val[ret->oses.oses_len];
    int rootfd, r;

    if (skip_type (fs[i].type))
      continue;
    load_fs_modules (fs[i].type);
    if (mount (fs[i].kdevice, INSPECT_DIR, fs[i].type,
               MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, "") == -1) {
      debug ("inspect: mount %s (%s): %m", fs[i].device, fs[i].type);
      continue;
    }
    rootfd = open (INSPECT_DIR, O_PATH | O_DIRECTORY | O_CLOEXEC);
    r = rootfd >= 0 ? inspect_linux_root (rootfd, fs[i].device, fs, nfs, os)
      : -1;
    if (rootfd >= 0)
      close (rootfd);
    if (umount2 (INSPECT_DIR, 0) == -1)
      umount2 (INSPECT_DIR, MNT_DETACH);
    if (r == -1) {
      reply_with_perror ("inspect_os: %s", fs[i].device);
      free_fs_list (fs, nfs);
      return -1;
    }
    if (r == 1)
      ret->oses.oses_len++;
  }
  free_fs_list (fs, nfs);
  qsort (ret->oses.oses_val, ret->oses.oses_len, sizeof (gbox_os),
         compare_oses);
  return 0;
}
