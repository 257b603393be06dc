/* guestbox - md RAID: assembling arrays, their names, md_create.
 * Copyright (C) 2026 the guestbox authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

/**
 * Linux software RAID arrays are assembled with "mdadm --assemble
 * --scan" once per set of disks, and only when some disk or partition
 * carries a linux_raid_member signature.  As the libguestfs appliance
 * does, complete arrays are started first and degraded ones after.
 * Arrays are started read-only (no superblock is ever written) unless
 * storage_open was told that the command writes.  Arrays are the
 * /sys/block/mdN entries that have an md directory, shown to the user
 * as /dev/mdN, the same name as the kernel's.  Also md_create, which
 * the tests use to build RAID images.
 */

#include <config.h>

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <string.h>
#include <sys/stat.h>

#include "daemon.h"

static const char *const md_modules[] = {
  "md_mod", "raid0", "raid1", "raid10", "raid456", NULL
};

static bool readonly = true;
static bool assembled;
static char assembled_for[4096];

void
md_set_readonly (bool ro)
{
  readonly = ro;
}

bool
md_is_current (void)
{
  char sig[sizeof assembled_for];

  if (!appliance_mode)
    return true;
  devices_signature (sig, sizeof sig);
  return assembled && strcmp (sig, assembled_for) == 0;
}

static void
load_md_modules (void)
{
  size_t i;

  for (i = 0; md_modules[i]; ++i)
    load_fs_modules (md_modules[i]);
}

static int
run_mdadm (char **err, const char *const *args)
{
  const char *argv[64];
  size_t n = 0, i;

  /* Without udev, mdadm makes its device nodes itself. */
  setenv ("MDADM_NO_UDEV", "1", 1);
  argv[n++] = "mdadm";
  for (i = 0; args[i] && n < 63; ++i)
    argv[n++] = args[i];
  argv[n] = NULL;
  return run_command (err, argv);
}

void
md_assemble (bool have_members)
{
  char sig[sizeof assembled_for];

  if (!appliance_mode)
    return;
  devices_signature (sig, sizeof sig);
  if (assembled && strcmp (sig, assembled_for) == 0)
    return;
  if (have_members) {
    const char *complete[] = {
      "--assemble", "--scan", "--auto=yes", "--no-degraded",
      readonly ? "--readonly" : NULL, NULL
    };
    const char *degraded[] = {
      "--assemble", "--scan", "--auto=yes", "--run",
      readonly ? "--readonly" : NULL, NULL
    };
    CLEANUP_FREE char *err1 = NULL;
    CLEANUP_FREE char *err2 = NULL;
    uint64_t t0 = now_ms ();
    int r1, r2;

    load_md_modules ();
    r1 = run_mdadm (&err1, complete);
    r2 = run_mdadm (&err2, degraded);
    debug ("mdadm --assemble (%s): status %d, %d in %" PRIu64 " ms: %s %s",
           readonly ? "read-only" : "read-write", r1, r2, now_ms () - t0,
           err1 ? err1 : "", err2 ? err2 : "");
  }
  snprintf (assembled_for, sizeof assembled_for, "%s", sig);
  assembled = true;
}

static bool
md_name_ok (const char *s)
{
  size_t i;

  if (strncmp (s, "md", 2) != 0 || s[2] == '\0' || strlen (s) > 10)
    return false;
  for (i = 2; s[i]; ++i)
    if (!isdigit ((unsigned char) s[i]))
      return false;
  return true;
}

static int
compare_md (const void *a, const void *b)
{
  unsigned long x = strtoul ((const char *) a + 2, NULL, 10);
  unsigned long y = strtoul ((const char *) b + 2, NULL, 10);

  return x < y ? -1 : x > y;
}

