/* guestbox - full inspection for virt-inspector.
 * Copyright (C) 2026 the guestbox authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

/**
 * inspect_full: find every operating system on the disks (Linux roots:
 * an /etc with a release file or fstab and a bin directory, mapped
 * through /etc/fstab; Windows system roots on NTFS/FAT), then mount each
 * OS's tree read-only (root plus its fstab mountpoints) at a private
 * directory and fill its record (inspect-linux.c, inspect-windows.c).
 * inspect_list_applications pages through the package list of one of
 * the roots found (inspect-apps.c).  Guest text is cleaned here before
 * it goes into a reply: valid UTF-8 only, no control characters,
 * bounded.  Problems with guest data become warnings in the reply, not
 * failures.
 */

#include <config.h>

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>

#include "daemon.h"
#include "mount-order.h"

#define INSPECT_DIR "/run/gbox-inspect-full"
#define OSES_MAX 64
#define FS_PER_OS_MAX 1024
#define FSTAB_MAX_BYTES (1024 * 1024)
#define FSTAB_MAX_ENTRIES 1024
#define MOUNTPOINTS_MAX FS_PER_OS_MAX

/* Warnings gathered during one call. */
static char *warnings[GBOX_INSPECT_WARNINGS_MAX];
static size_t nr_warnings;

void
inspect_warning (const char *fs, ...)
{
  va_list args;
  char buf[GBOX_INSPECT_FIELD_MAX];
  size_t i;

  va_start (args, fs);
  vsnprintf (buf, sizeof buf, fs, args);
  va_end (args);
  debug ("inspect: warning: %s", buf);
  for (i = 0; i < nr_warnings; ++i)
    if (strcmp (warnings[i], buf) == 0)
      return;
  if (nr_warnings < GBOX_INSPECT_WARNINGS_MAX) {
    warnings[nr_warnings] = inspect_clean (buf, strlen (buf));
    if (warnings[nr_warnings])
      nr_warnings++;
  }
}

const char *const *
inspect_warnings (size_t *n)
{
  *n = nr_warnings;
  return (const char *const *) warnings;
}

void
inspect_warnings_reset (void)
{
  size_t i;

  for (i = 0; i < nr_warnings; ++i)
    free (warnings[i]);
  nr_warnings = 0;
}

/* Move the warnings into a reply. */
static void
warnings_take (char ***val, u_int *len)
{
  *val = NULL;
  *len = 0;
  if (nr_warnings == 0)
    return;
  *val = malloc (nr_warnings * sizeof (char *));
  if (*val == NULL) {
    inspect_warnings_reset ();
    return;
  }
  memcpy (*val, warnings, nr_warnings * sizeof (char *));
  *len = nr_warnings;
  nr_warnings = 0;
}

/* Length of the valid UTF-8 sequence at S (at most N bytes), or 0. */
static size_t
utf8_seq (const unsigned char *s, size_t n)
{
  size_t l, i;
  uint32_t c;

  if (s[0] < 0x80)
    return 1;
  if (s[0] >= 0xc2 && s[0] <= 0xdf) { l = 2; c = s[0] & 0x1f; }
  else if (s[0] >= 0xe0 && s[0] <= 0xef) { l = 3; c = s[0] & 0x0f; }
  else if (s[0] >= 0xf0 && s[0] <= 0xf4) { l = 4; c = s[0] & 0x07; }
  else
    return 0;
  if (l > n)
    return 0;
  for (i = 1; i < l; ++i) {
    if ((s[i] & 0xc0) != 0x80)
      return 0;
    c = (c << 6) | (s[i] & 0x3f);
  }
  if ((l == 3 && c < 0x800) || (l == 4 && (c < 0x10000 || c > 0x10ffff)) ||
      (c >= 0xd800 && c <= 0xdfff))
    return 0;
  return l;
}

char *
inspect_clean_max (const char *s, size_t len, size_t max, bool multiline)
{
  const unsigned char *u = (const unsigned char *) s;
  char *out;
  size_t i = 0, o = 0;

  out = malloc (max);
  if (out == NULL)
    return NULL;
  while (i < len && u[i] != '\0') {
    size_t l = utf8_seq (u + i, len - i);
    if (l == 0 || (l == 1 && (u[i] < 0x20 || u[i] == 0x7f))) {
      /* Tabs and newlines become spaces (newlines stay in multi-line
       * text), carriage returns go, other junk becomes '?'. */
      char r = (u[i] == '\n' && multiline) ? '\n'
        : (u[i] == '\t' || u[i] == '\n') ? ' ' : '?';
      if (u[i] == '\r') {
        i++;
        continue;
      }
      if (o + 1 >= max)
        break;
      out[o++] = r;
      i++;
      continue;
    }
    if (o + l >= max)
      break;
    memcpy (out + o, u + i, l);
    o += l;
    i += l;
  }
  out[o] = '\0';
  return out;
}

char *
inspect_clean (const char *s, size_t len)
{
  return inspect_clean_max (s, len, GBOX_INSPECT_FIELD_MAX, false);
}

/* Fill every string field with "" (XDR needs non-NULL strings). */
int
inspect_os_init (gbox_inspected_os *os)
{
  char **f[] = {
    &os->root, &os->type, &os->distro, &os->product_name,
    &os->product_variant, &os->arch, &os->hostname, &os->build_id,
    &os->osinfo, &os->package_format, &os->package_management,
    &os->windows_systemroot, &os->windows_current_control_set,
  };
  size_t i;

  memset (os, 0, sizeof *os);
  for (i = 0; i < sizeof f / sizeof f[0]; ++i) {
    *f[i] = strdup ("");
    if (*f[i] == NULL)
      return -1;
  }
  return 0;
}

static bool
is_type_in_root (int rootfd, const char *path, mode_t type)
{
  struct stat st;
  return stat_in_root (rootfd, path, &st) == 0 &&
    (st.st_mode & S_IFMT) == type;
}

