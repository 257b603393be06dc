/* guestbox - list_storage: the inventory behind virt-filesystems.
 * Copyright (C) 2026 the guestbox authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

/**
 * One procedure that gathers what virt-filesystems prints: the block
 * devices, the partitions (with their size, MBR type byte and disk),
 * the filesystems as list_filesystems finds them (btrfs subvolumes
 * added after their device, as "btrfsvol:DEV/PATH"), with their size
 * (statvfs of a private read-only mount when asked, else the device
 * size), and the LVM logical volumes, volume groups and physical
 * volumes with their UUIDs.  Whatever devices.c and lvm.c list shows
 * up here.
 */

#include <config.h>

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <linux/fs.h>
#include <linux/btrfs.h>
#include <linux/btrfs_tree.h>
#include <blkid.h>

#include "daemon.h"

#define STORAGE_DIR "/run/gbox-storage"

/* The size of a kernel block device, or -1. */
static int64_t
kdev_size (const char *kdev)
{
  CLEANUP_CLOSE int fd = open (kdev, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  uint64_t size;

  if (fd == -1 || ioctl (fd, BLKGETSIZE64, &size) == -1 ||
      size > (uint64_t) INT64_MAX)
    return -1;
  return (int64_t) size;
}

/* The members of a kernel device (/sys/block/KNAME/slaves) as user
 * names, sorted: md arrays and the like.  Those without a user name
 * are left out. */
static int
slaves_of (const char *kdev, gbox_path **vp, u_int *np)
{
  const char *base = strrchr (kdev, '/');
  char path[PATH_MAX];
  CLEANUP_FREE_STRING_LIST char **names = NULL;
  size_t n = 0, i;
  DIR *dir;
  struct dirent *d;

  *vp = NULL;
  *np = 0;
  base = base ? base + 1 : kdev;
  if (strncmp (base, "dm-", 3) == 0)
    return 0;                   /* an LV: its VG is its parent */
  snprintf (path, sizeof path, "/sys/block/%.64s/slaves", base);
  dir = opendir (path);
  if (dir == NULL)
    return 0;
  while ((d = readdir (dir)) != NULL && n < 64) {
    char k[300];
    char *u;

    if (d->d_name[0] == '.')
      continue;
    snprintf (k, sizeof k, "/dev/%.255s", d->d_name);
    u = device_kernel_to_user (k);
    if (u && add_string_nodup (&names, &n, u) == -1) {
      free (u);
      closedir (dir);
      return -1;
    }
  }
  closedir (dir);
  if (n == 0)
    return 0;
  qsort (names, n, sizeof *names, compare_strings);
  *vp = calloc (n, sizeof (gbox_path));
  if (*vp == NULL)
    return -1;
  for (i = 0; i < n; ++i) {
    (*vp)[i] = names[i];
    names[i] = NULL;
  }
  *np = n;
  return 0;
}

static int
add_devices (gbox_list_storage_ret *ret)
{
  size_t i, n = devices_count ();

  if (n > GBOX_STORAGE_MAX)
    n = GBOX_STORAGE_MAX;
  ret->devices.devices_val = calloc (n + 1, sizeof (gbox_storage_device));
  if (ret->devices.devices_val == NULL)
    return -1;
  for (i = 0; i < n; ++i) {
    gbox_storage_device *d = &ret->devices.devices_val[i];
    char kdev[64];

    ret->devices.devices_len = i + 1;
    snprintf (kdev, sizeof kdev, "/dev/%.31s", devices_kernel_disk (i));
    if (asprintf (&d->name, "/dev/%s", devices_user_disk (i)) == -1) {
      d->name = NULL;
      return -1;
    }
    d->size = kdev_size (kdev);
    if (slaves_of (kdev, &d->parents.parents_val,
                   &d->parents.parents_len) == -1)
      return -1;
  }
  return 0;
}

/* The MBR type byte of partition KDEV of disk KDISK, or -1 (not MBR). */
static int
mbr_id_of (const char *kdisk, unsigned partnum)
{
  blkid_probe pr;
  blkid_partlist pl;
  int ret = -1;

  pr = blkid_new_probe_from_filename (kdisk);
  if (pr == NULL)
    return -1;
  pl = blkid_probe_get_partitions (pr);
  if (pl) {
    blkid_parttable tab = blkid_partlist_get_table (pl);
    const char *type = tab ? blkid_parttable_get_type (tab) : NULL;
    int i, np = blkid_partlist_numof_partitions (pl);

    if (type && strcmp (type, "dos") == 0)
      for (i = 0; i < np; ++i) {
        blkid_partition par = blkid_partlist_get_partition (pl, i);
        if (par && blkid_partition_get_partno (par) == (int) partnum) {
          ret = blkid_partition_get_type (par) & 0xff;
          break;
        }
      }
  }
  blkid_free_probe (pr);
  return ret;
}

static int
add_partitions (gbox_list_storage_ret *ret)
{
  CLEANUP_FREE_STRING_LIST char **parts = devices_list_partitions ();
  size_t i, n;

  if (parts == NULL)
    return -1;
  n = count_strings (parts);
  if (n > GBOX_STORAGE_MAX)
    n = GBOX_STORAGE_MAX;
  ret->partitions.partitions_val =
    calloc (n + 1, sizeof (gbox_storage_partition));
  if (ret->partitions.partitions_val == NULL)
    return -1;
  for (i = 0; i < n; ++i) {
    gbox_storage_partition *p = &ret->partitions.partitions_val[i];
    CLEANUP_FREE char *kdev = device_user_to_kernel (parts[i]);
    size_t l = strlen (parts[i]), d = l;

    ret->partitions.partitions_len = i + 1;
    while (d > 0 && isdigit ((unsigned char) parts[i][d - 1]))
      d--;
    p->name = strdup (parts[i]);
    p->parent = strndup (parts[i], d);
    if (p->name == NULL || p->parent == NULL)
      return -1;
    p->size = kdev ? kdev_size (kdev) : -1;
    p->mbr_id = -1;
    if (kdev) {
      size_t kd = strlen (kdev);
      CLEANUP_FREE char *kdisk = NULL;

      while (kd > 0 && isdigit ((unsigned char) kdev[kd - 1]))
        kd--;
      kdisk = strndup (kdev, kd);
      if (kdisk == NULL)
        return -1;
      p->mbr_id = mbr_id_of (kdisk, (unsigned) atoi (parts[i] + d));
    }
  }
  return 0;
}

static bool
never_mounted (const char *type)
{
  static const char *const skip[] = {
    "swap", "unknown", "crypto_LUKS", "BitLocker", "drbd", NULL
  };
  size_t i, l = strlen (type);

  if (l >= 7 && strcmp (type + l - 7, "_member") == 0)
    return true;
  for (i = 0; skip[i]; ++i)
    if (strcmp (type, skip[i]) == 0)
      return true;
  return false;
}

/* Mount KDEV (TYPE) read-only on STORAGE_DIR.  0 or -1. */
static int
mount_private (const char *kdev, const char *type)
{
  load_fs_modules (type);
  if (strcmp (type, "ntfs") == 0) {
    CLEANUP_FREE char *err = NULL;
    const char *argv[] = { "ntfs-3g", "-o", "ro", kdev, STORAGE_DIR, NULL };

    return run_command (&err, argv) == 0 ? 0 : -1;
  }
  /* btrfs: the top level, whatever the default subvolume is. */
  if (mount (kdev, STORAGE_DIR, type,
             MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC,
             strcmp (type, "btrfs") == 0 ? "subvolid=5" : "") == -1)
    return -1;
  return 0;
}

static void
umount_private (void)
{
  if (umount2 (STORAGE_DIR, 0) == -1)
    umount2 (STORAGE_DIR, MNT_DETACH);
}

struct subvol_id {
  uint64_t id;
  char *path;
};

static int
compare_ids (const void *a, const void *b)
{
  const struct subvol_id *x = a, *y = b;

  if (x->id != y->id)
    return x->id < y->id ? -1 : 1;
  return strcmp (x->path, y->path);
}

/* The id of the default subvolume of the btrfs filesystem of FD (the
 * "default" entry of the root tree directory), 5 (the top level) if
 * none is set. */
static uint64_t
btrfs_default_id (int fd)
{
  struct btrfs_ioctl_search_args args;
  struct btrfs_ioctl_search_key *k = &args.key;
  size_t off = 0;
  uint32_t item;

  memset (&args, 0, sizeof args);
  k->tree_id = BTRFS_ROOT_TREE_OBJECTID;
  k->min_objectid = k->max_objectid = BTRFS_ROOT_TREE_DIR_OBJECTID;
  k->min_type = k->max_type = BTRFS_DIR_ITEM_KEY;
  k->max_offset = (uint64_t) -1;
  k->max_transid = (uint64_t) -1;
  k->nr_items = 16;
  if (ioctl (fd, BTRFS_IOC_TREE_SEARCH, &args) == -1)
    return BTRFS_FS_TREE_OBJECTID;
  for (item = 0; item < k->nr_items; ++item) {
    struct btrfs_ioctl_search_header sh;
    struct btrfs_dir_item di;
    size_t nl;

    if (off + sizeof sh > sizeof args.buf)
      break;
    memcpy (&sh, args.buf + off, sizeof sh);
    off += sizeof sh;
    if (sh.len > sizeof args.buf - off)
      break;
    if (sh.len >= sizeof di) {
      memcpy (&di, args.buf + off, sizeof di);
      nl = le16toh (di.name_len);
      if (nl == 7 && nl <= sh.len - sizeof di &&
          memcmp (args.buf + off + sizeof di, "default", 7) == 0)
        return le64toh (di.location.objectid);
    }
    off += sh.len;
  }
  return BTRFS_FS_TREE_OBJECTID;
}

/* Put the subvolume PATHS of the btrfs filesystem whose top level is
 * at ROOTFD in the order of their ids (the order "btrfs subvolume
 * list" prints), leaving out the default subvolume (the device itself
 * stands for it, as libguestfs lists them).  Returns the new count. */
static size_t
sort_by_id (int rootfd, char **paths, size_t n)
{
  uint64_t def = btrfs_default_id (rootfd);
  size_t m = 0;
  CLEANUP_FREE struct subvol_id *v = calloc (n + 1, sizeof *v);
  size_t i;

  if (v == NULL)
    return n;
  for (i = 0; i < n; ++i) {
    struct btrfs_ioctl_ino_lookup_args lk;
    char p[GBOX_PATH_MAX + 2];
    CLEANUP_CLOSE int fd = -1;

    v[i].path = paths[i];
    v[i].id = UINT64_MAX;
    snprintf (p, sizeof p, "/%s", paths[i]);
    fd = open_in_root (rootfd, p, O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0);
    memset (&lk, 0, sizeof lk);
    lk.objectid = BTRFS_FIRST_FREE_OBJECTID;
    if (fd >= 0 && ioctl (fd, BTRFS_IOC_INO_LOOKUP, &lk) == 0)
      v[i].id = lk.treeid;
  }
  qsort (v, n, sizeof *v, compare_ids);
  for (i = 0; i < n; ++i) {
    if (v[i].id == def)
      free (v[i].path);
    else
      paths[m++] = v[i].path;
  }
  paths[m] = NULL;
  return m;
}

static gbox_storage_filesystem *
new_fs (gbox_list_storage_ret *ret)
{
  gbox_storage_filesystem *v;
  u_int n = ret->filesystems.filesystems_len;

  if (n >= GBOX_STORAGE_MAX) {
    errno = E2BIG;
    return NULL;
  }
  v = realloc (ret->filesystems.filesystems_val, (n + 1) * sizeof *v);
  if (v == NULL)
    return NULL;
  ret->filesystems.filesystems_val = v;
  memset (&v[n], 0, sizeof v[n]);
  ret->filesystems.filesystems_len = n + 1;
  return &v[n];
}

static int
add_filesystems (gbox_list_storage_ret *ret, bool sizes)
{
  struct gbd_fs *fs;
  size_t nfs, i, j;
  int r = -1;

  fs = devices_list_filesystems (&nfs);
  if (fs == NULL)
    return -1;
  if (mkdir (STORAGE_DIR, 0700) == -1 && errno != EEXIST)
    goto out;
  for (i = 0; i < nfs; ++i) {
    gbox_storage_filesystem *f = new_fs (ret);
    char **subvols = NULL;
    size_t nsub = 0;
    bool btrfs;

    if (f == NULL)
      goto out;
    f->name = strdup (fs[i].device);
    f->type = strdup (fs[i].type);
    f->label = strdup (fs[i].label);
    f->uuid = strdup (fs[i].uuid);
    if (!f->name || !f->type || !f->label || !f->uuid)
      goto out;
    if (slaves_of (fs[i].kdevice, &f->parents.parents_val,
                   &f->parents.parents_len) == -1)
      goto out;
    f->size = -1;
    btrfs = strcmp (fs[i].type, "btrfs") == 0;
    if ((sizes || btrfs) && appliance_mode && !never_mounted (fs[i].type) &&
        mount_private (fs[i].kdevice, fs[i].type) == 0) {
      struct statvfs sv;

      if (sizes && statvfs (STORAGE_DIR, &sv) == 0)
        f->size = (int64_t) sv.f_blocks * (int64_t) sv.f_bsize;
      if (btrfs) {
        CLEANUP_CLOSE int fd = open (STORAGE_DIR,
                                     O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd == -1 || btrfs_list_subvolumes (fd, &subvols, &nsub) == -1) {
          subvols = NULL;
          nsub = 0;
        }
        else
          nsub = sort_by_id (fd, subvols, nsub);
      }
      umount_private ();
    }
    if (sizes && f->size == -1)
      f->size = kdev_size (fs[i].kdevice);
    /* The subvolumes, after their device (size unknown, as the
     * libguestfs tool prints them). */
    for (j = 0; j < nsub; ++j) {
      gbox_storage_filesystem *s = new_fs (ret);

      if (s == NULL)
        break;
      if (asprintf (&s->name, "btrfsvol:%s/%s", fs[i].device,
                    subvols[j]) == -1) {
        s->name = NULL;
        break;
      }
      s->type = strdup ("btrfs");
      s->label = strdup (fs[i].label);
      s->uuid = strdup (fs[i].uuid);
      s->size = -1;
      if (!s->type || !s->label || !s->uuid)
        break;
    }
    free_strings (subvols);
    if (j < nsub)
      goto out;
  }
  r = 0;
 out:
  free_fs_list (fs, nfs);
  return r;
}

/* An LVM UUID without its dashes (32 characters). */
static char *
lvm_uuid (const char *s)
{
  char buf[64];
  size_t n = 0;

  for (; *s && n < sizeof buf - 1; ++s)
    if (isalnum ((unsigned char) *s))
      buf[n++] = *s;
  buf[n] = '\0';
  return strdup (buf);
}

/* Split a report line "a:b:c" (leading blanks removed) into at most
 * MAX fields. */
static size_t
split_fields (char *line, char **f, size_t max)
{
  size_t n = 0;
  char *p;

  line += strspn (line, " \t");
  while (n < max) {
    f[n++] = line;
    p = strchr (line, ':');
    if (p == NULL)
      break;
    *p = '\0';
    line = p + 1;
  }
  return n;
}

static int
compare_lvm (const void *a, const void *b)
{
  return strcmp (((const gbox_storage_lvm *) a)->name,
                 ((const gbox_storage_lvm *) b)->name);
}

static int
add_lvm (gbox_list_storage_ret *ret)
{
  static const char *const pv_args[] = {
    "--noheadings", "--nosuffix", "--units", "b", "--separator", ":",
    "-o", "pv_name,pv_size,pv_uuid,vg_name", NULL
  };
  static const char *const vg_args[] = {
    "--noheadings", "--nosuffix", "--units", "b", "--separator", ":",
    "-o", "vg_name,vg_size,vg_uuid", NULL
  };
  CLEANUP_FREE char *pvout = NULL, *vgout = NULL;
  CLEANUP_FREE char **pvvg = NULL;
  char *line, *save = NULL;
  size_t i, j, n;
  bool have_pv = false;

  n = lvm_count ();
  if (n > GBOX_STORAGE_MAX)
    n = GBOX_STORAGE_MAX;
  ret->lvs.lvs_val = calloc (n + 1, sizeof (gbox_storage_lvm));
  if (ret->lvs.lvs_val == NULL)
    return -1;
  for (i = 0; i < n; ++i) {
    gbox_storage_lvm *l = &ret->lvs.lvs_val[i];
    CLEANUP_FREE char *kdev = lvm_kernel_name (i);
    const char *base = kdev ? strrchr (kdev, '/') : NULL;
    char path[PATH_MAX], uuid[256] = "";
    const char *last;

    ret->lvs.lvs_len = i + 1;
    l->name = strdup (lvm_user_name (i));
    if (l->name == NULL)
      return -1;
    l->size = kdev ? kdev_size (kdev) : -1;
    if (base) {
      FILE *fp;
      snprintf (path, sizeof path, "/sys/block/%.64s/dm/uuid", base + 1);
      fp = fopen (path, "re");
      if (fp) {
        if (fgets (uuid, sizeof uuid, fp) == NULL)
          uuid[0] = '\0';
        fclose (fp);
      }
      uuid[strcspn (uuid, "\n")] = '\0';
    }
    /* "LVM-" + VG UUID (32) + LV UUID (32); printed as lvm prints an
     * LV UUID: 6-4-4-4-4-4-6. */
    last = strlen (uuid) == 68 ? uuid + 36 : "";
    if (last[0]) {
      if (asprintf (&l->uuid, "%.6s-%.4s-%.4s-%.4s-%.4s-%.4s-%.6s", last,
                    last + 6, last + 10, last + 14, last + 18, last + 22,
                    last + 26) == -1)
        l->uuid = NULL;
    }
    else
      l->uuid = strdup ("");
    l->parents.parents_val = calloc (1, sizeof (gbox_path));
    if (l->uuid == NULL || l->parents.parents_val == NULL)
      return -1;
    l->parents.parents_val[0] = strndup (l->name, strrchr (l->name, '/') -
                                         l->name);
    if (l->parents.parents_val[0] == NULL)
      return -1;
    l->parents.parents_len = 1;
  }

  /* No physical volume: do not run lvm at all. */
  for (i = 0; i < ret->filesystems.filesystems_len; ++i)
    if (strcmp (ret->filesystems.filesystems_val[i].type, "LVM2_member") == 0)
      have_pv = true;
  if (!have_pv || !appliance_mode) {
    ret->vgs.vgs_val = calloc (1, sizeof (gbox_storage_lvm));
    ret->pvs.pvs_val = calloc (1, sizeof (gbox_storage_lvm));
    return ret->vgs.vgs_val && ret->pvs.pvs_val ? 0 : -1;
  }

  pvout = lvm_report ("list_storage", "pvs", pv_args);
  if (pvout == NULL)
    return -2;
  vgout = lvm_report ("list_storage", "vgs", vg_args);
  if (vgout == NULL)
    return -2;

  ret->pvs.pvs_val = calloc (GBOX_STORAGE_MAX, sizeof (gbox_storage_lvm));
  pvvg = calloc (GBOX_STORAGE_MAX, sizeof (char *));
  if (ret->pvs.pvs_val == NULL || pvvg == NULL)
    return -1;
  for (line = strtok_r (pvout, "\n", &save); line;
       line = strtok_r (NULL, "\n", &save)) {
    char *f[4];
    gbox_storage_lvm *p = &ret->pvs.pvs_val[ret->pvs.pvs_len];

    if (ret->pvs.pvs_len >= GBOX_STORAGE_MAX ||
        split_fields (line, f, 4) != 4)
      continue;
    p->name = device_kernel_to_user (f[0]);
    if (p->name == NULL)
      continue;                 /* not on one of our disks */
    p->size = strtoll (f[1], NULL, 10);
    p->uuid = lvm_uuid (f[2]);
    p->parents.parents_val = NULL;
    pvvg[ret->pvs.pvs_len] = f[3];
    ret->pvs.pvs_len++;
    if (p->uuid == NULL)
      return -1;
  }
  /* Sorted by user name, keeping each PV's VG with it. */
  for (i = 1; i < ret->pvs.pvs_len; ++i)
    for (j = i; j > 0 && compare_lvm (&ret->pvs.pvs_val[j - 1],
                                      &ret->pvs.pvs_val[j]) > 0; --j) {
      gbox_storage_lvm t = ret->pvs.pvs_val[j];
      char *tv = pvvg[j];
      ret->pvs.pvs_val[j] = ret->pvs.pvs_val[j - 1];
      ret->pvs.pvs_val[j - 1] = t;
      pvvg[j] = pvvg[j - 1];
      pvvg[j - 1] = tv;
    }

  ret->vgs.vgs_val = calloc (GBOX_STORAGE_MAX, sizeof (gbox_storage_lvm));
  if (ret->vgs.vgs_val == NULL)
    return -1;
  save = NULL;
  for (line = strtok_r (vgout, "\n", &save); line;
       line = strtok_r (NULL, "\n", &save)) {
    char *f[3];
    gbox_storage_lvm *v = &ret->vgs.vgs_val[ret->vgs.vgs_len];
    size_t np = 0;

    if (ret->vgs.vgs_len >= GBOX_STORAGE_MAX ||
        split_fields (line, f, 3) != 3 || f[0][0] == '\0' ||
        strlen (f[0]) > GBOX_NAME_MAX)
      continue;
    if (asprintf (&v->name, "/dev/%s", f[0]) == -1) {
      v->name = NULL;
      return -1;
    }
    ret->vgs.vgs_len++;
    v->size = strtoll (f[1], NULL, 10);
    v->uuid = lvm_uuid (f[2]);
    v->parents.parents_val = calloc (ret->pvs.pvs_len + 1, sizeof (gbox_path));
    if (v->uuid == NULL || v->parents.parents_val == NULL)
      return -1;
    for (i = 0; i < ret->pvs.pvs_len && np < 256; ++i)
      if (strcmp (pvvg[i], f[0]) == 0) {
        v->parents.parents_val[np] = strdup (ret->pvs.pvs_val[i].name);
        if (v->parents.parents_val[np] == NULL)
          return -1;
        v->parents.parents_len = ++np;
      }
  }
  qsort (ret->vgs.vgs_val, ret->vgs.vgs_len, sizeof (gbox_storage_lvm),
         compare_lvm);
  /* Every string of the reply is set: PVs have no parents list. */
  for (i = 0; i < ret->pvs.pvs_len; ++i)
    ret->pvs.pvs_val[i].parents.parents_len = 0;
  return 0;
}

int
do_list_storage (void *argsv, void *retv)
{
  gbox_list_storage_args *args = argsv;
  gbox_list_storage_ret *ret = retv;
  int r;

  if (devices_rescan () == -1) {
    reply_with_perror ("list_storage: /sys/block");
    return -1;
  }
  if (add_devices (ret) == -1 || add_partitions (ret) == -1 ||
      add_filesystems (ret, args->sizes) == -1) {
    reply_with_perror ("list_storage");
    return -1;
  }
  r = add_lvm (ret);
  if (r == -1)
    reply_with_perror ("list_storage");
  return r == 0 ? 0 : -1;
}
