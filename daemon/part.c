/* guestbox - partition tables, range copies and content resizing.
 * Copyright (C) 2026 the guestbox authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

/**
 * The procedures behind virt-resize:
 *
 * - part_get_layout: parse the MBR (primary, extended and the chain of
 *   EBRs of the logical partitions) or the GPT (header and entry CRCs
 *   checked) of a disk into a validated gbox_part_layout.  Every field
 *   comes from untrusted bytes: offsets are bounded by the disk size,
 *   chains by GBOX_PARTS_MAX, overlaps refused.
 * - part_set_layout: write a layout (MBR + EBRs, or protective MBR +
 *   both GPT copies with their CRC32s) after checking it; sector 0 is
 *   written last, so a disk whose writing fails part-way has no valid
 *   table.
 * - part_wipe: zero the places where a table lives (LBA 0-33, last 33).
 * - copy_range: copy bytes between disks, not writing zero blocks.
 * - content_info: what a byte range holds, read from its superblock
 *   (ext2/3/4, xfs, btrfs, ntfs, vfat, swap) with the size it needs.
 * - resize_content: grow the filesystem in a byte range (through a
 *   loop device over that range, so no partition table is needed yet):
 *   e2fsck + resize2fs, xfs_growfs and btrfs resize (mounted),
 *   ntfsresize, mkswap keeping the UUID and label.
 *
 * The parsing and writing work on a file descriptor (part_read_fd,
 * part_write_fd) so that test-part.c checks them on image files.
 */

#include <config.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <linux/fs.h>
#include <linux/loop.h>

#include "daemon.h"

#define SECTOR 512
#define GPT_ENTRIES 128
#define GPT_ENTRY_SIZE 128
#define GPT_ENTRY_SECTORS (GPT_ENTRIES * GPT_ENTRY_SIZE / SECTOR) /* 32 */
#define COPY_BUF (4 * 1024 * 1024)
#define ZERO_BLOCK 4096

/* CRC32 (IEEE 802.3, reflected), as GPT uses. */
static uint32_t
crc32_gpt (const unsigned char *p, size_t len)
{
  static uint32_t table[256];
  static bool init;
  uint32_t c = 0xffffffff;
  size_t i;

  if (!init) {
    uint32_t n, k, v;
    for (n = 0; n < 256; ++n) {
      v = n;
      for (k = 0; k < 8; ++k)
        v = v & 1 ? 0xedb88320 ^ (v >> 1) : v >> 1;
      table[n] = v;
    }
    init = true;
  }
  for (i = 0; i < len; ++i)
    c = table[(c ^ p[i]) & 0xff] ^ (c >> 8);
  return c ^ 0xffffffff;
}

static uint16_t le16 (const unsigned char *p) { return p[0] | (p[1] << 8); }
static uint32_t
le32 (const unsigned char *p)
{
  return p[0] | (p[1] << 8) | (p[2] << 16) | ((uint32_t) p[3] << 24);
}
static uint64_t
le64 (const unsigned char *p)
{
  return le32 (p) | ((uint64_t) le32 (p + 4) << 32);
}
static uint32_t
be32 (const unsigned char *p)
{
  return ((uint32_t) p[0] << 24) | (p[1] << 16) | (p[2] << 8) | p[3];
}
static uint64_t
be64 (const unsigned char *p)
{
  return ((uint64_t) be32 (p) << 32) | be32 (p + 4);
}
static void
put_le32 (unsigned char *p, uint32_t v)
{
  p[0] = v; p[1] = v >> 8; p[2] = v >> 16; p[3] = v >> 24;
}
static void
put_le64 (unsigned char *p, uint64_t v)
{
  put_le32 (p, (uint32_t) v);
  put_le32 (p + 4, (uint32_t) (v >> 32));
}

/* GUIDs: the first three fields are little-endian on disk. */
static void
guid_to_string (const unsigned char *g, char *buf)
{
  sprintf (buf, "%08" PRIX32 "-%04X-%04X-%02X%02X-%02X%02X%02X%02X%02X%02X",
           le32 (g), le16 (g + 4), le16 (g + 6), g[8], g[9],
           g[10], g[11], g[12], g[13], g[14], g[15]);
}

