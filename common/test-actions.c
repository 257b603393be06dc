/* guestbox - test the procedure table and the calls' argument checks.
 * Copyright (C) 2026 the guestbox authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

/**
 * Proves that every procedure in protocol.x (parsed here from
 * $srcdir/protocol.x) has a line in procs.def (a name, a trace
 * formatter and a gbox_* call), that the tables list nothing else,
 * and that every call refuses to run on a handle that was never
 * launched.
 */

#include <config.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <ctype.h>
#include <errno.h>

#include "guestbox-internal.h"
#include "cleanups.h"
#include "test-helpers.h"

static void
check_protocol_x (void)
{
  const char *srcdir = getenv ("srcdir");
  char path[4096], line[512];
  CLEANUP_FCLOSE FILE *fp = NULL;
  bool in_enum = false;
  size_t found = 0, i;

  snprintf (path, sizeof path, "%s/protocol.x", srcdir ? srcdir : ".");
  fp = fopen (path, "r");
  if (!CHECK (fp != NULL, "open %s", path))
    return;

  while (fgets (line, sizeof line, fp)) {
    char name[128], lower[128];
    int num;
    const struct gbox_int_proc *e = NULL;
    const struct gbox_int_proc_call *c = NULL;

    if (strncmp (line, "enum gbox_procedure", 19) == 0) {
      in_enum = true;
      continue;
    }
    if (!in_enum)
      continue;
    if (line[0] == '}')
      break;
    if (sscanf (line, " GBOX_PROC_%127[A-Z0-9_] = %d", name, &num) != 2)
      continue;
    /* The closing sentinel (name ending in '_') is no procedure. */
    if (name[strlen (name) - 1] == '_')
      continue;
    found++;
    for (i = 0; name[i]; ++i)
      lower[i] = tolower ((unsigned char) name[i]);
    lower[i] = '\0';
    for (i = 0; i < gbox_int_nr_procs; ++i)
      if (gbox_int_procs[i].proc == num)
        e = &gbox_int_procs[i];
    for (i = 0; i < gbox_int_nr_proc_calls; ++i)
      if (gbox_int_proc_calls[i].proc == num)
        c = &gbox_int_proc_calls[i];
    CHECK (e != NULL && strcmp (e->name, lower) == 0 && e->trace != NULL &&
           c != NULL && c->call != NULL,
           "procedure %d (%s) has the name \"%s\", a trace and a call",
           num, name, lower);
    CHECK (strcmp (gbox_int_proc_name (num), lower) == 0,
           "gbox_int_proc_name (%d) is \"%s\"", num, lower);
  }
  CHECK (found >= 20, "protocol.x lists %zu procedures", found);
  CHECK (found == gbox_int_nr_procs && found == gbox_int_nr_proc_calls,
         "the tables have exactly those %zu procedures (they have %zu, %zu)",
         found, gbox_int_nr_procs, gbox_int_nr_proc_calls);
  CHECK (strcmp (gbox_int_proc_name (9999), "unknown_procedure") == 0,
         "an unknown procedure number has a safe name");
}

