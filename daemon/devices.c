/* guestbox - devices: the name map, listing and probing.
 * Copyright (C) 2026 the guestbox authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

/**
 * User disks are SCSI disks hot-added on the virtio-scsi controller with
 * scsi-id = drive index.  The kernel's sdX names may come in another
 * order, so the disks in /sys/block are sorted by their SCSI address
 * (H:C:T:L, the last component of /sys/block/sdX/device) and shown to
 * the user as /dev/sda, /dev/sdb, ... in that order; partitions keep
 * their number.  Every device name crossing the protocol is translated
 * here.  Also list_devices, list_partitions, list_filesystems (libblkid)
 * and disks_ready.
 *
 * In host mode (tests) no host device is ever listed or probed: the map
 * is only built in the appliance, or on a fake sysfs tree set by a test
 * with devices_set_roots.
 */

#include <config.h>

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <poll.h>
#include <string.h>
#include <time.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <linux/netlink.h>
#include <blkid.h>

#include "daemon.h"

#define MAX_DISKS 1024

static const char *sysfs_root = "/sys";
static const char *dev_root = "/dev";
static bool roots_set_by_test = false;

struct disk {
  char kname[32];                /* "sdc" */
  char uname[32];               /* "sda" */
  unsigned h, c, t, l;
};
static struct disk disks[MAX_DISKS];
static size_t nr_disks;

void
devices_set_roots (const char *sysfs, const char *dev)
{
  sysfs_root = sysfs;
  dev_root = dev;
  roots_set_by_test = true;
  lvm_set_roots (sysfs, dev);
}

void
disk_index_to_name (size_t i, char *buf, size_t len)
{
  char tmp[16];
  size_t n = 0, j;

  /* Like the kernel: a..z, aa..az, ba.. */
  tmp[n++] = 'a' + i % 26;
  i /= 26;
  while (i > 0 && n < sizeof tmp) {
    i--;
    tmp[n++] = 'a' + i % 26;
    i /= 26;
  }
  if (len < 3 + n) {
    if (len)
      buf[0] = '\0';
    return;
  }
  buf[0] = 's';
  buf[1] = 'd';
  for (j = 0; j < n; ++j)
    buf[2 + j] = tmp[n - 1 - j];
  buf[2 + n] = '\0';
}

/* "sdaa" -> 26, or -1. */
static ssize_t
disk_name_to_index (const char *letters, size_t n)
{
  ssize_t idx = 0;
  size_t i;

  if (n == 0 || n > 4)
    return -1;
  for (i = 0; i < n; ++i) {
    if (letters[i] < 'a' || letters[i] > 'z')
      return -1;
    idx = idx * 26 + (letters[i] - 'a' + 1);
  }
  return idx - 1;
}

static int
compare_disks (const void *av, const void *bv)
{
  const struct disk *a = av, *b = bv;

  if (a->h != b->h) return a->h < b->h ? -1 : 1;
  if (a->c != b->c) return a->c < b->c ? -1 : 1;
  if (a->t != b->t) return a->t < b->t ? -1 : 1;
  if (a->l != b->l) return a->l < b->l ? -1 : 1;
  return strcmp (a->kname, b->kname);
}

static bool
all_digits (const char *s)
{
  if (*s == '\0')
    return false;
  for (; *s; ++s)
    if (!isdigit ((unsigned char) *s))
      return false;
  return true;
}

