/* guestbox - LVM: activation, logical volume names, pvcreate/vgcreate/lvcreate.
 * Copyright (C) 2026 the guestbox authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

/**
 * The appliance has no udev and no lvm daemons: volume groups are
 * activated by running "lvm vgchange -ay --sysinit" once per set of
 * disks, and only when a disk or partition carries an LVM2_member
 * signature (lvm costs a few hundred milliseconds under TCG).  Active
 * logical volumes are then found in /sys/block/dm-N (uuid "LVM-" plus
 * 64 characters, name VG-LV with '-' doubled inside names) and shown to
 * the user as /dev/VG/LV; the kernel device is /dev/dm-N, which
 * devtmpfs creates, so no /dev/mapper node or /dev/VG symlink is
 * needed.  Also the pvcreate, vgcreate and lvcreate procedures (test
 * images, later virt-resize), list_vgs and zero_vg_free
 * (virt-sparsify: the free extents of a volume group are zeroed or
 * discarded through a temporary LV over all of them, then removed),
 * and lv_expand (virt-resize --lv-expand: pvresize and lvextend on a
 * loop device over the partition, then the LV's filesystem grown by
 * content.c).
 */

#include <config.h>

#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <fcntl.h>
#include <limits.h>
#include <string.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <linux/fs.h>
#include <linux/loop.h>

#include "daemon.h"
#include "blockdev.h"

#define MAX_LVS 256

/* Passed to every lvm command: never use a devices file (the appliance
 * sees whatever disks the user attached). */
#define LVM_CONFIG "devices/use_devicesfile=0"

struct lv {
  char user[GBOX_NAME_MAX + 16];  /* /dev/VG/LV */
  char kname[32];                 /* dm-3 */
  char slave[32];                 /* first underlying device: sdb2 */
};
static struct lv lvs[MAX_LVS];
static size_t nr_lvs;
static bool lvs_scanned;

/* The disks (kernel names) the last activation saw. */
static char activated_for[4096];
static bool activated;

static const char *sysfs_root = "/sys";
static const char *dev_root = "/dev";

void
lvm_set_roots (const char *sysfs, const char *dev)
{
  sysfs_root = sysfs;
  dev_root = dev;
  lvm_invalidate ();
}

void
lvm_invalidate (void)
{
  lvs_scanned = false;
}

static int
compare_lvs (const void *a, const void *b)
{
  return strcmp (((const struct lv *) a)->user, ((const struct lv *) b)->user);
}

/* Find the active logical volumes in /sys/block/dm-*. */
static void
scan_dm (void)
{
  char path[PATH_MAX];
  DIR *dir;
  struct dirent *d;

  nr_lvs = 0;
  lvs_scanned = true;
  snprintf (path, sizeof path, "%s/block", sysfs_root);
  dir = opendir (path);
  if (dir == NULL)
    return;
  while ((d = readdir (dir)) != NULL && nr_lvs < MAX_LVS) {
    char uuid[256], name[512], apath[PATH_MAX];
    struct lv *lv = &lvs[nr_lvs];
    DIR *sd;
    struct dirent *s;

    if (strncmp (d->d_name, "dm-", 3) != 0 ||
        strlen (d->d_name) >= sizeof lv->kname)
      continue;
    snprintf (apath, sizeof apath, "%s/block/%s/dm/uuid", sysfs_root,
              d->d_name);
    if (sysfs_read_attr (apath, uuid, sizeof uuid) == -1 ||
        strncmp (uuid, "LVM-", 4) != 0 || strlen (uuid) != 4 + 64)
      continue;                 /* not an LV, or an LV's hidden part */
    snprintf (apath, sizeof apath, "%s/block/%s/dm/name", sysfs_root,
              d->d_name);
    if (sysfs_read_attr (apath, name, sizeof name) == -1 ||
        !lvm_dm_name_to_path (name, lv->user, sizeof lv->user))
      continue;
    snprintf (lv->kname, sizeof lv->kname, "%s", d->d_name);
    lv->slave[0] = '\0';
    snprintf (apath, sizeof apath, "%s/block/%s/slaves", sysfs_root,
              d->d_name);
    sd = opendir (apath);
    if (sd) {
      while ((s = readdir (sd)) != NULL) {
        if (s->d_name[0] == '.' || strlen (s->d_name) >= sizeof lv->slave)
          continue;
        /* The smallest name: a stable choice. */
        if (lv->slave[0] == '\0' || strcmp (s->d_name, lv->slave) < 0)
          snprintf (lv->slave, sizeof lv->slave, "%s", s->d_name);
      }
      closedir (sd);
    }
    nr_lvs++;
  }
  closedir (dir);
  qsort (lvs, nr_lvs, sizeof lvs[0], compare_lvs);
}

