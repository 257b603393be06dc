/* guestbox - what a byte range of a disk holds, and growing it.
 * Copyright (C) 2026 the guestbox authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

/**
 * - content_info: what a byte range holds: its type, UUID and label
 *   from libblkid (so that virt-resize sees every type libblkid knows,
 *   for --unknown-filesystems), and the size the content needs, read
 *   here from the superblocks of the types virt-resize can shrink or
 *   must check (ext2/3/4, xfs, btrfs, ntfs, vfat): libblkid does not
 *   give it for all of them.  A superblock whose size makes no sense
 *   is an error.
 * - resize_content: grow the filesystem in a byte range (through a
 *   loop device over that range, so no partition table is needed yet):
 *   e2fsck + resize2fs, xfs_growfs and btrfs resize (mounted),
 *   ntfsresize, mkswap keeping the UUID and label.
 *
 * part_content_fd works on a file descriptor so that test-part.c
 * checks it on image files.
 */

#include <config.h>

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <string.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <linux/fs.h>
#include <sys/mount.h>
#include <linux/loop.h>

#include <blkid.h>

#include "daemon.h"
#include "blockdev.h"
#include "fstypes.h"

static int
set_str (char **dst, const char *s)
{
  free (*dst);
  *dst = strdup (s);
  return *dst ? 0 : -1;
}

/* A bounded, printable copy of a fixed-size label field. */
static void
label_copy (char *buf, const unsigned char *p, size_t len)
{
  size_t i;

  for (i = 0; i < len && p[i]; ++i)
    buf[i] = p[i] >= 0x20 && p[i] < 0x7f ? p[i] : '?';
  buf[i] = '\0';
  while (i > 0 && buf[i - 1] == ' ')
    buf[--i] = '\0';
}

static void
uuid_string (char *buf, const unsigned char *u)
{
  sprintf (buf, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-"
           "%02x%02x%02x%02x%02x%02x", u[0], u[1], u[2], u[3], u[4], u[5],
           u[6], u[7], u[8], u[9], u[10], u[11], u[12], u[13], u[14], u[15]);
}

/* Whether the SIZE bytes at OFF of FD are an md RAID member: the md
 * magic at the start (1.1), at 4 KiB (1.2, B holds the first 4 KiB),
 * 8 KiB before the end rounded down to 4 KiB (1.0) or 64 KiB before the
 * end rounded down to 64 KiB (0.90).  1, 0, or -1 on a read error. */
static int
md_member_at (int fd, uint64_t off, uint64_t size, const unsigned char *b)
{
  const uint32_t magic = 0xa92b4efc;
  unsigned char m[4];
  uint64_t at[2];
  size_t i;

  if (le32 (b) == magic)
    return 1;
  if (size >= 8192 && read_at (fd, m, 4, off + 4096) == 0 &&
      le32 (m) == magic)
    return 1;
  if (size < 65536 * 2)
    return 0;
  at[0] = ((size - 8192) & ~(uint64_t) 4095);
  at[1] = (size & ~(uint64_t) 65535) - 65536;
  for (i = 0; i < 2; ++i) {
    if (read_at (fd, m, 4, off + at[i]) == -1)
      return -1;
    if (le32 (m) == magic)
      return 1;
  }
  return 0;
}

/* libblkid's TYPE, UUID and LABEL of the SIZE bytes at OFF of FD
 * (control characters of a label become '?').  0, or -1 when it finds
 * nothing, or more than one signature. */