/* Every action on a handle that was never launched. */
static void
check_not_launched (void)
{
  gbox_h *h = gbox_create ();
  struct gbox_version_ret v;
  struct gbox_list_devices_ret ld;
  struct gbox_list_partitions_ret lp;
  struct gbox_list_vgs_ret vgs;
  struct gbox_list_filesystems_ret lf;
  struct gbox_readdir_stat_ret rd;
  struct gbox_stat st;
  struct gbox_statvfs sv;
  struct gbox_dirent *ents;
  struct gbox_zerofree_ret zf;
  struct gbox_e2fsck_ret fk;
  struct gbox_part_get_layout_ret pl;
  struct gbox_part_layout layout = { 0 };
  struct gbox_content_info_ret ci;
  struct gbox_inspect_full_ret ifr;
  struct gbox_inspect_list_applications_ret ila;
  struct gbox_inspect_get_icon_ret igi;
  struct gbox_df_ret dfr;
  struct gbox_checksums_ret cs;
  struct gbox_list_storage_ret ls;
  struct gbox_storage_open_ret so;
  struct gbox_inspect_mount_ret im;
  char *const pvs[] = { (char *) "/dev/sda1" };
  uint64_t u64;
  size_t n;
  const struct {
    const char *name;
    int r;
  } results[] = {
    { "version", gbox_version (h, &v) },
    { "sync", gbox_sync (h) },
    { "shutdown", gbox_internal_shutdown (h) },
    { "disks_ready", gbox_disks_ready (h, 1, 1000) },
    { "refresh", gbox_refresh (h, 0, 0, "", 0) },
    { "list_devices", gbox_list_devices (h, &ld) },
    { "list_partitions", gbox_list_partitions (h, &lp) },
    { "list_filesystems", gbox_list_filesystems (h, &lf) },
    { "mount", gbox_mount (h, "/dev/sda1", "/", NULL, NULL) },
    { "mount_ro", gbox_mount_ro (h, "/dev/sda1", "/") },
    { "umount_all", gbox_umount_all (h) },
    { "exists", gbox_exists (h, "/") },
    { "is_file", gbox_is_file (h, "/") },
    { "is_dir", gbox_is_dir (h, "/") },
    { "lstat", gbox_lstat (h, "/", &st) },
    { "stat", gbox_stat_path (h, "/", &st) },
    { "readlink", gbox_readlink (h, "/") == NULL ? -1 : 0 },
    { "readdir_stat", gbox_readdir_stat (h, "/", 0, &rd) },
    { "statvfs", gbox_statvfs_path (h, "/", &sv) },
    { "download", gbox_download (h, "/", 1) },
    { "upload", gbox_upload (h, 0, "/", -1) },
    { "zerofree", gbox_zerofree (h, "/dev/sda1", 1, &zf) },
    { "e2fsck", gbox_e2fsck (h, "/dev/sda1", 0, &fk) },
    { "zero_free_space", gbox_zero_free_space (h, "/", NULL) },
    { "fstrim", gbox_fstrim (h, "/", NULL) },
    { "zero_swap", gbox_zero_swap (h, "/dev/sda2", 0) },
    { "list_vgs", gbox_list_vgs (h, &vgs) },
    { "zero_vg_free", gbox_zero_vg_free (h, "vg", 1, NULL) },
    { "part_get_layout", gbox_part_get_layout (h, "/dev/sda", &pl) },
    { "part_set_layout", gbox_part_set_layout (h, "/dev/sdb", &layout) },
    { "part_wipe", gbox_part_wipe (h, "/dev/sdb") },
    { "copy_range", gbox_copy_range (h, "/dev/sda", 0, "/dev/sdb", 0, 512, 1,
                                     &u64) },
    { "content_info", gbox_content_info (h, "/dev/sda", 0, 512, &ci) },
    { "resize_content", gbox_resize_content (h, "/dev/sdb", 0, 1 << 20,
                                             "ext4", 0) },
    { "device_size", gbox_device_size (h, "/dev/sda", &u64) },
    { "lv_expand", gbox_lv_expand (h, "/dev/sdb", 0, 1 << 20, "vg/lv", 0) },
    { "zero_device", gbox_zero_device (h, "/dev/sda1") },
    { "inspect_full", gbox_inspect_full (h, &ifr) },
    { "inspect_list_applications",
      gbox_inspect_list_applications (h, "/dev/sda1", 0, &ila) },
    { "inspect_get_icon", gbox_inspect_get_icon (h, "/dev/sda1", &igi) },
    { "inspect_full_disk", gbox_inspect_full_disk (h, 0, &ifr) },
    { "pvcreate", gbox_pvcreate (h, "/dev/sda1") },
    { "vgcreate", gbox_vgcreate (h, "vg", pvs, 1) },
    { "lvcreate", gbox_lvcreate (h, "lv", "vg", 8) },
    { "df", gbox_df (h, &dfr) },
    { "checksums", gbox_checksums (h, "/", "md5", 0, &cs) },
    { "replace_file", gbox_replace_file (h, "/tmp.x", "/x", NULL) },
    { "readdir_stat (all)", gbox_readdir_stat_all (h, "/", &ents, &n) },
    { "list_storage", gbox_list_storage (h, 1, &ls) },
    { "tar_out", gbox_tar_out (h, "/", 1, NULL) },
    { "tar_in", gbox_tar_in (h, 0, "/", NULL) },
    { "storage_open", gbox_storage_open (h, 1, &so) },
    { "luks_open", gbox_luks_open (h, "/dev/sda2", "key", "luks-x", 1) },
    { "md_create", gbox_md_create (h, "0", "raid1", "1.0", pvs, 1) },
    { "discard_free_space", gbox_discard_free_space (h, "/", NULL) },
    { "inspect_mount", gbox_inspect_mount (h, 1, 1, &im) },
  };
  size_t i;

  for (i = 0; i < sizeof results / sizeof results[0]; ++i)
    CHECK (results[i].r == -1, "%s fails on a handle not launched",
           results[i].name);
  CHECK (test_contains (gbox_last_error (h), "call gbox_launch first") &&
         gbox_last_errno (h) == ENOTCONN,
         "the message says what to do: %s", gbox_last_error (h));
  CHECK (strlen (results[0].name) > 0 &&
         sizeof results / sizeof results[0] == gbox_int_nr_procs + 1,
         "every procedure was called");
  gbox_close (h);
}

/* Argument checks happen before anything is sent. */
static void
check_arguments (void)
{
  gbox_h *h = gbox_create ();
  char *long_path = malloc (GBOX_PATH_MAX + 2);
  struct gbox_stat st;
  int r;

  memset (long_path, 'a', GBOX_PATH_MAX + 1);
  long_path[0] = '/';
  long_path[GBOX_PATH_MAX + 1] = '\0';
  /* Pretend to be launched on a closed channel: a check that passed
   * would fail differently ("not connected"). */
  h->state = GBOX_STATE_READY;

  r = gbox_lstat (h, long_path, &st);
  CHECK (r == -1 && gbox_last_errno (h) == ENAMETOOLONG,
         "a path over GBOX_PATH_MAX is refused: %s", gbox_last_error (h));
  r = gbox_lstat (h, NULL, &st);
  CHECK (r == -1 && gbox_last_errno (h) == EINVAL,
         "a NULL path is refused: %s", gbox_last_error (h));
  r = gbox_refresh (h, 0, 0, long_path, 513);
  CHECK (r == -1 && gbox_last_errno (h) == EINVAL,
         "a seed over 512 bytes is refused: %s", gbox_last_error (h));
  r = gbox_upload (h, 0, "/x", 070000);
  CHECK (r == -1 && gbox_last_errno (h) == EINVAL,
         "an invalid mode is refused: %s", gbox_last_error (h));
  r = gbox_lstat (h, "/", &st);
  CHECK (r == -1 && test_contains (gbox_last_error (h), "not connected"),
         "a valid call on no channel: %s", gbox_last_error (h));

  h->state = GBOX_STATE_CONFIG;
  free (long_path);
  gbox_close (h);
}

int
main (int argc, char *argv[])
{
  check_protocol_x ();
  check_not_launched ();
  check_arguments ();
  return check_finish ("test-actions");
}
