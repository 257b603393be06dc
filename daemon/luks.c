/* guestbox - LUKS: opening encrypted devices, /dev/mapper names.
 * Copyright (C) 2026 the guestbox authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

/**
 * luks_open runs "cryptsetup open" with the key on its standard input
 * (a memfd, never a file or an argument, and never logged), read-only
 * when asked.  The plaintext device is /dev/mapper/MAPNAME; the host
 * picks "luks-UUID" as the libguestfs tools do.  Device-mapper devices
 * that are not logical volumes (opened LUKS devices) are found in
 * /sys/block/dm-N (dm/uuid not starting with "LVM-") and shown as
 * /dev/mapper/NAME, the kernel device being /dev/dm-N.  An opened
 * device that holds an LVM physical volume (LVM inside LUKS) has LVM
 * activated again by the next storage_open, once for all the devices
 * opened meanwhile; other devices need no new activation.
 */

#include <config.h>

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>

#include "daemon.h"

/* Everything cryptsetup may need: the kernel side of dm-crypt, and the
 * user-space crypto API it uses for the key slots. */
static const char *const crypt_modules[] = {
  "dm_mod", "dm_crypt", "xts", "ecb", "cbc", "essiv", "af_alg",
  "algif_skcipher", "algif_hash", NULL
};

static int
compare_dm (const void *a, const void *b)
{
  return strcmp (((const struct dm_other *) a)->name,
                 ((const struct dm_other *) b)->name);
}

/* A device-mapper name we show: what the host could have asked for. */
static bool
valid_dm_name (const char *s)
{
  size_t i, n = strlen (s);

  if (n == 0 || n > 127 || s[0] == '-' || s[0] == '.')
    return false;
  for (i = 0; i < n; ++i)
    if (!isalnum ((unsigned char) s[i]) && s[i] != '_' && s[i] != '-' &&
        s[i] != '.' && s[i] != '+')
      return false;
  return true;
}

size_t
dm_other_list (struct dm_other *v, size_t max)
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
    char path[PATH_MAX], uuid[256], name[256];

    if (strncmp (d->d_name, "dm-", 3) != 0 ||
        strlen (d->d_name) >= sizeof v[n].kname)
      continue;
    snprintf (path, sizeof path, "/sys/block/%s/dm/uuid", d->d_name);
    if (sysfs_read_attr (path, uuid, sizeof uuid) == -1 ||
        strncmp (uuid, "LVM-", 4) == 0)
      continue;
    snprintf (path, sizeof path, "/sys/block/%s/dm/name", d->d_name);
    if (sysfs_read_attr (path, name, sizeof name) == -1 ||
        !valid_dm_name (name))
      continue;
    snprintf (v[n].name, sizeof v[n].name, "%.127s", name);
    snprintf (v[n].kname, sizeof v[n].kname, "%s", d->d_name);
    n++;
  }
  closedir (dir);
  qsort (v, n, sizeof v[0], compare_dm);
  return n;
}

#define DM_MAX 256

char *
dm_other_user_to_kernel (const char *user)
{
  struct dm_other *v;
  size_t n, i;
  char *r = NULL;

  if (strncmp (user, "/dev/mapper/", 12) != 0)
    goto notfound;
  v = calloc (DM_MAX, sizeof *v);
  if (v == NULL)
    return NULL;
  n = dm_other_list (v, DM_MAX);
  for (i = 0; i < n; ++i)
    if (strcmp (v[i].name, user + 12) == 0) {
      if (asprintf (&r, "/dev/%s", v[i].kname) == -1)
        r = NULL;
      free (v);
      return r;
    }
  free (v);
 notfound:
  errno = ENOENT;
  return NULL;
}

char *
dm_other_kernel_to_user (const char *kname)
{
  struct dm_other *v;
  const char *base = strrchr (kname, '/');
  size_t n, i;
  char *r = NULL;

  base = base ? base + 1 : kname;
  v = calloc (DM_MAX, sizeof *v);
  if (v == NULL)
    return NULL;
  n = dm_other_list (v, DM_MAX);
  for (i = 0; i < n; ++i)
    if (strcmp (v[i].kname, base) == 0) {
      if (asprintf (&r, "/dev/mapper/%s", v[i].name) == -1)
        r = NULL;
      free (v);
      return r;
    }
  free (v);
  errno = ENOENT;
  return NULL;
}

static bool new_pv;

bool
luks_take_new_pv (void)
{
  bool r = new_pv;

  new_pv = false;
  return r;
}

