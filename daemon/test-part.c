/* guestbox - unit tests of part.c on image files (no VM).
 * Copyright (C) 2026 the guestbox authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

/**
 * Tables made by sfdisk (MBR with logical partitions, GPT with names,
 * GUIDs and attributes) are read with part_read_fd and checked field by
 * field, written back with part_write_fd to an empty file and compared
 * with `sfdisk -d` of the original; damaged tables (bad GPT CRC, a loop
 * in the EBR chain, partitions beyond the end, no signature) are
 * refused with the expected message; content_info reads ext4 and swap
 * superblocks and refuses a corrupt one.  Skips (77) without sfdisk,
 * mkfs.ext4 or mkswap.
 */

#include <config.h>

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <inttypes.h>
#include <unistd.h>

#include "daemon.h"
#define CHECK_QUIET
#include "check.h"

#define MiB (1024 * 1024)

static char dir[] = "/tmp/gbtestpartXXXXXX";

static int
sh (const char *fs, ...)
{
  char cmd[4096];
  va_list ap;

  va_start (ap, fs);
  vsnprintf (cmd, sizeof cmd, fs, ap);
  va_end (ap);
  return system (cmd);
}

/* Output of a shell command, trimmed, malloc'd. */
static char *
sh_out (const char *cmd)
{
  FILE *fp = popen (cmd, "r");
  char *buf = calloc (1, 65536);
  size_t n;

  if (!fp || !buf)
    abort ();
  n = fread (buf, 1, 65535, fp);
  buf[n] = '\0';
  pclose (fp);
  return buf;
}

static int
open_img (const char *name, uint64_t *size, int flags)
{
  char path[256];
  int fd;

  snprintf (path, sizeof path, "%s/%s", dir, name);
  fd = open (path, flags);
  if (fd == -1) {
    perror (path);
    exit (1);
  }
  *size = lseek (fd, 0, SEEK_END);
  return fd;
}

static const gbox_partition *
find (const gbox_part_layout *l, int num)
{
  size_t i;

  for (i = 0; i < l->parts.parts_len; ++i)
    if (l->parts.parts_val[i].num == num)
      return &l->parts.parts_val[i];
  return NULL;
}

/* Write layout L of image NAME to a fresh file of the same size, and
 * compare sfdisk -d of both (device names aside, and first-lba: we
 * always write 34, the first usable sector of a standard GPT). */
static void
roundtrip (const char *name, const gbox_part_layout *l)
{
  char err[512], cmd[1024];
  CLEANUP_FREE char *a = NULL, *b = NULL;
  uint64_t size, sz2;
  int fd;

  fd = open_img (name, &size, O_RDONLY);
  close (fd);
  sh ("rm -f %s/copy.img; truncate -s %" PRIu64 " %s/copy.img", dir, size,
      dir);
  fd = open_img ("copy.img", &sz2, O_RDWR);
  CHECK (part_write_fd (fd, size, l, err, sizeof err) == 0,
         "%s: write: %s", name, err);
  close (fd);
  snprintf (cmd, sizeof cmd, "sfdisk -d %s/%s | sed 's,^%s/%s,DEV,; /^device:/d; /^first-lba:/d'",
            dir, name, dir, name);
  a = sh_out (cmd);
  snprintf (cmd, sizeof cmd, "sfdisk -d %s/copy.img | sed 's,^%s/copy.img,DEV,; /^device:/d; /^first-lba:/d'",
            dir, dir);
  b = sh_out (cmd);
  CHECK (strlen (a) > 50 && strcmp (a, b) == 0,
         "%s: sfdisk -d differs after writing:\n%s---\n%s", name, a, b);
  CHECK (sh ("sfdisk -V %s/copy.img >/dev/null 2>&1", dir) == 0,
         "%s: sfdisk -V fails on the written table", name);
  printf ("ok - %s: written table equals the original (sfdisk -d, -V)\n",
          name);
}