int
devices_rescan (void)
{
  char path[PATH_MAX];
  DIR *dir;
  struct dirent *d;
  size_t i;

  nr_disks = 0;
  if (!appliance_mode && !roots_set_by_test)
    return 0;

  snprintf (path, sizeof path, "%s/block", sysfs_root);
  dir = opendir (path);
  if (dir == NULL)
    return -1;
  while ((d = readdir (dir)) != NULL && nr_disks < MAX_DISKS) {
    char link[PATH_MAX], lpath[PATH_MAX];
    const char *base;
    struct disk *k;
    ssize_t r;
    char extra;

    if (strncmp (d->d_name, "sd", 2) != 0 ||
        strlen (d->d_name) >= sizeof k->kname)
      continue;
    snprintf (lpath, sizeof lpath, "%s/block/%s/device",
              sysfs_root, d->d_name);
    r = readlink (lpath, link, sizeof link - 1);
    if (r <= 0)
      continue;
    link[r] = '\0';
    base = strrchr (link, '/');
    base = base ? base + 1 : link;
    k = &disks[nr_disks];
    if (sscanf (base, "%u:%u:%u:%u%c", &k->h, &k->c, &k->t, &k->l,
                &extra) != 4)
      continue;
    snprintf (k->kname, sizeof k->kname, "%.31s", d->d_name);
    nr_disks++;
  }
  closedir (dir);

  qsort (disks, nr_disks, sizeof disks[0], compare_disks);
  for (i = 0; i < nr_disks; ++i)
    disk_index_to_name (i, disks[i].uname, sizeof disks[i].uname);
  return 0;
}

size_t
devices_count (void)
{
  return nr_disks;
}

const char *
devices_user_disk (size_t i)
{
  return i < nr_disks ? disks[i].uname : NULL;
}

const char *
devices_kernel_disk (size_t i)
{
  return i < nr_disks ? disks[i].kname : NULL;
}

/* The kernel names of the current disks, as one string ("sda,sdb,"),
 * to tell whether md, LVM or LDM were set up for the same disks. */
void
devices_signature (char *sig, size_t size)
{
  size_t i, len = 0;

  sig[0] = '\0';
  for (i = 0; i < devices_count () && len < size - 40; ++i)
    len += snprintf (sig + len, size - len, "%s,", devices_kernel_disk (i));
}

char *
device_user_to_kernel (const char *user)
{
  const char *p, *q;
  ssize_t idx;
  char *ret;

  if (strncmp (user, "/dev/sd", 7) != 0) {
    /* /dev/mdN (md.c), once assembled. */
    if (strncmp (user, "/dev/md", 7) == 0 && isdigit ((unsigned char) user[7])) {
      devices_activate_lvm ();
      return md_user_to_kernel (user);
    }
    /* /dev/VG/LV or /dev/mapper/VG-LV (lvm.c), once activated, or
     * another /dev/mapper/NAME (luks.c). */
    if (strchr (user + (strncmp (user, "/dev/", 5) == 0 ? 5 : 0), '/')) {
      devices_activate_lvm ();
      ret = lvm_user_to_kernel (user);
      if (ret == NULL && strncmp (user, "/dev/mapper/", 12) == 0)
        ret = dm_other_user_to_kernel (user);
      return ret;
    }
    goto notfound;
  }
  p = user + 7;
  for (q = p; *q >= 'a' && *q <= 'z'; ++q)
    ;
  idx = disk_name_to_index (p, q - p);
  if (idx < 0 || (size_t) idx >= nr_disks)
    goto notfound;
  if (*q != '\0' && !all_digits (q))
    goto notfound;
  if (asprintf (&ret, "%s/%s%s", dev_root, disks[idx].kname, q) == -1)
    return NULL;
  return ret;

 notfound:
  errno = ENOENT;
  return NULL;
}

char *
device_kernel_to_user (const char *kernel)
{
  const char *name = kernel;
  size_t i, dl = strlen (dev_root);
  char *ret;

  if (strncmp (name, dev_root, dl) == 0 && name[dl] == '/')
    name += dl + 1;
  else if (strncmp (name, "/dev/", 5) == 0)
    name += 5;
  for (i = 0; i < nr_disks; ++i) {
    size_t kl = strlen (disks[i].kname);
    if (strncmp (name, disks[i].kname, kl) == 0 &&
        (name[kl] == '\0' || all_digits (name + kl))) {
      if (asprintf (&ret, "/dev/%s%s", disks[i].uname, name + kl) == -1)
        return NULL;
      return ret;
    }
  }
  if (strncmp (name, "dm-", 3) == 0) {
    ret = lvm_kernel_to_user (name);
    return ret ? ret : dm_other_kernel_to_user (name);
  }
  if (strncmp (name, "md", 2) == 0 && all_digits (name + 2)) {
    CLEANUP_FREE char *user = NULL;
    CLEANUP_FREE char *k = NULL;
    if (asprintf (&user, "/dev/%s", name) == -1)
      return NULL;
    k = md_user_to_kernel (user);
    return k ? strdup (user) : NULL;
  }
  errno = ENOENT;
  return NULL;
}