static int
blkid_content (int fd, uint64_t off, uint64_t size, char *type, size_t tlen,
               char *uuid, size_t ulen, char *label, size_t llen)
{
  blkid_probe pr = blkid_new_probe ();
  const char *v;
  size_t i;
  int r = -1;

  if (pr == NULL)
    return -1;
  if (blkid_probe_set_device (pr, fd, off, size) == 0 &&
      blkid_probe_enable_superblocks (pr, 1) == 0 &&
      blkid_probe_set_superblocks_flags (pr, BLKID_SUBLKS_TYPE |
                                         BLKID_SUBLKS_UUID |
                                         BLKID_SUBLKS_LABEL) == 0 &&
      blkid_do_safeprobe (pr) == 0 &&
      blkid_probe_lookup_value (pr, "TYPE", &v, NULL) == 0) {
    snprintf (type, tlen, "%s", v);
    uuid[0] = label[0] = '\0';
    if (blkid_probe_lookup_value (pr, "UUID", &v, NULL) == 0)
      snprintf (uuid, ulen, "%s", v);
    if (blkid_probe_lookup_value (pr, "LABEL", &v, NULL) == 0)
      snprintf (label, llen, "%s", v);
    for (i = 0; label[i]; ++i)
      if ((unsigned char) label[i] < 0x20 || label[i] == 0x7f)
        label[i] = '?';
    for (i = 0; uuid[i]; ++i)
      if ((unsigned char) uuid[i] <= 0x20 || uuid[i] == 0x7f)
        uuid[i] = '?';
    r = 0;
  }
  blkid_free_probe (pr);
  return r;
}

/* Identify the content at OFF (SIZE bytes) of FD.  Fills RET; returns
 * -1 with ERR for a superblock that makes no sense.  The superblocks
 * read here give the size the content needs; libblkid gives the type,
 * UUID and label (the size is kept when it names the same type, or
 * another of the ext family). */
int
part_content_fd (int fd, uint64_t off, uint64_t size,
                 gbox_content_info_ret *ret, char *err, size_t errlen)
{
  char btype[64], buuid[64], blabel[300];
  unsigned char b[4096];
  char uuid[64] = "", label[300] = "";
  const char *type = "";
  uint64_t need = 0;
  int r;

  if (size < sizeof b) {
    ret->type = strdup ("");
    ret->uuid = strdup ("");
    ret->label = strdup ("");
    return ret->type && ret->uuid && ret->label ? 0 : -1;
  }
  if (read_at (fd, b, sizeof b, off) == -1) {
    snprintf (err, errlen, "read: %s", strerror (errno));
    return -1;
  }
  /* md RAID members first, as blkid: metadata 1.0 and 0.90 keep their
   * superblock at the end and the filesystem at the start, which must
   * not be taken for a filesystem of the partition alone. */
  r = md_member_at (fd, off, size, b);
  if (r == -1) {
    snprintf (err, errlen, "read: %s", strerror (errno));
    return -1;
  }
  if (r == 1)
    type = "linux_raid_member";
  else if (memcmp (b, "LUKS\xba\xbe", 6) == 0)
    type = "crypto_LUKS";
  else if (le16 (b + 1024 + 56) == 0xef53) {
    const unsigned char *sb = b + 1024;
    uint32_t log = le32 (sb + 24), compat = le32 (sb + 92);
    uint32_t incompat = le32 (sb + 96);
    uint64_t blocks = le32 (sb + 4);
    if (incompat & 0x80)
      blocks |= (uint64_t) le32 (sb + 0x150) << 32;
    if (log > 6 || blocks == 0) {
      snprintf (err, errlen, "corrupt ext superblock");
      return -1;
    }
    need = blocks << (10 + log);
    type = (incompat & 0x2c0) ? "ext4" : (compat & 4) ? "ext3" : "ext2";
    uuid_string (uuid, sb + 104);
    label_copy (label, sb + 120, 16);
  }
  else if (memcmp (b, "XFSB", 4) == 0) {
    uint32_t bs = be32 (b + 4);
    uint64_t blocks = be64 (b + 8);
    if (bs < 512 || bs > 65536 || (bs & (bs - 1)) ||
        blocks == 0 || blocks > UINT64_MAX / bs) {
      snprintf (err, errlen, "corrupt xfs superblock");
      return -1;
    }
    need = blocks * bs;
    type = "xfs";
    uuid_string (uuid, b + 32);
    label_copy (label, b + 108, 12);
  }
  else if (memcmp (b + 3, "NTFS    ", 8) == 0) {
    uint32_t bps = le16 (b + 11);
    uint64_t sectors = le64 (b + 0x28);
    if (bps < 256 || bps > 4096 || (bps & (bps - 1)) ||
        sectors == 0 || sectors > UINT64_MAX / bps - 1) {
      snprintf (err, errlen, "corrupt ntfs boot sector");
      return -1;
    }
    need = (sectors + 1) * bps;   /* + the backup boot sector */
    type = "ntfs";
    snprintf (uuid, sizeof uuid, "%016" PRIX64, le64 (b + 0x48));
  }
  else if (memcmp (b + 4086, "SWAPSPACE2", 10) == 0) {
    type = "swap";
    uuid_string (uuid, b + 1024 + 12);
    label_copy (label, b + 1024 + 28, 16);
  }
  else if (b[510] == 0x55 && b[511] == 0xaa &&
           (memcmp (b + 54, "FAT", 3) == 0 || memcmp (b + 82, "FAT32", 5) == 0)) {
    uint32_t bps = le16 (b + 11);
    uint64_t sectors = le16 (b + 19) ? le16 (b + 19) : le32 (b + 32);
    if (bps < 512 || bps > 4096 || sectors == 0) {
      snprintf (err, errlen, "corrupt vfat boot sector");
      return -1;
    }
    need = sectors * bps;
    type = "vfat";
    if (memcmp (b + 82, "FAT32", 5) == 0) {
      snprintf (uuid, sizeof uuid, "%04X-%04X", le16 (b + 69), le16 (b + 67));
      label_copy (label, b + 71, 11);
    }
    else {
      snprintf (uuid, sizeof uuid, "%04X-%04X", le16 (b + 41), le16 (b + 39));
      label_copy (label, b + 43, 11);
    }
  }
  else if (memcmp (b + 512, "LABELONE", 8) == 0) {
    type = "LVM2_member";
  }
  else if (size >= 65536 + 4096) {
    unsigned char s[4096];
    if (read_at (fd, s, sizeof s, off + 65536) == -1) {
      snprintf (err, errlen, "read: %s", strerror (errno));
      return -1;
    }
    if (memcmp (s + 64, "_BHRfS_M", 8) == 0) {
      need = le64 (s + 0x70);
      type = "btrfs";
      uuid_string (uuid, s + 32);
      label_copy (label, s + 0x12b, 255);
    }
  }
  if (need > size) {
    snprintf (err, errlen, "the %s filesystem claims %" PRIu64 " bytes but "
              "its partition has %" PRIu64 " (corrupt superblock or "
              "truncated image)", type, need, size);
    return -1;
  }
  if (blkid_content (fd, off, size, btype, sizeof btype, buuid, sizeof buuid,
                     blabel, sizeof blabel) == 0) {
    if (strcmp (btype, type) != 0 &&
        !(gbox_fstype_has (btype, GBOX_FS_EXT) &&
          gbox_fstype_has (type, GBOX_FS_EXT)))
      need = 0;
    type = btype;
    snprintf (uuid, sizeof uuid, "%s", buuid);
    snprintf (label, sizeof label, "%s", blabel);
  }
  ret->content_size = need;
  if (set_str (&ret->type, type) == -1 || set_str (&ret->uuid, uuid) == -1 ||
      set_str (&ret->label, label) == -1) {
    snprintf (err, errlen, "out of memory");
    return -1;
  }
  return 0;
}