/* Run lvm with ARGS (NULL-terminated, after the subcommand).  Returns
 * the exit status, -1 if it could not run; *ERR gets its stderr. */
static int
run_lvm (char **err, const char *sub, const char *const *args)
{
  const char *argv[64];
  size_t n = 0, i;

  /* A cold-booted appliance loads modules on demand (a restored
   * snapshot has them all): device-mapper first. */
  load_fs_modules ("dm_mod");
  /* Our channel and other descriptors are not lvm's business. */
  setenv ("LVM_SUPPRESS_FD_WARNINGS", "1", 1);

  argv[n++] = "lvm";
  argv[n++] = sub;
  argv[n++] = "--config";
  argv[n++] = LVM_CONFIG;
  for (i = 0; args[i] && n < 63; ++i)
    argv[n++] = args[i];
  argv[n] = NULL;
  return run_command (err, argv);
}

void
lvm_reset (void)
{
  activated = false;
  lvm_invalidate ();
}

bool
lvm_is_current (void)
{
  char sig[sizeof activated_for];

  if (!appliance_mode)
    return true;
  devices_signature (sig, sizeof sig);
  return activated && strcmp (sig, activated_for) == 0;
}

void
lvm_activate (bool have_pv)
{
  char sig[sizeof activated_for];

  if (!appliance_mode)
    return;
  devices_signature (sig, sizeof sig);
  if (activated && strcmp (sig, activated_for) == 0)
    return;
  if (have_pv) {
    static const char *const args[] = { "-ay", "--sysinit", NULL };
    CLEANUP_FREE char *err = NULL;
    uint64_t t0 = now_ms ();
    int r = run_lvm (&err, "vgchange", args);

    debug ("lvm vgchange -ay: status %d in %" PRIu64 " ms: %s", r,
           now_ms () - t0, err ? err : "");
  }
  snprintf (activated_for, sizeof activated_for, "%s", sig);
  activated = true;
  lvm_invalidate ();
}

size_t
lvm_count (void)
{
  if (!lvs_scanned)
    scan_dm ();
  return nr_lvs;
}

const char *
lvm_user_name (size_t i)
{
  return i < lvm_count () ? lvs[i].user : NULL;
}

char *
lvm_kernel_name (size_t i)
{
  char *r;

  if (i >= lvm_count ())
    return NULL;
  if (asprintf (&r, "%s/%s", dev_root, lvs[i].kname) == -1)
    return NULL;
  return r;
}

const char *
lvm_slave (size_t i)
{
  return i < lvm_count () ? lvs[i].slave : NULL;
}

char *
lvm_user_to_kernel (const char *user)
{
  char name[GBOX_NAME_MAX + 16];
  size_t i;

  /* /dev/mapper/VG-LV is accepted as well as /dev/VG/LV. */
  if (strncmp (user, "/dev/mapper/", 12) == 0) {
    if (!lvm_dm_name_to_path (user + 12, name, sizeof name))
      goto notfound;
    user = name;
  }
  for (i = 0; i < lvm_count (); ++i)
    if (strcmp (lvs[i].user, user) == 0)
      return lvm_kernel_name (i);
 notfound:
  errno = ENOENT;
  return NULL;
}

char *
lvm_kernel_to_user (const char *kernel)
{
  const char *base = strrchr (kernel, '/');
  size_t i;

  base = base ? base + 1 : kernel;
  for (i = 0; i < lvm_count (); ++i)
    if (strcmp (lvs[i].kname, base) == 0)
      return strdup (lvs[i].user);
  errno = ENOENT;
  return NULL;
}