/* PATH (a small sysfs attribute) into BUF, without the trailing
 * newline or spaces; -1 if it cannot be opened. */
int
sysfs_read_attr (const char *path, char *buf, size_t len)
{
  FILE *fp = fopen (path, "re");
  size_t n;

  if (fp == NULL)
    return -1;
  n = fread (buf, 1, len - 1, fp);
  fclose (fp);
  buf[n] = '\0';
  while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == ' '))
    buf[--n] = '\0';
  return 0;
}

ssize_t
devices_disk_of_kernel (const char *kname)
{
  char path[PATH_MAX], name[64];
  int depth;

  snprintf (name, sizeof name, "%s", kname);
  /* Down the stack (crypt on LV on md on a partition...) to a disk. */
  for (depth = 0; depth < 8; ++depth) {
    ssize_t i = device_kernel_disk_index (name);
    DIR *dir;
    struct dirent *d;
    char next[64] = "";

    if (i >= 0)
      return i;
    snprintf (path, sizeof path, "%s/class/block/%s/slaves", sysfs_root,
              name);
    dir = opendir (path);
    if (dir == NULL)
      return -1;
    while ((d = readdir (dir)) != NULL) {
      if (d->d_name[0] == '.' || strlen (d->d_name) >= sizeof next)
        continue;
      /* The smallest name: a stable choice. */
      if (next[0] == '\0' || strcmp (d->d_name, next) < 0)
        snprintf (next, sizeof next, "%s", d->d_name);
    }
    closedir (dir);
    if (next[0] == '\0')
      return -1;
    snprintf (name, sizeof name, "%s", next);
  }
  return -1;
}

ssize_t
device_kernel_disk_index (const char *kname)
{
  size_t i;

  for (i = 0; i < nr_disks; ++i) {
    size_t kl = strlen (disks[i].kname);
    if (strncmp (kname, disks[i].kname, kl) == 0 &&
        (kname[kl] == '\0' || all_digits (kname + kl)))
      return i;
  }
  return -1;
}

/* Partition numbers of disk I (from /sys/block/sdX/sdXN), sorted. */
static size_t
disk_partitions (size_t i, unsigned *nums, size_t max)
{
  char path[PATH_MAX];
  DIR *dir;
  struct dirent *d;
  size_t n = 0, kl = strlen (disks[i].kname), a, b;

  snprintf (path, sizeof path, "%s/block/%.31s", sysfs_root, disks[i].kname);
  dir = opendir (path);
  if (dir == NULL)
    return 0;
  while ((d = readdir (dir)) != NULL && n < max) {
    unsigned long num;

    if (strncmp (d->d_name, disks[i].kname, kl) != 0 ||
        !all_digits (d->d_name + kl) || strlen (d->d_name + kl) > 6)
      continue;
    num = strtoul (d->d_name + kl, NULL, 10);
    if (num == 0)
      continue;
    nums[n++] = num;
  }
  closedir (dir);
  /* Insertion sort: the lists are short. */
  for (a = 1; a < n; ++a)
    for (b = a; b > 0 && nums[b - 1] > nums[b]; --b) {
      unsigned t = nums[b];
      nums[b] = nums[b - 1];
      nums[b - 1] = t;
    }
  return n;
}

#define MAX_PARTS 256