static int
add_mountpoint (gbox_inspected_os *os, const char *mp, const char *dev)
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
                    const struct gbd_fs *fs, size_t nfs,
                    gbox_inspected_os *os)
{
  CLEANUP_FREE char *text = NULL;
  struct fstab_entry *entries = NULL;
  size_t len = 0, i;
  ssize_t n;

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

  free (os->root);
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
  return -1;
}

/* What inspection starts with: refuse host mode, rescan the
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

/* Mount one filesystem (or btrfs SUBVOL of it, if not NULL)
 * read-only at TARGET (an appliance path). */
static int
mount_vol (const struct gbd_fs *f, const char *subvol, const char *target)
{
  char data[GBOX_PATH_MAX + 16] = "";

  if (strcmp (f->type, "ntfs") == 0) {
    CLEANUP_FREE char *err = NULL;
    const char *argv[] = { "ntfs-3g", "-o", "ro", f->kdevice, target, NULL };
    int r;

    load_fs_modules ("ntfs");
    r = run_command (&err, argv);
    if (r != 0) {
      debug ("inspect: ntfs-3g %s: %s", f->device, err ? err : "");
      errno = r == 127 ? ENOSYS : EINVAL;
      return -1;
    }
    return 0;
  }
  if (subvol && (size_t) snprintf (data, sizeof data, "subvol=%s", subvol)
      >= sizeof data) {
    errno = ENAMETOOLONG;
    return -1;
  }
  load_fs_modules (f->type);
  return mount (f->kdevice, target, f->type,
                MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, data);
}

static int
mount_one (const struct gbd_fs *f, const char *target)
{
  return mount_vol (f, NULL, target);
}

/* A volume name: a device ("/dev/sda1"), or a btrfs subvolume
 * ("btrfsvol:/dev/sda2/root", as libguestfs names them).  Sets *IDX to
 * the filesystem and *SUBVOL to the subvolume path or NULL.  Returns
 * -1 if it names no filesystem. */
static int
vol_resolve (const char *name, const struct gbd_fs *fs, size_t nfs,
             ssize_t *idx, const char **subvol)
{
  size_t i;

  *subvol = NULL;
  if (strncmp (name, "btrfsvol:", 9) == 0) {
    name += 9;
    for (i = 0; i < nfs; ++i) {
      size_t l = strlen (fs[i].device);
      if (strncmp (name, fs[i].device, l) == 0 && name[l] == '/' &&
          name[l + 1] != '\0' && strcmp (fs[i].type, "btrfs") == 0) {
        *idx = i;
        *subvol = name + l + 1;
        return 0;
      }
    }
    return -1;
  }
  for (i = 0; i < nfs; ++i)
    if (strcmp (fs[i].device, name) == 0) {
      *idx = i;
      return 0;
    }
  return -1;
}

/* Filesystems kept alive between the mounts of one call.  Pass 1
 * mounts each filesystem, pass 2 mounts each OS's tree again and
 * inspect_mount mounts the plan a third time: a detached mount whose
 * root stays open keeps the kernel's superblock, so the later mounts
 * of the same device reuse it instead of reading it again, and the
 * unmounts in between do not tear it down (a warm virt-cat -i spent
 * 50 ms of its 240 in inspection on those).  Every mount stays
 * read-only, which is what lets the kernel share one superblock;
 * ntfs-3g's mounts are a process each and are not kept.  Released at
 * the end of the call (unpin_all). */
#define PINS_MAX 64
static int pins[PINS_MAX];
static size_t npins;

/* Unmount DIR, where F is mounted, keeping its superblock if possible. */
static void
umount_pinned (const char *dir, const struct gbd_fs *f)
{
  if (npins < PINS_MAX && strcmp (f->type, "ntfs") != 0) {
    int fd = open (dir, O_PATH | O_DIRECTORY | O_CLOEXEC);

    if (fd >= 0 && umount2 (dir, MNT_DETACH) == 0) {
      pins[npins++] = fd;
      return;
    }
    if (fd >= 0)
      close (fd);
  }
  if (umount2 (dir, 0) == -1)
    umount2 (dir, MNT_DETACH);
}

static void
unpin_all (void)
{
  while (npins > 0)
    close (pins[--npins]);
}

/* The tree of one OS mounted at INSPECT_DIR: mounted targets, most
 * recent last. */
struct tree {
  char *targets[FS_PER_OS_MAX];
  size_t n;
};

static void
tree_umount (struct tree *t)
{
  while (t->n > 0) {
    char *p = t->targets[--t->n];
    if (umount2 (p, 0) == -1)
      umount2 (p, MNT_DETACH);
    free (p);
  }
}

static int
compare_mp_len (const void *a, const void *b)
{
  const gbox_mountpoint *x = a, *y = b;
  size_t lx = strlen (x->mountpoint), ly = strlen (y->mountpoint);

  if (lx != ly)
    return lx < ly ? -1 : 1;
  return strcmp (x->mountpoint, y->mountpoint);
}

/* Mount the root and its mountpoints (shortest first) at INSPECT_DIR;
 * a mountpoint that cannot be mounted is skipped with a debug line. */