int
do_luks_open (void *argsv, void *retv)
{
  gbox_luks_open_args *args = argsv;
  CLEANUP_FREE char *kdev = NULL;
  CLEANUP_FREE char *type = NULL;
  CLEANUP_FREE char *err = NULL;
  CLEANUP_FREE char *mapdev = NULL;
  CLEANUP_FREE char *existing = NULL;
  const char *argv[16];
  size_t n = 0, i, keylen = strlen (args->key);
  struct stat st;
  int fd, r;

  if (!appliance_mode) {
    reply_with_error_errno (EPERM, "luks_open: only the appliance opens "
                            "devices");
    goto fail;
  }
  if (!valid_dm_name (args->mapname)) {
    reply_with_error_errno (EINVAL, "luks_open: %s: invalid map name",
                            args->mapname);
    goto fail;
  }
  devices_rescan ();
  kdev = device_user_to_kernel (args->device);
  if (kdev == NULL || stat (kdev, &st) == -1 || !S_ISBLK (st.st_mode)) {
    reply_with_error_errno (ENOENT, "luks_open: %s: no such device",
                            args->device);
    goto fail;
  }
  type = probe_fstype (kdev);
  if (type == NULL || strcmp (type, "crypto_LUKS") != 0) {
    reply_with_error_errno (EINVAL, "luks_open: %s: not a LUKS device",
                            args->device);
    goto fail;
  }
  if (asprintf (&mapdev, "/dev/mapper/%s", args->mapname) == -1) {
    reply_with_perror ("asprintf");
    goto fail;
  }
  existing = dm_other_user_to_kernel (mapdev);
  if (existing != NULL) {
    reply_with_error_errno (EEXIST, "luks_open: %s: already exists", mapdev);
    goto fail;
  }
  for (i = 0; crypt_modules[i]; ++i)
    load_fs_modules (crypt_modules[i]);

  /* The key: exactly its bytes, through a memfd on standard input. */
  fd = memfd_create ("key", MFD_CLOEXEC);
  if (fd == -1 || (keylen > 0 && write (fd, args->key, keylen) !=
                   (ssize_t) keylen) || lseek (fd, 0, SEEK_SET) == -1) {
    reply_with_perror ("luks_open: memfd");
    if (fd >= 0)
      close (fd);
    goto fail;
  }
  /* No udev in the appliance: device-mapper makes the nodes itself. */
  setenv ("DM_DISABLE_UDEV", "1", 1);
  argv[n++] = "cryptsetup";
  argv[n++] = "open";
  argv[n++] = "--type";
  argv[n++] = "luks";
  argv[n++] = "--key-file=-";
  argv[n++] = "--disable-locks";
  /* Read-write: discards pass through, so that fstrim inside the
   * device (virt-sparsify --in-place) makes the image sparse. */
  if (args->readonly)
    argv[n++] = "--readonly";
  else
    argv[n++] = "--allow-discards";
  argv[n++] = "--";
  argv[n++] = kdev;
  argv[n++] = args->mapname;
  argv[n] = NULL;
  r = run_command_stdin (&err, argv, fd);
  close (fd);
  explicit_bzero (args->key, keylen);
  if (r == 127 || r == -1) {
    reply_with_error_errno (ENOSYS, "luks_open: the cryptsetup program is "
                            "not available in the appliance");
    return -1;
  }
  if (r != 0) {
    /* cryptsetup's own message: it never contains the key.  A LUKS2
     * key slot derived with argon2 may need up to 1 GiB of memory. */
    reply_with_error_errno (r == 2 ? EPERM : EIO, "%s: cannot open the LUKS "
                            "device: %s%s", args->device,
                            err && *err ? err : "cryptsetup failed",
                            err && strstr (err, "memory") ?
                            " (give the appliance more memory with "
                            "GBOX_MEMSIZE, in MiB)" : "");
    return -1;
  }
  /* The new device shows up in the next listing; a physical volume in
   * it is activated by the next storage_open (not here: the next
   * luks_open would pay for an activation that the one after it makes
   * again, 1-3 s each under TCG). */
  lvm_invalidate ();
  {
    CLEANUP_FREE char *newdev = dm_other_user_to_kernel (mapdev);
    CLEANUP_FREE char *newtype = newdev ? probe_fstype (newdev) : NULL;

    if (newdev == NULL || newtype == NULL ||
        strcmp (newtype, "LVM2_member") == 0)
      new_pv = true;
  }
  return 0;

 fail:
  explicit_bzero (args->key, keylen);
  return -1;
}