char **
devices_list_partitions (void)
{
  char **list = NULL;
  size_t n = 0, i, j;

  if (add_string_nodup (&list, &n, NULL) == -1)
    return NULL;
  n = 0;
  for (i = 0; i < nr_disks; ++i) {
    unsigned nums[MAX_PARTS];
    size_t np = disk_partitions (i, nums, MAX_PARTS);

    for (j = 0; j < np; ++j) {
      char *s;
      if (asprintf (&s, "/dev/%s%u", disks[i].uname, nums[j]) == -1 ||
          add_string_nodup (&list, &n, s) == -1) {
        free_strings (list);
        return NULL;
      }
    }
  }
  return list;
}

static char *
xstrdup_or_empty (const char *s)
{
  char buf[GBOX_NAME_MAX];

  /* Bounded by protocol.x (string<GBOX_NAME_MAX>). */
  snprintf (buf, sizeof buf, "%s", s ? s : "");
  return strdup (buf);
}

char *
probe_fstype (const char *kdevice)
{
  blkid_probe pr;
  const char *type = NULL;
  char *ret = NULL;

  pr = blkid_new_probe_from_filename (kdevice);
  if (pr == NULL)
    return NULL;
  blkid_probe_enable_superblocks (pr, 1);
  blkid_probe_set_superblocks_flags (pr, BLKID_SUBLKS_TYPE);
  if (blkid_do_safeprobe (pr) == 0 &&
      blkid_probe_lookup_value (pr, "TYPE", &type, NULL) == 0)
    ret = strdup (type);
  blkid_free_probe (pr);
  return ret;
}

static int
probe_one (const char *user, const char *kdevice, struct gbd_fs *fs)
{
  blkid_probe pr;
  const char *type = NULL, *label = NULL, *uuid = NULL;
  const char *partuuid = NULL, *partlabel = NULL;

  memset (fs, 0, sizeof *fs);
  pr = blkid_new_probe_from_filename (kdevice);
  if (pr) {
    blkid_probe_enable_superblocks (pr, 1);
    blkid_probe_set_superblocks_flags (pr, BLKID_SUBLKS_TYPE |
                                       BLKID_SUBLKS_LABEL |
                                       BLKID_SUBLKS_UUID);
    blkid_probe_enable_partitions (pr, 1);
    blkid_probe_set_partitions_flags (pr, BLKID_PARTS_ENTRY_DETAILS);
    if (blkid_do_safeprobe (pr) == 0) {
      blkid_probe_lookup_value (pr, "TYPE", &type, NULL);
      blkid_probe_lookup_value (pr, "LABEL", &label, NULL);
      blkid_probe_lookup_value (pr, "UUID", &uuid, NULL);
      blkid_probe_lookup_value (pr, "PART_ENTRY_UUID", &partuuid, NULL);
      blkid_probe_lookup_value (pr, "PART_ENTRY_NAME", &partlabel, NULL);
    }
  }
  fs->device = strdup (user);
  fs->kdevice = strdup (kdevice);
  fs->type = xstrdup_or_empty (type ? type : "unknown");
  fs->label = xstrdup_or_empty (label);
  fs->uuid = xstrdup_or_empty (uuid);
  fs->partuuid = xstrdup_or_empty (partuuid);
  fs->partlabel = xstrdup_or_empty (partlabel);
  if (pr)
    blkid_free_probe (pr);
  if (!fs->device || !fs->kdevice || !fs->type || !fs->label || !fs->uuid ||
      !fs->partuuid || !fs->partlabel)
    return -1;
  return 0;
}

/* Partition numbers of extended (container) partitions of a disk. */
static size_t
extended_partitions (const char *kdisk, unsigned *nums, size_t max)
{
  blkid_probe pr;
  blkid_partlist pl;
  size_t n = 0;
  int i, np;

  pr = blkid_new_probe_from_filename (kdisk);
  if (pr == NULL)
    return 0;
  pl = blkid_probe_get_partitions (pr);
  if (pl) {
    np = blkid_partlist_numof_partitions (pl);
    for (i = 0; i < np && n < max; ++i) {
      blkid_partition par = blkid_partlist_get_partition (pl, i);
      if (par && blkid_partition_is_extended (par))
        nums[n++] = blkid_partition_get_partno (par);
    }
  }
  blkid_free_probe (pr);
  return n;
}

