/* guestbox - Windows dynamic disks (LDM): their volumes.
 * Copyright (C) 2026 the guestbox authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

/**
 * A Windows dynamic disk keeps its volumes in the Logical Disk
 * Manager database at its end; the disk's partition table only says
 * that the database exists (an MBR partition of type 0x42, or a GPT
 * partition of the "LDM metadata" type).  When some disk has one,
 * "ldmtool create all" (libldm, as in the libguestfs appliance) makes
 * a device-mapper device for every volume it can assemble, once per
 * set of disks, during the same scan that assembles md arrays and
 * activates LVM.  The volumes are /dev/mapper/ldm_vol_GROUP_VOLUME
 * (and the members of mirrored and RAID-5 volumes
 * /dev/mapper/ldm_part_GROUP_PARTITION), the names libldm gives them
 * and the libguestfs tools print; luks.c lists them with the other
 * device-mapper devices that are not logical volumes, and a name with
 * a character that could not come back from the host is never shown.
 * The partitions of a dynamic disk hold pieces of volumes, so they are
 * not listed as filesystems (as in the libguestfs tools).
 * Creating the devices writes nothing to the disks.
 */

#include <config.h>

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <string.h>
#include <strings.h>
#include <blkid.h>

#include "daemon.h"

static bool created;
static char created_for[4096];

/* The GPT partition types of the LDM database and of the space it
 * shares out. */
#define LDM_METADATA_GUID "5808c8aa-7e8f-42e0-85d2-e1e90434cfb3"
#define LDM_DATA_GUID "af9b60a0-1431-4f62-bc68-3311714a69ad"
#define MBR_TYPE_LDM 0x42
#define LDMTOOL_TIMEOUT_MS 60000

bool
ldm_is_current (void)
{
  char sig[sizeof created_for];

  if (!appliance_mode)
    return true;
  devices_signature (sig, sizeof sig);
  return created && strcmp (sig, created_for) == 0;
}

/* Read the partition table of the disk KDISK (its kernel device) with
 * libblkid (bounded, whatever the kernel made of it): whether it
 * announces an LDM database, and whether partition PARTNUM (0: none)
 * belongs to the dynamic disk.  On an MBR disk with a partition of type
 * 0x42 the kernel's partitions are the LDM partitions themselves (its
 * LDM parser replaces the table), so all of them do; on a GPT disk the
 * partitions of the LDM metadata and data types do. */
static bool
probe_ldm (const char *kdisk, unsigned partnum, bool *member)
{
  blkid_probe pr;
  blkid_partlist ls;
  int n, i;
  bool mbr = false, gpt = false;

  *member = false;
  pr = blkid_new_probe_from_filename (kdisk);
  if (pr == NULL)
    return false;
  blkid_probe_enable_superblocks (pr, 0);
  blkid_probe_enable_partitions (pr, 1);
  ls = blkid_probe_get_partitions (pr);
  n = ls ? blkid_partlist_numof_partitions (ls) : 0;
  for (i = 0; i < n && i < 256; ++i) {
    blkid_partition p = blkid_partlist_get_partition (ls, i);
    const char *t;

    if (p == NULL)
      continue;
    t = blkid_partition_get_type_string (p);
    if (t && strcasecmp (t, LDM_METADATA_GUID) == 0)
      gpt = true;
    if (t && (strcasecmp (t, LDM_METADATA_GUID) == 0 ||
              strcasecmp (t, LDM_DATA_GUID) == 0) &&
        partnum > 0 && blkid_partition_get_partno (p) == (int) partnum)
      *member = true;
    if (t == NULL && blkid_partition_get_type (p) == MBR_TYPE_LDM)
      mbr = true;
  }
  blkid_free_probe (pr);
  if (mbr && partnum > 0)
    *member = true;
  return mbr || gpt;
}

bool
ldm_disk_has_database (const char *kdisk)
{
  bool member;

  return probe_ldm (kdisk, 0, &member);
}

bool
ldm_partition_is_member (const char *kdisk, unsigned partnum)
{
  bool member;

  probe_ldm (kdisk, partnum, &member);
  return member;
}

void
ldm_create (bool have_ldm)
{
  char sig[sizeof created_for];

  if (!appliance_mode)
    return;
  devices_signature (sig, sizeof sig);
  if (created && strcmp (sig, created_for) == 0)
    return;
  if (have_ldm) {
    static const char *const argv[] = { "ldmtool", "create", "all", NULL };
    struct command c = COMMAND_INIT (argv);
    uint64_t t0 = now_ms ();
    int r;

    load_fs_modules ("dm_mod");
    /* Without udev, libdevmapper makes the /dev/mapper nodes itself. */
    setenv ("DM_DISABLE_UDEV", "1", 1);
    /* The database is the guest's: a time limit, whatever it holds. */
    c.err_max = 4000;
    c.timeout_ms = LDMTOOL_TIMEOUT_MS;
    r = command_run (&c);
    command_one_line (c.err, false);
    debug ("ldmtool create all: status %d%s in %" PRIu64 " ms: %s", r,
           c.timed_out ? " (timed out)" : "", now_ms () - t0,
           c.err ? c.err : "");
    free (c.err);
    free (c.out);
  }
  snprintf (created_for, sizeof created_for, "%s", sig);
  created = true;
}
