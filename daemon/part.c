/* guestbox - partition tables.
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
 *
 * The contents of the partitions are content.c's (sniffing, growing)
 * and copy-range.c's; LV expansion is lvm.c's.
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
#include "blockdev.h"

#define GPT_ENTRIES 128
#define GPT_ENTRY_SIZE 128
#define GPT_ENTRY_SECTORS (GPT_ENTRIES * GPT_ENTRY_SIZE / SECTOR) /* 32 */

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