void
free_fs_list (struct gbd_fs *fs, size_t n)
{
  size_t i;

  if (fs == NULL)
    return;
  for (i = 0; i < n; ++i) {
    free (fs[i].device);
    free (fs[i].kdevice);
    free (fs[i].type);
    free (fs[i].label);
    free (fs[i].uuid);
    free (fs[i].partuuid);
    free (fs[i].partlabel);
  }
  free (fs);
}

/* Append the probe of USER (kernel device KDEV) to *FS. */
static int
append_fs (struct gbd_fs **fs, size_t *n, const char *user, const char *kdev)
{
  struct gbd_fs *nfs = realloc (*fs, (*n + 1) * sizeof **fs);

  if (nfs == NULL)
    return -1;
  *fs = nfs;
  if (probe_one (user, kdev, &nfs[*n]) == -1) {
    (*n)++;
    return -1;
  }
  (*n)++;
  return 0;
}

/* Whether the block device KNAME ("dm-2", "md127") has partitions. */
static bool
is_partitioned (const char *kname)
{
  char path[PATH_MAX];
  DIR *dir;
  struct dirent *d;
  size_t kl = strlen (kname);
  bool r = false;

  snprintf (path, sizeof path, "%s/block/%s", sysfs_root, kname);
  dir = opendir (path);
  if (dir == NULL)
    return false;
  while ((d = readdir (dir)) != NULL)
    if (strncmp (d->d_name, kname, kl) == 0)
      r = true;
  closedir (dir);
  return r;
}

#define STACK_MAX 256

/* In the order of the libguestfs list_filesystems: whole disks without
 * partitions, device-mapper devices that are not LVs (open LUKS
 * devices), partitions (not extended ones), md arrays, logical
 * volumes.  Containers (LVM2_member, linux_raid_member, crypto_LUKS)
 * stay in the list with their type, which nothing mounts. */