/* Names of volume groups and logical volumes: what lvm itself accepts,
 * checked here so that no argument can look like an option. */
static bool
valid_lvm_name (const char *s)
{
  size_t i, n = strlen (s);

  if (n == 0 || n > 127 || s[0] == '-' || strcmp (s, ".") == 0 ||
      strcmp (s, "..") == 0)
    return false;
  for (i = 0; i < n; ++i) {
    char c = s[i];
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
          (c >= '0' && c <= '9') || c == '+' || c == '_' || c == '.' ||
          c == '-'))
      return false;
  }
  return true;
}

/* A user device name translated to its kernel name, or an error. */
static char *
kernel_device_or_error (const char *proc, const char *user)
{
  char *k;
  struct stat st;

  devices_rescan ();
  k = device_user_to_kernel (user);
  if (k == NULL || stat (k, &st) == -1 || !S_ISBLK (st.st_mode)) {
    free (k);
    reply_with_error_errno (ENOENT, "%s: %s: no such device", proc, user);
    return NULL;
  }
  return k;
}

static int
lvm_or_error (const char *proc, const char *sub, const char *const *args)
{
  CLEANUP_FREE char *err = NULL;
  int r;

  if (!appliance_mode) {
    reply_with_error_errno (EPERM, "%s: refusing to change devices in host "
                            "mode", proc);
    return -1;
  }
  r = run_lvm (&err, sub, args);
  lvm_invalidate ();
  if (r == 127 || r == -1) {
    reply_with_error_errno (ENOSYS, "%s: the lvm program is not available "
                            "in the appliance", proc);
    return -1;
  }
  if (r != 0) {
    reply_with_error_errno (EIO, "%s: lvm %s failed: %s", proc, sub,
                            err && *err ? err : "(no message)");
    return -1;
  }
  return 0;
}

int
do_pvcreate (void *argsv, void *retv)
{
  gbox_device_args *args = argsv;
  CLEANUP_FREE char *k = NULL;
  const char *a[6];

  if (!appliance_mode) {
    reply_with_error_errno (EPERM, "pvcreate: refusing to change devices "
                            "in host mode");
    return -1;
  }
  k = kernel_device_or_error ("pvcreate", args->device);
  if (k == NULL)
    return -1;
  a[0] = "-ff";
  a[1] = "--yes";
  a[2] = "--";
  a[3] = k;
  a[4] = NULL;
  return lvm_or_error ("pvcreate", "pvcreate", a);
}

int
do_vgcreate (void *argsv, void *retv)
{
  gbox_vgcreate_args *args = argsv;
  const char *a[64];
  char *k[56];
  size_t n = 0, i, np = args->pvs.gbox_str_list_len;
  int r = -1;

  if (!appliance_mode) {
    reply_with_error_errno (EPERM, "vgcreate: refusing to change devices "
                            "in host mode");
    return -1;
  }
  if (!valid_lvm_name (args->vg)) {
    reply_with_error_errno (EINVAL, "vgcreate: %s: invalid volume group "
                            "name", args->vg);
    return -1;
  }
  if (np == 0 || np > 56) {
    reply_with_error_errno (EINVAL, "vgcreate: %s: between 1 and 56 "
                            "physical volumes are needed", args->vg);
    return -1;
  }
  memset (k, 0, sizeof k);
  for (i = 0; i < np; ++i) {
    k[i] = kernel_device_or_error ("vgcreate", args->pvs.gbox_str_list_val[i]);
    if (k[i] == NULL)
      goto out;
  }
  a[n++] = "--yes";
  a[n++] = "--";
  a[n++] = args->vg;
  for (i = 0; i < np; ++i)
    a[n++] = k[i];
  a[n] = NULL;
  r = lvm_or_error ("vgcreate", "vgcreate", a);
 out:
  for (i = 0; i < np; ++i)
    free (k[i]);
  return r;
}