int
do_content_info (void *argsv, void *retv)
{
  gbox_content_info_args *args = argsv;
  gbox_content_info_ret *ret = retv;
  CLEANUP_CLOSE int fd = -1;
  uint64_t size;
  char err[512];

  fd = open_device ("content_info", args->device, O_RDONLY, &size);
  if (fd == -1)
    return -1;
  if (args->offset > size || args->size > size - args->offset) {
    reply_with_error_errno (EINVAL, "content_info: %s: range beyond the end "
                            "of the disk", args->device);
    return -1;
  }
  if (part_content_fd (fd, args->offset, args->size, ret, err,
                       sizeof err) == -1) {
    reply_with_error_errno (EINVAL, "%s at byte %" PRIu64 ": %s",
                            args->device, args->offset, err);
    return -1;
  }
  return 0;
}

/* Mount LOOP on a private directory, run ARGV (where "@" is the
 * mountpoint), unmount. */
static int
run_mounted (const char *what, const char *loop, const char *fstype,
             const char *options, const char *argv[])
{
  char dir[] = "/tmp/gbresizeXXXXXX";
  size_t i;
  int r;

  if (load_fs_modules (fstype) == -1) {
    reply_with_error ("%s: %s: kernel module not available", what, fstype);
    return -1;
  }
  if (mkdtemp (dir) == NULL) {
    reply_with_perror ("%s: mkdtemp", what);
    return -1;
  }
  if (mount (loop, dir, fstype, 0, options) == -1) {
    reply_with_perror ("%s: mount", what);
    rmdir (dir);
    return -1;
  }
  for (i = 0; argv[i]; ++i)
    if (strcmp (argv[i], "@") == 0)
      argv[i] = dir;
  r = run_reply (what, argv, 0);
  if (umount (dir) == -1 && r == 0) {
    reply_with_perror ("%s: umount", what);
    r = -1;
  }
  rmdir (dir);
  return r;
}