struct gbd_fs *
devices_list_filesystems (size_t *np)
{
  struct gbd_fs *fs = NULL;
  size_t n = 0, i, j, k, nd, nm;
  struct dm_other *dm = NULL;
  char (*md)[32] = NULL;

  *np = 0;
  fs = calloc (1, sizeof *fs);
  dm = calloc (STACK_MAX, sizeof *dm);
  md = calloc (STACK_MAX, sizeof *md);
  if (fs == NULL || dm == NULL || md == NULL)
    goto error;
  /* md arrays and LVM (and LVM inside opened LUKS devices). */
  devices_activate_lvm ();

  for (i = 0; i < nr_disks; ++i) {
    unsigned nums[MAX_PARTS];
    char user[64], kdev[PATH_MAX];

    if (disk_partitions (i, nums, MAX_PARTS) > 0)
      continue;
    snprintf (user, sizeof user, "/dev/%s", disks[i].uname);
    snprintf (kdev, sizeof kdev, "%s/%.31s", dev_root, disks[i].kname);
    if (append_fs (&fs, &n, user, kdev) == -1)
      goto error;
  }
  nd = dm_other_list (dm, STACK_MAX);
  for (i = 0; i < nd; ++i) {
    char user[160], kdev[PATH_MAX];

    if (is_partitioned (dm[i].kname))
      continue;
    snprintf (user, sizeof user, "/dev/mapper/%s", dm[i].name);
    snprintf (kdev, sizeof kdev, "%s/%s", dev_root, dm[i].kname);
    if (append_fs (&fs, &n, user, kdev) == -1)
      goto error;
  }
  for (i = 0; i < nr_disks; ++i) {
    unsigned nums[MAX_PARTS], ext[MAX_PARTS];
    size_t nparts = disk_partitions (i, nums, MAX_PARTS), next = 0;
    char kdisk[PATH_MAX];

    if (nparts == 0)
      continue;
    snprintf (kdisk, sizeof kdisk, "%s/%.31s", dev_root, disks[i].kname);
    next = extended_partitions (kdisk, ext, MAX_PARTS);
    for (j = 0; j < nparts; ++j) {
      char user[64], kdev[PATH_MAX + 16];
      bool skip = false;

      for (k = 0; k < next; ++k)
        if (ext[k] == nums[j])
          skip = true;
      if (skip || ldm_partition_is_member (kdisk, nums[j]))
        continue;
      snprintf (user, sizeof user, "/dev/%s%u", disks[i].uname, nums[j]);
      snprintf (kdev, sizeof kdev, "%s%u", kdisk, nums[j]);
      if (append_fs (&fs, &n, user, kdev) == -1)
        goto error;
    }
  }
  nm = md_list (md, STACK_MAX);
  for (i = 0; i < nm; ++i) {
    char user[64], kdev[PATH_MAX];

    if (is_partitioned (md[i]))
      continue;
    snprintf (user, sizeof user, "/dev/%s", md[i]);
    snprintf (kdev, sizeof kdev, "%s/%s", dev_root, md[i]);
    if (append_fs (&fs, &n, user, kdev) == -1)
      goto error;
  }
  for (i = 0; i < lvm_count (); ++i) {
    CLEANUP_FREE char *kdev = lvm_kernel_name (i);

    if (kdev == NULL || append_fs (&fs, &n, lvm_user_name (i), kdev) == -1)
      goto error;
  }
  free (dm);
  free (md);
  *np = n;
  return fs;

 error:
  free (dm);
  free (md);
  free_fs_list (fs, n);
  return NULL;
}

/* Whether the kernel device KDEV holds a signature of TYPE. */
static bool
has_type (const char *kdev, const char *type)
{
  CLEANUP_FREE char *t = probe_fstype (kdev);

  return t && strcmp (t, type) == 0;
}

/* Bring up the storage stack once per set of disks (md.c, ldm.c and
 * lvm.c remember): md arrays when a disk or partition is a RAID member,
 * the volumes of Windows dynamic disks when a disk's partition table
 * announces an LDM database, then LVM when a disk, partition, array or
 * device-mapper device (LDM volume, open LUKS device) is a physical
 * volume. */
void
devices_activate_lvm (void)
{
  bool have_pv = false, have_md = false, have_ldm = false;
  size_t i, j, nd, nm;
  struct dm_other dm[32];
  char md[32][32];

  if (md_is_current () && ldm_is_current () && lvm_is_current ())
    return;
  for (i = 0; i < nr_disks; ++i) {
    unsigned nums[MAX_PARTS];
    size_t np = disk_partitions (i, nums, MAX_PARTS);
    char kdisk[PATH_MAX + 16];

    snprintf (kdisk, sizeof kdisk, "%s/%.31s", dev_root, disks[i].kname);
    if (!have_ldm && ldm_disk_has_database (kdisk))
      have_ldm = true;

    for (j = 0; j <= np; ++j) {
      char kdev[PATH_MAX + 16];
      CLEANUP_FREE char *type = NULL;

      if (j == np)
        snprintf (kdev, sizeof kdev, "%s/%.31s", dev_root, disks[i].kname);
      else
        snprintf (kdev, sizeof kdev, "%s/%.31s%u", dev_root, disks[i].kname,
                  nums[j]);
      type = probe_fstype (kdev);
      if (type && strcmp (type, "LVM2_member") == 0)
        have_pv = true;
      if (type && strcmp (type, "linux_raid_member") == 0)
        have_md = true;
    }
  }
  md_assemble (have_md);
  /* Windows dynamic disks' volumes (ldm.c), which may hold PVs too. */
  ldm_create (have_ldm);
  if (lvm_is_current ())
    return;
  nm = md_list (md, 32);
  for (i = 0; i < nm && !have_pv; ++i) {
    char kdev[PATH_MAX];
    snprintf (kdev, sizeof kdev, "%s/%s", dev_root, md[i]);
    have_pv = has_type (kdev, "LVM2_member");
  }
  nd = dm_other_list (dm, 32);
  for (i = 0; i < nd && !have_pv; ++i) {
    char kdev[PATH_MAX];
    snprintf (kdev, sizeof kdev, "%s/%s", dev_root, dm[i].kname);
    have_pv = has_type (kdev, "LVM2_member");
  }
  lvm_activate (have_pv);
}