int
do_lvcreate (void *argsv, void *retv)
{
  gbox_lvcreate_args *args = argsv;
  char size[32];
  const char *a[16];

  if (!valid_lvm_name (args->vg) || !valid_lvm_name (args->lv)) {
    reply_with_error_errno (EINVAL, "lvcreate: %s/%s: invalid name",
                            args->vg, args->lv);
    return -1;
  }
  if (args->mbytes == 0 || args->mbytes > (UINT64_C (1) << 40)) {
    reply_with_error_errno (EINVAL, "lvcreate: %s/%s: invalid size %" PRIu64
                            " MiB", args->vg, args->lv,
                            (uint64_t) args->mbytes);
    return -1;
  }
  snprintf (size, sizeof size, "%" PRIu64 "m", (uint64_t) args->mbytes);
  a[0] = "--yes";
  a[1] = "--zero";
  a[2] = "n";
  a[3] = "--wipesignatures";
  a[4] = "n";
  a[5] = "-L";
  a[6] = size;
  a[7] = "-n";
  a[8] = args->lv;
  a[9] = "--";
  a[10] = args->vg;
  a[11] = NULL;
  return lvm_or_error ("lvcreate", "lvcreate", a);
}

#define LVM_OUT_MAX 65536
#define LVM_ERR_MAX 4000

/* Run lvm SUB ARGS capturing its stdout (at most LVM_OUT_MAX bytes,
 * into *OUT) and its stderr (one line, into *ERR).  Returns the exit
 * status, or -1 if it could not run. */
static int
run_lvm_output (char **out, char **err, const char *sub,
                const char *const *args)
{
  const char *argv[64];
  struct command c = COMMAND_INIT (argv);
  size_t n = 0, i;
  int r;

  *out = *err = NULL;
  load_fs_modules ("dm_mod");
  setenv ("LVM_SUPPRESS_FD_WARNINGS", "1", 1);
  argv[n++] = "lvm";
  argv[n++] = sub;
  argv[n++] = "--config";
  argv[n++] = LVM_CONFIG;
  for (i = 0; args[i] && n < 63; ++i)
    argv[n++] = args[i];
  argv[n] = NULL;

  c.out_max = LVM_OUT_MAX;
  c.err_max = LVM_ERR_MAX;
  r = command_run (&c);
  if (r == -1)
    return -1;
  command_one_line (c.err, false);
  *out = c.out;
  *err = c.err;
  return r;
}

/* lvm SUB ARGS with its output, or an error reply prefixed by PROC. */
static char *
lvm_output_or_error (const char *proc, const char *sub,
                     const char *const *args)
{
  char *out = NULL, *err = NULL;
  int r;

  if (!appliance_mode) {
    reply_with_error_errno (EPERM, "%s: only the appliance runs lvm", proc);
    return NULL;
  }
  r = run_lvm_output (&out, &err, sub, args);
  if (r == 127 || r == -1) {
    reply_with_error_errno (ENOSYS, "%s: the lvm program is not available "
                            "in the appliance", proc);
    free (out);
    free (err);
    return NULL;
  }
  if (r != 0) {
    reply_with_error_errno (EIO, "%s: lvm %s failed: %s", proc, sub,
                            err && *err ? err : "(no message)");
    free (out);
    free (err);
    return NULL;
  }
  free (err);
  return out;
}

#define MAX_VGS 256

int
do_list_vgs (void *argsv, void *retv)
{
  gbox_list_vgs_ret *ret = retv;
  static const char *const args[] = {
    "--noheadings", "--nosuffix", "-o", "vg_name", NULL
  };
  CLEANUP_FREE char *out = NULL;
  char **vgs;
  size_t n = 0;
  char *line, *save = NULL;

  devices_rescan ();
  out = lvm_output_or_error ("list_vgs", "vgs", args);
  if (out == NULL)
    return -1;
  vgs = calloc (MAX_VGS, sizeof *vgs);
  if (vgs == NULL) {
    reply_with_perror ("list_vgs: malloc");
    return -1;
  }
  for (line = strtok_r (out, "\n", &save); line && n < MAX_VGS;
       line = strtok_r (NULL, "\n", &save)) {
    size_t i, dup = 0;

    line += strspn (line, " \t");
    line[strcspn (line, " \t")] = '\0';
    if (!valid_lvm_name (line))
      continue;                 /* nothing lvm itself would accept */
    for (i = 0; i < n; ++i)
      if (strcmp (vgs[i], line) == 0)
        dup = 1;
    if (dup)
      continue;
    vgs[n] = strdup (line);
    if (vgs[n] == NULL) {
      reply_with_perror ("list_vgs: malloc");
      for (i = 0; i < n; ++i)
        free (vgs[i]);
      free (vgs);
      return -1;
    }
    n++;
  }
  qsort (vgs, n, sizeof *vgs, compare_strings);
  ret->vgs.gbox_str_list_len = n;
  ret->vgs.gbox_str_list_val = vgs;
  return 0;
}