static int
hexval (int c)
{
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

static int
guid_from_string (const char *s, unsigned char *g)
{
  unsigned char b[16];
  size_t i, n = 0;

  if (strlen (s) != 36)
    return -1;
  for (i = 0; i < 36; ++i) {
    if (i == 8 || i == 13 || i == 18 || i == 23) {
      if (s[i] != '-')
        return -1;
      continue;
    }
    if (hexval (s[i]) < 0 || hexval (s[i + 1]) < 0)
      return -1;
    b[n++] = hexval (s[i]) << 4 | hexval (s[i + 1]);
    i++;
  }
  /* b is big-endian text order; swap the first three fields. */
  g[0] = b[3]; g[1] = b[2]; g[2] = b[1]; g[3] = b[0];
  g[4] = b[5]; g[5] = b[4];
  g[6] = b[7]; g[7] = b[6];
  memcpy (g + 8, b + 8, 8);
  return 0;
}

/* memcmp with itself shifted by one byte: the C library's vectorised
 * loop, much faster than a byte loop under emulation. */
static bool
all_zero (const unsigned char *p, size_t len)
{
  if (len == 0)
    return true;
  return p[0] == 0 && memcmp (p, p + 1, len - 1) == 0;
}

/* UTF-16LE (NUL-terminated or LEN units) to UTF-8 in BUF (bounded). */
static void
utf16_to_utf8 (const unsigned char *p, size_t units, char *buf, size_t len)
{
  size_t i, o = 0;

  for (i = 0; i < units; ++i) {
    uint32_t c = le16 (p + 2 * i);
    if (c == 0)
      break;
    if (c >= 0xd800 && c < 0xdc00 && i + 1 < units) {
      uint32_t d = le16 (p + 2 * (i + 1));
      if (d >= 0xdc00 && d < 0xe000) {
        c = 0x10000 + ((c - 0xd800) << 10) + (d - 0xdc00);
        i++;
      }
      else
        c = 0xfffd;
    }
    else if (c >= 0xd800 && c < 0xe000)
      c = 0xfffd;
    if (o + 5 > len)
      break;
    if (c < 0x80)
      buf[o++] = c;
    else if (c < 0x800) {
      buf[o++] = 0xc0 | (c >> 6);
      buf[o++] = 0x80 | (c & 0x3f);
    }
    else if (c < 0x10000) {
      buf[o++] = 0xe0 | (c >> 12);
      buf[o++] = 0x80 | ((c >> 6) & 0x3f);
      buf[o++] = 0x80 | (c & 0x3f);
    }
    else {
      buf[o++] = 0xf0 | (c >> 18);
      buf[o++] = 0x80 | ((c >> 12) & 0x3f);
      buf[o++] = 0x80 | ((c >> 6) & 0x3f);
      buf[o++] = 0x80 | (c & 0x3f);
    }
  }
  buf[o] = '\0';
}

/* UTF-8 to UTF-16LE, at most UNITS units (zero-filled).  -1 if S is
 * not valid UTF-8 or too long. */
static int
utf8_to_utf16 (const char *s, unsigned char *p, size_t units)
{
  const unsigned char *u = (const unsigned char *) s;
  size_t o = 0;

  memset (p, 0, units * 2);
  while (*u) {
    uint32_t c;
    int extra;
    if (*u < 0x80) { c = *u; extra = 0; }
    else if ((*u & 0xe0) == 0xc0) { c = *u & 0x1f; extra = 1; }
    else if ((*u & 0xf0) == 0xe0) { c = *u & 0x0f; extra = 2; }
    else if ((*u & 0xf8) == 0xf0) { c = *u & 0x07; extra = 3; }
    else return -1;
    u++;
    while (extra-- > 0) {
      if ((*u & 0xc0) != 0x80)
        return -1;
      c = (c << 6) | (*u++ & 0x3f);
    }
    if (c >= 0x10000) {
      if (o + 2 > units)
        return -1;
      c -= 0x10000;
      p[2 * o] = (0xd800 + (c >> 10)) & 0xff;
      p[2 * o + 1] = (0xd800 + (c >> 10)) >> 8;
      o++;
      c = 0xdc00 + (c & 0x3ff);
    }
    if (o + 1 > units)
      return -1;
    p[2 * o] = c & 0xff;
    p[2 * o + 1] = c >> 8;
    o++;
  }
  return 0;
}

static int
read_at (int fd, void *buf, size_t len, uint64_t off)
{
  size_t done = 0;

  while (done < len) {
    ssize_t r = pread (fd, (char *) buf + done, len - done,
                       (off_t) (off + done));
    if (r == -1 && errno == EINTR)
      continue;
    if (r <= 0) {
      if (r == 0)
        errno = EIO;
      return -1;
    }
    done += r;
  }
  return 0;
}

static int
write_at (int fd, const void *buf, size_t len, uint64_t off)
{
  size_t done = 0;

  while (done < len) {
    ssize_t r = pwrite (fd, (const char *) buf + done, len - done,
                        (off_t) (off + done));
    if (r == -1 && errno == EINTR)
      continue;
    if (r <= 0) {
      if (r == 0)
        errno = EIO;
      return -1;
    }
    done += r;
  }
  return 0;
}

static void
free_layout (gbox_part_layout *l)
{
  xdr_free ((xdrproc_t) xdr_gbox_part_layout, (char *) l);
  memset (l, 0, sizeof *l);
}

static gbox_partition *
add_part (gbox_part_layout *l)
{
  gbox_partition *n;

  if (l->parts.parts_len >= GBOX_PARTS_MAX)
    return NULL;
  n = realloc (l->parts.parts_val,
               (l->parts.parts_len + 1) * sizeof *n);
  if (n == NULL)
    return NULL;
  l->parts.parts_val = n;
  n = &n[l->parts.parts_len++];
  memset (n, 0, sizeof *n);
  n->mbr_type = -1;
  n->type_guid = strdup ("");
  n->part_guid = strdup ("");
  n->name = strdup ("");
  if (!n->type_guid || !n->part_guid || !n->name)
    return NULL;
  return n;
}

static bool
is_extended (int type)
{
  return type == 0x05 || type == 0x0f || type == 0x85;
}

/* Checks common to reading and writing: partitions inside the disk,
 * sector-aligned, not overlapping (logical partitions and their EBRs
 * inside the extended one).  Returns NULL or a static message in
 * ERR. */
static int
check_layout (const gbox_part_layout *l, uint64_t disk_size,
              char *err, size_t errlen)
{
  size_t i, j;
  const gbox_partition *ext = NULL;
  bool gpt = strcmp (l->label, "gpt") == 0;
  uint64_t first = gpt ? 34 * SECTOR : SECTOR;
  uint64_t last = gpt ? disk_size - 33 * SECTOR : disk_size;

  if (!gpt && strcmp (l->label, "dos") != 0) {
    snprintf (err, errlen, "unknown partition table type '%s'", l->label);
    return -1;
  }
  if (disk_size < 67 * SECTOR) {
    snprintf (err, errlen, "disk too small (%" PRIu64 " bytes)", disk_size);
    return -1;
  }
  for (i = 0; i < l->parts.parts_len; ++i) {
    const gbox_partition *p = &l->parts.parts_val[i];
    if (!gpt && p->num >= 1 && p->num <= 4 && is_extended (p->mbr_type)) {
      if (ext) {
        snprintf (err, errlen, "more than one extended partition");
        return -1;
      }
      ext = p;
    }
  }
  for (i = 0; i < l->parts.parts_len; ++i) {
    const gbox_partition *p = &l->parts.parts_val[i];
    bool logical = !gpt && p->num >= 5;

    if (p->num < 1 || (!gpt && p->num > 4 + GBOX_PARTS_MAX) ||
        (gpt && p->num > GPT_ENTRIES)) {
      snprintf (err, errlen, "invalid partition number %d", p->num);
      return -1;
    }
    if (p->start % SECTOR || p->size % SECTOR || p->size == 0) {
      snprintf (err, errlen, "partition %d: start %" PRIu64 " or size %"
                PRIu64 " not a non-zero multiple of %d", p->num, p->start,
                p->size, SECTOR);
      return -1;
    }
    if (p->start < first || p->start > last || p->size > last - p->start) {
      snprintf (err, errlen, "partition %d (start %" PRIu64 ", size %"
                PRIu64 ") goes beyond the end of the disk (%" PRIu64
                " bytes)", p->num, p->start, p->size, disk_size);
      return -1;
    }
    if (!gpt && p->mbr_type <= 0) {
      snprintf (err, errlen, "partition %d: invalid MBR type", p->num);
      return -1;
    }
    if (logical) {
      if (!ext) {
        snprintf (err, errlen, "logical partition %d without an extended "
                  "partition", p->num);
        return -1;
      }
      if (p->ebr % SECTOR || p->ebr < ext->start || p->ebr >= p->start ||
          p->start + p->size > ext->start + ext->size) {
        snprintf (err, errlen, "logical partition %d is not inside the "
                  "extended partition", p->num);
        return -1;
      }
    }
    for (j = 0; j < i; ++j) {
      const gbox_partition *q = &l->parts.parts_val[j];
      bool qlogical = !gpt && q->num >= 5;
      uint64_t ps = logical ? p->ebr : p->start;
      uint64_t qs = qlogical ? q->ebr : q->start;
      if (p->num == q->num) {
        snprintf (err, errlen, "partition number %d used twice", p->num);
        return -1;
      }
      /* The extended partition contains the logical ones. */
      if ((ext == p && qlogical) || (ext == q && logical))
        continue;
      if (ps < q->start + q->size && qs < p->start + p->size) {
        snprintf (err, errlen, "partitions %d and %d overlap",
                  q->num, p->num);
        return -1;
      }
    }
  }
  return 0;
}

static int
read_mbr (int fd, uint64_t disk_size, const unsigned char *s0,
          gbox_part_layout *l, char *err, size_t errlen)
{
  int i;
  uint64_t ext_start = 0, ext_size = 0;
  char id[16];

  snprintf (id, sizeof id, "0x%08" PRIx32, le32 (s0 + 440));
  l->disk_id = strdup (id);
  l->label = strdup ("dos");
  if (!l->disk_id || !l->label)
    goto oom;
  for (i = 0; i < 4; ++i) {
    const unsigned char *e = s0 + 446 + 16 * i;
    gbox_partition *p;
    if (e[4] == 0)
      continue;
    if (le32 (e + 12) == 0) {
      snprintf (err, errlen, "partition %d has a type but no sectors", i + 1);
      return -1;
    }
    p = add_part (l);
    if (!p)
      goto oom;
    p->num = i + 1;
    p->mbr_type = e[4];
    p->bootable = (e[0] & 0x80) != 0;
    p->start = (uint64_t) le32 (e + 8) * SECTOR;
    p->size = (uint64_t) le32 (e + 12) * SECTOR;
    if (is_extended (e[4])) {
      if (ext_size) {
        snprintf (err, errlen, "more than one extended partition");
        return -1;
      }
      ext_start = p->start;
      ext_size = p->size;
    }
  }
  if (ext_size) {
    uint64_t ebr = ext_start;
    int num = 5;
    unsigned char s[SECTOR];

    if (ext_start + ext_size > disk_size) {
      snprintf (err, errlen, "the extended partition goes beyond the end "
                "of the disk (%" PRIu64 " bytes)", disk_size);
      return -1;
    }
    for (;;) {
      const unsigned char *e0 = s + 446, *e1 = s + 462;
      if (num > 4 + GBOX_PARTS_MAX) {
        snprintf (err, errlen, "too many logical partitions (a loop in the "
                  "EBR chain?)");
        return -1;
      }
      if (read_at (fd, s, SECTOR, ebr) == -1) {
        snprintf (err, errlen, "read EBR at %" PRIu64 ": %s", ebr,
                  strerror (errno));
        return -1;
      }
      if (s[510] != 0x55 || s[511] != 0xaa) {
        snprintf (err, errlen, "invalid EBR at byte %" PRIu64, ebr);
        return -1;
      }
      if (e0[4] != 0 && le32 (e0 + 12) != 0) {
        gbox_partition *p = add_part (l);
        if (!p)
          goto oom;
        p->num = num++;
        p->mbr_type = e0[4];
        p->bootable = (e0[0] & 0x80) != 0;
        p->ebr = ebr;
        p->start = ebr + (uint64_t) le32 (e0 + 8) * SECTOR;
        p->size = (uint64_t) le32 (e0 + 12) * SECTOR;
        if (le32 (e0 + 8) == 0) {
          snprintf (err, errlen, "logical partition %d overlaps its EBR",
                    p->num);
          return -1;
        }
      }
      if (e1[4] == 0 || le32 (e1 + 8) == 0)
        break;
      {
        uint64_t next = ext_start + (uint64_t) le32 (e1 + 8) * SECTOR;
        /* Forward only: no loops. */
        if (next <= ebr || next >= ext_start + ext_size) {
          snprintf (err, errlen, "invalid EBR chain (next EBR at byte %"
                    PRIu64 ")", next);
          return -1;
        }
        ebr = next;
      }
    }
  }
  return 0;
 oom:
  snprintf (err, errlen, "out of memory");
  return -1;
}

static int
read_gpt (int fd, uint64_t disk_size, gbox_part_layout *l,
          char *err, size_t errlen)
{
  unsigned char h[SECTOR];
  CLEANUP_FREE unsigned char *ents = NULL;
  uint32_t hsize, crc, nents, esize, i;
  uint64_t elba, elen;
  char guid[40];

  if (read_at (fd, h, SECTOR, SECTOR) == -1) {
    snprintf (err, errlen, "read GPT header: %s", strerror (errno));
    return -1;
  }
  if (memcmp (h, "EFI PART", 8) != 0) {
    snprintf (err, errlen, "protective MBR but no GPT header");
    return -1;
  }
  hsize = le32 (h + 12);
  if (hsize < 92 || hsize > SECTOR) {
    snprintf (err, errlen, "corrupt GPT header (size %" PRIu32 ")", hsize);
    return -1;
  }
  crc = le32 (h + 16);
  put_le32 (h + 16, 0);
  if (crc32_gpt (h, hsize) != crc) {
    snprintf (err, errlen, "corrupt GPT header (bad CRC)");
    return -1;
  }
  elba = le64 (h + 72);
  nents = le32 (h + 80);
  esize = le32 (h + 84);
  if (esize < 128 || esize > 4096 || esize % 8 || nents == 0 ||
      nents > 65536 || (uint64_t) nents * esize > 4 * 1024 * 1024 ||
      elba < 2 || elba > disk_size / SECTOR ||
      (uint64_t) nents * esize > disk_size - elba * SECTOR) {
    snprintf (err, errlen, "corrupt GPT header (partition entry array)");
    return -1;
  }
  elen = (uint64_t) nents * esize;
  ents = malloc (elen);
  if (!ents) {
    snprintf (err, errlen, "out of memory");
    return -1;
  }
  if (read_at (fd, ents, elen, elba * SECTOR) == -1) {
    snprintf (err, errlen, "read GPT entries: %s", strerror (errno));
    return -1;
  }
  if (crc32_gpt (ents, elen) != le32 (h + 88)) {
    snprintf (err, errlen, "corrupt GPT partition entries (bad CRC)");
    return -1;
  }
  guid_to_string (h + 56, guid);
  l->label = strdup ("gpt");
  l->disk_id = strdup (guid);
  if (!l->label || !l->disk_id)
    goto oom;
  for (i = 0; i < nents; ++i) {
    const unsigned char *e = ents + (uint64_t) i * esize;
    gbox_partition *p;
    uint64_t first, last;
    char name[256];

    if (all_zero (e, 16))
      continue;
    if (i >= GPT_ENTRIES) {
      snprintf (err, errlen, "GPT partition %" PRIu32 " is beyond the "
                "%d supported", i + 1, GPT_ENTRIES);
      return -1;
    }
    first = le64 (e + 32);
    last = le64 (e + 40);
    if (last < first || last >= disk_size / SECTOR) {
      snprintf (err, errlen, "partition %" PRIu32 " (sectors %" PRIu64
                "-%" PRIu64 ") goes beyond the end of the disk (%" PRIu64
                " bytes)", i + 1, first, last, disk_size);
      return -1;
    }
    p = add_part (l);
    if (!p)
      goto oom;
    p->num = i + 1;
    p->start = first * SECTOR;
    p->size = (last - first + 1) * SECTOR;
    p->attributes = le64 (e + 48);
    guid_to_string (e, guid);
    free (p->type_guid);
    p->type_guid = strdup (guid);
    guid_to_string (e + 16, guid);
    free (p->part_guid);
    p->part_guid = strdup (guid);
    utf16_to_utf8 (e + 56, 36, name, sizeof name);
    free (p->name);
    p->name = strdup (name);
    if (!p->type_guid || !p->part_guid || !p->name)
      goto oom;
  }
  return 0;
 oom:
  snprintf (err, errlen, "out of memory");
  return -1;
}

int
part_read_fd (int fd, uint64_t disk_size, gbox_part_layout *l,
              char *err, size_t errlen)
{
  unsigned char s0[SECTOR];
  int r, i;
  bool gpt = false;

  memset (l, 0, sizeof *l);
  if (disk_size < 2 * SECTOR) {
    snprintf (err, errlen, "disk too small for a partition table (%"
              PRIu64 " bytes)", disk_size);
    return -1;
  }
  if (read_at (fd, s0, SECTOR, 0) == -1) {
    snprintf (err, errlen, "read sector 0: %s", strerror (errno));
    return -1;
  }
  if (s0[510] != 0x55 || s0[511] != 0xaa) {
    snprintf (err, errlen, "no partition table (no MBR signature)");
    return -1;
  }
  for (i = 0; i < 4; ++i)
    if (s0[446 + 16 * i + 4] == 0xee)
      gpt = true;
  l->disk_size = disk_size;
  l->sector_size = SECTOR;
  l->bootcode.bootcode_val = malloc (440);
  if (!l->bootcode.bootcode_val) {
    snprintf (err, errlen, "out of memory");
    return -1;
  }
  memcpy (l->bootcode.bootcode_val, s0, 440);
  l->bootcode.bootcode_len = 440;
  r = gpt ? read_gpt (fd, disk_size, l, err, errlen)
    : read_mbr (fd, disk_size, s0, l, err, errlen);
  if (r == 0)
    r = check_layout (l, disk_size, err, errlen);
  if (r == -1)
    free_layout (l);
  return r;
}

static void
mbr_entry (unsigned char *e, bool boot, int type, uint64_t lba, uint64_t n)
{
  memset (e, 0, 16);
  e[0] = boot ? 0x80 : 0;
  /* CHS not used: the "beyond 8 GiB" marker. */
  e[1] = 0xfe; e[2] = 0xff; e[3] = 0xff;
  e[4] = type;
  e[5] = 0xfe; e[6] = 0xff; e[7] = 0xff;
  put_le32 (e + 8, (uint32_t) lba);
  put_le32 (e + 12, (uint32_t) n);
}

static int
cmp_num (const void *a, const void *b)
{
  const gbox_partition *p = *(gbox_partition *const *) a;
  const gbox_partition *q = *(gbox_partition *const *) b;

  return p->num - q->num;
}

static int
write_mbr (int fd, const gbox_part_layout *l, unsigned char *s0,
           char *err, size_t errlen)
{
  const gbox_partition *ext = NULL;
  const gbox_partition *log[GBOX_PARTS_MAX];
  size_t nlog = 0, i;
  unsigned long id;
  char *end;

  errno = 0;
  id = strtoul (l->disk_id, &end, 16);
  if (errno || *end || id > 0xffffffff) {
    snprintf (err, errlen, "invalid MBR disk id '%s'", l->disk_id);
    return -1;
  }
  put_le32 (s0 + 440, (uint32_t) id);
  for (i = 0; i < l->parts.parts_len; ++i) {
    const gbox_partition *p = &l->parts.parts_val[i];
    uint64_t lba = p->start / SECTOR, n = p->size / SECTOR;
    if (lba > 0xffffffff || n > 0xffffffff ||
        (p->num >= 5 && (p->ebr / SECTOR > 0xffffffff))) {
      snprintf (err, errlen, "partition %d: beyond the 2 TiB limit of MBR",
                p->num);
      return -1;
    }
    if (p->num <= 4) {
      mbr_entry (s0 + 446 + 16 * (p->num - 1), p->bootable, p->mbr_type,
                 lba, n);
      if (is_extended (p->mbr_type))
        ext = p;
    }
    else
      log[nlog++] = p;
  }
  qsort (log, nlog, sizeof log[0], cmp_num);
  for (i = 0; i < nlog; ++i) {
    if (log[i]->num != (int) (5 + i)) {
      snprintf (err, errlen, "logical partitions must be numbered 5, 6, ...");
      return -1;
    }
  }
  if (nlog && log[0]->ebr != ext->start) {
    snprintf (err, errlen, "the first EBR must be at the start of the "
              "extended partition");
    return -1;
  }
  /* The EBR chain, back to front. */
  for (i = nlog; i-- > 0; ) {
    unsigned char s[SECTOR];
    const gbox_partition *p = log[i];

    memset (s, 0, sizeof s);
    mbr_entry (s + 446, p->bootable, p->mbr_type,
               (p->start - p->ebr) / SECTOR, p->size / SECTOR);
    if (i + 1 < nlog) {
      const gbox_partition *q = log[i + 1];
      mbr_entry (s + 462, false, 0x05, (q->ebr - ext->start) / SECTOR,
                 (q->start + q->size - q->ebr) / SECTOR);
    }
    s[510] = 0x55;
    s[511] = 0xaa;
    if (write_at (fd, s, SECTOR, p->ebr) == -1) {
      snprintf (err, errlen, "write EBR: %s", strerror (errno));
      return -1;
    }
  }
  /* An empty extended partition: an empty EBR ends the chain. */
  if (ext && nlog == 0) {
    unsigned char s[SECTOR];
    memset (s, 0, sizeof s);
    s[510] = 0x55;
    s[511] = 0xaa;
    if (write_at (fd, s, SECTOR, ext->start) == -1) {
      snprintf (err, errlen, "write EBR: %s", strerror (errno));
      return -1;
    }
  }
  return 0;
}

static void
gpt_header (unsigned char *h, uint64_t self, uint64_t alt, uint64_t last_lba,
            const unsigned char *guid, uint64_t elba, uint32_t ecrc)
{
  memset (h, 0, SECTOR);
  memcpy (h, "EFI PART", 8);
  put_le32 (h + 8, 0x00010000);
  put_le32 (h + 12, 92);
  put_le64 (h + 24, self);
  put_le64 (h + 32, alt);
  put_le64 (h + 40, 34);
  put_le64 (h + 48, last_lba - 33);
  memcpy (h + 56, guid, 16);
  put_le64 (h + 72, elba);
  put_le32 (h + 80, GPT_ENTRIES);
  put_le32 (h + 84, GPT_ENTRY_SIZE);
  put_le32 (h + 88, ecrc);
  put_le32 (h + 16, crc32_gpt (h, 92));
}

static int
write_gpt (int fd, const gbox_part_layout *l, uint64_t disk_size,
           unsigned char *s0, char *err, size_t errlen)
{
  unsigned char ents[GPT_ENTRIES * GPT_ENTRY_SIZE];
  unsigned char guid[16], h[SECTOR];
  uint64_t last_lba = disk_size / SECTOR - 1;
  uint32_t ecrc;
  size_t i;

  if (guid_from_string (l->disk_id, guid) == -1) {
    snprintf (err, errlen, "invalid disk GUID '%s'", l->disk_id);
    return -1;
  }
  memset (ents, 0, sizeof ents);
  for (i = 0; i < l->parts.parts_len; ++i) {
    const gbox_partition *p = &l->parts.parts_val[i];
    unsigned char *e = ents + (p->num - 1) * GPT_ENTRY_SIZE;

    if (guid_from_string (p->type_guid, e) == -1 ||
        all_zero (e, 16) ||
        guid_from_string (p->part_guid, e + 16) == -1) {
      snprintf (err, errlen, "partition %d: invalid GUID", p->num);
      return -1;
    }
    put_le64 (e + 32, p->start / SECTOR);
    put_le64 (e + 40, (p->start + p->size) / SECTOR - 1);
    put_le64 (e + 48, p->attributes);
    if (utf8_to_utf16 (p->name, e + 56, 36) == -1) {
      snprintf (err, errlen, "partition %d: name too long or not UTF-8",
                p->num);
      return -1;
    }
  }
  ecrc = crc32_gpt (ents, sizeof ents);
  /* Backup first, primary header last. */
  if (write_at (fd, ents, sizeof ents,
                (last_lba - GPT_ENTRY_SECTORS) * SECTOR) == -1)
    goto werr;
  gpt_header (h, last_lba, 1, last_lba, guid, last_lba - GPT_ENTRY_SECTORS,
              ecrc);
  if (write_at (fd, h, SECTOR, last_lba * SECTOR) == -1)
    goto werr;
  if (write_at (fd, ents, sizeof ents, 2 * SECTOR) == -1)
    goto werr;
  gpt_header (h, 1, last_lba, last_lba, guid, 2, ecrc);
  if (write_at (fd, h, SECTOR, SECTOR) == -1)
    goto werr;
  /* The protective MBR. */
  memset (s0 + 440, 0, 6);
  mbr_entry (s0 + 446, false, 0xee, 1,
             last_lba > 0xffffffff ? 0xffffffff : last_lba);
  return 0;
 werr:
  snprintf (err, errlen, "write GPT: %s", strerror (errno));
  return -1;
}

int
part_write_fd (int fd, uint64_t disk_size, const gbox_part_layout *l,
               char *err, size_t errlen)
{
  unsigned char s0[SECTOR];
  int r;

  if (check_layout (l, disk_size, err, errlen) == -1)
    return -1;
  memset (s0, 0, sizeof s0);
  if (l->bootcode.bootcode_len > 0)
    memcpy (s0, l->bootcode.bootcode_val,
            l->bootcode.bootcode_len < 440 ? l->bootcode.bootcode_len : 440);
  if (strcmp (l->label, "gpt") == 0)
    r = write_gpt (fd, l, disk_size, s0, err, errlen);
  else
    r = write_mbr (fd, l, s0, err, errlen);
  if (r == -1)
    return -1;
  if (fdatasync (fd) == -1) {
    snprintf (err, errlen, "fsync: %s", strerror (errno));
    return -1;
  }
  /* Sector 0 last: until here the disk has no valid table. */
  s0[510] = 0x55;
  s0[511] = 0xaa;
  if (write_at (fd, s0, SECTOR, 0) == -1 || fdatasync (fd) == -1) {
    snprintf (err, errlen, "write sector 0: %s", strerror (errno));
    return -1;
  }
  return 0;
}

/* Open a user device name ("/dev/sda") as a block device; the size in
 * *SIZE.  In host mode (tests) a path under the sysroot is accepted
 * too.  Records the error. */
static int
open_device (const char *procname, const char *device, int flags,
             uint64_t *size)
{
  CLEANUP_FREE char *kdev = NULL;
  struct stat st;
  int fd;

  devices_rescan ();
  kdev = device_user_to_kernel (device);
  if (kdev == NULL || stat (kdev, &st) == -1 || !S_ISBLK (st.st_mode)) {
    reply_with_error_errno (ENOENT, "%s: %s: no such device", procname,
                            device);
    return -1;
  }
  fd = open (kdev, flags | O_CLOEXEC);
  if (fd == -1) {
    reply_with_perror ("%s: %s", procname, device);
    return -1;
  }
  if (ioctl (fd, BLKGETSIZE64, size) == -1) {
    reply_with_perror ("%s: %s: BLKGETSIZE64", procname, device);
    close (fd);
    return -1;
  }
  return fd;
}

int
do_part_get_layout (void *argsv, void *retv)
{
  gbox_part_device_args *args = argsv;
  gbox_part_get_layout_ret *ret = retv;
  CLEANUP_CLOSE int fd = -1;
  uint64_t size;
  char err[512];

  fd = open_device ("part_get_layout", args->device, O_RDONLY, &size);
  if (fd == -1)
    return -1;
  if (part_read_fd (fd, size, &ret->layout, err, sizeof err) == -1) {
    reply_with_error_errno (EINVAL, "%s: %s", args->device, err);
    return -1;
  }
  return 0;
}

int
do_part_set_layout (void *argsv, void *retv)
{
  gbox_part_set_layout_args *args = argsv;
  CLEANUP_CLOSE int fd = -1;
  uint64_t size;
  char err[512];

  (void) retv;
  fd = open_device ("part_set_layout", args->device, O_RDWR, &size);
  if (fd == -1)
    return -1;
  /* The sectors around the table may have been written from outside
   * (the host): no stale cached page may be written back over them. */
  fsync (fd);
  ioctl (fd, BLKFLSBUF, 0);
  if (part_write_fd (fd, size, &args->layout, err, sizeof err) == -1) {
    reply_with_error_errno (EINVAL, "%s: %s", args->device, err);
    return -1;
  }
  /* Let the kernel see the new table (failure is harmless here). */
  ioctl (fd, BLKFLSBUF, 0);
  ioctl (fd, BLKRRPART, 0);
  return 0;
}

int
do_part_wipe (void *argsv, void *retv)
{
  gbox_part_device_args *args = argsv;
  CLEANUP_CLOSE int fd = -1;
  unsigned char z[34 * SECTOR];
  uint64_t size;

  (void) retv;
  fd = open_device ("part_wipe", args->device, O_RDWR, &size);
  if (fd == -1)
    return -1;
  if (size < 67 * SECTOR) {
    reply_with_error_errno (EINVAL, "%s: disk too small (%" PRIu64
                            " bytes)", args->device, size);
    return -1;
  }
  memset (z, 0, sizeof z);
  if (write_at (fd, z, sizeof z, 0) == -1 ||
      write_at (fd, z, 33 * SECTOR, size / SECTOR * SECTOR - 33 * SECTOR)
      == -1 || fdatasync (fd) == -1) {
    reply_with_perror ("part_wipe: %s", args->device);
    return -1;
  }
  ioctl (fd, BLKFLSBUF, 0);
  return 0;
}

int
do_copy_range (void *argsv, void *retv)
{
  gbox_copy_range_args *args = argsv;
  gbox_copy_range_ret *ret = retv;
  CLEANUP_CLOSE int sfd = -1, dfd = -1;
  CLEANUP_FREE unsigned char *buf = NULL;
  uint64_t ssize, dsize, done = 0;
  int direct = 0;

  /* O_DIRECT: the data goes straight between the disks and our buffer,
   * without a copy through the page cache (costly under emulation).
   * Ranges are whole sectors. */
  if (args->src_offset % SECTOR == 0 && args->dst_offset % SECTOR == 0 &&
      args->size % SECTOR == 0)
    direct = O_DIRECT;
  sfd = open_device ("copy_range", args->src, O_RDONLY | direct, &ssize);
  if (sfd == -1)
    return -1;
  dfd = open_device ("copy_range", args->dst, O_RDWR | direct, &dsize);
  if (dfd == -1)
    return -1;
  if (args->src_offset > ssize || args->size > ssize - args->src_offset ||
      args->dst_offset > dsize || args->size > dsize - args->dst_offset) {
    reply_with_error_errno (EINVAL, "copy_range: %s -> %s: range beyond the "
                            "end of a disk", args->src, args->dst);
    return -1;
  }
  if (posix_memalign ((void **) &buf, 4096, COPY_BUF) != 0) {
    reply_with_error ("copy_range: out of memory");
    return -1;
  }
  posix_fadvise (sfd, args->src_offset, args->size, POSIX_FADV_SEQUENTIAL);
  ret->written = 0;
  while (done < args->size) {
    size_t n = args->size - done < COPY_BUF ? args->size - done : COPY_BUF;
    size_t o;

    if (read_at (sfd, buf, n, args->src_offset + done) == -1) {
      reply_with_perror ("copy_range: read %s at %" PRIu64, args->src,
                         args->src_offset + done);
      return -1;
    }
    for (o = 0; o < n; ) {
      size_t b = n - o < ZERO_BLOCK ? n - o : ZERO_BLOCK;
      size_t run = 0;
      if (args->sparse && all_zero (buf + o, b)) {
        o += b;
        continue;
      }
      /* Gather a run of blocks to write at once. */
      while (o + run < n) {
        size_t bb = n - o - run < ZERO_BLOCK ? n - o - run : ZERO_BLOCK;
        if (args->sparse && run > 0 && all_zero (buf + o + run, bb))
          break;
        run += bb;
      }
      if (write_at (dfd, buf + o, run,
                    args->dst_offset + done + o) == -1) {
        reply_with_perror ("copy_range: write %s", args->dst);
        return -1;
      }
      ret->written += run;
      o += run;
    }
    done += n;
    notify_progress (done, args->size);
  }
  if (fdatasync (dfd) == -1) {
    reply_with_perror ("copy_range: fsync %s", args->dst);
    return -1;
  }
  return 0;
}

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

/* Identify the content at OFF (SIZE bytes) of FD.  Fills RET; returns
 * -1 with ERR for a superblock that makes no sense. */
int
part_content_fd (int fd, uint64_t off, uint64_t size,
                 gbox_content_info_ret *ret, char *err, size_t errlen)
{
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

/* A loop device over OFFSET..OFFSET+SIZE of the device open as FD.
 * Returns its fd and name in NAME, or -1 (error recorded). */
static int
loop_attach (int fd, uint64_t offset, uint64_t size, bool ro,
             char *name, size_t len)
{
  CLEANUP_CLOSE int ctl = -1;
  struct loop_config cfg;
  int n, lfd, tries;

  /* After a cold boot the loop driver is loaded on demand. */
  load_fs_modules ("loop");
  ctl = open ("/dev/loop-control", O_RDWR | O_CLOEXEC);
  if (ctl == -1) {
    reply_with_perror ("/dev/loop-control");
    return -1;
  }
  for (tries = 0; tries < 8; ++tries) {
    n = ioctl (ctl, LOOP_CTL_GET_FREE);
    if (n < 0) {
      reply_with_perror ("LOOP_CTL_GET_FREE");
      return -1;
    }
    snprintf (name, len, "/dev/loop%d", n);
    lfd = open (name, (ro ? O_RDONLY : O_RDWR) | O_CLOEXEC);
    if (lfd == -1) {
      reply_with_perror ("%s", name);
      return -1;
    }
    memset (&cfg, 0, sizeof cfg);
    cfg.fd = fd;
    cfg.info.lo_offset = offset;
    cfg.info.lo_sizelimit = size;
    cfg.info.lo_flags = LO_FLAGS_AUTOCLEAR | (ro ? LO_FLAGS_READ_ONLY : 0);
    if (ioctl (lfd, LOOP_CONFIGURE, &cfg) == 0)
      return lfd;
    if (errno != EBUSY) {
      reply_with_perror ("%s: LOOP_CONFIGURE", name);
      close (lfd);
      return -1;
    }
    close (lfd);
  }
  reply_with_error ("no free loop device");
  return -1;
}

static int
run (const char *what, const char *const *argv, int okmax)
{
  CLEANUP_FREE char *err = NULL;
  int r = run_command (&err, argv);

  if (r < 0 || r > okmax) {
    if (r < 0)
      reply_with_perror ("%s: %s", what, argv[0]);
    else
      reply_with_error ("%s: %s failed (status %d): %s", what, argv[0], r,
                        err && err[0] ? err : "no message");
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
  r = run (what, argv, 0);
  if (umount (dir) == -1 && r == 0) {
    reply_with_perror ("%s: umount", what);
    r = -1;
  }
  rmdir (dir);
  return r;
}

/* Grow the filesystem of type T on DEV (open as DEVFD, SIZE bytes) to
 * its whole size.  WHAT names it in errors. */
static int
grow_fs (const char *what, const char *loop, int lfd, uint64_t size,
         const char *t, unsigned flags)
{
  int r = -1;

  if (strcmp (t, "ext2") == 0 || strcmp (t, "ext3") == 0 ||
      strcmp (t, "ext4") == 0) {
    const char *fsck[] = { "e2fsck", "-fy", loop, NULL };
    const char *rs[] = { "resize2fs", loop, NULL };
    /* e2fsck: 1 = errors corrected, fine on our copy. */
    r = run (what, fsck, 1);
    if (r == 0)
      r = run (what, rs, 0);
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
    r = run (what, flags & GBOX_RESIZE_NTFS_FORCE ? f : nf, 0);
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
      r = run (what, mk, 0);
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

int
do_device_size (void *argsv, void *retv)
{
  gbox_part_device_args *args = argsv;
  gbox_device_size_ret *ret = retv;
  CLEANUP_CLOSE int fd = -1;
  uint64_t size;

  fd = open_device ("device_size", args->device, O_RDONLY, &size);
  if (fd == -1)
    return -1;
  ret->size = size;
  return 0;
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
  return run (what, argv, okmax);
}

/* "VG/LV" or "/dev/VG/LV" into VG and LV (LVM's name characters). */
static int
split_lv (const char *s, char *vg, char *lv, size_t len)
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
  if (args->lv[0] && split_lv (args->lv, vg, lv, sizeof vg) == -1) {
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