static void
test_mbr (void)
{
  gbox_part_layout l;
  char err[512];
  uint64_t size;
  const gbox_partition *p;
  int fd;

  sh ("truncate -s 100M %s/mbr.img && printf 'label-id: 0x1234abcd\\n"
      "start=2048,size=40960,type=83,bootable\\nstart=43008,size=159744,"
      "type=5\\nstart=45056,size=61440,type=83\\nstart=108544,size=40960,"
      "type=82\\n' | sfdisk -q -X dos %s/mbr.img >/dev/null", dir, dir);
  fd = open_img ("mbr.img", &size, O_RDONLY);
  CHECK (part_read_fd (fd, size, &l, err, sizeof err) == 0, "mbr: %s", err);
  close (fd);
  CHECK (strcmp (l.label, "dos") == 0 && strcmp (l.disk_id, "0x1234abcd") == 0,
         "mbr: label %s id %s", l.label, l.disk_id);
  CHECK (l.parts.parts_len == 4, "mbr: %u partitions", l.parts.parts_len);
  p = find (&l, 1);
  CHECK (p && p->start == 2048 * 512ULL && p->size == 40960 * 512ULL &&
         p->mbr_type == 0x83 && p->bootable, "mbr: partition 1");
  p = find (&l, 2);
  CHECK (p && p->mbr_type == 5 && p->start == 43008 * 512ULL, "mbr: extended");
  p = find (&l, 5);
  CHECK (p && p->start == 45056 * 512ULL && p->ebr == 43008 * 512ULL &&
         p->mbr_type == 0x83 && !p->bootable, "mbr: logical 5");
  p = find (&l, 6);
  CHECK (p && p->start == 108544 * 512ULL && p->ebr == 106496 * 512ULL &&
         p->mbr_type == 0x82, "mbr: logical 6");
  printf ("ok - mbr: primary, extended and logical partitions read\n");
  roundtrip ("mbr.img", &l);
  xdr_free ((xdrproc_t) xdr_gbox_part_layout, (char *) &l);
}

static void
test_gpt (void)
{
  gbox_part_layout l;
  char err[512];
  uint64_t size;
  const gbox_partition *p;
  int fd;

  sh ("truncate -s 80M %s/gpt.img && printf 'label: gpt\\nlabel-id: "
      "11111111-2222-3333-4444-555555555555\\nstart=2048,size=32768,"
      "type=C12A7328-F81F-11D2-BA4B-00A0C93EC93B,uuid=AAAAAAAA-0000-4000-"
      "8000-000000000001,name=\"EFI system\",attrs=\"RequiredPartition\"\\n"
      "start=34816,size=81920,type=4F68BCE3-E8CD-4DB1-96E7-FBCAF984B709,"
      "uuid=AAAAAAAA-0000-4000-8000-000000000002,name=\"r\xc3\xa9sum\xc3\xa9\"\\n'"
      " | sfdisk -q %s/gpt.img >/dev/null", dir, dir);
  fd = open_img ("gpt.img", &size, O_RDONLY);
  CHECK (part_read_fd (fd, size, &l, err, sizeof err) == 0, "gpt: %s", err);
  close (fd);
  CHECK (strcmp (l.label, "gpt") == 0 &&
         strcmp (l.disk_id, "11111111-2222-3333-4444-555555555555") == 0,
         "gpt: label %s id %s", l.label, l.disk_id);
  p = find (&l, 1);
  CHECK (p && p->start == 2048 * 512ULL && p->size == 32768 * 512ULL &&
         strcmp (p->type_guid, "C12A7328-F81F-11D2-BA4B-00A0C93EC93B") == 0 &&
         strcmp (p->part_guid, "AAAAAAAA-0000-4000-8000-000000000001") == 0 &&
         strcmp (p->name, "EFI system") == 0 && p->attributes == 1,
         "gpt: partition 1: %s %s '%s' %" PRIx64, p ? p->type_guid : "",
         p ? p->part_guid : "", p ? p->name : "", p ? p->attributes : 0);
  p = find (&l, 2);
  CHECK (p && strcmp (p->name, "r\xc3\xa9sum\xc3\xa9") == 0 &&
         strcmp (p->type_guid, "4F68BCE3-E8CD-4DB1-96E7-FBCAF984B709") == 0,
         "gpt: partition 2 name '%s'", p ? p->name : "");
  printf ("ok - gpt: GUIDs, UTF-16 names, attributes read\n");
  roundtrip ("gpt.img", &l);
  xdr_free ((xdrproc_t) xdr_gbox_part_layout, (char *) &l);
}

