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
 *
 * Rows come in the order libguestfs lists filesystems: whole disks
 * without partitions, then opened encrypted devices, then partitions,
 * then md devices, then logical volumes; a btrfs filesystem is followed by one row per subvolume
 * (btrfsvol:DEVICE/PATH, by subvolume id, less the default one), whose
 * figures are those of the whole filesystem (statvfs of btrfs is
 * filesystem-wide).
 *
 * After the listing of the filesystems and before each mount, a
 * progress message (when the host asked for progress) says which disk
 * is being mounted: position 1 + its index (0: none, or not known),
 * total the number of filesystems.
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

/* libguestfs's listing order: 0 whole disks, 1 opened encrypted
 * (device-mapper) devices, 2 partitions, 3 md devices, 4 the rest
 * (logical volumes). */
static int
device_class (const char *dev)
{
  const char *p;

  if (strncmp (dev, "/dev/md", 7) == 0)
    return 3;
  if (strncmp (dev, "/dev/mapper/luks-", 17) == 0)
    return 1;
  if (strncmp (dev, "/dev/sd", 7) != 0 && strncmp (dev, "/dev/vd", 7) != 0)
    return 4;
  for (p = dev + 7; *p >= 'a' && *p <= 'z'; ++p)
    ;
  if (*p == '\0')
    return 0;
  return 2;
}

/* Append one row: DEVICE (taken), the type and uuid of F (copied). */
static gbox_df_entry *
add_row (gbox_df_ret *ret, size_t *alloc, char *device,
         const struct gbd_fs *f, int disk, const struct statvfs *sv)
{
  gbox_df_entry *e;

  if (ret->entries.entries_len >= *alloc) {
    size_t na = *alloc ? *alloc * 2 : 16;
    e = realloc (ret->entries.entries_val, na * sizeof *e);
    if (e == NULL) {
      free (device);
      return NULL;
    }
    ret->entries.entries_val = e;
    *alloc = na;
  }
  e = &ret->entries.entries_val[ret->entries.entries_len];
  memset (e, 0, sizeof *e);
  e->device = device;
  e->type = strdup (f->type);
  e->uuid = strdup (f->uuid);
  ret->entries.entries_len++;
  if (e->device == NULL || e->type == NULL || e->uuid == NULL)
    return NULL;
  e->disk = disk;
  e->st.bsize = sv->f_bsize;
  e->st.frsize = sv->f_frsize;
  e->st.blocks = sv->f_blocks;
  e->st.bfree = sv->f_bfree;
  e->st.bavail = sv->f_bavail;
  e->st.files = sv->f_files;
  e->st.ffree = sv->f_ffree;
  e->st.favail = sv->f_favail;
  e->st.fsid = sv->f_fsid;
  e->st.flag = sv->f_flag;
  e->st.namemax = sv->f_namemax;
  return e;
}

static int
disk_of (const struct gbd_fs *f)
{
  const char *base = strrchr (f->kdevice, '/');
  size_t i;

  base = base ? base + 1 : f->kdevice;
  if (strncmp (base, "dm-", 3) == 0) {
    /* An LV: the disk under its PV, which may itself be an open LUKS
     * device or an md array (LVM inside LUKS). */
    for (i = 0; i < lvm_count (); ++i)
      if (strcmp (f->device, lvm_user_name (i)) == 0)
        return lvm_slave (i) ? (int) devices_disk_of_kernel (lvm_slave (i))
          : -1;
    /* Open LUKS devices, md arrays: down their stack. */
    return (int) devices_disk_of_kernel (base);
  }
  if (strncmp (base, "md", 2) == 0)
    return (int) devices_disk_of_kernel (base);
  return (int) device_kernel_disk_index (base);
}

int
do_df (void *argsv, void *retv)
{
  gbox_df_ret *ret = retv;
  struct gbd_fs *fs;
  size_t nfs, i, alloc = 0;
  int c, disk;
  bool ok;

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
  /* The listing is done: the host's call timeout starts again. */
  notify_step (0, nfs);
  if (mkdir (DF_DIR, 0700) == -1 && errno != EEXIST) {
    reply_with_perror ("df: mkdir %s", DF_DIR);
    free_fs_list (fs, nfs);
    return -1;
  }
  for (c = 0; c < 5; ++c) {
    for (i = 0; i < nfs; ++i) {
      struct statvfs sv;
      char **vols = NULL;
      size_t nvols = 0, k;
      int r;

      if (device_class (fs[i].device) != c || never_mounted (fs[i].type))
        continue;
      /* Which disk is being mounted: the host's call timeout runs from
       * here, and if this mount hangs or kills the appliance, the host
       * knows which disk to try alone first. */
      disk = disk_of (&fs[i]);
      notify_step (disk >= 0 ? (uint64_t) disk + 1 : 0, nfs);
      if (mount_ro_private (fs[i].kdevice, fs[i].type) == -1)
        continue;
      r = statvfs (DF_DIR, &sv);
      if (r == -1)
        debug ("df: statvfs %s: %m", fs[i].device);
      if (r == 0 && strcmp (fs[i].type, "btrfs") == 0) {
        int fd = open (DF_DIR, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd == -1 || btrfs_list_volumes (fd, &vols, &nvols) == -1) {
          debug ("df: %s: btrfs subvolumes: %m", fs[i].device);
          vols = NULL;
          nvols = 0;
        }
        if (fd >= 0)
          close (fd);
      }
      if (umount2 (DF_DIR, 0) == -1 && umount2 (DF_DIR, MNT_DETACH) == -1) {
        reply_with_perror ("df: umount %s", fs[i].device);
        if (vols)
          free_strings (vols);
        free_fs_list (fs, nfs);
        return -1;
      }
      if (r == -1)
        continue;
      ok = add_row (ret, &alloc, strdup (fs[i].device), &fs[i], disk,
                    &sv) != NULL;
      for (k = 0; ok && k < nvols; ++k) {
        char *name;
        if (asprintf (&name, "btrfsvol:%s/%s", fs[i].device, vols[k]) == -1)
          ok = false;
        else if (strlen (name) >= GBOX_PATH_MAX)
          free (name);
        else
          ok = add_row (ret, &alloc, name, &fs[i], disk, &sv) != NULL;
      }
      if (vols)
        free_strings (vols);
      if (!ok) {
        reply_with_perror ("df");
        free_fs_list (fs, nfs);
        return -1;
      }
    }
  }
  free_fs_list (fs, nfs);
  return 0;
}
