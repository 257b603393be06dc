/* guestbox - one client call per daemon procedure.
 * Copyright (C) 2026 the guestbox authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

/**
 * The gbox_* calls of guestbox.h that talk to the daemon: each checks
 * the handle is launched, validates and fills the arguments and runs
 * one RPC (proto.c).  Also gbox_readdir_stat_all, which pages through
 * a directory, and the table of calls made from procs.def.
 */

#include <config.h>

#include <stdio.h>
#include <stdlib.h>
#include <stdint.h>
#include <inttypes.h>
#include <string.h>
#include <errno.h>

#include "guestbox-internal.h"
#include "cleanups.h"

/* Most entries gbox_readdir_stat_all will gather from one directory. */
#define READDIR_MAX_ENTRIES 10000000

/* Per element of a paged listing: the host structure's size plus this
 * for the allocator and the strings' own blocks. */
#define PAGE_ELEMENT_OVERHEAD 64

/* Charge one page of a paged listing (a directory, its checksums, the
 * applications of an OS) against the handle's memory budget: the bytes
 * of the reply plus, per element, its host structure.  START == 0
 * begins a new listing.  -1 (EFBIG, error set) once over budget. */
static int
charge_page (gbox_h *h, int proc, const char *what, uint64_t start,
             size_t count, size_t elsize)
{
  uint64_t cost = h->last_reply_len +
    (uint64_t) count * (elsize + PAGE_ELEMENT_OVERHEAD);

  if (start == 0)
    h->pages_taken = 0;
  h->pages_taken += cost;
  if (h->pages_taken <= h->memory_budget)
    return 0;
  gbox_int_error (h, "%s: %s: the listing takes more than the memory "
                  "budget of %" PRIu64 " MiB (GBOX_MEMORY_BUDGET)",
                  gbox_int_proc_name (proc), what, h->memory_budget >> 20);
  h->last_errno = EFBIG;
  return -1;
}

/* Does S hold a control character (C0 or DEL)? */
static bool
has_controls (const char *s)
{
  for (; s && *s; ++s)
    if ((unsigned char) *s < 0x20 || *s == 0x7f)
      return true;
  return false;
}

/* Make S, in place, valid UTF-8 made of characters that are safe on a
 * terminal and valid in XML 1.0 and JSON: every byte of an invalid
 * sequence, every C0/C1 control (but tab and newline when KEEP_NL),
 * DEL, surrogates and U+FFFE/U+FFFF become '?'.  Returns how many
 * bytes were replaced.  The daemon sends only such strings; this is
 * for a daemon that does not. */
static size_t
sanitize_string (char *s, bool keep_nl)
{
  unsigned char *p = (unsigned char *) s;
  size_t fixed = 0;

  while (p && *p) {
    unsigned c = *p, len, k;
    uint32_t cp;

    if (c < 0x80) {
      if ((c < 0x20 && !(keep_nl && (c == '\n' || c == '\t'))) ||
          c == 0x7f) {
        *p = '?';
        fixed++;
      }
      p++;
      continue;
    }
    len = c >= 0xf0 && c <= 0xf4 ? 4 : c >= 0xe0 ? (c < 0xf0 ? 3 : 0)
      : c >= 0xc2 ? 2 : 0;
    cp = len == 2 ? c & 0x1f : len == 3 ? c & 0x0f : c & 0x07;
    for (k = 1; k < len; ++k) {
      if ((p[k] & 0xc0) != 0x80) {
        len = 0;
        break;
      }
      cp = (cp << 6) | (p[k] & 0x3f);
    }
    if (len == 0 || (len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
        cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff) ||
        cp == 0xfffe || cp == 0xffff || (cp >= 0x80 && cp <= 0x9f)) {
      *p = '?';
      fixed++;
      p++;
      continue;
    }
    p += len;
  }
  return fixed;
}

/* Drop the mount points whose path or device holds a control
 * character: no guest could have them from a sane fstab, and they would
 * reach the terminal in messages. */
static void
drop_bad_mountpoints (gbox_h *h, gbox_mountpoint *mps, u_int *n)
{
  u_int i, k = 0;

  for (i = 0; i < *n; ++i) {
    if (has_controls (mps[i].mountpoint) || has_controls (mps[i].device)) {
      gbox_int_debug (h, "inspection: a mount point with control "
                      "characters was dropped");
      xdr_free ((xdrproc_t) xdr_gbox_mountpoint, (char *) &mps[i]);
      continue;
    }
    mps[k++] = mps[i];
  }
  *n = k;
}

/* The gbox_* call of every procedure, from procs.def: the test that
 * proves each procedure has one reads it. */