/* The temporary LV over the free extents of a volume group. */
#define TMP_LV "gbox-sparsify-tmp"

/* Zero or discard the whole block device KDEV (with progress). */
static int
clear_device (const char *kdev, const char *vg, bool discard,
              uint64_t *size)
{
  int fd = open (kdev, O_WRONLY | O_CLOEXEC);
  uint64_t off;

  *size = 0;
  if (fd == -1 || ioctl (fd, BLKGETSIZE64, size) == -1) {
    reply_with_perror ("zero_vg_free: %s: %s", vg, kdev);
    if (fd >= 0)
      close (fd);
    return -1;
  }
  for (off = 0; off < *size; ) {
    uint64_t range[2];
    uint64_t n = *size - off < 256 * 1024 * 1024 ? *size - off
      : 256 * 1024 * 1024;

    range[0] = off;
    range[1] = n;
    if (ioctl (fd, discard ? BLKDISCARD : BLKZEROOUT, range) == -1) {
      if (discard && (errno == EOPNOTSUPP || errno == ENOTTY))
        reply_with_error_errno (EOPNOTSUPP, "zero_vg_free: %s: the disk "
                                "does not support discard", vg);
      else
        reply_with_perror ("zero_vg_free: %s: %s", vg,
                           discard ? "discard" : "zero");
      close (fd);
      return -1;
    }
    off += n;
    notify_progress (off, *size);
  }
  if (fsync (fd) == -1) {
    reply_with_perror ("zero_vg_free: %s: fsync", vg);
    close (fd);
    return -1;
  }
  close (fd);
  return 0;
}

int
do_zero_vg_free (void *argsv, void *retv)
{
  gbox_zero_vg_free_args *args = argsv;
  gbox_space_ret *ret = retv;
  const char *a[20];
  char user[GBOX_NAME_MAX + 32], vglv[GBOX_NAME_MAX + 32];
  CLEANUP_FREE char *out = NULL, *kdev = NULL;
  unsigned long long free_count = 0;
  uint64_t size = 0;
  int r;

  if (!valid_lvm_name (args->vg)) {
    reply_with_error_errno (EINVAL, "zero_vg_free: %s: invalid volume "
                            "group name", args->vg);
    return -1;
  }
  devices_rescan ();
  a[0] = "--noheadings";
  a[1] = "-o";
  a[2] = "vg_free_count";
  a[3] = "--";
  a[4] = args->vg;
  a[5] = NULL;
  out = lvm_output_or_error ("zero_vg_free", "vgs", a);
  if (out == NULL)
    return -1;
  if (sscanf (out, " %llu", &free_count) != 1) {
    reply_with_error_errno (EIO, "zero_vg_free: %s: cannot read the number "
                            "of free extents", args->vg);
    return -1;
  }
  ret->bytes = 0;
  if (free_count == 0) {
    notify_progress (1, 1);
    return 0;
  }

  /* No zeroing by lvcreate (we do it), no signature wiping, and no
   * change other than the temporary LV, removed below. */
  a[0] = "--yes";
  a[1] = "--zero";
  a[2] = "n";
  a[3] = "--wipesignatures";
  a[4] = "n";
  a[5] = "--activate";
  a[6] = "y";
  a[7] = "-l";
  a[8] = "100%FREE";
  a[9] = "-n";
  a[10] = TMP_LV;
  a[11] = "--";
  a[12] = args->vg;
  a[13] = NULL;
  if (lvm_or_error ("zero_vg_free", "lvcreate", a) == -1)
    return -1;

  snprintf (user, sizeof user, "/dev/%s/%s", args->vg, TMP_LV);
  kdev = lvm_user_to_kernel (user);
  if (kdev == NULL)
    reply_with_error_errno (ENOENT, "zero_vg_free: %s: the temporary "
                            "logical volume was not activated", args->vg);
  r = kdev ? clear_device (kdev, args->vg, args->discard, &size) : -1;

  /* Always remove it, even after a failure. */
  snprintf (vglv, sizeof vglv, "%s/%s", args->vg, TMP_LV);
  a[0] = "-f";
  a[1] = "--";
  a[2] = vglv;
  a[3] = NULL;
  if (r == 0) {
    if (lvm_or_error ("zero_vg_free", "lvremove", a) == -1)
      return -1;
  }
  else {
    CLEANUP_FREE char *err = NULL;
    run_lvm (&err, "lvremove", a);
    lvm_invalidate ();
    return -1;
  }
  ret->bytes = size;
  return 0;
}