/* Damage a copy of an image with a shell command; expect ERR. */
static void
test_bad (const char *what, const char *src, const char *damage,
          uint64_t size_override, const char *expect)
{
  gbox_part_layout l;
  char err[512] = "";
  uint64_t size;
  int fd, r;

  sh ("cp %s/%s %s/bad.img && cd %s && %s", dir, src, dir, dir, damage);
  fd = open_img ("bad.img", &size, O_RDONLY);
  if (size_override)
    size = size_override;
  r = part_read_fd (fd, size, &l, err, sizeof err);
  close (fd);
  CHECK (r == -1 && strstr (err, expect), "%s: expected '%s', got %d '%s'",
         what, expect, r, err);
  if (r == 0)
    xdr_free ((xdrproc_t) xdr_gbox_part_layout, (char *) &l);
  else
    printf ("ok - %s: %s\n", what, err);
}

static void
test_content (void)
{
  gbox_content_info_ret ci;
  char err[512];
  uint64_t size;
  int fd;

  sh ("mkfs.ext4 -q -F -L MYLABEL -U 01234567-89ab-cdef-0123-456789abcdef "
      "%s/ext4.img 8M >/dev/null && truncate -s 8M %s/swap.img && "
      "mkswap -q -L SW -U fedcba98-7654-3210-fedc-ba9876543210 %s/swap.img",
      dir, dir, dir);
  fd = open_img ("ext4.img", &size, O_RDONLY);
  memset (&ci, 0, sizeof ci);
  CHECK (part_content_fd (fd, 0, size, &ci, err, sizeof err) == 0, "ext4: %s",
         err);
  close (fd);
  CHECK (strcmp (ci.type, "ext4") == 0 && strcmp (ci.label, "MYLABEL") == 0 &&
         strcmp (ci.uuid, "01234567-89ab-cdef-0123-456789abcdef") == 0 &&
         ci.content_size == 8 * MiB, "ext4: %s %s %s %" PRIu64, ci.type,
         ci.label, ci.uuid, ci.content_size);
  xdr_free ((xdrproc_t) xdr_gbox_content_info_ret, (char *) &ci);
  printf ("ok - content: ext4 type, label, UUID, size\n");
  /* The same filesystem in a 4 MiB range: does not fit. */
  fd = open_img ("ext4.img", &size, O_RDONLY);
  memset (&ci, 0, sizeof ci);
  CHECK (part_content_fd (fd, 0, 4 * MiB, &ci, err, sizeof err) == -1 &&
         strstr (err, "corrupt superblock"), "ext4 in a small range");
  close (fd);
  xdr_free ((xdrproc_t) xdr_gbox_content_info_ret, (char *) &ci);
  printf ("ok - content: %s\n", err);
  fd = open_img ("swap.img", &size, O_RDONLY);
  memset (&ci, 0, sizeof ci);
  CHECK (part_content_fd (fd, 0, size, &ci, err, sizeof err) == 0 &&
         strcmp (ci.type, "swap") == 0 && strcmp (ci.label, "SW") == 0 &&
         strcmp (ci.uuid, "fedcba98-7654-3210-fedc-ba9876543210") == 0,
         "swap: %s %s %s", ci.type ? ci.type : "(null)",
         ci.label ? ci.label : "(null)", ci.uuid ? ci.uuid : "(null)");
  close (fd);
  xdr_free ((xdrproc_t) xdr_gbox_content_info_ret, (char *) &ci);
  printf ("ok - content: swap label and UUID\n");

  /* Types only libblkid knows (virt-resize --unknown-filesystems sees
   * them), found at an offset inside a larger disk: minix at 1 MiB,
   * and the ext4 image at 3 MiB with its label and size. */
  sh ("truncate -s 2M %s/minix.img && mkfs.minix %s/minix.img "
      ">/dev/null && truncate -s 12M %s/disk.img && "
      "dd if=%s/minix.img of=%s/disk.img bs=1M seek=1 conv=notrunc "
      "status=none && dd if=%s/ext4.img of=%s/disk.img bs=1M seek=3 "
      "conv=notrunc status=none", dir, dir, dir, dir, dir, dir, dir);
  fd = open_img ("disk.img", &size, O_RDONLY);
  memset (&ci, 0, sizeof ci);
  CHECK (part_content_fd (fd, MiB, 2 * MiB, &ci, err, sizeof err) == 0 &&
         strcmp (ci.type, "minix") == 0 && ci.content_size == 0,
         "minix at 1 MiB: type '%s', size %" PRIu64,
         ci.type ? ci.type : "(null)", ci.content_size);
  xdr_free ((xdrproc_t) xdr_gbox_content_info_ret, (char *) &ci);
  memset (&ci, 0, sizeof ci);
  CHECK (part_content_fd (fd, 3 * MiB, 8 * MiB, &ci, err, sizeof err) == 0 &&
         strcmp (ci.type, "ext4") == 0 && strcmp (ci.label, "MYLABEL") == 0 &&
         ci.content_size == 8 * MiB,
         "ext4 at 3 MiB: type '%s', label '%s', size %" PRIu64,
         ci.type ? ci.type : "(null)", ci.label ? ci.label : "(null)",
         ci.content_size);
  xdr_free ((xdrproc_t) xdr_gbox_content_info_ret, (char *) &ci);
  memset (&ci, 0, sizeof ci);
  CHECK (part_content_fd (fd, 0, MiB, &ci, err, sizeof err) == 0 &&
         strcmp (ci.type, "") == 0, "zeros: no type ('%s')",
         ci.type ? ci.type : "(null)");
  xdr_free ((xdrproc_t) xdr_gbox_content_info_ret, (char *) &ci);
  close (fd);
}