#define PROC(num, name, args, ret, kind, call, trace) \
  { GBOX_PROC_##num, (void (*) (void)) call },
const struct gbox_int_proc_call gbox_int_proc_calls[] = {
#include "procs.def"
};
#undef PROC
const size_t gbox_int_nr_proc_calls =
  sizeof gbox_int_proc_calls / sizeof gbox_int_proc_calls[0];

/* Every call starts here: the appliance must be up. */
static int
check_ready (gbox_h *h, int proc)
{
  switch (h->state) {
  case GBOX_STATE_READY:
    return 0;
  case GBOX_STATE_CONFIG:
    gbox_int_error (h, "%s: call gbox_launch first",
                    gbox_int_proc_name (proc));
    break;
  case GBOX_STATE_DEAD:
    gbox_int_error (h, "%s: the appliance is no longer running "
                    "(see the earlier error)", gbox_int_proc_name (proc));
    break;
  }
  h->last_errno = ENOTCONN;
  return -1;
}

/* A string argument: present and within its protocol limit. */
static int
check_string (gbox_h *h, int proc, const char *what, const char *s,
              size_t max)
{
  if (s == NULL) {
    gbox_int_error (h, "%s: %s must not be NULL",
                    gbox_int_proc_name (proc), what);
    h->last_errno = EINVAL;
    return -1;
  }
  if (strlen (s) > max) {
    gbox_int_error (h, "%s: %s is longer than %zu bytes",
                    gbox_int_proc_name (proc), what, max);
    h->last_errno = ENAMETOOLONG;
    return -1;
  }
  return 0;
}

#define CHECK_PATH(proc, what, s)                                       \
  do {                                                                  \
    if (check_string (h, proc, what, s, GBOX_PATH_MAX) == -1)           \
      return -1;                                                        \
  } while (0)

/* A procedure without arguments or reply body. */
static int
simple_call (gbox_h *h, int proc)
{
  if (check_ready (h, proc) == -1)
    return -1;
  return gbox_int_call (h, proc, NULL, NULL, NULL, NULL);
}

int
gbox_version (gbox_h *h, struct gbox_version_ret *ret)
{
  if (check_ready (h, GBOX_PROC_VERSION) == -1)
    return -1;
  memset (ret, 0, sizeof *ret);
  return gbox_int_call (h, GBOX_PROC_VERSION, NULL, NULL,
                        (xdrproc_t) xdr_gbox_version_ret, ret);
}

int
gbox_sync (gbox_h *h)
{
  return simple_call (h, GBOX_PROC_SYNC);
}

int
gbox_internal_shutdown (gbox_h *h)
{
  return simple_call (h, GBOX_PROC_SHUTDOWN);
}

int
gbox_disks_ready (gbox_h *h, unsigned count, unsigned timeout_ms)
{
  struct gbox_disks_ready_args args = {
    .count = count, .timeout_ms = timeout_ms,
  };

  if (check_ready (h, GBOX_PROC_DISKS_READY) == -1)
    return -1;
  return gbox_int_call (h, GBOX_PROC_DISKS_READY,
                        (xdrproc_t) xdr_gbox_disks_ready_args, &args,
                        NULL, NULL);
}

int
gbox_int_refresh_send (gbox_h *h, int64_t sec, unsigned nsec,
                       const void *seed, size_t seedlen,
                       struct gbox_pending_call *p)
{
  struct gbox_refresh_args args = {
    .sec = sec, .nsec = nsec,
    .seed = { .seed_len = seedlen, .seed_val = (char *) seed },
  };

  p->sent = false;
  if (check_ready (h, GBOX_PROC_REFRESH) == -1)
    return -1;
  if (seedlen > 512 || (seedlen > 0 && seed == NULL) || nsec >= 1000000000) {
    gbox_int_error (h, "refresh: invalid arguments (seed at most 512 bytes, "
                    "nsec below 1e9)");
    h->last_errno = EINVAL;
    return -1;
  }
  return gbox_int_call_send (h, GBOX_PROC_REFRESH,
                             (xdrproc_t) xdr_gbox_refresh_args, &args, p);
}

int
gbox_refresh (gbox_h *h, int64_t sec, unsigned nsec,
              const void *seed, size_t seedlen)
{
  struct gbox_pending_call p;

  if (gbox_int_refresh_send (h, sec, nsec, seed, seedlen, &p) == -1)
    return -1;
  return gbox_int_call_recv (h, &p, NULL, NULL);
}

int
gbox_list_devices (gbox_h *h, struct gbox_list_devices_ret *ret)
{
  if (check_ready (h, GBOX_PROC_LIST_DEVICES) == -1)
    return -1;
  memset (ret, 0, sizeof *ret);
  return gbox_int_call (h, GBOX_PROC_LIST_DEVICES, NULL, NULL,
                        (xdrproc_t) xdr_gbox_list_devices_ret, ret);
}

int
gbox_list_partitions (gbox_h *h, struct gbox_list_partitions_ret *ret)
{
  if (check_ready (h, GBOX_PROC_LIST_PARTITIONS) == -1)
    return -1;
  memset (ret, 0, sizeof *ret);
  return gbox_int_call (h, GBOX_PROC_LIST_PARTITIONS, NULL, NULL,
                        (xdrproc_t) xdr_gbox_list_partitions_ret, ret);
}

int
gbox_list_filesystems (gbox_h *h, struct gbox_list_filesystems_ret *ret)
{
  if (check_ready (h, GBOX_PROC_LIST_FILESYSTEMS) == -1)
    return -1;
  memset (ret, 0, sizeof *ret);
  return gbox_int_call (h, GBOX_PROC_LIST_FILESYSTEMS, NULL, NULL,
                        (xdrproc_t) xdr_gbox_list_filesystems_ret, ret);
}

int
gbox_mount (gbox_h *h, const char *device, const char *mountpoint,
            const char *options, const char *fstype)
{
  struct gbox_mount_args args = {
    .device = (char *) device,
    .mountpoint = (char *) mountpoint,
    .options = (char *) (options ? options : ""),
    .fstype = (char *) (fstype ? fstype : ""),
  };

  if (check_ready (h, GBOX_PROC_MOUNT) == -1)
    return -1;
  CHECK_PATH (GBOX_PROC_MOUNT, "device", device);
  CHECK_PATH (GBOX_PROC_MOUNT, "mountpoint", mountpoint);
  if (check_string (h, GBOX_PROC_MOUNT, "options", args.options,
                    GBOX_STRING_MAX) == -1 ||
      check_string (h, GBOX_PROC_MOUNT, "fstype", args.fstype,
                    GBOX_NAME_MAX) == -1)
    return -1;
  return gbox_int_call (h, GBOX_PROC_MOUNT,
                        (xdrproc_t) xdr_gbox_mount_args, &args, NULL, NULL);
}

int
gbox_mount_ro (gbox_h *h, const char *device, const char *mountpoint)
{
  struct gbox_mount_ro_args args = {
    .device = (char *) device,
    .mountpoint = (char *) mountpoint,
  };

  if (check_ready (h, GBOX_PROC_MOUNT_RO) == -1)
    return -1;
  CHECK_PATH (GBOX_PROC_MOUNT_RO, "device", device);
  CHECK_PATH (GBOX_PROC_MOUNT_RO, "mountpoint", mountpoint);
  return gbox_int_call (h, GBOX_PROC_MOUNT_RO,
                        (xdrproc_t) xdr_gbox_mount_ro_args, &args, NULL, NULL);
}

int
gbox_umount_all (gbox_h *h)
{
  return simple_call (h, GBOX_PROC_UMOUNT_ALL);
}

/* exists, is_file, is_dir: path in, bool out. */
static int
bool_call (gbox_h *h, int proc, const char *path)
{
  struct gbox_path_args args = { .path = (char *) path };
  struct gbox_bool_ret ret = { 0 };

  if (check_ready (h, proc) == -1)
    return -1;
  CHECK_PATH (proc, "path", path);
  if (gbox_int_call (h, proc, (xdrproc_t) xdr_gbox_path_args, &args,
                     (xdrproc_t) xdr_gbox_bool_ret, &ret) == -1)
    return -1;
  return ret.value ? 1 : 0;
}

int
gbox_exists (gbox_h *h, const char *path)
{
  return bool_call (h, GBOX_PROC_EXISTS, path);
}

int
gbox_is_file (gbox_h *h, const char *path)
{
  return bool_call (h, GBOX_PROC_IS_FILE, path);
}

int
gbox_is_dir (gbox_h *h, const char *path)
{
  return bool_call (h, GBOX_PROC_IS_DIR, path);
}

static int
stat_call (gbox_h *h, int proc, const char *path, struct gbox_stat *st)
{
  struct gbox_path_args args = { .path = (char *) path };
  struct gbox_stat_ret ret;

  if (check_ready (h, proc) == -1)
    return -1;
  CHECK_PATH (proc, "path", path);
  memset (&ret, 0, sizeof ret);
  if (gbox_int_call (h, proc, (xdrproc_t) xdr_gbox_path_args, &args,
                     (xdrproc_t) xdr_gbox_stat_ret, &ret) == -1)
    return -1;
  *st = ret.st;
  return 0;
}

int
gbox_lstat (gbox_h *h, const char *path, struct gbox_stat *st)
{
  return stat_call (h, GBOX_PROC_LSTAT, path, st);
}

int
gbox_stat_path (gbox_h *h, const char *path, struct gbox_stat *st)
{
  return stat_call (h, GBOX_PROC_STAT, path, st);
}

char *
gbox_readlink (gbox_h *h, const char *path)
{
  struct gbox_path_args args = { .path = (char *) path };
  struct gbox_readlink_ret ret = { 0 };

  if (check_ready (h, GBOX_PROC_READLINK) == -1 ||
      check_string (h, GBOX_PROC_READLINK, "path", path, GBOX_PATH_MAX) == -1)
    return NULL;
  if (gbox_int_call (h, GBOX_PROC_READLINK, (xdrproc_t) xdr_gbox_path_args,
                     &args, (xdrproc_t) xdr_gbox_readlink_ret, &ret) == -1)
    return NULL;
  return ret.target;            /* the caller frees it */
}

int
gbox_readdir_stat (gbox_h *h, const char *path, uint64_t start,
                   struct gbox_readdir_stat_ret *ret)
{
  struct gbox_readdir_stat_args args = {
    .path = (char *) path, .start = start,
  };

  if (check_ready (h, GBOX_PROC_READDIR_STAT) == -1)
    return -1;
  CHECK_PATH (GBOX_PROC_READDIR_STAT, "path", path);
  memset (ret, 0, sizeof *ret);
  if (gbox_int_call (h, GBOX_PROC_READDIR_STAT,
                     (xdrproc_t) xdr_gbox_readdir_stat_args, &args,
                     (xdrproc_t) xdr_gbox_readdir_stat_ret, ret) == -1)
    return -1;
  if (charge_page (h, GBOX_PROC_READDIR_STAT, path, start,
                   ret->entries.entries_len, sizeof (gbox_dirent)) == -1) {
    xdr_free ((xdrproc_t) xdr_gbox_readdir_stat_ret, (char *) ret);
    memset (ret, 0, sizeof *ret);
    return -1;
  }
  return 0;
}

int
gbox_statvfs_path (gbox_h *h, const char *path, struct gbox_statvfs *st)
{
  struct gbox_path_args args = { .path = (char *) path };
  struct gbox_statvfs_ret ret;

  if (check_ready (h, GBOX_PROC_STATVFS) == -1)
    return -1;
  CHECK_PATH (GBOX_PROC_STATVFS, "path", path);
  memset (&ret, 0, sizeof ret);
  if (gbox_int_call (h, GBOX_PROC_STATVFS, (xdrproc_t) xdr_gbox_path_args,
                     &args, (xdrproc_t) xdr_gbox_statvfs_ret, &ret) == -1)
    return -1;
  *st = ret.st;
  return 0;
}

int
gbox_download (gbox_h *h, const char *path, int fd)
{
  struct gbox_download_args args = { .path = (char *) path };

  if (check_ready (h, GBOX_PROC_DOWNLOAD) == -1)
    return -1;
  CHECK_PATH (GBOX_PROC_DOWNLOAD, "path", path);
  return gbox_int_call_fileout (h, GBOX_PROC_DOWNLOAD,
                                (xdrproc_t) xdr_gbox_download_args, &args, fd);
}

int
gbox_download_max (gbox_h *h, const char *path, int fd, uint64_t max)
{
  struct gbox_download_args args = { .path = (char *) path };

  if (check_ready (h, GBOX_PROC_DOWNLOAD) == -1)
    return -1;
  CHECK_PATH (GBOX_PROC_DOWNLOAD, "path", path);
  return gbox_int_call_fileout_max (h, GBOX_PROC_DOWNLOAD,
                                    (xdrproc_t) xdr_gbox_download_args, &args,
                                    fd, max);
}

int
gbox_upload (gbox_h *h, int fd, const char *path, int mode)
{
  struct gbox_upload_args args = { .path = (char *) path, .mode = mode };

  if (check_ready (h, GBOX_PROC_UPLOAD) == -1)
    return -1;
  CHECK_PATH (GBOX_PROC_UPLOAD, "path", path);
  if (mode < -1 || mode > 07777) {
    gbox_int_error (h, "upload: invalid mode 0%o", (unsigned) mode);
    h->last_errno = EINVAL;
    return -1;
  }
  return gbox_int_call_filein (h, GBOX_PROC_UPLOAD,
                               (xdrproc_t) xdr_gbox_upload_args, &args, fd,
                               NULL, NULL);
}

/* Read-only commands: LVM creation (tests, virt-resize), virt-df,
 * virt-ls --checksum, virt-edit. */

int
gbox_pvcreate (gbox_h *h, const char *device)
{
  struct gbox_device_args args = { .device = (char *) device };

  if (check_ready (h, GBOX_PROC_PVCREATE) == -1)
    return -1;
  CHECK_PATH (GBOX_PROC_PVCREATE, "device", device);
  return gbox_int_call (h, GBOX_PROC_PVCREATE,
                        (xdrproc_t) xdr_gbox_device_args, &args, NULL, NULL);
}

int
gbox_vgcreate (gbox_h *h, const char *vg, char *const *pvs, size_t nr_pvs)
{
  struct gbox_vgcreate_args args = {
    .vg = (char *) vg,
    .pvs = { .gbox_str_list_len = nr_pvs, .gbox_str_list_val = (char **) pvs },
  };
  size_t i;

  if (check_ready (h, GBOX_PROC_VGCREATE) == -1)
    return -1;
  if (check_string (h, GBOX_PROC_VGCREATE, "vg", vg, GBOX_NAME_MAX) == -1)
    return -1;
  for (i = 0; i < nr_pvs; ++i)
    CHECK_PATH (GBOX_PROC_VGCREATE, "pv", pvs[i]);
  return gbox_int_call (h, GBOX_PROC_VGCREATE,
                        (xdrproc_t) xdr_gbox_vgcreate_args, &args, NULL, NULL);
}

int
gbox_lvcreate (gbox_h *h, const char *lv, const char *vg, uint64_t mbytes)
{
  struct gbox_lvcreate_args args = {
    .lv = (char *) lv, .vg = (char *) vg, .mbytes = mbytes,
  };

  if (check_ready (h, GBOX_PROC_LVCREATE) == -1)
    return -1;
  if (check_string (h, GBOX_PROC_LVCREATE, "lv", lv, GBOX_NAME_MAX) == -1 ||
      check_string (h, GBOX_PROC_LVCREATE, "vg", vg, GBOX_NAME_MAX) == -1)
    return -1;
  return gbox_int_call (h, GBOX_PROC_LVCREATE,
                        (xdrproc_t) xdr_gbox_lvcreate_args, &args, NULL, NULL);
}

int
gbox_df (gbox_h *h, struct gbox_df_ret *ret)
{
  if (check_ready (h, GBOX_PROC_DF) == -1)
    return -1;
  memset (ret, 0, sizeof *ret);
  return gbox_int_call (h, GBOX_PROC_DF, NULL, NULL,
                        (xdrproc_t) xdr_gbox_df_ret, ret);
}

int
gbox_checksums (gbox_h *h, const char *dir, const char *csumtype,
                uint64_t start, struct gbox_checksums_ret *ret)
{
  struct gbox_checksums_args args = {
    .dir = (char *) dir, .csumtype = (char *) csumtype, .start = start,
  };

  if (check_ready (h, GBOX_PROC_CHECKSUMS) == -1)
    return -1;
  CHECK_PATH (GBOX_PROC_CHECKSUMS, "dir", dir);
  if (check_string (h, GBOX_PROC_CHECKSUMS, "csumtype", csumtype, 16) == -1)
    return -1;
  memset (ret, 0, sizeof *ret);
  if (gbox_int_call (h, GBOX_PROC_CHECKSUMS,
                     (xdrproc_t) xdr_gbox_checksums_args, &args,
                     (xdrproc_t) xdr_gbox_checksums_ret, ret) == -1)
    return -1;
  if (charge_page (h, GBOX_PROC_CHECKSUMS, dir, start,
                   ret->entries.entries_len,
                   sizeof (gbox_checksum_entry)) == -1) {
    xdr_free ((xdrproc_t) xdr_gbox_checksums_ret, (char *) ret);
    memset (ret, 0, sizeof *ret);
    return -1;
  }
  return 0;
}

int
gbox_replace_file (gbox_h *h, const char *tmp, const char *path,
                   const char *backup)
{
  struct gbox_replace_file_args args = {
    .tmp = (char *) tmp, .path = (char *) path,
    .backup = (char *) (backup ? backup : ""),
  };

  if (check_ready (h, GBOX_PROC_REPLACE_FILE) == -1)
    return -1;
  CHECK_PATH (GBOX_PROC_REPLACE_FILE, "tmp", tmp);
  CHECK_PATH (GBOX_PROC_REPLACE_FILE, "path", path);
  CHECK_PATH (GBOX_PROC_REPLACE_FILE, "backup", args.backup);
  return gbox_int_call (h, GBOX_PROC_REPLACE_FILE,
                        (xdrproc_t) xdr_gbox_replace_file_args, &args,
                        NULL, NULL);
}

void
gbox_free_dirents (struct gbox_dirent *entries, size_t n)
{
  size_t i;

  if (entries == NULL)
    return;
  for (i = 0; i < n; ++i)
    xdr_free ((xdrproc_t) xdr_gbox_dirent, (char *) &entries[i]);
  free (entries);
}

int
gbox_readdir_stat_all (gbox_h *h, const char *path,
                       struct gbox_dirent **entries_r, size_t *n_r)
{
  struct gbox_dirent *entries = NULL;
  size_t n = 0, alloc = 0;

  *entries_r = NULL;
  *n_r = 0;

  for (;;) {
    CLEANUP_XDR_FREE (gbox_readdir_stat_ret) struct gbox_readdir_stat_ret ret;
    size_t count;

    memset (&ret, 0, sizeof ret);
    if (gbox_readdir_stat (h, path, n, &ret) == -1)
      goto err;
    count = ret.entries.entries_len;
    if (count > READDIR_MAX_ENTRIES - n) {
      gbox_int_error (h, "readdir_stat: %s: more than %d entries",
                      path, READDIR_MAX_ENTRIES);
      h->last_errno = EFBIG;
      goto err;
    }
    if (count == 0 && ret.more) {
      gbox_int_error (h, "readdir_stat: %s: the daemon returned an empty "
                      "page with more entries to come", path);
      h->last_errno = EPROTO;
      goto err;
    }
    if (n + count > alloc) {
      size_t new_alloc = alloc ? alloc * 2 : 64;
      struct gbox_dirent *p;

      while (new_alloc < n + count)
        new_alloc *= 2;
      p = reallocarray (entries, new_alloc, sizeof *entries);
      if (p == NULL) {
        gbox_int_perror (h, "readdir_stat: %s", path);
        goto err;
      }
      entries = p;
      alloc = new_alloc;
    }
    /* Move the entries (and the strings they own) into the array. */
    if (count > 0)
      memcpy (&entries[n], ret.entries.entries_val, count * sizeof *entries);
    n += count;
    free (ret.entries.entries_val);
    ret.entries.entries_val = NULL;
    ret.entries.entries_len = 0;
    if (!ret.more)
      break;
  }

  *entries_r = entries;
  *n_r = n;
  return 0;

 err:
  gbox_free_dirents (entries, n);
  return -1;
}

/* virt-zerofree, virt-sparsify (issue 5). */

int
gbox_zerofree (gbox_h *h, const char *device, int dry_run,
               struct gbox_zerofree_ret *ret)
{
  struct gbox_zerofree_args args = {
    .device = (char *) device, .dry_run = dry_run != 0,
  };

  if (check_ready (h, GBOX_PROC_ZEROFREE) == -1)
    return -1;
  CHECK_PATH (GBOX_PROC_ZEROFREE, "device", device);
  memset (ret, 0, sizeof *ret);
  return gbox_int_call (h, GBOX_PROC_ZEROFREE,
                        (xdrproc_t) xdr_gbox_zerofree_args, &args,
                        (xdrproc_t) xdr_gbox_zerofree_ret, ret);
}

int
gbox_e2fsck (gbox_h *h, const char *device, int fix,
             struct gbox_e2fsck_ret *ret)
{
  struct gbox_e2fsck_args args = {
    .device = (char *) device, .fix = fix != 0,
  };

  if (check_ready (h, GBOX_PROC_E2FSCK) == -1)
    return -1;
  CHECK_PATH (GBOX_PROC_E2FSCK, "device", device);
  memset (ret, 0, sizeof *ret);
  return gbox_int_call (h, GBOX_PROC_E2FSCK,
                        (xdrproc_t) xdr_gbox_e2fsck_args, &args,
                        (xdrproc_t) xdr_gbox_e2fsck_ret, ret);
}

static int
space_call (gbox_h *h, int proc, const char *path, uint64_t *bytes)
{
  struct gbox_path_args args = { .path = (char *) path };
  struct gbox_space_ret ret;

  if (check_ready (h, proc) == -1)
    return -1;
  CHECK_PATH (proc, "path", path);
  memset (&ret, 0, sizeof ret);
  if (gbox_int_call (h, proc, (xdrproc_t) xdr_gbox_path_args, &args,
                     (xdrproc_t) xdr_gbox_space_ret, &ret) == -1)
    return -1;
  if (bytes)
    *bytes = ret.bytes;
  return 0;
}

int
gbox_zero_free_space (gbox_h *h, const char *path, uint64_t *bytes)
{
  return space_call (h, GBOX_PROC_ZERO_FREE_SPACE, path, bytes);
}

int
gbox_fstrim (gbox_h *h, const char *path, uint64_t *bytes)
{
  return space_call (h, GBOX_PROC_FSTRIM, path, bytes);
}

int
gbox_discard_free_space (gbox_h *h, const char *path, uint64_t *bytes)
{
  return space_call (h, GBOX_PROC_DISCARD_FREE_SPACE, path, bytes);
}

int
gbox_zero_swap (gbox_h *h, const char *device, int discard)
{
  struct gbox_zero_swap_args args = {
    .device = (char *) device, .discard = discard != 0,
  };

  if (check_ready (h, GBOX_PROC_ZERO_SWAP) == -1)
    return -1;
  CHECK_PATH (GBOX_PROC_ZERO_SWAP, "device", device);
  return gbox_int_call (h, GBOX_PROC_ZERO_SWAP,
                        (xdrproc_t) xdr_gbox_zero_swap_args, &args,
                        NULL, NULL);
}

int
gbox_list_vgs (gbox_h *h, struct gbox_list_vgs_ret *ret)
{
  if (check_ready (h, GBOX_PROC_LIST_VGS) == -1)
    return -1;
  memset (ret, 0, sizeof *ret);
  return gbox_int_call (h, GBOX_PROC_LIST_VGS, NULL, NULL,
                        (xdrproc_t) xdr_gbox_list_vgs_ret, ret);
}

int
gbox_zero_vg_free (gbox_h *h, const char *vg, int discard, uint64_t *bytes)
{
  struct gbox_zero_vg_free_args args = {
    .vg = (char *) vg, .discard = discard != 0,
  };
  struct gbox_space_ret ret;

  if (check_ready (h, GBOX_PROC_ZERO_VG_FREE) == -1)
    return -1;
  if (check_string (h, GBOX_PROC_ZERO_VG_FREE, "vg", vg, GBOX_NAME_MAX) == -1)
    return -1;
  memset (&ret, 0, sizeof ret);
  if (gbox_int_call (h, GBOX_PROC_ZERO_VG_FREE,
                     (xdrproc_t) xdr_gbox_zero_vg_free_args, &args,
                     (xdrproc_t) xdr_gbox_space_ret, &ret) == -1)
    return -1;
  if (bytes)
    *bytes = ret.bytes;
  return 0;
}

/* virt-resize: partition tables, range copies, content. */

int
gbox_part_get_layout (gbox_h *h, const char *device,
                      struct gbox_part_get_layout_ret *ret)
{
  struct gbox_part_device_args args = { .device = (char *) device };

  if (check_ready (h, GBOX_PROC_PART_GET_LAYOUT) == -1)
    return -1;
  CHECK_PATH (GBOX_PROC_PART_GET_LAYOUT, "device", device);
  memset (ret, 0, sizeof *ret);
  return gbox_int_call (h, GBOX_PROC_PART_GET_LAYOUT,
                        (xdrproc_t) xdr_gbox_part_device_args, &args,
                        (xdrproc_t) xdr_gbox_part_get_layout_ret, ret);
}

int
gbox_part_set_layout (gbox_h *h, const char *device,
                      const struct gbox_part_layout *layout)
{
  struct gbox_part_set_layout_args args = {
    .device = (char *) device, .layout = *layout,
  };

  if (check_ready (h, GBOX_PROC_PART_SET_LAYOUT) == -1)
    return -1;
  CHECK_PATH (GBOX_PROC_PART_SET_LAYOUT, "device", device);
  if (layout->parts.parts_len > GBOX_PARTS_MAX) {
    gbox_int_error (h, "part_set_layout: too many partitions");
    return -1;
  }
  return gbox_int_call (h, GBOX_PROC_PART_SET_LAYOUT,
                        (xdrproc_t) xdr_gbox_part_set_layout_args, &args,
                        NULL, NULL);
}

int
gbox_part_wipe (gbox_h *h, const char *device)
{
  struct gbox_part_device_args args = { .device = (char *) device };

  if (check_ready (h, GBOX_PROC_PART_WIPE) == -1)
    return -1;
  CHECK_PATH (GBOX_PROC_PART_WIPE, "device", device);
  return gbox_int_call (h, GBOX_PROC_PART_WIPE,
                        (xdrproc_t) xdr_gbox_part_device_args, &args,
                        NULL, NULL);
}

int
gbox_copy_range (gbox_h *h, const char *src, uint64_t src_offset,
                 const char *dst, uint64_t dst_offset, uint64_t size,
                 int sparse, uint64_t *written)
{
  struct gbox_copy_range_args args = {
    .src = (char *) src, .src_offset = src_offset,
    .dst = (char *) dst, .dst_offset = dst_offset,
    .size = size, .sparse = sparse != 0,
  };
  struct gbox_copy_range_ret ret = { 0 };

  if (check_ready (h, GBOX_PROC_COPY_RANGE) == -1)
    return -1;
  CHECK_PATH (GBOX_PROC_COPY_RANGE, "src", src);
  CHECK_PATH (GBOX_PROC_COPY_RANGE, "dst", dst);
  if (gbox_int_call (h, GBOX_PROC_COPY_RANGE,
                     (xdrproc_t) xdr_gbox_copy_range_args, &args,
                     (xdrproc_t) xdr_gbox_copy_range_ret, &ret) == -1)
    return -1;
  if (written)
    *written = ret.written;
  return 0;
}

int
gbox_content_info (gbox_h *h, const char *device, uint64_t offset,
                   uint64_t size, struct gbox_content_info_ret *ret)
{
  struct gbox_content_info_args args = {
    .device = (char *) device, .offset = offset, .size = size,
  };

  if (check_ready (h, GBOX_PROC_CONTENT_INFO) == -1)
    return -1;
  CHECK_PATH (GBOX_PROC_CONTENT_INFO, "device", device);
  memset (ret, 0, sizeof *ret);
  return gbox_int_call (h, GBOX_PROC_CONTENT_INFO,
                        (xdrproc_t) xdr_gbox_content_info_args, &args,
                        (xdrproc_t) xdr_gbox_content_info_ret, ret);
}

int
gbox_resize_content (gbox_h *h, const char *device, uint64_t offset,
                     uint64_t size, const char *type, unsigned flags)
{
  struct gbox_resize_content_args args = {
    .device = (char *) device, .offset = offset, .size = size,
    .type = (char *) type, .flags = flags,
  };

  if (check_ready (h, GBOX_PROC_RESIZE_CONTENT) == -1)
    return -1;
  CHECK_PATH (GBOX_PROC_RESIZE_CONTENT, "device", device);
  if (check_string (h, GBOX_PROC_RESIZE_CONTENT, "type", type,
                    GBOX_NAME_MAX) == -1)
    return -1;
  return gbox_int_call (h, GBOX_PROC_RESIZE_CONTENT,
                        (xdrproc_t) xdr_gbox_resize_content_args, &args,
                        NULL, NULL);
}

/* Issue 4: full inspection (virt-inspector). */
static void clean_inspect_full (gbox_h *h, struct gbox_inspect_full_ret *ret);

int
gbox_inspect_full (gbox_h *h, struct gbox_inspect_full_ret *ret)
{
  if (check_ready (h, GBOX_PROC_INSPECT_FULL) == -1)
    return -1;
  memset (ret, 0, sizeof *ret);
  if (gbox_int_call (h, GBOX_PROC_INSPECT_FULL, NULL, NULL,
                     (xdrproc_t) xdr_gbox_inspect_full_ret, ret) == -1)
    return -1;
  clean_inspect_full (h, ret);
  return 0;
}

/* What inspect_full and inspect_full_disk send: strings made valid,
 * mountpoints checked. */
static void
clean_inspect_full (gbox_h *h, struct gbox_inspect_full_ret *ret)
{
  u_int i;
  size_t k;

  for (i = 0; i < ret->oses.oses_len; ++i) {
    gbox_inspected_os *os = &ret->oses.oses_val[i];
    char *fields[] = {
      os->root, os->type, os->distro, os->product_name, os->product_variant,
      os->arch, os->hostname, os->build_id, os->osinfo, os->package_format,
      os->package_management, os->windows_systemroot,
      os->windows_current_control_set,
    };
    for (k = 0; k < sizeof fields / sizeof fields[0]; ++k)
      sanitize_string (fields[k], false);
    drop_bad_mountpoints (h, os->mountpoints.mountpoints_val,
                          &os->mountpoints.mountpoints_len);
    for (k = 0; k < os->filesystems.filesystems_len; ++k) {
      gbox_filesystem *f = &os->filesystems.filesystems_val[k];
      sanitize_string (f->device, false);
      sanitize_string (f->type, false);
      sanitize_string (f->label, false);
      sanitize_string (f->uuid, false);
    }
    for (k = 0; k < os->drive_mappings.drive_mappings_len; ++k) {
      sanitize_string (os->drive_mappings.drive_mappings_val[k].letter, false);
      sanitize_string (os->drive_mappings.drive_mappings_val[k].device, false);
    }
  }
  for (i = 0; i < ret->warnings.warnings_len; ++i)
    sanitize_string (ret->warnings.warnings_val[i], false);
}

int
gbox_inspect_list_applications (gbox_h *h, const char *root, uint64_t start,
                                struct gbox_inspect_list_applications_ret *ret)
{
  u_int i;
  size_t k;

  struct gbox_inspect_list_applications_args args = {
    .root = (char *) root, .start = start,
  };

  if (check_ready (h, GBOX_PROC_INSPECT_LIST_APPLICATIONS) == -1)
    return -1;
  CHECK_PATH (GBOX_PROC_INSPECT_LIST_APPLICATIONS, "root", root);
  memset (ret, 0, sizeof *ret);
  if (gbox_int_call (h, GBOX_PROC_INSPECT_LIST_APPLICATIONS,
                     (xdrproc_t) xdr_gbox_inspect_list_applications_args,
                     &args,
                     (xdrproc_t) xdr_gbox_inspect_list_applications_ret,
                     ret) == -1)
    return -1;
  if (charge_page (h, GBOX_PROC_INSPECT_LIST_APPLICATIONS, root, start,
                   ret->applications.applications_len,
                   sizeof (gbox_application)) == -1) {
    xdr_free ((xdrproc_t) xdr_gbox_inspect_list_applications_ret,
              (char *) ret);
    memset (ret, 0, sizeof *ret);
    return -1;
  }
  for (i = 0; i < ret->applications.applications_len; ++i) {
    gbox_application *a = &ret->applications.applications_val[i];
    char *fields[] = {
      a->name, a->display_name, a->app_version, a->release, a->arch,
      a->publisher, a->url, a->source_package, a->summary, a->install_path,
    };
    for (k = 0; k < sizeof fields / sizeof fields[0]; ++k)
      sanitize_string (fields[k], false);
    sanitize_string (a->description, true);
  }
  for (i = 0; i < ret->warnings.warnings_len; ++i)
    sanitize_string (ret->warnings.warnings_val[i], false);
  return 0;
}

int
gbox_inspect_full_disk (gbox_h *h, int disk,
                        struct gbox_inspect_full_ret *ret)
{
  struct gbox_inspect_full_disk_args args = { .disk = disk };

  if (check_ready (h, GBOX_PROC_INSPECT_FULL_DISK) == -1)
    return -1;
  memset (ret, 0, sizeof *ret);
  if (gbox_int_call (h, GBOX_PROC_INSPECT_FULL_DISK,
                     (xdrproc_t) xdr_gbox_inspect_full_disk_args, &args,
                     (xdrproc_t) xdr_gbox_inspect_full_ret, ret) == -1)
    return -1;
  clean_inspect_full (h, ret);
  return 0;
}

int
gbox_inspect_get_icon (gbox_h *h, const char *root,
                       struct gbox_inspect_get_icon_ret *ret)
{
  struct gbox_inspect_get_icon_args args = { .root = (char *) root };

  if (check_ready (h, GBOX_PROC_INSPECT_GET_ICON) == -1)
    return -1;
  CHECK_PATH (GBOX_PROC_INSPECT_GET_ICON, "root", root);
  memset (ret, 0, sizeof *ret);
  return gbox_int_call (h, GBOX_PROC_INSPECT_GET_ICON,
                        (xdrproc_t) xdr_gbox_inspect_get_icon_args, &args,
                        (xdrproc_t) xdr_gbox_inspect_get_icon_ret, ret);
}

int
gbox_device_size (gbox_h *h, const char *device, uint64_t *size)
{
  struct gbox_part_device_args args = { .device = (char *) device };
  struct gbox_device_size_ret ret = { 0 };

  if (check_ready (h, GBOX_PROC_DEVICE_SIZE) == -1)
    return -1;
  CHECK_PATH (GBOX_PROC_DEVICE_SIZE, "device", device);
  if (gbox_int_call (h, GBOX_PROC_DEVICE_SIZE,
                     (xdrproc_t) xdr_gbox_part_device_args, &args,
                     (xdrproc_t) xdr_gbox_device_size_ret, &ret) == -1)
    return -1;
  *size = ret.size;
  return 0;
}

int
gbox_lv_expand (gbox_h *h, const char *device, uint64_t offset,
                uint64_t size, const char *lv, int check_only)
{
  struct gbox_lv_expand_args args = {
    .device = (char *) device, .offset = offset, .size = size,
    .lv = (char *) lv, .check_only = check_only != 0,
  };

  if (check_ready (h, GBOX_PROC_LV_EXPAND) == -1)
    return -1;
  CHECK_PATH (GBOX_PROC_LV_EXPAND, "device", device);
  if (check_string (h, GBOX_PROC_LV_EXPAND, "lv", lv, GBOX_NAME_MAX) == -1)
    return -1;
  return gbox_int_call (h, GBOX_PROC_LV_EXPAND,
                        (xdrproc_t) xdr_gbox_lv_expand_args, &args,
                        NULL, NULL);
}

int
gbox_zero_device (gbox_h *h, const char *device)
{
  struct gbox_path_args args = { .path = (char *) device };

  if (check_ready (h, GBOX_PROC_ZERO_DEVICE) == -1)
    return -1;
  CHECK_PATH (GBOX_PROC_ZERO_DEVICE, "device", device);
  return gbox_int_call (h, GBOX_PROC_ZERO_DEVICE,
                        (xdrproc_t) xdr_gbox_path_args, &args, NULL, NULL);
}

/* virt-filesystems, virt-tar-out/-in, virt-copy-out/-in. */

/* A name in a list_storage reply: printable, and a device name (or a
 * btrfs subvolume of one). */
static int
check_storage_name (gbox_h *h, const char *s)
{
  const char *p;

  if (s == NULL || (strncmp (s, "/dev/", 5) != 0 &&
                    strncmp (s, "btrfsvol:/dev/", 14) != 0))
    goto bad;
  for (p = s; *p; ++p)
    if ((unsigned char) *p < 0x20 || *p == 0x7f)
      goto bad;
  return 0;
 bad:
  gbox_int_error (h, "list_storage: the appliance sent an invalid "
                  "device name");
  h->last_errno = EPROTO;
  return -1;
}

static int
check_storage_size (gbox_h *h, int64_t size)
{
  if (size < -1) {
    gbox_int_error (h, "list_storage: the appliance sent an invalid size");
    h->last_errno = EPROTO;
    return -1;
  }
  return 0;
}

static int
check_storage_lvm (gbox_h *h, const struct gbox_storage_lvm *v, u_int n)
{
  u_int i, j;

  for (i = 0; i < n; ++i) {
    if (check_storage_name (h, v[i].name) == -1 ||
        check_storage_size (h, v[i].size) == -1)
      return -1;
    for (j = 0; j < v[i].parents.parents_len; ++j)
      if (check_storage_name (h, v[i].parents.parents_val[j]) == -1)
        return -1;
  }
  return 0;
}

int
gbox_list_storage (gbox_h *h, int sizes, struct gbox_list_storage_ret *ret)
{
  struct gbox_list_storage_args args = { .sizes = sizes != 0 };
  u_int i, j;

  if (check_ready (h, GBOX_PROC_LIST_STORAGE) == -1)
    return -1;
  memset (ret, 0, sizeof *ret);
  if (gbox_int_call (h, GBOX_PROC_LIST_STORAGE,
                     (xdrproc_t) xdr_gbox_list_storage_args, &args,
                     (xdrproc_t) xdr_gbox_list_storage_ret, ret) == -1)
    return -1;
  for (i = 0; i < ret->devices.devices_len; ++i) {
    const struct gbox_storage_device *d = &ret->devices.devices_val[i];
    if (check_storage_name (h, d->name) == -1 ||
        check_storage_size (h, d->size) == -1)
      goto bad;
    for (j = 0; j < d->parents.parents_len; ++j)
      if (check_storage_name (h, d->parents.parents_val[j]) == -1)
        goto bad;
  }
  for (i = 0; i < ret->partitions.partitions_len; ++i) {
    const struct gbox_storage_partition *p = &ret->partitions.partitions_val[i];
    if (check_storage_name (h, p->name) == -1 ||
        check_storage_name (h, p->parent) == -1 ||
        check_storage_size (h, p->size) == -1 ||
        p->mbr_id < -1 || p->mbr_id > 255)
      goto bad;
  }
  for (i = 0; i < ret->filesystems.filesystems_len; ++i) {
    const struct gbox_storage_filesystem *f =
      &ret->filesystems.filesystems_val[i];
    if (check_storage_name (h, f->name) == -1 ||
        check_storage_size (h, f->size) == -1)
      goto bad;
    for (j = 0; j < f->parents.parents_len; ++j)
      if (check_storage_name (h, f->parents.parents_val[j]) == -1)
        goto bad;
  }
  if (check_storage_lvm (h, ret->lvs.lvs_val, ret->lvs.lvs_len) == -1 ||
      check_storage_lvm (h, ret->vgs.vgs_val, ret->vgs.vgs_len) == -1 ||
      check_storage_lvm (h, ret->pvs.pvs_val, ret->pvs.pvs_len) == -1)
    goto bad;
  return 0;

 bad:
  if (h->last_errno != EPROTO) {
    gbox_int_error (h, "list_storage: the appliance sent an invalid reply");
    h->last_errno = EPROTO;
  }
  xdr_free ((xdrproc_t) xdr_gbox_list_storage_ret, (char *) ret);
  memset (ret, 0, sizeof *ret);
  return -1;
}

int
gbox_tar_out (gbox_h *h, const char *dir, int fd,
              const struct gbox_tar_options *opts)
{
  struct gbox_tar_out_args args;
  size_t i;

  if (check_ready (h, GBOX_PROC_TAR_OUT) == -1)
    return -1;
  CHECK_PATH (GBOX_PROC_TAR_OUT, "dir", dir);
  memset (&args, 0, sizeof args);
  args.dir = (char *) dir;
  args.compress = (char *) (opts && opts->compress ? opts->compress : "");
  if (check_string (h, GBOX_PROC_TAR_OUT, "compress", args.compress, 16) == -1)
    return -1;
  if (opts) {
    args.numeric_owner = opts->numeric_owner;
    args.xattrs = opts->xattrs;
    args.selinux = opts->selinux;
    args.acls = opts->acls;
    if (opts->nr_excludes > GBOX_TAR_EXCLUDES_MAX) {
      gbox_int_error (h, "tar_out: too many exclude patterns (at most %d)",
                      GBOX_TAR_EXCLUDES_MAX);
      h->last_errno = E2BIG;
      return -1;
    }
    for (i = 0; i < opts->nr_excludes; ++i)
      if (check_string (h, GBOX_PROC_TAR_OUT, "exclude", opts->excludes[i],
                        GBOX_STRING_MAX) == -1)
        return -1;
    args.excludes.excludes_len = opts->nr_excludes;
    args.excludes.excludes_val = (gbox_str *) opts->excludes;
  }
  return gbox_int_call_fileout (h, GBOX_PROC_TAR_OUT,
                                (xdrproc_t) xdr_gbox_tar_out_args, &args, fd);
}

int
gbox_tar_in (gbox_h *h, int fd, const char *dir,
             const struct gbox_tar_options *opts)
{
  struct gbox_tar_in_args args;

  if (check_ready (h, GBOX_PROC_TAR_IN) == -1)
    return -1;
  CHECK_PATH (GBOX_PROC_TAR_IN, "dir", dir);
  memset (&args, 0, sizeof args);
  args.dir = (char *) dir;
  if (opts) {
    args.xattrs = opts->xattrs;
    args.selinux = opts->selinux;
    args.acls = opts->acls;
  }
  return gbox_int_call_filein (h, GBOX_PROC_TAR_IN,
                               (xdrproc_t) xdr_gbox_tar_in_args, &args, fd,
                               NULL, NULL);
}

int
gbox_storage_open (gbox_h *h, int readonly, struct gbox_storage_open_ret *ret)
{
  struct gbox_storage_open_args args = { .readonly = readonly != 0 };

  if (check_ready (h, GBOX_PROC_STORAGE_OPEN) == -1)
    return -1;
  memset (ret, 0, sizeof *ret);
  return gbox_int_call (h, GBOX_PROC_STORAGE_OPEN,
                        (xdrproc_t) xdr_gbox_storage_open_args, &args,
                        (xdrproc_t) xdr_gbox_storage_open_ret, ret);
}

int
gbox_inspect_mount (gbox_h *h, int readonly, int mount,
                    struct gbox_inspect_mount_ret *ret)
{
  struct gbox_inspect_mount_args args = {
    .readonly = readonly != 0, .mount = mount != 0,
  };
  u_int i;

  if (check_ready (h, GBOX_PROC_INSPECT_MOUNT) == -1)
    return -1;
  memset (ret, 0, sizeof *ret);
  if (gbox_int_call (h, GBOX_PROC_INSPECT_MOUNT,
                     (xdrproc_t) xdr_gbox_inspect_mount_args, &args,
                     (xdrproc_t) xdr_gbox_inspect_mount_ret, ret) == -1) {
    /* A step's error reads as that step's own call's. */
    static const char *const steps[] = {
      "inspect_mount: storage_open: ", "inspect_mount: inspect_full: ", NULL
    };
    const char *e = gbox_last_error (h);
    size_t k;

    for (k = 0; e && steps[k]; ++k)
      if (strncmp (e, steps[k], strlen (steps[k])) == 0) {
        CLEANUP_FREE char *copy = strdup (e + strlen ("inspect_mount: "));
        int err = h->last_errno;

        if (copy) {
          gbox_int_error (h, "%s", copy);
          h->last_errno = err;
        }
        break;
      }
    return -1;
  }
  /* Nothing past an encrypted device left to open; mounts only of the
   * one operating system found, when asked. */
  if ((ret->crypt.crypt_len > 0 && ret->inspected) ||
      (ret->mounts.mounts_len > 0 &&
       (!mount || !ret->inspected || ret->inspection.oses.oses_len != 1))) {
    xdr_free ((xdrproc_t) xdr_gbox_inspect_mount_ret, (char *) ret);
    memset (ret, 0, sizeof *ret);
    gbox_int_error (h, "inspect_mount: the appliance sent an inconsistent "
                    "reply");
    h->last_errno = EPROTO;
    return -1;
  }
  if (ret->inspected)
    clean_inspect_full (h, &ret->inspection);
  for (i = 0; i < ret->mounts.mounts_len; ++i) {
    gbox_mount_result *m = &ret->mounts.mounts_val[i];

    sanitize_string (m->mountpoint, false);
    sanitize_string (m->device, false);
    sanitize_string (m->error, false);
  }
  return 0;
}

int
gbox_luks_open (gbox_h *h, const char *device, const char *key,
                const char *mapname, int readonly)
{
  struct gbox_luks_open_args args = {
    .device = (char *) device, .key = (char *) key,
    .mapname = (char *) mapname, .readonly = readonly != 0,
  };

  if (check_ready (h, GBOX_PROC_LUKS_OPEN) == -1)
    return -1;
  CHECK_PATH (GBOX_PROC_LUKS_OPEN, "device", device);
  if (check_string (h, GBOX_PROC_LUKS_OPEN, "key", key, GBOX_KEY_MAX) == -1 ||
      check_string (h, GBOX_PROC_LUKS_OPEN, "mapname", mapname,
                    GBOX_NAME_MAX) == -1)
    return -1;
  return gbox_int_call (h, GBOX_PROC_LUKS_OPEN,
                        (xdrproc_t) xdr_gbox_luks_open_args, &args,
                        NULL, NULL);
}

int
gbox_md_create (gbox_h *h, const char *name, const char *level,
                const char *metadata, char *const *devices, size_t n)
{
  struct gbox_md_create_args args = {
    .name = (char *) name, .level = (char *) level,
    .metadata = (char *) metadata,
    .devices = { .gbox_str_list_len = n, .gbox_str_list_val = (char **) devices },
  };
  size_t i;

  if (check_ready (h, GBOX_PROC_MD_CREATE) == -1)
    return -1;
  if (check_string (h, GBOX_PROC_MD_CREATE, "name", name, GBOX_NAME_MAX) == -1 ||
      check_string (h, GBOX_PROC_MD_CREATE, "level", level, 16) == -1 ||
      check_string (h, GBOX_PROC_MD_CREATE, "metadata", metadata, 16) == -1)
    return -1;
  for (i = 0; i < n; ++i)
    CHECK_PATH (GBOX_PROC_MD_CREATE, "device", devices[i]);
  return gbox_int_call (h, GBOX_PROC_MD_CREATE,
                        (xdrproc_t) xdr_gbox_md_create_args, &args,
                        NULL, NULL);
}