int
grow_fs (const char *what, const char *loop, int lfd, uint64_t size,
         const char *t, unsigned flags)
{
  int r = -1;

  if (strcmp (t, "ext2") == 0 || strcmp (t, "ext3") == 0 ||
      strcmp (t, "ext4") == 0) {
    const char *fsck[] = { "e2fsck", "-fy", loop, NULL };
    const char *rs[] = { "resize2fs", loop, NULL };
    /* e2fsck: 1 = errors corrected, fine on our copy. */
    r = run_reply (what, fsck, 1);
    if (r == 0)
      r = run_reply (what, rs, 0);
  }
  else if (strcmp (t, "xfs") == 0) {
    const char *argv[] = { "xfs_growfs", "-d", "@", NULL };
    r = run_mounted (what, loop, "xfs", "nouuid", argv);
  }
  else if (strcmp (t, "btrfs") == 0) {
    const char *argv[] = { "btrfs", "filesystem", "resize", "max", "@", NULL };
    r = run_mounted (what, loop, "btrfs", "", argv);
  }
  else if (strcmp (t, "ntfs") == 0) {
    const char *f[] = { "ntfsresize", "-P", "-f", "-f", loop, NULL };
    const char *nf[] = { "ntfsresize", "-P", "-f", loop, NULL };
    r = run_reply (what, flags & GBOX_RESIZE_NTFS_FORCE ? f : nf, 0);
  }
  else if (strcmp (t, "swap") == 0) {
    gbox_content_info_ret ci;
    char err[256];
    memset (&ci, 0, sizeof ci);
    if (part_content_fd (lfd, 0, size, &ci, err, sizeof err) == -1 ||
        strcmp (ci.type, "swap") != 0) {
      reply_with_error ("%s: not a swap partition", what);
    }
    else {
      const char *mk[] = { "mkswap", "-f", "-U", ci.uuid, "-L", ci.label,
                           loop, NULL };
      if (ci.label[0] == '\0') {
        mk[4] = loop;
        mk[5] = NULL;
      }
      r = run_reply (what, mk, 0);
    }
    xdr_free ((xdrproc_t) xdr_gbox_content_info_ret, (char *) &ci);
  }
  else
    reply_with_error_errno (ENOTSUP, "%s: cannot resize a '%s' filesystem",
                            what, t);

  return r;
}

int
do_resize_content (void *argsv, void *retv)
{
  gbox_resize_content_args *args = argsv;
  CLEANUP_CLOSE int fd = -1, lfd = -1;
  uint64_t size;
  char loop[64], what[300];
  const char *t = args->type;
  int r = -1;

  (void) retv;
  fd = open_device ("resize_content", args->device, O_RDWR, &size);
  if (fd == -1)
    return -1;
  if (args->offset % SECTOR || args->offset > size ||
      args->size > size - args->offset || args->size < 64 * 1024) {
    reply_with_error_errno (EINVAL, "resize_content: %s: invalid range",
                            args->device);
    return -1;
  }
  /* Data may have been written to the disk from outside (the host):
   * drop what the kernel has cached. */
  fsync (fd);
  ioctl (fd, BLKFLSBUF, 0);
  lfd = loop_attach (fd, args->offset, args->size, false, loop, sizeof loop);
  if (lfd == -1)
    return -1;
  snprintf (what, sizeof what, "%s at byte %" PRIu64, args->device,
            args->offset);

  r = grow_fs (what, loop, lfd, args->size, t, args->flags);
  fsync (lfd);
  ioctl (lfd, LOOP_CLR_FD, 0);
  return r;
}