/* lvm SUB ARGS with its output (at most LVM_OUT_MAX bytes), for the
 * reports of other files (storage.c); NULL with the error recorded. */
char *
lvm_report (const char *proc, const char *sub, const char *const *args)
{
  return lvm_output_or_error (proc, sub, args);
}

/* LVM on the loop device LOOP only (--devices), whatever else the
 * appliance sees: the input disk holds a PV with the same UUIDs. */
static int
run_lvm_on (const char *what, const char *loop, const char *const *args,
            int okmax)
{
  const char *argv[32];
  size_t n = 0, i;

  load_fs_modules ("dm_mod");
  setenv ("LVM_SUPPRESS_FD_WARNINGS", "1", 1);
  argv[n++] = "lvm";
  argv[n++] = args[0];
  argv[n++] = "--config";
  argv[n++] = "devices/use_devicesfile=0";
  argv[n++] = "--devices";
  argv[n++] = loop;
  for (i = 1; args[i] && n < 31; ++i)
    argv[n++] = args[i];
  argv[n] = NULL;
  return run_reply (what, argv, okmax);
}

/* "VG/LV" or "/dev/VG/LV" into VG and LV (LVM's name characters). */
int
lvm_split_name (const char *s, char *vg, char *lv, size_t len)
{
  const char *slash;
  size_t i;

  if (strncmp (s, "/dev/", 5) == 0)
    s += 5;
  slash = strchr (s, '/');
  if (!slash || slash == s || !slash[1] || strchr (slash + 1, '/') ||
      (size_t) (slash - s) >= len || strlen (slash + 1) >= len)
    return -1;
  for (i = 0; s[i]; ++i)
    if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
          (s[i] >= '0' && s[i] <= '9') || strchr ("+_.-/", s[i])))
      return -1;
  if (s[0] == '-' || slash[1] == '-')
    return -1;
  memcpy (vg, s, slash - s);
  vg[slash - s] = '\0';
  strcpy (lv, slash + 1);
  return 0;
}

/* The /dev/dm-N of active VG/LV ("VG-LV" with '-' doubled inside). */
static int
find_dm (const char *vg, const char *lv, char *dev, size_t len)
{
  char want[2 * GBOX_NAME_MAX + 4], *w = want;
  const char *p;
  DIR *dir;
  struct dirent *d;
  int found = -1;

  for (p = vg; *p; ++p) {
    if (*p == '-')
      *w++ = '-';
    *w++ = *p;
  }
  *w++ = '-';
  for (p = lv; *p; ++p) {
    if (*p == '-')
      *w++ = '-';
    *w++ = *p;
  }
  *w = '\0';
  dir = opendir ("/sys/block");
  if (!dir)
    return -1;
  while ((d = readdir (dir)) != NULL) {
    char path[512], name[600];
    FILE *fp;
    size_t n;
    if (strncmp (d->d_name, "dm-", 3) != 0 || strlen (d->d_name) > 32)
      continue;
    snprintf (path, sizeof path, "/sys/block/%s/dm/name", d->d_name);
    fp = fopen (path, "re");
    if (!fp)
      continue;
    n = fread (name, 1, sizeof name - 1, fp);
    fclose (fp);
    name[n] = '\0';
    while (n > 0 && name[n - 1] == '\n')
      name[--n] = '\0';
    if (strcmp (name, want) == 0) {
      snprintf (dev, len, "/dev/%s", d->d_name);
      found = 0;
      break;
    }
  }
  closedir (dir);
  return found;
}

