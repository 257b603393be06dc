/* guestbox - mounting guest filesystems.
 * Copyright (C) 2026 the guestbox authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

/**
 * mount, mount_ro, umount_all (and mount_ro for inspect_mount, in
 * inspect-full.c).  The filesystem's kernel modules are
 * loaded first (modules.c).  Mountpoints
 * other than "/" are resolved inside the mounted tree and the mount is
 * made on the resolved fd (/proc/self/fd/N), so a guest symlink cannot
 * redirect it.  Mounts are recorded and umount_all undoes them in
 * reverse order.  Only in the appliance: host mode refuses to mount.
 */

#include <config.h>

#include <errno.h>
#include <inttypes.h>
#include <fcntl.h>
#include <limits.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>

#include "daemon.h"

#define MAX_MOUNTS 256

static char *mounts[MAX_MOUNTS];
static size_t nr_mounts;

/* Split OPTIONS into mount(2) flags and the filesystem's data. */
static int
parse_options (const char *options, unsigned long *flags, char **data)
{
  static const struct {
    const char *name;
    unsigned long set, clear;
  } opts[] = {
    { "ro", MS_RDONLY, 0 }, { "rw", 0, MS_RDONLY },
    { "nosuid", MS_NOSUID, 0 }, { "suid", 0, MS_NOSUID },
    { "nodev", MS_NODEV, 0 }, { "dev", 0, MS_NODEV },
    { "noexec", MS_NOEXEC, 0 }, { "exec", 0, MS_NOEXEC },
    { "sync", MS_SYNCHRONOUS, 0 }, { "async", 0, MS_SYNCHRONOUS },
    { "dirsync", MS_DIRSYNC, 0 },
    { "noatime", MS_NOATIME, 0 }, { "atime", 0, MS_NOATIME },
    { "nodiratime", MS_NODIRATIME, 0 }, { "diratime", 0, MS_NODIRATIME },
    { "relatime", MS_RELATIME, 0 }, { "norelatime", 0, MS_RELATIME },
    { "strictatime", MS_STRICTATIME, 0 },
    { "lazytime", MS_LAZYTIME, 0 }, { "defaults", 0, 0 },
  };
  CLEANUP_FREE char *copy = strdup (options);
  char *opt, *save = NULL;
  size_t dl = 0, i;

  *flags = MS_NOSUID | MS_NODEV;
  *data = calloc (1, strlen (options) + 1);
  if (copy == NULL || *data == NULL)
    return -1;
  for (opt = strtok_r (copy, ",", &save); opt;
       opt = strtok_r (NULL, ",", &save)) {
    bool known = false;
    for (i = 0; i < sizeof opts / sizeof opts[0]; ++i)
      if (strcmp (opt, opts[i].name) == 0) {
        *flags = (*flags | opts[i].set) & ~opts[i].clear;
        known = true;
        break;
      }
    if (!known) {
      if (dl)
        (*data)[dl++] = ',';
      strcpy (*data + dl, opt);
      dl += strlen (opt);
    }
  }
  return 0;
}

static const char *
explain_mount_error (int err)
{
  switch (err) {
  case EINVAL: return "wrong fs type or bad superblock";
  case ENODEV: return "unknown filesystem type";
  case EBUSY: return "already mounted or busy";
  case ENOTBLK: return "not a block device";
  case EACCES: case EROFS: return "device is write-protected";
  case EUCLEAN: return "filesystem is corrupt";
  default: return "cannot mount";
  }
}

/* "btrfsvol:/dev/sda3/root" (a btrfs subvolume, as libguestfs and
 * inspection name them): the kernel name of the device ("/dev/sda3",
 * or a logical volume "/dev/VG/LV") in *KDEV and the subvolume in
 * *SUBVOL, both malloc'd.  -1 if it names no device. */
static int
btrfsvol_split (const char *name, char **kdev, char **subvol)
{
  const char *p = name + strlen ("btrfsvol:");
  const char *slash;

  *kdev = *subvol = NULL;
  if (strncmp (p, "/dev/", 5) != 0)
    return -1;
  for (slash = strchr (p + 5, '/'); slash; slash = strchr (slash + 1, '/')) {
    CLEANUP_FREE char *dev = strndup (p, slash - p);
    struct stat st;

    if (dev == NULL)
      return -1;
    *kdev = device_user_to_kernel (dev);
    if (*kdev && stat (*kdev, &st) == 0 && S_ISBLK (st.st_mode))
      break;
    free (*kdev);
    *kdev = NULL;
  }
  while (slash && *slash == '/')
    slash++;
  if (*kdev == NULL || slash == NULL || *slash == '\0' ||
      strchr (slash, ',') != NULL) {
    free (*kdev);
    *kdev = NULL;
    return -1;
  }
  *subvol = strdup (slash);
  if (*subvol == NULL) {
    free (*kdev);
    *kdev = NULL;
    return -1;
  }
  return 0;
}