static int
tree_mount (struct tree *t, const gbox_mountpoint *mps, size_t nmps,
            const struct gbd_fs *fs, size_t nfs)
{
  gbox_mountpoint *sorted;
  size_t i;

  t->n = 0;
  sorted = malloc ((nmps ? nmps : 1) * sizeof *sorted);
  if (sorted == NULL)
    return -1;
  memcpy (sorted, mps, nmps * sizeof *sorted);
  qsort (sorted, nmps, sizeof *sorted, compare_mp_len);
  for (i = 0; i < nmps && t->n < FS_PER_OS_MAX; ++i) {
    ssize_t idx;
    const char *subvol;
    char target[GBOX_PATH_MAX + 64];

    if (vol_resolve (sorted[i].device, fs, nfs, &idx, &subvol) == -1)
      continue;
    if (strcmp (sorted[i].mountpoint, "/") == 0)
      snprintf (target, sizeof target, "%s", INSPECT_DIR);
    else {
      CLEANUP_CLOSE int rootfd = -1;
      CLEANUP_CLOSE int mpfd = -1;
      char proc[64];
      ssize_t r;

      if (t->n == 0)
        continue;               /* no root mounted */
      rootfd = open (INSPECT_DIR, O_PATH | O_DIRECTORY | O_CLOEXEC);
      if (rootfd == -1)
        continue;
      mpfd = open_in_root (rootfd, sorted[i].mountpoint,
                           O_PATH | O_DIRECTORY, 0);
      if (mpfd == -1) {
        debug ("inspect: mountpoint %s: %m", sorted[i].mountpoint);
        continue;
      }
      snprintf (proc, sizeof proc, "/proc/self/fd/%d", mpfd);
      r = readlink (proc, target, sizeof target - 1);
      if (r <= 0)
        continue;
      target[r] = '\0';
      /* The resolved path must still be inside our directory. */
      if (strncmp (target, INSPECT_DIR "/", strlen (INSPECT_DIR) + 1) != 0)
        continue;
    }
    if (mount_vol (&fs[idx], subvol, target) == -1) {
      debug ("inspect: mount %s on %s: %m", sorted[i].device, target);
      if (t->n == 0) {
        free (sorted);
        return -1;
      }
      continue;
    }
    t->targets[t->n] = strdup (target);
    if (t->targets[t->n] == NULL) {
      if (umount2 (target, 0) == -1)
        umount2 (target, MNT_DETACH);
      break;
    }
    t->n++;
  }
  free (sorted);
  return t->n > 0 ? 0 : -1;
}

/* Add filesystem F to the OS, named NAME (its device, or a btrfs
 * subvolume of it). */
static int
add_fs_named (gbox_inspected_os *os, const struct gbd_fs *f, const char *name)
{
  gbox_filesystem *v;
  size_t i;

  for (i = 0; i < os->filesystems.filesystems_len; ++i)
    if (strcmp (os->filesystems.filesystems_val[i].device, name) == 0)
      return 0;
  if (os->filesystems.filesystems_len >= FS_PER_OS_MAX)
    return 0;
  v = realloc (os->filesystems.filesystems_val,
               (os->filesystems.filesystems_len + 1) * sizeof *v);
  if (v == NULL)
    return -1;
  os->filesystems.filesystems_val = v;
  v = &v[os->filesystems.filesystems_len++];
  v->device = strdup (name);
  v->type = inspect_clean (f->type, strlen (f->type));
  v->label = inspect_clean (f->label, strlen (f->label));
  v->uuid = inspect_clean (f->uuid, strlen (f->uuid));
  if (!v->device || !v->type || !v->label || !v->uuid)
    return -1;
  return 0;
}

static int
add_fs (gbox_inspected_os *os, const struct gbd_fs *f)
{
  return add_fs_named (os, f, f->device);
}

static int
compare_fs (const void *a, const void *b)
{
  return strverscmp (((const gbox_filesystem *) a)->device,
                     ((const gbox_filesystem *) b)->device);
}

/* Swap devices named in fstab belong to the OS too. */
static void
add_swap_from_fstab (int rootfd, gbox_inspected_os *os,
                     const struct gbd_fs *fs, size_t nfs)
{
  CLEANUP_FREE char *text = NULL;
  struct fstab_entry *e;
  size_t len, i;
  ssize_t n;

  text = read_file_in_root (rootfd, "/etc/fstab", FSTAB_MAX_BYTES, &len);
  if (text == NULL)
    return;
  e = calloc (FSTAB_MAX_ENTRIES, sizeof *e);
  if (e == NULL)
    return;
  n = parse_fstab (text, len, e, FSTAB_MAX_ENTRIES);
  for (i = 0; n > 0 && i < (size_t) n; ++i) {
    if (strcmp (e[i].vfstype, "swap") == 0) {
      ssize_t idx = resolve_fstab_spec (e[i].spec, fs, nfs);
      if (idx >= 0)
        add_fs (os, &fs[idx]);
    }
  }
  if (n > 0)
    free_fstab (e, n);
  free (e);
}

/* fstab entries naming a /dev device that is not there (a swap on
 * /dev/mapper/cryptswap1, a disk not attached): listed by name, with
 * no type, as libguestfs lists them. */
static bool
ignored_spec (const char *spec, const char *mp)
{
  static const char *const mps[] = {
    "/dev", "/media", "/proc", "/selinux", "/sys", NULL
  };
  size_t i;

  if ((strncmp (spec, "/dev/fd", 7) == 0 || strncmp (spec, "/dev/cd", 7) == 0)
      && spec[7] >= '0' && spec[7] <= '9')
    return true;
  if (strcmp (spec, "/dev/floppy") == 0 || strcmp (spec, "/dev/cdrom") == 0 ||
      strncmp (spec, "/dev/iso9660/", 13) == 0 ||
      strncmp (spec, "/dev/disk/", 10) == 0)
    return true;
  for (i = 0; mps[i]; ++i) {
    size_t l = strlen (mps[i]);
    if (strncmp (mp, mps[i], l) == 0 && (mp[l] == '\0' || mp[l] == '/'))
      return true;
  }
  return false;
}

