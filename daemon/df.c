/* guestbox - df: free space of every filesystem in one call.
 * Copyright (C) 2026 the guestbox authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

/**
 * The df procedure behind virt-df: every filesystem of every disk,
 * partition and logical volume is mounted read-only in turn on a
 * private directory outside the sysroot, statvfs'd and unmounted, and
 * the results come back in one reply, each with the index of the disk
 * holding it so that one appliance can audit many separate images.
 * Swap, LVM physical volumes, RAID members, encrypted volumes and
 * unknown contents are never mounted; a filesystem that fails to mount
 * is left out (as the libguestfs virt-df does).
 */

#include <config.h>

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>

#include "daemon.h"

#define DF_DIR "/run/gbox-df"

static bool
never_mounted (const char *type)
{
  static const char *const skip[] = {
    "swap", "unknown", "LVM2_member", "linux_raid_member", "crypto_LUKS",
    "BitLocker", "zfs_member", "VMFS_volume_member", "ddf_raid_member",
    "isw_raid_member", "drbd", NULL
  };
  size_t i;

  for (i = 0; skip[i]; ++i)
    if (strcmp (type, skip[i]) == 0)
      return true;
  return false;
}

/* Mount KDEV (TYPE) read-only on DF_DIR.  0 or -1 (not mountable). */
static int
mount_ro_private (const char *kdev, const char *type)
{
  load_fs_modules (type);
  if (strcmp (type, "ntfs") == 0) {
    CLEANUP_FREE char *err = NULL;
    const char *argv[] = { "ntfs-3g", "-o", "ro", kdev, DF_DIR, NULL };
    int r = run_command (&err, argv);

    if (r != 0)
      debug ("df: ntfs-3g %s: status %d: %s", kdev, r, err ? err : "");
    return r == 0 ? 0 : -1;
  }
  if (mount (kdev, DF_DIR, type, MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC,
             "") == -1) {
    debug ("df: mount %s (%s): %m", kdev, type);
    return -1;
  }
  return 0;
}

static int
disk_of (const struct gbd_fs *f)
{
  const char *base = strrchr (f->kdevice, '/');
  size_t i;

  base = base ? base + 1 : f->kdevice;
  if (strncmp (base, "dm-", 3) == 0) {
    for (i = 0; i < lvm_count (); ++i)
      if (strcmp (f->device, lvm_user_name (i)) == 0)
        return (int) device_kernel_disk_index (lvm_slave (i));
    return -1;
  }
  return (int) device_kernel_disk_index (base);
}

int
do_df (void *argsv, void *retv)
{
  gbox_df_ret *ret = retv;
  struct gbd_fs *fs;
  size_t nfs, i, n = 0;

  if (!appliance_mode) {
    reply_with_error_errno (EPERM, "df: refusing to mount in host mode "
                            "(only the appliance mounts filesystems)");
    return -1;
  }
  if (devices_rescan () == -1) {
    reply_with_perror ("df: /sys/block");
    return -1;
  }
  fs = devices_list_filesystems (&nfs);
  if (fs == NULL) {
    reply_with_perror ("df: list_filesystems");
    return -1;
  }
  if (mkdir (DF_DIR, 0700) == -1 && errno != EEXIST) {
    reply_with_perror ("df: mkdir %s", DF_DIR);
    free_fs_list (fs, nfs);
    return -1;
  }
  ret->entries.entries_val = calloc (nfs + 1, sizeof (gbox_df_entry));
  if (ret->entries.entries_val == NULL) {
    reply_with_perror ("calloc");
    free_fs_list (fs, nfs);
    return -1;
  }

  for (i = 0; i < nfs; ++i) {
    gbox_df_entry *e = &ret->entries.entries_val[n];
    struct statvfs sv;
    int r;

    if (never_mounted (fs[i].type) || mount_ro_private (fs[i].kdevice,
                                                        fs[i].type) == -1)
      continue;
    r = statvfs (DF_DIR, &sv);
    if (r == -1)
      debug ("df: statvfs %s: %m", fs[i].device);
    if (umount2 (DF_DIR, 0) == -1 && umount2 (DF_DIR, MNT_DETACH) == -1) {
      reply_with_perror ("df: umount %s", fs[i].device);
      free_fs_list (fs, nfs);
      return -1;
    }
    if (r == -1)
      continue;
    e->disk = disk_of (&fs[i]);
    e->device = fs[i].device; fs[i].device = NULL;
    e->type = fs[i].type; fs[i].type = NULL;
    e->uuid = fs[i].uuid; fs[i].uuid = NULL;
    e->st.bsize = sv.f_bsize;
    e->st.frsize = sv.f_frsize;
    e->st.blocks = sv.f_blocks;
    e->st.bfree = sv.f_bfree;
    e->st.bavail = sv.f_bavail;
    e->st.files = sv.f_files;
    e->st.ffree = sv.f_ffree;
    e->st.favail = sv.f_favail;
    e->st.fsid = sv.f_fsid;
    e->st.flag = sv.f_flag;
    e->st.namemax = sv.f_namemax;
    ret->entries.entries_len = ++n;
  }
  free_fs_list (fs, nfs);
  return 0;
}