static int
mount_int (const char *device, const char *mountpoint, const char *options,
           const char *fstype_arg, const char *procname)
{
  CLEANUP_FREE char *kdev = NULL;
  CLEANUP_FREE char *fstype = NULL;
  CLEANUP_FREE char *data = NULL;
  CLEANUP_FREE char *subvol = NULL;
  CLEANUP_CLOSE int mpfd = -1;
  char target[PATH_MAX], real[PATH_MAX];
  unsigned long flags;
  struct stat st;
  int root;

  if (!appliance_mode) {
    reply_with_error_errno (EPERM, "%s: refusing to mount in host mode "
                            "(only the appliance mounts filesystems)",
                            procname);
    return -1;
  }
  if (check_path (mountpoint) == -1)
    return -1;
  if (nr_mounts >= MAX_MOUNTS) {
    reply_with_error_errno (EMFILE, "%s: too many mounts", procname);
    return -1;
  }
  devices_rescan ();
  if (strncmp (device, "btrfsvol:", 9) == 0) {
    if (btrfsvol_split (device, &kdev, &subvol) == -1) {
      reply_with_error_errno (ENOENT, "%s: %s: no such btrfs subvolume "
                              "(expected btrfsvol:DEVICE/SUBVOLUME)",
                              procname, device);
      return -1;
    }
    if (fstype_arg && fstype_arg[0] && strcmp (fstype_arg, "btrfs") != 0) {
      reply_with_error_errno (EINVAL, "%s: %s: a btrfs subvolume cannot "
                              "be mounted as %s", procname, device,
                              fstype_arg);
      return -1;
    }
    fstype_arg = "btrfs";
  }
  else {
    kdev = device_user_to_kernel (device);
    if (kdev == NULL || stat (kdev, &st) == -1 || !S_ISBLK (st.st_mode)) {
      reply_with_error_errno (ENOENT, "%s: %s: no such device", procname,
                              device);
      return -1;
    }
  }
  if (fstype_arg && fstype_arg[0])
    fstype = strdup (fstype_arg);
  else {
    fstype = probe_fstype (kdev);
    if (fstype == NULL) {
      reply_with_error_errno (EINVAL, "%s: %s: cannot determine the "
                              "filesystem type (no filesystem found)",
                              procname, device);
      return -1;
    }
  }
  if (fstype == NULL) {
    reply_with_perror ("strdup");
    return -1;
  }
  load_fs_modules (fstype);

  if (parse_options (options ? options : "", &flags, &data) == -1) {
    reply_with_perror ("%s: options", procname);
    return -1;
  }
  if (subvol) {
    char *d;
    if (asprintf (&d, "%s%ssubvol=%s", data, data[0] ? "," : "",
                  subvol) == -1) {
      reply_with_perror ("%s: options", procname);
      return -1;
    }
    free (data);
    data = d;
  }

  if (strcmp (mountpoint, "/") == 0) {
    size_t i;
    for (i = 0; i < nr_mounts; ++i)
      if (strcmp (mounts[i], sysroot) == 0) {
        reply_with_error_errno (EBUSY, "%s: %s on /: something is already "
                                "mounted on /", procname, device);
        return -1;
      }
    snprintf (target, sizeof target, "%s", sysroot);
    snprintf (real, sizeof real, "%s", sysroot);
  }
  else {
    ssize_t r;
    root = sysroot_fd ();
    if (root == -1) {
      reply_with_perror ("%s: sysroot %s", procname, sysroot);
      return -1;
    }
    mpfd = open_in_root (root, mountpoint, O_PATH | O_DIRECTORY, 0);
    if (mpfd == -1) {
      reply_with_perror ("%s: mountpoint %s", procname, mountpoint);
      return -1;
    }
    snprintf (target, sizeof target, "/proc/self/fd/%d", mpfd);
    r = readlink (target, real, sizeof real - 1);
    if (r <= 0) {
      reply_with_perror ("%s: mountpoint %s", procname, mountpoint);
      return -1;
    }
    real[r] = '\0';
  }

  if (strcmp (fstype, "ntfs") == 0 || strcmp (fstype, "ntfs-3g") == 0) {
    CLEANUP_FREE char *err = NULL;
    char opts[1024];
    const char *argv[8];
    int r;

    snprintf (opts, sizeof opts, "%s%s%s",
              (flags & MS_RDONLY) ? "ro" : "rw", data[0] ? "," : "", data);
    argv[0] = "ntfs-3g";
    argv[1] = "-o";
    argv[2] = opts;
    argv[3] = kdev;
    argv[4] = real;
    argv[5] = NULL;
    r = run_command (&err, argv);
    if (r != 0) {
      if (r == 127)
        reply_with_error_errno (ENOSYS, "%s: %s on %s: the ntfs-3g program "
                                "is not available in the appliance",
                                procname, device, mountpoint);
      else
        reply_with_error_errno (EINVAL, "%s: %s on %s: ntfs-3g failed: %s",
                                procname, device, mountpoint,
                                err ? err : "");
      return -1;
    }
  }
  else if (mount (kdev, target, fstype, flags, data) == -1) {
    int err = errno;
    reply_with_error_errno (err, "%s: %s on %s (%s): %s: %s", procname,
                            device, mountpoint, fstype,
                            explain_mount_error (err), strerror (err));
    return -1;
  }

  mounts[nr_mounts] = strdup (real);
  if (mounts[nr_mounts])
    nr_mounts++;
  sysroot_invalidate ();
  return 0;
}

int
do_mount (void *argsv, void *retv)
{
  gbox_mount_args *args = argsv;
  return mount_int (args->device, args->mountpoint, args->options,
                    args->fstype, "mount");
}

int
do_mount_ro (void *argsv, void *retv)
{
  gbox_mount_ro_args *args = argsv;
  return mount_int (args->device, args->mountpoint, "ro", "", "mount_ro");
}

int
mount_ro_int (const char *device, const char *mountpoint, const char *fstype)
{
  return mount_int (device, mountpoint, "ro", fstype ? fstype : "",
                    "mount_ro");
}

int
umount_all_int (void)
{
  int ret = 0;

  sync ();
  while (nr_mounts > 0) {
    char *m = mounts[--nr_mounts];
    if (umount2 (m, 0) == -1) {
      debug ("umount %s: %m (detaching it)", m);
      if (umount2 (m, MNT_DETACH) == -1) {
        reply_with_perror ("umount_all: %s", m);
        ret = -1;
      }
    }
    free (m);
  }
  sysroot_invalidate ();
  return ret;
}

int
do_umount_all (void *args, void *ret)
{
  return umount_all_int ();
}