/* Procedures. */

static int
rescan_or_error (const char *what)
{
  if (devices_rescan () == -1) {
    reply_with_perror ("%s: %s/block", what, sysfs_root);
    return -1;
  }
  return 0;
}

/* Hot-added disks are only complete when the kernel announces them: it
 * creates /dev/sdX first, scans the partition table, and sends the
 * disk's "add" uevent after all its partitions exist (device_add_disk).
 * Waiting for /dev nodes alone races with that scan, so in the
 * appliance the daemon listens to kernel uevents from start-up (the
 * socket survives a snapshot) and a disk counts only once announced. */
static int uevent_fd = -1;
#define MAX_ANNOUNCED 512
static char announced[MAX_ANNOUNCED][32];
static size_t nr_announced;

void
devices_uevent_open (void)
{
  struct sockaddr_nl addr;
  int fd;

  fd = socket (AF_NETLINK, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
               NETLINK_KOBJECT_UEVENT);
  if (fd == -1) {
    fprintf (stderr, "guestboxd: uevent socket: %m (disks are awaited "
             "without it)\n");
    return;
  }
  memset (&addr, 0, sizeof addr);
  addr.nl_family = AF_NETLINK;
  addr.nl_groups = 1;           /* kernel events */
  if (bind (fd, (struct sockaddr *) &addr, sizeof addr) == -1) {
    fprintf (stderr, "guestboxd: uevent bind: %m\n");
    close (fd);
    return;
  }
  uevent_fd = fd;
}

static bool
is_announced (const char *kname)
{
  size_t i;

  for (i = 0; i < nr_announced; ++i)
    if (strcmp (announced[i], kname) == 0)
      return true;
  return false;
}

/* Read the pending uevents, remembering block disks that were added. */
static void
read_uevents (void)
{
  char buf[8192];

  if (uevent_fd < 0)
    return;
  for (;;) {
    ssize_t n = recv (uevent_fd, buf, sizeof buf - 1, 0);
    const char *p, *end, *devname = NULL;
    bool add = false, block = false, disk = false;

    if (n <= 0)
      return;
    buf[n] = '\0';
    end = buf + n;
    for (p = buf; p < end; p += strlen (p) + 1) {
      if (strcmp (p, "ACTION=add") == 0)
        add = true;
      else if (strcmp (p, "SUBSYSTEM=block") == 0)
        block = true;
      else if (strcmp (p, "DEVTYPE=disk") == 0)
        disk = true;
      else if (strncmp (p, "DEVNAME=", 8) == 0)
        devname = p + 8;
    }
    if (add && block && disk && devname && strlen (devname) < 32 &&
        !is_announced (devname) && nr_announced < MAX_ANNOUNCED)
      snprintf (announced[nr_announced++], 32, "%s", devname);
  }
}