size_t
md_list (char (*names)[32], size_t max)
{
  DIR *dir;
  struct dirent *d;
  size_t n = 0;

  if (!appliance_mode)
    return 0;
  dir = opendir ("/sys/block");
  if (dir == NULL)
    return 0;
  while ((d = readdir (dir)) != NULL && n < max) {
    char path[PATH_MAX], size[32] = "";
    struct stat st;
    FILE *fp;

    if (!md_name_ok (d->d_name))
      continue;
    snprintf (path, sizeof path, "/sys/block/%s/md", d->d_name);
    if (stat (path, &st) == -1 || !S_ISDIR (st.st_mode))
      continue;
    /* An array that is not running has size 0. */
    snprintf (path, sizeof path, "/sys/block/%s/size", d->d_name);
    fp = fopen (path, "re");
    if (fp) {
      if (fgets (size, sizeof size, fp) == NULL)
        size[0] = '\0';
      fclose (fp);
    }
    if (strtoull (size, NULL, 10) == 0)
      continue;
    snprintf (names[n++], 32, "%.31s", d->d_name);
  }
  closedir (dir);
  qsort (names, n, sizeof names[0], compare_md);
  return n;
}

char *
md_user_to_kernel (const char *user)
{
  char names[64][32];
  size_t n, i;
  char *r;

  if (strncmp (user, "/dev/", 5) != 0 || !md_name_ok (user + 5))
    goto notfound;
  n = md_list (names, 64);
  for (i = 0; i < n; ++i)
    if (strcmp (names[i], user + 5) == 0) {
      if (asprintf (&r, "/dev/%s", names[i]) == -1)
        return NULL;
      return r;
    }
 notfound:
  errno = ENOENT;
  return NULL;
}

/* If arrays were started read-only and the command writes, switch them
 * to read-write. */
static void
md_make_writable (void)
{
  char names[64][32];
  size_t n = md_list (names, 64), i;

  for (i = 0; i < n; ++i) {
    char dev[48];
    const char *args[] = { "--readwrite", dev, NULL };
    CLEANUP_FREE char *err = NULL;
    int r;

    snprintf (dev, sizeof dev, "/dev/%s", names[i]);
    r = run_mdadm (&err, args);
    debug ("mdadm --readwrite %s: status %d: %s", dev, r, err ? err : "");
  }
}

int
do_storage_open (void *argsv, void *retv)
{
  return storage_open_int (argsv, retv, NULL, NULL);
}

int
storage_open_int (const gbox_storage_open_args *args,
                  gbox_storage_open_ret *ret, struct gbd_fs **fsp,
                  size_t *nfsp)
{
  struct gbd_fs *fs;
  size_t nfs, i, n = 0;
  bool was_readonly = readonly, was_assembled = md_is_current ();

  if (!appliance_mode) {
    reply_with_error_errno (EPERM, "storage_open: only the appliance "
                            "opens devices");
    return -1;
  }
  readonly = args->readonly;
  if (devices_rescan () == -1) {
    reply_with_perror ("storage_open: /sys/block");
    return -1;
  }
  /* LVM inside the LUKS devices opened since the last call. */
  if (luks_take_new_pv ())
    lvm_reset ();
  if (was_assembled && was_readonly && !readonly)
    md_make_writable ();
  fs = devices_list_filesystems (&nfs);
  if (fs == NULL) {
    reply_with_perror ("storage_open: list_filesystems");
    return -1;
  }
  ret->crypt.crypt_val = calloc (nfs + 1, sizeof (gbox_crypt_device));
  if (ret->crypt.crypt_val == NULL) {
    reply_with_perror ("calloc");
    free_fs_list (fs, nfs);
    return -1;
  }
  for (i = 0; i < nfs && n < GBOX_CRYPT_MAX; ++i) {
    gbox_crypt_device *c = &ret->crypt.crypt_val[n];
    const char *base = strrchr (fs[i].kdevice, '/');
    char path[PATH_MAX];
    DIR *dir;
    struct dirent *d;
    bool held = false;

    if (strcmp (fs[i].type, "crypto_LUKS") != 0)
      continue;
    /* Already open: something holds it. */
    base = base ? base + 1 : fs[i].kdevice;
    snprintf (path, sizeof path, "/sys/class/block/%s/holders", base);
    dir = opendir (path);
    if (dir) {
      while ((d = readdir (dir)) != NULL)
        if (d->d_name[0] != '.')
          held = true;
      closedir (dir);
    }
    if (held)
      continue;
    c->device = fs[i].device; fs[i].device = NULL;
    c->uuid = fs[i].uuid; fs[i].uuid = NULL;
    c->type = fs[i].type; fs[i].type = NULL;
    ret->crypt.crypt_len = ++n;
  }
  if (fsp) {
    *fsp = fs;
    *nfsp = nfs;
  }
  else
    free_fs_list (fs, nfs);
  return 0;
}