static int
add_missing_from_fstab (int rootfd, gbox_inspected_os *os,
                        const struct gbd_fs *fs, size_t nfs)
{
  CLEANUP_FREE char *text = NULL;
  struct fstab_entry *e;
  size_t len, i, j;
  ssize_t n;
  int ret = 0;

  text = read_file_in_root (rootfd, "/etc/fstab", FSTAB_MAX_BYTES, &len);
  if (text == NULL)
    return 0;
  e = calloc (FSTAB_MAX_ENTRIES, sizeof *e);
  if (e == NULL)
    return -1;
  n = parse_fstab (text, len, e, FSTAB_MAX_ENTRIES);
  for (i = 0; n > 0 && i < (size_t) n && ret == 0; ++i) {
    struct gbd_fs missing = { 0 };
    char *dev;
    bool known = false;

    if (strncmp (e[i].spec, "/dev/", 5) != 0 ||
        strcmp (e[i].spec, "/dev/root") == 0 || strcmp (e[i].file, "/") == 0 ||
        ignored_spec (e[i].spec, e[i].file) ||
        resolve_fstab_spec (e[i].spec, fs, nfs) >= 0)
      continue;
    dev = inspect_clean (e[i].spec, strlen (e[i].spec));
    if (dev == NULL) {
      ret = -1;
      break;
    }
    missing.device = dev;
    missing.type = missing.label = missing.uuid = (char *) "";
    if (add_fs_named (os, &missing, dev) == -1)
      ret = -1;
    /* Its mountpoint too, unless "/" or not a path (swap). */
    for (j = 0; j < os->mountpoints.mountpoints_len; ++j)
      if (strcmp (os->mountpoints.mountpoints_val[j].mountpoint,
                  e[i].file) == 0)
        known = true;
    if (ret == 0 && !known && e[i].file[0] == '/' && e[i].file[1] &&
        os->mountpoints.mountpoints_len < FS_PER_OS_MAX) {
      gbox_mountpoint *v = realloc (os->mountpoints.mountpoints_val,
                                    (os->mountpoints.mountpoints_len + 1) *
                                    sizeof *v);
      if (v == NULL)
        ret = -1;
      else {
        os->mountpoints.mountpoints_val = v;
        v = &v[os->mountpoints.mountpoints_len];
        v->mountpoint = inspect_clean (e[i].file, strlen (e[i].file));
        v->device = strdup (dev);
        os->mountpoints.mountpoints_len++;
        if (!v->mountpoint || !v->device)
          ret = -1;
      }
    }
    free (dev);
  }
  if (n > 0)
    free_fstab (e, n);
  free (e);
  return ret;
}

/* The roots found by the last inspect_full, for list_applications. */
static gbox_inspect_full_ret last;
static bool have_last;

static bool
skip_type (const char *type)
{
  static const char *const skip[] = {
    "swap", "unknown", "iso9660", "udf", "LVM2_member",
    "linux_raid_member", "crypto_LUKS", "BitLocker", "zfs_member",
    "VMFS_volume_member", "exfat", NULL
  };
  size_t i;

  for (i = 0; skip[i]; ++i)
    if (strcmp (type, skip[i]) == 0)
      return true;
  return false;
}

static int
compare_ios (const void *a, const void *b)
{
  return strverscmp (((const gbox_inspected_os *) a)->root,
                     ((const gbox_inspected_os *) b)->root);
}

/* fstab entries of btrfs subvolumes ("UUID=... /home btrfs
 * subvol=home"): name their mountpoints btrfsvol:DEV/SUBVOL. */
static void
btrfs_mountpoints (int rootfd, gbox_inspected_os *os, const struct gbd_fs *fs,
                   size_t nfs)
{
  CLEANUP_FREE char *text = NULL;
  struct fstab_entry *e;
  size_t len, i, j;
  ssize_t n;

  text = read_file_in_root (rootfd, "/etc/fstab", FSTAB_MAX_BYTES, &len);
  if (text == NULL)
    return;
  e = calloc (FSTAB_MAX_ENTRIES, sizeof *e);
  if (e == NULL)
    return;
  n = parse_fstab (text, len, e, FSTAB_MAX_ENTRIES);
  for (i = 0; n > 0 && i < (size_t) n; ++i) {
    const char *opt, *sv;
    char subvol[GBOX_PATH_MAX], name[GBOX_PATH_MAX];
    ssize_t idx;
    size_t sl;

    if (strcmp (e[i].vfstype, "btrfs") != 0 ||
        strcmp (e[i].file, "/") == 0)
      continue;
    for (opt = e[i].options; opt; opt = strchr (opt, ',') ? strchr (opt, ',') + 1 : NULL)
      if (strncmp (opt, "subvol=", 7) == 0)
        break;
    if (opt == NULL)
      continue;
    sv = opt + 7;
    while (*sv == '/')
      sv++;
    sl = strcspn (sv, ",");
    if (sl == 0 || sl >= sizeof subvol)
      continue;
    memcpy (subvol, sv, sl);
    subvol[sl] = '\0';
    idx = resolve_fstab_spec (e[i].spec, fs, nfs);
    if (idx < 0 ||
        (size_t) snprintf (name, sizeof name, "btrfsvol:%s/%s",
                           fs[idx].device, subvol) >= sizeof name)
      continue;
    for (j = 0; j < os->mountpoints.mountpoints_len; ++j) {
      gbox_mountpoint *m = &os->mountpoints.mountpoints_val[j];
      if (strcmp (m->mountpoint, e[i].file) == 0) {
        char *d = strdup (name);
        if (d) {
          free (m->device);
          m->device = d;
        }
      }
    }
  }
  if (n > 0)
    free_fstab (e, n);
  free (e);
}

static bool
is_dir_in (int rootfd, const char *path)
{
  struct stat st;
  return stat_in_root (rootfd, path, &st) == 0 && S_ISDIR (st.st_mode);
}

/* CoreOS: a root without fstab (/etc/coreos/update.conf) and a
 * separate /usr (share/coreos) that holds the OS version, found as
 * libguestfs finds them.  The first /usr found is taken. */
static bool
is_coreos_root (int rootfd)
{
  struct stat st;
  return is_dir_in (rootfd, "/etc") && is_dir_in (rootfd, "/root") &&
    is_dir_in (rootfd, "/home") && is_dir_in (rootfd, "/usr") &&
    stat_in_root (rootfd, "/etc/coreos/update.conf", &st) == 0 &&
    S_ISREG (st.st_mode);
}