int
do_disks_ready (void *argsv, void *retv)
{
  gbox_disks_ready_args *args = argsv;
  uint64_t deadline = now_ms () + args->timeout_ms;

  if (!appliance_mode && !roots_set_by_test && args->count > 0) {
    reply_with_error_errno (ENODEV, "disks_ready: no disks in host mode");
    return -1;
  }
  for (;;) {
    size_t i, ready = 0;

    read_uevents ();
    if (devices_rescan () == 0) {
      for (i = 0; i < nr_disks; ++i) {
        char path[PATH_MAX + NAME_MAX + 2];
        unsigned nums[MAX_PARTS];
        size_t np = disk_partitions (i, nums, MAX_PARTS), j;
        struct stat st;
        bool ok;

        snprintf (path, sizeof path, "%s/%.31s", dev_root, disks[i].kname);
        ok = stat (path, &st) == 0 && S_ISBLK (st.st_mode);
        if (ok && uevent_fd >= 0)
          ok = is_announced (disks[i].kname);
        for (j = 0; ok && j < np; ++j) {
          snprintf (path, sizeof path, "%s/%.31s%u", dev_root, disks[i].kname,
                    nums[j]);
          ok = stat (path, &st) == 0 && S_ISBLK (st.st_mode);
        }
        if (ok)
          ready++;
      }
      if (ready >= args->count && nr_disks >= args->count)
        return 0;
    }
    if (now_ms () >= deadline) {
      reply_with_error_errno (ETIMEDOUT,
                              "disks_ready: timed out after %u ms waiting "
                              "for %u disks (%zu ready)",
                              args->timeout_ms, args->count, ready);
      return -1;
    }
    /* Woken by the next uevent (a disk or partition appearing), or
     * after 20 ms at most. */
    if (uevent_fd >= 0) {
      struct pollfd pfd = { .fd = uevent_fd, .events = POLLIN };
      poll (&pfd, 1, 20);
    }
    else {
      struct timespec ts = { 0, 20 * 1000000 };
      nanosleep (&ts, NULL);
    }
  }
}

int
do_list_devices (void *argsv, void *retv)
{
  gbox_list_devices_ret *ret = retv;
  size_t i;

  if (rescan_or_error ("list_devices") == -1)
    return -1;
  ret->devices.gbox_str_list_val = calloc (nr_disks + 1, sizeof (char *));
  if (ret->devices.gbox_str_list_val == NULL) {
    reply_with_perror ("calloc");
    return -1;
  }
  for (i = 0; i < nr_disks; ++i) {
    if (asprintf (&ret->devices.gbox_str_list_val[i], "/dev/%s",
                  disks[i].uname) == -1) {
      reply_with_perror ("asprintf");
      return -1;
    }
    ret->devices.gbox_str_list_len = i + 1;
  }
  return 0;
}

int
do_list_partitions (void *argsv, void *retv)
{
  gbox_list_partitions_ret *ret = retv;
  char **list;

  if (rescan_or_error ("list_partitions") == -1)
    return -1;
  list = devices_list_partitions ();
  if (list == NULL) {
    reply_with_perror ("list_partitions");
    return -1;
  }
  ret->partitions.gbox_str_list_val = list;
  ret->partitions.gbox_str_list_len = count_strings (list);
  return 0;
}

int
do_list_filesystems (void *argsv, void *retv)
{
  gbox_list_filesystems_ret *ret = retv;
  struct gbd_fs *fs;
  size_t n, i;

  if (rescan_or_error ("list_filesystems") == -1)
    return -1;
  fs = devices_list_filesystems (&n);
  if (fs == NULL) {
    reply_with_perror ("list_filesystems");
    return -1;
  }
  ret->filesystems.filesystems_val = calloc (n + 1, sizeof (gbox_filesystem));
  if (ret->filesystems.filesystems_val == NULL) {
    free_fs_list (fs, n);
    reply_with_perror ("calloc");
    return -1;
  }
  for (i = 0; i < n; ++i) {
    gbox_filesystem *g = &ret->filesystems.filesystems_val[i];
    /* Move the strings into the reply. */
    g->device = fs[i].device; fs[i].device = NULL;
    g->type = fs[i].type; fs[i].type = NULL;
    g->label = fs[i].label; fs[i].label = NULL;
    g->uuid = fs[i].uuid; fs[i].uuid = NULL;
  }
  ret->filesystems.filesystems_len = n;
  free_fs_list (fs, n);
  return 0;
}