int
do_lv_expand (void *argsv, void *retv)
{
  gbox_lv_expand_args *args = argsv;
  CLEANUP_CLOSE int fd = -1, lfd = -1;
  uint64_t size;
  char loop[64], what[600], vg[GBOX_NAME_MAX], lv[GBOX_NAME_MAX];
  char vglv[2 * GBOX_NAME_MAX + 2];
  int r = -1;

  (void) retv;
  if (args->lv[0] && lvm_split_name (args->lv, vg, lv, sizeof vg) == -1) {
    reply_with_error_errno (EINVAL, "%s: not a logical volume name "
                            "(VG/LV or /dev/VG/LV)", args->lv);
    return -1;
  }
  if (args->check_only && !args->lv[0]) {
    reply_with_error_errno (EINVAL, "lv_expand: nothing to check");
    return -1;
  }
  snprintf (vglv, sizeof vglv, "%s/%s", vg, lv);
  fd = open_device ("lv_expand", args->device,
                    args->check_only ? O_RDONLY : O_RDWR, &size);
  if (fd == -1)
    return -1;
  if (args->offset % SECTOR || args->offset > size ||
      args->size > size - args->offset || args->size < 1024 * 1024) {
    reply_with_error_errno (EINVAL, "lv_expand: %s: invalid range",
                            args->device);
    return -1;
  }
  if (!args->check_only) {
    fsync (fd);
    ioctl (fd, BLKFLSBUF, 0);
  }
  lfd = loop_attach (fd, args->offset, args->size, args->check_only,
                     loop, sizeof loop);
  if (lfd == -1)
    return -1;
  snprintf (what, sizeof what, "%s at byte %" PRIu64, args->device,
            args->offset);

  if (args->check_only) {
    CLEANUP_FREE char *err = NULL;
    const char *argv[] = { "lvm", "lvs", "--config",
                           "devices/use_devicesfile=0", "--devices", loop,
                           vglv, NULL };
    load_fs_modules ("dm_mod");
    setenv ("LVM_SUPPRESS_FD_WARNINGS", "1", 1);
    if (run_command (&err, argv) != 0)
      reply_with_error_errno (ENOENT, "%s: no logical volume %s in the "
                              "physical volume there (%s)", what, vglv,
                              err && err[0] ? err : "lvs failed");
    else
      r = 0;
  }
  else {
    const char *pvresize[] = { "pvresize", loop, NULL };
    r = run_lvm_on (what, loop, pvresize, 0);
    if (r == 0 && args->lv[0]) {
      const char *extend[] = { "lvextend", "-l", "+100%FREE", vglv, NULL };
      const char *on[] = { "vgchange", "-ay", "--sysinit", vg, NULL };
      const char *off[] = { "vgchange", "-an", vg, NULL };
      char dm[64];
      r = run_lvm_on (what, loop, extend, 0);
      if (r == 0)
        r = run_lvm_on (what, loop, on, 0);
      if (r == 0) {
        CLEANUP_FREE char *type = NULL;
        CLEANUP_CLOSE int dfd = -1;
        uint64_t lvsize = 0;
        if (find_dm (vg, lv, dm, sizeof dm) == -1) {
          reply_with_error ("%s: %s: not active after vgchange", what, vglv);
          r = -1;
        }
        else if ((dfd = open (dm, O_RDWR | O_CLOEXEC)) == -1 ||
                 ioctl (dfd, BLKGETSIZE64, &lvsize) == -1) {
          reply_with_perror ("%s: %s", what, dm);
          r = -1;
        }
        else {
          type = probe_fstype (dm);
          snprintf (what, sizeof what, "/dev/%s", vglv);
          if (type && strcmp (type, "unknown") != 0)
            r = grow_fs (what, dm, dfd, lvsize, type, 0);
        }
        if (dfd >= 0) {
          fsync (dfd);
          close (dfd);
          dfd = -1;
        }
        if (run_lvm_on (what, loop, off, 0) == -1)
          r = -1;
      }
    }
  }
  fsync (lfd);
  ioctl (lfd, LOOP_CLR_FD, 0);
  return r;
}