static bool
is_coreos_usr (int rootfd)
{
  return is_dir_in (rootfd, "/bin") && is_dir_in (rootfd, "/share") &&
    is_dir_in (rootfd, "/local") && is_dir_in (rootfd, "/share/coreos");
}

static char *coreos_usr;

/* Pass 1 on one mounted filesystem: is it a root?  Fills OS (left
 * zeroed when it is not). */
static int
find_root (int rootfd, const char *name, const struct gbd_fs *fs,
           size_t nfs, gbox_inspected_os *os)
{
  struct stat st;
  char systemroot[GBOX_PATH_MAX];
  int r;

  memset (os, 0, sizeof *os);
  if (lstat_in_root (rootfd, "/etc", &st) == 0 && S_ISLNK (st.st_mode) &&
      stat_in_root (rootfd, "/etc", &st) == -1 && errno == ELOOP) {
    inspect_warning ("%s: /etc: %s (not inspected)", name,
                     strerror (ELOOP));
    return 0;
  }
  if (inspect_os_init (os) == -1)
    goto error;
  r = inspect_linux_root (rootfd, name, fs, nfs, os);
  if (r == -1)
    goto error;
  if (r == 1) {
    free (os->type);
    os->type = strdup ("linux");
    if (os->type == NULL)
      goto error;
    btrfs_mountpoints (rootfd, os, fs, nfs);
    return 1;
  }
  if (is_coreos_root (rootfd)) {
    free (os->root);
    free (os->type);
    os->root = strdup (name);
    os->type = strdup ("linux");
    if (os->root == NULL || os->type == NULL ||
        add_mountpoint (os, "/", name) == -1)
      goto error;
    return 1;
  }
  if (coreos_usr == NULL && is_coreos_usr (rootfd))
    coreos_usr = strdup (name);
  if (windows_find_systemroot (rootfd, systemroot, sizeof systemroot) == 1) {
    free (os->root);
    free (os->type);
    free (os->windows_systemroot);
    os->root = strdup (name);
    os->type = strdup ("windows");
    os->windows_systemroot = strdup (systemroot);
    if (os->root == NULL || os->type == NULL ||
        os->windows_systemroot == NULL ||
        add_mountpoint (os, "/", name) == -1)
      goto error;
    return 1;
  }
  xdr_free ((xdrproc_t) xdr_gbox_inspected_os, (char *) os);
  memset (os, 0, sizeof *os);
  return 0;

 error:
  xdr_free ((xdrproc_t) xdr_gbox_inspected_os, (char *) os);
  memset (os, 0, sizeof *os);
  return -1;
}

/* Pass 2: the OS tree is mounted at ROOTFD. */
static int
fill_os (int rootfd, gbox_inspected_os *os, const struct gbd_fs *fs,
         size_t nfs)
{
  size_t i;

  if (strcmp (os->type, "linux") == 0) {
    if (inspect_linux_details (rootfd, os) == -1)
      return -1;
    add_swap_from_fstab (rootfd, os, fs, nfs);
    if (add_missing_from_fstab (rootfd, os, fs, nfs) == -1)
      return -1;
  }
  else if (inspect_windows_details (rootfd, os, fs, nfs) == -1)
    return -1;
  for (i = 0; i < os->mountpoints.mountpoints_len; ++i) {
    const char *dev = os->mountpoints.mountpoints_val[i].device;
    const char *subvol;
    ssize_t idx;

    if (vol_resolve (dev, fs, nfs, &idx, &subvol) == 0 &&
        add_fs_named (os, &fs[idx], dev) == -1)
      return -1;
  }
  qsort (os->filesystems.filesystems_val, os->filesystems.filesystems_len,
         sizeof (gbox_filesystem), compare_fs);
  return 0;
}