int
main (void)
{
  if (system ("(command -v sfdisk && command -v mkfs.ext4 && "
              "command -v mkswap) >/dev/null 2>&1") != 0) {
    printf ("SKIP: sfdisk, mkfs.ext4 or mkswap missing\n");
    return 77;
  }
  if (mkdtemp (dir) == NULL) {
    perror ("mkdtemp");
    return 1;
  }
  test_mbr ();
  test_gpt ();
  test_bad ("no signature", "mbr.img",
            "printf '\\0\\0' | dd of=bad.img bs=1 seek=510 conv=notrunc status=none",
            0, "no MBR signature");
  test_bad ("truncated MBR disk", "mbr.img", "true", 60 * MiB,
            "beyond the end of the disk");
  test_bad ("EBR chain loop", "mbr.img",
            /* The second EBR's link points back to the first. */
            "printf '\\005\\0\\0\\0\\001\\0\\0\\0\\001\\0\\0\\0' | "
            "dd of=bad.img bs=1 seek=$((106496*512+462+4)) conv=notrunc status=none",
            0, "invalid EBR chain");
  test_bad ("GPT header CRC", "gpt.img",
            "printf X | dd of=bad.img bs=1 seek=$((512+60)) conv=notrunc status=none",
            0, "bad CRC");
  test_bad ("GPT entries CRC", "gpt.img",
            "printf X | dd of=bad.img bs=1 seek=$((1024+60)) conv=notrunc status=none",
            0, "bad CRC");
  test_bad ("truncated GPT disk", "gpt.img", "true", 40 * MiB,
            "beyond the end of the disk");
  test_content ();
  sh ("rm -rf %s", dir);
  return check_finish ("test-part");
}