static bool
simple_name (const char *s, size_t max)
{
  size_t i, n = strlen (s);

  if (n == 0 || n > max || s[0] == '-' || s[0] == '.')
    return false;
  for (i = 0; i < n; ++i)
    if (!isalnum ((unsigned char) s[i]) && s[i] != '_' && s[i] != '-' &&
        s[i] != '.')
      return false;
  return true;
}

int
do_md_create (void *argsv, void *retv)
{
  gbox_md_create_args *args = argsv;
  static const char *const levels[] = {
    "linear", "raid0", "raid1", "raid4", "raid5", "raid6", "raid10", NULL
  };
  static const char *const metadatas[] = {
    "0.90", "1.0", "1.1", "1.2", NULL
  };
  size_t nd = args->devices.gbox_str_list_len, i, n = 0;
  char *k[32], level[32], ndev[32], name[GBOX_NAME_MAX + 8];
  const char *a[64];
  CLEANUP_FREE char *err = NULL;
  const char *stop[] = { "--stop", "/dev/md0", NULL };
  int r = -1;

  if (!appliance_mode) {
    reply_with_error_errno (EPERM, "md_create: refusing to change devices "
                            "in host mode");
    return -1;
  }
  for (i = 0; levels[i] && strcmp (levels[i], args->level) != 0; ++i)
    ;
  if (!levels[i]) {
    reply_with_error_errno (EINVAL, "md_create: %s: unknown level",
                            args->level);
    return -1;
  }
  for (i = 0; metadatas[i] && strcmp (metadatas[i], args->metadata) != 0; ++i)
    ;
  if (!metadatas[i] || !simple_name (args->name, 32)) {
    reply_with_error_errno (EINVAL, "md_create: invalid metadata version "
                            "or name");
    return -1;
  }
  if (nd == 0 || nd > 32) {
    reply_with_error_errno (EINVAL, "md_create: between 1 and 32 devices "
                            "are needed");
    return -1;
  }
  devices_rescan ();
  memset (k, 0, sizeof k);
  for (i = 0; i < nd; ++i) {
    struct stat st;
    k[i] = device_user_to_kernel (args->devices.gbox_str_list_val[i]);
    if (k[i] == NULL || stat (k[i], &st) == -1 || !S_ISBLK (st.st_mode)) {
      reply_with_error_errno (ENOENT, "md_create: %s: no such device",
                              args->devices.gbox_str_list_val[i]);
      goto out;
    }
  }
  load_md_modules ();
  snprintf (level, sizeof level, "--level=%s", args->level);
  snprintf (ndev, sizeof ndev, "--raid-devices=%zu", nd);
  snprintf (name, sizeof name, "--name=%s", args->name);
  a[n++] = "--create";
  a[n++] = "/dev/md0";
  a[n++] = "--run";
  a[n++] = "--assume-clean";
  a[n++] = "--homehost=guest";
  a[n++] = name;
  a[n++] = "--metadata";
  a[n++] = args->metadata;
  a[n++] = level;
  a[n++] = ndev;
  /* No "--": mdadm would count it as a device; ours are /dev paths. */
  for (i = 0; i < nd; ++i)
    a[n++] = k[i];
  a[n] = NULL;
  r = run_mdadm (&err, a);
  if (r != 0) {
    reply_with_error_errno (EIO, "md_create: mdadm failed (status %d): %s",
                            r, err && *err ? err : "(no message)");
    r = -1;
    goto out;
  }
  free (err);
  err = NULL;
  /* Stopped: the superblocks are written and nothing stays open. */
  r = run_mdadm (&err, stop);
  if (r != 0) {
    reply_with_error_errno (EIO, "md_create: mdadm --stop failed: %s",
                            err && *err ? err : "(no message)");
    r = -1;
    goto out;
  }
  assembled = false;
  r = 0;
 out:
  for (i = 0; i < nd; ++i)
    free (k[i]);
  return r;
}