/* Mount the tree of OS at INSPECT_DIR.  Returns a dir fd or -1. */
static int
open_os_tree (struct tree *t, const gbox_inspected_os *os,
              const struct gbd_fs *fs, size_t nfs)
{
  int fd;

  if (mkdir (INSPECT_DIR, 0700) == -1 && errno != EEXIST)
    return -1;
  if (tree_mount (t, os->mountpoints.mountpoints_val,
                  os->mountpoints.mountpoints_len, fs, nfs) == -1)
    return -1;
  fd = open (INSPECT_DIR, O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (fd == -1)
    tree_umount (t);
  return fd;
}

/* F (btrfs) is mounted at INSPECT_DIR (top level): look for roots in
 * its subvolumes, each mounted at a second directory.  Returns 0 or
 * -1 (errno set). */
#define SUBVOL_DIR "/run/gbox-inspect-subvol"
#define SUBVOLS_CHECKED_MAX 64

static int
btrfs_roots (const struct gbd_fs *f, const struct gbd_fs *fs, size_t nfs,
             gbox_inspect_full_ret *ret)
{
  char **paths = NULL;
  size_t n = 0, i;
  int fd;

  fd = open (INSPECT_DIR, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd == -1)
    return 0;
  if (btrfs_list_subvolumes (fd, &paths, &n) == -1) {
    debug ("inspect: %s: btrfs subvolumes: %m", f->device);
    close (fd);
    return 0;
  }
  close (fd);
  if (n > SUBVOLS_CHECKED_MAX)
    inspect_warning ("%s: %zu btrfs subvolumes, only the first %d are "
                     "inspected", f->device, n, SUBVOLS_CHECKED_MAX);
  if (mkdir (SUBVOL_DIR, 0700) == -1 && errno != EEXIST) {
    free_strings (paths);
    return -1;
  }
  for (i = 0; i < n && i < SUBVOLS_CHECKED_MAX &&
         ret->oses.oses_len < OSES_MAX; ++i) {
    gbox_inspected_os *os = &ret->oses.oses_val[ret->oses.oses_len];
    char name[GBOX_PATH_MAX];
    int rootfd, r;

    if ((size_t) snprintf (name, sizeof name, "btrfsvol:%s/%s", f->device,
                           paths[i]) >= sizeof name)
      continue;
    if (mount_vol (f, paths[i], SUBVOL_DIR) == -1) {
      debug ("inspect: mount %s: %m", name);
      continue;
    }
    rootfd = open (SUBVOL_DIR, O_PATH | O_DIRECTORY | O_CLOEXEC);
    r = rootfd >= 0 ? find_root (rootfd, name, fs, nfs, os) : -1;
    if (rootfd >= 0)
      close (rootfd);
    if (umount2 (SUBVOL_DIR, 0) == -1)
      umount2 (SUBVOL_DIR, MNT_DETACH);
    if (r == -1) {
      free_strings (paths);
      return -1;
    }
    if (r == 1)
      ret->oses.oses_len++;
  }
  free_strings (paths);
  return 0;
}

/* The disk index of a filesystem (an LV: of its PV), or -1. */
static int
disk_index_of (const struct gbd_fs *f)
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

/* Keep only the filesystems of disk DISK. */
static void
keep_disk (struct gbd_fs *fs, size_t *nfs, int disk)
{
  size_t i, n = 0;

  for (i = 0; i < *nfs; ++i) {
    if (disk_index_of (&fs[i]) == disk)
      fs[n++] = fs[i];
    else {
      free (fs[i].device);
      free (fs[i].kdevice);
      free (fs[i].type);
      free (fs[i].label);
      free (fs[i].uuid);
      free (fs[i].partuuid);
      free (fs[i].partlabel);
    }
  }
  *nfs = n;
}

static int inspect_full_int (gbox_inspect_full_ret *ret, int disk,
                             struct gbd_fs *fs, size_t nfs);

int
do_inspect_full (void *argsv, void *retv)
{
  int r = inspect_full_int (retv, -1, NULL, 0);

  unpin_all ();
  return r;
}

int
do_inspect_full_disk (void *argsv, void *retv)
{
  gbox_inspect_full_disk_args *args = argsv;
  int r;

  if (args->disk < 0 || (size_t) args->disk >= devices_count ()) {
    reply_with_error_errno (EINVAL, "inspect_full_disk: %d: no such disk",
                            args->disk);
    return -1;
  }
  r = inspect_full_int (retv, args->disk, NULL, 0);
  unpin_all ();
  return r;
}

/* FS (taken over; NULL: listed here) are the filesystems. */
static int
inspect_full_int (gbox_inspect_full_ret *ret, int disk, struct gbd_fs *fs,
                  size_t nfs)
{
  size_t i;
  struct tree t;

  inspect_warnings_reset ();
  free (coreos_usr);
  coreos_usr = NULL;
  if (fs == NULL)
    fs = inspect_begin ("inspect_full", INSPECT_DIR, &nfs);
  else if (mkdir (INSPECT_DIR, 0700) == -1 && errno != EEXIST) {
    reply_with_perror ("inspect_full: mkdir %s", INSPECT_DIR);
    free_fs_list (fs, nfs);
    return -1;
  }
  if (fs == NULL)
    return -1;
  if (disk >= 0)
    keep_disk (fs, &nfs, disk);
  ret->oses.oses_val = calloc (OSES_MAX, sizeof (gbox_inspected_os));
  if (ret->oses.oses_val == NULL) {
    reply_with_perror ("calloc");
    free_fs_list (fs, nfs);
    return -1;
  }

  /* Pass 1: find the roots. */
  for (i = 0; i < nfs && ret->oses.oses_len < OSES_MAX; ++i) {
    gbox_inspected_os *os = &ret->oses.oses_val[ret->oses.oses_len];
    int rootfd, r;

    if (skip_type (fs[i].type))
      continue;
    if (mount_one (&fs[i], INSPECT_DIR) == -1) {
      debug ("inspect: mount %s (%s): %m", fs[i].device, fs[i].type);
      continue;
    }
    rootfd = open (INSPECT_DIR, O_PATH | O_DIRECTORY | O_CLOEXEC);
    r = rootfd >= 0 ? find_root (rootfd, fs[i].device, fs, nfs, os) : -1;
    if (rootfd >= 0)
      close (rootfd);
    if (r == 1)
      ret->oses.oses_len++;
    if (r != -1 && strcmp (fs[i].type, "btrfs") == 0)
      r = btrfs_roots (&fs[i], fs, nfs, ret);
    umount_pinned (INSPECT_DIR, &fs[i]);
    if (r == -1) {
      reply_with_perror ("inspect_full: %s", fs[i].device);
      free_fs_list (fs, nfs);
      return -1;
    }
  }

  /* Pass 2: each OS with its whole tree mounted. */
  for (i = 0; i < ret->oses.oses_len; ++i) {
    gbox_inspected_os *os = &ret->oses.oses_val[i];
    int rootfd, r;

    /* A CoreOS root (its only mountpoint "/") gets its /usr. */
    if (coreos_usr && strcmp (os->type, "linux") == 0 &&
        os->mountpoints.mountpoints_len == 1 &&
        strcmp (os->root, coreos_usr) != 0) {
      rootfd = open_os_tree (&t, os, fs, nfs);
      if (rootfd >= 0) {
        bool coreos = is_coreos_root (rootfd);
        close (rootfd);
        tree_umount (&t);
        if (coreos && add_mountpoint (os, "/usr", coreos_usr) == -1) {
          reply_with_perror ("inspect_full: %s", os->root);
          free_fs_list (fs, nfs);
          return -1;
        }
      }
    }

    rootfd = open_os_tree (&t, os, fs, nfs);
    if (rootfd == -1) {
      inspect_warning ("%s: cannot mount the operating system: %s",
                       os->root, strerror (errno));
      continue;
    }
    r = fill_os (rootfd, os, fs, nfs);
    close (rootfd);
    tree_umount (&t);
    if (r == -1) {
      reply_with_perror ("inspect_full: %s", os->root);
      free_fs_list (fs, nfs);
      return -1;
    }
  }
  free_fs_list (fs, nfs);
  qsort (ret->oses.oses_val, ret->oses.oses_len, sizeof (gbox_inspected_os),
         compare_ios);

  /* Keep a copy of the roots for list_applications. */
  if (have_last)
    xdr_free ((xdrproc_t) xdr_gbox_inspect_full_ret, (char *) &last);
  memset (&last, 0, sizeof last);
  have_last = false;
  {
    XDR xdr;
    size_t sz = GBOX_MESSAGE_MAX;
    char *buf = malloc (sz);
    if (buf) {
      xdrmem_create (&xdr, buf, sz, XDR_ENCODE);
      if (xdr_gbox_inspect_full_ret (&xdr, ret)) {
        XDR d;
        xdrmem_create (&d, buf, xdr_getpos (&xdr), XDR_DECODE);
        have_last = xdr_gbox_inspect_full_ret (&d, &last);
        xdr_destroy (&d);
      }
      xdr_destroy (&xdr);
      free (buf);
    }
  }
  warnings_take (&ret->warnings.warnings_val, &ret->warnings.warnings_len);
  return 0;
}

/* The applications of the last listed root, kept between pages. */
static char *apps_root;
static struct app_list apps;

int
do_inspect_list_applications (void *argsv, void *retv)
{
  gbox_inspect_list_applications_args *args = argsv;
  gbox_inspect_list_applications_ret *ret = retv;
  const gbox_inspected_os *os = NULL;
  size_t i, bytes = 0;

  if (!appliance_mode) {
    reply_with_error_errno (EPERM, "inspect_list_applications: refusing to "
                            "mount in host mode");
    return -1;
  }
  for (i = 0; have_last && i < last.oses.oses_len; ++i)
    if (strcmp (last.oses.oses_val[i].root, args->root) == 0)
      os = &last.oses.oses_val[i];
  if (os == NULL) {
    reply_with_error_errno (ENOENT, "inspect_list_applications: %s: not an "
                            "inspected root (call inspect_full first)",
                            args->root);
    return -1;
  }
  inspect_warnings_reset ();

  if (args->start == 0 || apps_root == NULL ||
      strcmp (apps_root, args->root) != 0) {
    struct gbd_fs *fs;
    size_t nfs;
    struct tree t;
    int rootfd;

    app_list_free (&apps);
    free (apps_root);
    apps_root = NULL;
    if (devices_rescan () == -1) {
      reply_with_perror ("inspect_list_applications: /sys/block");
      return -1;
    }
    fs = devices_list_filesystems (&nfs);
    if (fs == NULL) {
      reply_with_perror ("inspect_list_applications: list_filesystems");
      return -1;
    }
    rootfd = open_os_tree (&t, os, fs, nfs);
    free_fs_list (fs, nfs);
    if (rootfd == -1) {
      reply_with_perror ("inspect_list_applications: %s: mount", os->root);
      return -1;
    }
    if (strcmp (os->type, "windows") == 0)
      windows_list_applications (rootfd, os, &apps);
    else
      linux_list_applications (rootfd, os->package_format, &apps);
    close (rootfd);
    tree_umount (&t);
    apps_root = strdup (args->root);
    if (apps_root == NULL) {
      reply_with_perror ("strdup");
      return -1;
    }
  }

  /* One page: stop well below the message limit. */
  ret->applications.applications_val =
    calloc (apps.n > args->start ? apps.n - args->start : 1,
            sizeof (gbox_application));
  if (ret->applications.applications_val == NULL) {
    reply_with_perror ("calloc");
    return -1;
  }
  for (i = args->start; i < apps.n; ++i) {
    gbox_application *a = &ret->applications.applications_val[i - args->start];
    size_t sz = app_size (&apps.v[i]);
    if (bytes + sz > GBOX_MESSAGE_MAX / 2 && i > args->start) {
      ret->more = 1;
      break;
    }
    if (app_copy (a, &apps.v[i]) == -1) {
      reply_with_perror ("inspect_list_applications");
      return -1;
    }
    ret->applications.applications_len++;
    bytes += sz;
  }
  warnings_take (&ret->warnings.warnings_val, &ret->warnings.warnings_len);
  return 0;
}

int
do_inspect_get_icon (void *argsv, void *retv)
{
  gbox_inspect_get_icon_args *args = argsv;
  gbox_inspect_get_icon_ret *ret = retv;
  const gbox_inspected_os *os = NULL;
  struct gbd_fs *fs;
  size_t nfs, i, len = 0;
  struct tree t;
  char *buf = NULL;
  int rootfd;

  if (!appliance_mode) {
    reply_with_error_errno (EPERM, "inspect_get_icon: refusing to mount in "
                            "host mode");
    return -1;
  }
  for (i = 0; have_last && i < last.oses.oses_len; ++i)
    if (strcmp (last.oses.oses_val[i].root, args->root) == 0)
      os = &last.oses.oses_val[i];
  if (os == NULL) {
    reply_with_error_errno (ENOENT, "inspect_get_icon: %s: not an inspected "
                            "root (call inspect_full first)", args->root);
    return -1;
  }
  if (devices_rescan () == -1) {
    reply_with_perror ("inspect_get_icon: /sys/block");
    return -1;
  }
  fs = devices_list_filesystems (&nfs);
  if (fs == NULL) {
    reply_with_perror ("inspect_get_icon: list_filesystems");
    return -1;
  }
  rootfd = open_os_tree (&t, os, fs, nfs);
  free_fs_list (fs, nfs);
  if (rootfd == -1) {
    reply_with_perror ("inspect_get_icon: %s: mount", os->root);
    return -1;
  }
  if (inspect_icon (rootfd, os, &buf, &len) == -1 || len > GBOX_ICON_MAX) {
    free (buf);
    buf = NULL;
    len = 0;
  }
  close (rootfd);
  tree_umount (&t);
  ret->icon.icon_val = buf;
  ret->icon.icon_len = len;
  return 0;
}

/* inspect_mount: the mount plan of OS as the library makes it (see
 * protocol.x): the indexes of its mountpoints in *IDX, in mount
 * order.  Returns how many, or 0 when there is nothing to mount. */
static bool
has_controls (const char *s)
{
  for (; *s; ++s)
    if ((unsigned char) *s < 0x20 || *s == 0x7f)
      return true;
  return false;
}

static const gbox_mountpoint *plan_mps;

static int
compare_plan (const void *a, const void *b)
{
  const gbox_mountpoint *m1 = &plan_mps[*(const size_t *) a];
  const gbox_mountpoint *m2 = &plan_mps[*(const size_t *) b];

  return gbox_mount_order (m1->mountpoint, m1->device,
                           m2->mountpoint, m2->device);
}

static size_t
mount_plan (const gbox_inspected_os *os, size_t *idx)
{
  const gbox_mountpoint *mps = os->mountpoints.mountpoints_val;
  size_t n = 0, i;

  for (i = 0; i < os->mountpoints.mountpoints_len; ++i) {
    if (has_controls (mps[i].mountpoint) || has_controls (mps[i].device))
      continue;
    if (mps[i].mountpoint[0] != '/' ||
        (strncmp (mps[i].device, "/dev/", 5) != 0 &&
         strncmp (mps[i].device, "btrfsvol:/dev/", 14) != 0))
      return 0;
    idx[n++] = i;
  }
  plan_mps = mps;
  qsort (idx, n, sizeof *idx, compare_plan);
  if (n == 0 || strcmp (mps[idx[0]].mountpoint, "/") != 0)
    return 0;
  return n;
}

/* The type storage_open found on DEVICE (a user name, or a btrfs
 * subvolume's "btrfsvol:DEVICE/..."), or NULL. */
static const char *
fs_type_of (const struct gbd_fs *fs, size_t nfs, const char *device)
{
  size_t i;

  if (strncmp (device, "btrfsvol:", 9) == 0)
    return "btrfs";
  for (i = 0; i < nfs; ++i)
    if (strcmp (fs[i].device, device) == 0)
      return fs[i].type;
  return NULL;
}

int
do_inspect_mount (void *argsv, void *retv)
{
  gbox_inspect_mount_args *args = argsv;
  gbox_inspect_mount_ret *ret = retv;
  gbox_storage_open_args sargs = { .readonly = args->readonly };
  gbox_storage_open_ret sret;
  const gbox_inspected_os *os;
  struct gbd_fs *fs = NULL, *types = NULL;
  size_t *idx = NULL, n, i, nfs = 0, ntypes = 0;
  int r = -1;

  memset (&sret, 0, sizeof sret);
  if (storage_open_int (&sargs, &sret, &fs, &nfs) == -1)
    return -1;
  ret->crypt.crypt_len = sret.crypt.crypt_len;
  ret->crypt.crypt_val = sret.crypt.crypt_val;
  /* Keys first: the library opens them and calls the steps itself. */
  if (ret->crypt.crypt_len > 0) {
    free_fs_list (fs, nfs);
    return 0;
  }
  /* The types, for the mounts (inspection takes the list over). */
  types = calloc (nfs + 1, sizeof *types);
  if (types == NULL) {
    reply_with_perror ("inspect_mount: calloc");
    free_fs_list (fs, nfs);
    return -1;
  }
  for (ntypes = 0; ntypes < nfs; ++ntypes) {
    types[ntypes].device = strdup (fs[ntypes].device);
    types[ntypes].type = strdup (fs[ntypes].type);
    if (types[ntypes].device == NULL || types[ntypes].type == NULL) {
      ntypes++;
      reply_with_perror ("inspect_mount: strdup");
      free_fs_list (fs, nfs);
      goto out;
    }
  }
  /* Inspection of the filesystems storage_open just listed. */
  if (inspect_full_int (&ret->inspection, -1, fs, nfs) == -1)
    goto out;
  ret->inspected = true;
  if (!args->mount || ret->inspection.oses.oses_len != 1) {
    r = 0;
    goto out;
  }

  os = &ret->inspection.oses.oses_val[0];
  idx = calloc (os->mountpoints.mountpoints_len + 1, sizeof *idx);
  ret->mounts.mounts_val = calloc (os->mountpoints.mountpoints_len + 1,
                                   sizeof (gbox_mount_result));
  if (idx == NULL || ret->mounts.mounts_val == NULL) {
    reply_with_perror ("inspect_mount: calloc");
    goto out;
  }
  n = mount_plan (os, idx);
  for (i = 0; i < n; ++i) {
    const gbox_mountpoint *m = &os->mountpoints.mountpoints_val[idx[i]];
    gbox_mount_result *mr = &ret->mounts.mounts_val[i];
    char err[GBOX_ERROR_MAX];

    err[0] = '\0';
    if (mount_ro_int (m->device, m->mountpoint,
                      fs_type_of (types, ntypes, m->device)) == -1)
      take_error (err, sizeof err);
    mr->mountpoint = strdup (m->mountpoint);
    mr->device = strdup (m->device);
    mr->error = strdup (err);
    if (mr->mountpoint == NULL || mr->device == NULL || mr->error == NULL) {
      free (mr->mountpoint);
      free (mr->device);
      free (mr->error);
      reply_with_perror ("inspect_mount: strdup");
      goto out;
    }
    ret->mounts.mounts_len = i + 1;
    /* Without "/" there is nothing to work on. */
    if (err[0] && i == 0)
      break;
  }
  r = 0;
 out:
  unpin_all ();
  free (idx);
  free_fs_list (types, ntypes);
  return r;
}
