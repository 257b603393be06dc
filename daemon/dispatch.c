/* guestbox - the daemon's dispatch table.
 * Copyright (C) 2026 the guestbox authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

/**
 * One row per procedure of protocol.x: its number, name, the rpcgen
 * routines and sizes of its arguments and reply, its do_PROC handler
 * and whether it carries a file (FileIn/FileOut).  test-dispatch.sh
 * proves the table covers every procedure in protocol.x.
 */

#include <config.h>

#include "daemon.h"

#define ENTRY(proc, name, args, ret, kind)                              \
  { GBOX_PROC_##proc, #name,                                            \
    (xdrproc_t) xdr_gbox_##args, sizeof (gbox_##args),                  \
    (xdrproc_t) xdr_gbox_##ret, sizeof (gbox_##ret),                    \
    do_##name, kind }
#define ENTRY_NOARGS(proc, name, ret)                                   \
  { GBOX_PROC_##proc, #name, NULL, 0,                                   \
    (xdrproc_t) xdr_gbox_##ret, sizeof (gbox_##ret),                    \
    do_##name, PROC_PLAIN }
#define ENTRY_NORET(proc, name, args, kind)                             \
  { GBOX_PROC_##proc, #name,                                            \
    (xdrproc_t) xdr_gbox_##args, sizeof (gbox_##args),                  \
    NULL, 0, do_##name, kind }
#define ENTRY_NONE(proc, name)                                          \
  { GBOX_PROC_##proc, #name, NULL, 0, NULL, 0, do_##name, PROC_PLAIN }

const struct dispatch_entry dispatch_table[] = {
  ENTRY_NOARGS (VERSION, version, version_ret),
  ENTRY_NONE (SHUTDOWN, shutdown),
  ENTRY_NONE (SYNC, sync),
  ENTRY_NORET (DISKS_READY, disks_ready, disks_ready_args, PROC_PLAIN),
  ENTRY_NORET (REFRESH, refresh, refresh_args, PROC_PLAIN),
  ENTRY_NOARGS (LIST_DEVICES, list_devices, list_devices_ret),
  ENTRY_NOARGS (LIST_PARTITIONS, list_partitions, list_partitions_ret),
  ENTRY_NOARGS (LIST_FILESYSTEMS, list_filesystems, list_filesystems_ret),
  ENTRY_NORET (MOUNT, mount, mount_args, PROC_PLAIN),
  ENTRY_NORET (MOUNT_RO, mount_ro, mount_ro_args, PROC_PLAIN),
  ENTRY_NONE (UMOUNT_ALL, umount_all),
  ENTRY (EXISTS, exists, path_args, bool_ret, PROC_PLAIN),
  ENTRY (IS_FILE, is_file, path_args, bool_ret, PROC_PLAIN),
  ENTRY (IS_DIR, is_dir, path_args, bool_ret, PROC_PLAIN),
  ENTRY (LSTAT, lstat, path_args, stat_ret, PROC_PLAIN),
  ENTRY (STAT, stat, path_args, stat_ret, PROC_PLAIN),
  ENTRY (READLINK, readlink, path_args, readlink_ret, PROC_PLAIN),
  ENTRY (READDIR_STAT, readdir_stat, readdir_stat_args, readdir_stat_ret,
         PROC_PLAIN),
  ENTRY (STATVFS, statvfs, path_args, statvfs_ret, PROC_PLAIN),
  ENTRY_NORET (DOWNLOAD, download, download_args, PROC_FILEOUT),
  ENTRY_NORET (UPLOAD, upload, upload_args, PROC_FILEIN),
  /* 100-199: read-only commands. */
  ENTRY_NORET (PVCREATE, pvcreate, device_args, PROC_PLAIN),
  ENTRY_NORET (VGCREATE, vgcreate, vgcreate_args, PROC_PLAIN),
  ENTRY_NORET (LVCREATE, lvcreate, lvcreate_args, PROC_PLAIN),
  ENTRY_NOARGS (DF, df, df_ret),
  ENTRY (CHECKSUMS, checksums, checksums_args, checksums_ret, PROC_PLAIN),
  ENTRY_NORET (REPLACE_FILE, replace_file, replace_file_args, PROC_PLAIN),
  /* 200-299: inspection. */
  ENTRY_NOARGS (INSPECT_FULL, inspect_full, inspect_full_ret),
  ENTRY (INSPECT_LIST_APPLICATIONS, inspect_list_applications,
         inspect_list_applications_args, inspect_list_applications_ret,
         PROC_PLAIN),
  ENTRY (INSPECT_GET_ICON, inspect_get_icon, inspect_get_icon_args,
         inspect_get_icon_ret, PROC_PLAIN),
  ENTRY (INSPECT_FULL_DISK, inspect_full_disk, inspect_full_disk_args,
         inspect_full_ret, PROC_PLAIN),
  /* 300-399: conversion. */
  ENTRY (ZEROFREE, zerofree, zerofree_args, zerofree_ret, PROC_PLAIN),
  ENTRY (E2FSCK, e2fsck, e2fsck_args, e2fsck_ret, PROC_PLAIN),
  ENTRY (ZERO_FREE_SPACE, zero_free_space, path_args, space_ret, PROC_PLAIN),
  ENTRY (FSTRIM, fstrim, path_args, space_ret, PROC_PLAIN),
  ENTRY_NORET (ZERO_SWAP, zero_swap, zero_swap_args, PROC_PLAIN),
  ENTRY_NOARGS (LIST_VGS, list_vgs, list_vgs_ret),
  ENTRY (ZERO_VG_FREE, zero_vg_free, zero_vg_free_args, space_ret, PROC_PLAIN),
  /* virt-resize. */
  ENTRY (PART_GET_LAYOUT, part_get_layout, part_device_args,
         part_get_layout_ret, PROC_PLAIN),
  ENTRY_NORET (PART_SET_LAYOUT, part_set_layout, part_set_layout_args,
               PROC_PLAIN),
  ENTRY_NORET (PART_WIPE, part_wipe, part_device_args, PROC_PLAIN),
  ENTRY (COPY_RANGE, copy_range, copy_range_args, copy_range_ret, PROC_PLAIN),
  ENTRY (CONTENT_INFO, content_info, content_info_args, content_info_ret,
         PROC_PLAIN),
  ENTRY_NORET (RESIZE_CONTENT, resize_content, resize_content_args,
               PROC_PLAIN),
  ENTRY (DEVICE_SIZE, device_size, part_device_args, device_size_ret,
         PROC_PLAIN),
  ENTRY_NORET (LV_EXPAND, lv_expand, lv_expand_args, PROC_PLAIN),
  /* virt-sparsify --zero. */
  ENTRY_NORET (ZERO_DEVICE, zero_device, path_args, PROC_PLAIN),
  /* 500-549: virt-filesystems, virt-tar-*, virt-copy-*. */
  ENTRY (LIST_STORAGE, list_storage, list_storage_args, list_storage_ret,
         PROC_PLAIN),
  ENTRY_NORET (TAR_OUT, tar_out, tar_out_args, PROC_FILEOUT),
  ENTRY_NORET (TAR_IN, tar_in, tar_in_args, PROC_FILEIN),
  /* 420-439: the storage stack. */
  ENTRY (STORAGE_OPEN, storage_open, storage_open_args, storage_open_ret,
         PROC_PLAIN),
  ENTRY_NORET (LUKS_OPEN, luks_open, luks_open_args, PROC_PLAIN),
  ENTRY_NORET (MD_CREATE, md_create, md_create_args, PROC_PLAIN),
};

const size_t dispatch_table_len =
  sizeof dispatch_table / sizeof dispatch_table[0];

const struct dispatch_entry *
lookup_proc (int proc)
{
  size_t i;

  for (i = 0; i < dispatch_table_len; ++i)
    if (dispatch_table[i].proc == proc)
      return &dispatch_table[i];
  return NULL;
}
