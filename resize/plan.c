/* guestbox - virt-resize: planning the target partition table.
 * Copyright (C) 2026 the guestbox authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

/**
 * From the source table and the requests to the target table: the
 * partitions keep their order; the first one keeps its start (or moves
 * to the alignment with --align-first), each next one starts at the
 * next alignment boundary (1 MiB, or --alignment sectors when that
 * does not divide 1 MiB); logical partitions are laid out inside the
 * extended one, each one alignment unit after its EBR, and the
 * extended partition grows or shrinks with them.  The surplus (or
 * deficit) goes to the --expand (or --shrink) partition, else an extra
 * partition takes a surplus of at least 10 MiB.  Partitions are renumbered in order (1-4 primary, 5..
 * logical on MBR).  No I/O here.
 */

#include <config.h>

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <rpc/xdr.h>

#include "resize.h"
#include "fstypes.h"

#define SECTOR 512
#define LINUX_GUID "0FC63DAF-8483-4772-8E79-3D69D8477DE4"

static uint64_t
align_up (uint64_t n, uint64_t a)
{
  return (n + a - 1) / a * a;
}

char *
rz_human (uint64_t n, char *buf, size_t len)
{
  static const char units[] = "KMGTPE";
  double f = (double) n;
  int u = -1;

  if (n < 1024) {
    snprintf (buf, len, "%" PRIu64, n);
    return buf;
  }
  while (f >= 1024 && u < 5) {
    f /= 1024;
    u++;
  }
  snprintf (buf, len, "%.1f%c", f, units[u]);
  return buf;
}

int
rz_parse_size_req (const char *s, struct rz_size_req *req)
{
  char *end;
  double v;
  uint64_t mult = 1;

  memset (req, 0, sizeof *req);
  req->set = true;
  if (*s == '+' || *s == '-') {
    req->sign = *s == '+' ? 1 : -1;
    s++;
  }
  if (*s < '0' || *s > '9')
    return -1;
  errno = 0;
  v = strtod (s, &end);
  if (errno || v < 0 || end == s)
    return -1;
  if (*end == '%') {
    if (end[1] || v > 100000)
      return -1;
    req->percent = true;
    req->value = (uint64_t) (v * 100 + 0.5);
    return 0;
  }
  switch (*end) {
  case '\0': case 'b': mult = 1; break;
  case 's': mult = 512; break;
  case 'K': case 'k': mult = 1ULL << 10; break;
  case 'M': case 'm': mult = 1ULL << 20; break;
  case 'G': case 'g': mult = 1ULL << 30; break;
  case 'T': case 't': mult = 1ULL << 40; break;
  case 'P': case 'p': mult = 1ULL << 50; break;
  case 'E': case 'e': mult = 1ULL << 60; break;
  default: return -1;
  }
  if (*end && end[1] && strcmp (end + 1, "iB") != 0 && strcmp (end + 1, "B"))
    return -1;
  if (v * mult >= 18e18)
    return -1;
  req->value = (uint64_t) (v * mult);
  return 0;
}

static bool
is_extended_type (int t)
{
  return t == 0x05 || t == 0x0f || t == 0x85;
}

static int
cmp_start (const void *a, const void *b)
{
  const struct rz_part *p = a, *q = b;
  uint64_t ps = p->logical ? p->src->ebr : p->src->start;
  uint64_t qs = q->logical ? q->src->ebr : q->src->start;

  /* Logical partitions right after their extended partition. */
  if (p->extended && q->logical)
    return -1;
  if (q->extended && p->logical)
    return 1;
  if (p->logical != q->logical) {
    /* Compare a logical with a primary by the extended's start. */
    return 0;
  }
  return ps < qs ? -1 : ps > qs;
}

/* Sizes and offsets past this are refused, so that the sums below
 * can neither wrap nor overflow a signed 64-bit value. */
#define RZ_SIZE_MAX ((uint64_t) 1 << 60)

static int
overlaps (uint64_t a0, uint64_t a1, uint64_t b0, uint64_t b1)
{
  return a0 < b1 && b0 < a1;
}

int
rz_layout_check (const gbox_part_layout *src, char *err, size_t errlen)
{
  size_t i, j, n = src->parts.parts_len;
  bool gpt;
  const gbox_partition *ext = NULL;

  if (src->label == NULL ||
      (strcmp (src->label, "gpt") != 0 && strcmp (src->label, "dos") != 0)) {
    snprintf (err, errlen, "the partition table type is not supported "
              "(only dos and gpt are)");
    return -1;
  }
  gpt = strcmp (src->label, "gpt") == 0;
  if (src->sector_size != SECTOR) {
    snprintf (err, errlen, "sector size %u is not supported (only %d)",
              src->sector_size, SECTOR);
    return -1;
  }
  if (src->disk_size < 2 * SECTOR || src->disk_size > RZ_SIZE_MAX) {
    snprintf (err, errlen, "the appliance reported an impossible disk size "
              "(%" PRIu64 " bytes)", src->disk_size);
    return -1;
  }
  if (n > GBOX_PARTS_MAX || src->parts.parts_val == NULL) {
    if (n == 0)
      return 0;
    snprintf (err, errlen, "too many partitions (%zu)", n);
    return -1;
  }
  for (i = 0; i < n; ++i) {
    const gbox_partition *q = &src->parts.parts_val[i];
    bool logical = !gpt && q->num >= 5;

    if (q->num < 1 || q->num > (gpt ? 128 : 4 + GBOX_PARTS_MAX)) {
      snprintf (err, errlen, "partition number %d is out of range", q->num);
      return -1;
    }
    if (q->size == 0 || q->start % SECTOR || q->size % SECTOR ||
        q->start < (gpt ? 34 : 1) * SECTOR || q->start > src->disk_size ||
        q->size > src->disk_size - q->start ||
        (gpt && q->size > src->disk_size - 33 * SECTOR - q->start)) {
      snprintf (err, errlen, "partition %d (start %" PRIu64 ", size %"
                PRIu64 ") does not fit the %" PRIu64 "-byte disk",
                q->num, q->start, q->size, src->disk_size);
      return -1;
    }
    if (!gpt && !logical && is_extended_type (q->mbr_type)) {
      if (ext) {
        snprintf (err, errlen, "more than one extended partition "
                  "(%d and %d)", ext->num, q->num);
        return -1;
      }
      ext = q;
    }
    for (j = 0; j < i; ++j)
      if (src->parts.parts_val[j].num == q->num) {
        snprintf (err, errlen, "partition number %d appears twice", q->num);
        return -1;
      }
  }
  for (i = 0; i < n; ++i) {
    const gbox_partition *q = &src->parts.parts_val[i];
    bool logical = !gpt && q->num >= 5;
    uint64_t q0 = logical ? q->ebr : q->start, q1 = q->start + q->size;

    if (logical) {
      if (!ext) {
        snprintf (err, errlen, "logical partition %d without an extended "
                  "partition", q->num);
        return -1;
      }
      if (q->ebr < ext->start || q->ebr >= q->start || q->ebr % SECTOR ||
          q1 > ext->start + ext->size) {
        snprintf (err, errlen, "logical partition %d is not inside the "
                  "extended partition %d", q->num, ext->num);
        return -1;
      }
    }
    for (j = 0; j < i; ++j) {
      const gbox_partition *o = &src->parts.parts_val[j];
      bool ol = !gpt && o->num >= 5;
      uint64_t o0 = ol ? o->ebr : o->start, o1 = o->start + o->size;

      /* A logical is inside the extended; otherwise nothing overlaps. */
      if (logical != ol &&
          ((logical && o == ext) || (ol && q == ext)))
        continue;
      if (overlaps (q0, q1, o0, o1)) {
        snprintf (err, errlen, "partitions %d and %d overlap",
                  o->num, q->num);
        return -1;
      }
    }
  }
  return 0;
}

int
rz_plan_init (struct rz_plan *p, const gbox_part_layout *src,
              uint64_t target_size)
{
  size_t i, n = src->parts.parts_len;
  bool gpt = strcmp (src->label, "gpt") == 0;
  bool ext_seen = false;

  memset (p, 0, sizeof *p);
  p->src = src;
  p->target_size = target_size;
  p->expand_content = true;
  p->parts = calloc (n ? n : 1, sizeof *p->parts);
  if (!p->parts)
    return -1;
  p->nparts = n;
  for (i = 0; i < n; ++i) {
    struct rz_part *r = &p->parts[i];
    r->src = &src->parts.parts_val[i];
    snprintf (r->name, sizeof r->name, "/dev/sda%d", r->src->num);
    r->logical = !gpt && r->src->num >= 5;
    r->extended = !gpt && r->src->num <= 4 &&
      is_extended_type (r->src->mbr_type);
  }
  /* Primaries by start; then move the logicals behind the extended.
   * Every logical is copied once, behind the first extended partition
   * (rz_layout_check refuses a second one), and never past N. */
  {
    struct rz_part *tmp = calloc (n ? n : 1, sizeof *tmp);
    size_t k = 0, j;
    if (!tmp)
      return -1;
    for (i = 0; i < n; ++i)
      if (!p->parts[i].logical)
        tmp[k++] = p->parts[i];
    qsort (tmp, k, sizeof *tmp, cmp_start);
    for (i = 0, j = 0; i < k && j < n; ++i) {
      p->parts[j++] = tmp[i];
      if (tmp[i].extended && !ext_seen) {
        size_t l, first = j;
        ext_seen = true;
        for (l = 0; l < n && j < n; ++l)
          if (src->parts.parts_val[l].num >= 5 && !gpt) {
            struct rz_part *r = &p->parts[j];
            memset (r, 0, sizeof *r);
            r->src = &src->parts.parts_val[l];
            snprintf (r->name, sizeof r->name, "/dev/sda%d", r->src->num);
            r->logical = true;
            j++;
          }
        qsort (&p->parts[first], j - first, sizeof *p->parts, cmp_start);
      }
      else if (tmp[i].extended)
        p->parts[j - 1].extended = false;
    }
    free (tmp);
    p->nparts = j;
  }
  return 0;
}

uint64_t
rz_plan_align (const struct rz_plan *p)
{
  return p->align_sectors == 0 || RZ_ALIGN / SECTOR % p->align_sectors == 0
    ? RZ_ALIGN : (uint64_t) p->align_sectors * SECTOR;
}

struct rz_part *
rz_plan_find (struct rz_plan *p, const char *name)
{
  size_t i;

  for (i = 0; i < p->nparts; ++i)
    if (strcmp (p->parts[i].name, name) == 0)
      return &p->parts[i];
  return NULL;
}

/* Place the partitions from their new_size; returns the end of the
 * last one.  EXT_EXTRA is added to the extended partition. */
static uint64_t
place (struct rz_plan *p, uint64_t first_start, int64_t ext_extra)
{
  uint64_t a = rz_plan_align (p);
  uint64_t pos = first_start, cursor = 0;
  bool first = true;
  struct rz_part *ext = NULL;
  bool first_logical = true;
  size_t i;

  for (i = 0; i < p->nparts; ++i) {
    struct rz_part *r = &p->parts[i];
    if (r->op == RZ_DELETE)
      continue;
    if (r->logical) {
      if (!ext)
        continue;
      r->new_ebr = first_logical ? ext->new_start : align_up (cursor, a);
      r->new_start = r->new_ebr + a;
      cursor = r->new_start + r->new_size;
      first_logical = false;
      ext->new_size = cursor - ext->new_start;
      pos = cursor;
      continue;
    }
    if (ext) {
      /* The extended partition ends here. */
      ext->new_size = (uint64_t) ((int64_t) ext->new_size + ext_extra);
      pos = ext->new_start + ext->new_size;
      ext = NULL;
    }
    r->new_start = first ? first_start : align_up (pos, a);
    first = false;
    if (r->extended) {
      ext = r;
      first_logical = true;
      cursor = r->new_start;
      /* At least room for one EBR even when empty. */
      r->new_size = a;
      pos = r->new_start + r->new_size;
    }
    else
      pos = r->new_start + r->new_size;
  }
  if (ext) {
    ext->new_size = (uint64_t) ((int64_t) ext->new_size + ext_extra);
    pos = ext->new_start + ext->new_size;
  }
  return pos;
}

static uint64_t
apply_req (const struct rz_size_req *q, uint64_t cur)
{
  double f = (double) cur * q->value / 10000.0;
  uint64_t d = !q->percent ? q->value
    : f >= (double) RZ_SIZE_MAX ? RZ_SIZE_MAX : (uint64_t) f;

  if (d > RZ_SIZE_MAX)
    d = RZ_SIZE_MAX;
  if (q->sign == 0)
    return d;
  if (q->sign > 0)
    return cur + d;
  return d >= cur ? 0 : cur - d;
}

static int
set_str (char **dst, const char *s)
{
  *dst = strdup (s);
  return *dst ? 0 : -1;
}

int
rz_plan_compute (struct rz_plan *p, char *err, size_t errlen)
{
  bool gpt = strcmp (p->src->label, "gpt") == 0;
  uint64_t a = rz_plan_align (p);
  uint64_t usable_end, first_start, end;
  struct rz_part *expand = NULL, *shrink = NULL, *firstp = NULL;
  const struct gbox_fstype *ft;
  int64_t ext_extra = 0;
  size_t i, nprim = 0, nout = 0;
  int num_p = 1, num_l = 5;
  char h1[32], h2[32];

  if (p->target_size < 1024 * 1024) {
    snprintf (err, errlen, "the output disk is too small (%" PRIu64
              " bytes)", p->target_size);
    return -1;
  }
  if (p->target_size > RZ_SIZE_MAX) {
    snprintf (err, errlen, "the output disk is too large (%" PRIu64
              " bytes)", p->target_size);
    return -1;
  }
  usable_end = (p->target_size / SECTOR) * SECTOR;
  if (gpt)
    usable_end -= 33 * SECTOR;

  for (i = 0; i < p->nparts; ++i) {
    struct rz_part *r = &p->parts[i];
    if (r->logical && r->op != RZ_DELETE) {
      /* A deleted extended partition takes its logicals with it. */
      size_t j;
      for (j = 0; j < p->nparts; ++j)
        if (p->parts[j].extended && p->parts[j].op == RZ_DELETE)
          r->op = RZ_DELETE;
    }
  }
  for (i = 0; i < p->nparts; ++i) {
    struct rz_part *r = &p->parts[i];
    if (r->op == RZ_DELETE)
      continue;
    if (!firstp && !r->logical)
      firstp = r;
    r->new_size = r->src->size;
    if (r->req.set) {
      if (r->extended) {
        snprintf (err, errlen, "%s: the extended partition's size follows "
                  "its logical partitions; use --expand or resize a logical "
                  "partition", r->name);
        return -1;
      }
      r->new_size = apply_req (&r->req, r->src->size) / SECTOR * SECTOR;
      if (r->new_size > p->target_size) {
        snprintf (err, errlen, "%s: the new size is larger than the output "
                  "disk", r->name);
        return -1;
      }
      if (r->new_size == 0) {
        snprintf (err, errlen, "%s: the new size is zero", r->name);
        return -1;
      }
    }
    if (r->expand) {
      if (expand) {
        snprintf (err, errlen, "--expand given more than once");
        return -1;
      }
      expand = r;
    }
    if (r->shrink) {
      if (shrink) {
        snprintf (err, errlen, "--shrink given more than once");
        return -1;
      }
      shrink = r;
    }
  }
  if (!firstp) {
    snprintf (err, errlen, "no partitions left to copy");
    return -1;
  }
  first_start = firstp->src->start;
  if (p->align_first == RZ_ALIGN_ALWAYS ||
      (p->align_first == RZ_ALIGN_AUTO && first_start % a != 0 &&
       p->src->bootcode.bootcode_len > 0 &&
       /* No boot code: nothing refers to the first partition's sector. */
       ({ bool z = true; unsigned k;
          for (k = 0; k < p->src->bootcode.bootcode_len; ++k)
            if (p->src->bootcode.bootcode_val[k]) z = false;
          z; })))
    first_start = align_up (first_start, a);
  p->first_moved = first_start != firstp->src->start;

  end = place (p, first_start, 0);
  p->surplus = (int64_t) usable_end - (int64_t) end;
  if (expand && p->surplus > 0) {
    uint64_t add = (uint64_t) p->surplus / SECTOR * SECTOR;
    if (expand->extended)
      ext_extra = (int64_t) add;
    else
      expand->new_size += add;
    end = place (p, first_start, ext_extra);
    p->surplus = (int64_t) usable_end - (int64_t) end;
  }
  if (p->surplus < 0 && (shrink || expand)) {
    /* Take the deficit from the --shrink (or --expand) partition.  When
     * another partition follows it, that one starts at the next
     * alignment boundary after its end, so its end goes down to the
     * boundary at least DEFICIT below that start: everything behind it
     * then moves back by whole alignment units, at least DEFICIT
     * bytes. */
    struct rz_part *s = shrink ? shrink : expand;
    uint64_t deficit = align_up ((uint64_t) -p->surplus, SECTOR);
    uint64_t s_end = s->new_start + s->new_size, new_end;
    bool followed = false;
    size_t k;

    for (k = (size_t) (s - p->parts) + 1; k < p->nparts; ++k)
      if (p->parts[k].op != RZ_DELETE &&
          (!p->parts[k].logical || !s->extended))
        followed = true;
    if (s->extended && (s != expand || ext_extra <= 0)) {
      snprintf (err, errlen, "%s: the extended partition cannot be shrunk; "
                "shrink a logical partition", s->name);
      return -1;
    }
    if (followed) {
      uint64_t next = align_up (s_end, a);
      new_end = deficit < next ? (next - deficit) / a * a : 0;
    }
    else
      new_end = deficit < s_end ? s_end - deficit : 0;
    if (new_end <= s->new_start ||
        (s->extended && s_end - new_end > (uint64_t) ext_extra) ||
        (!s->extended && s_end - new_end >= s->new_size)) {
      snprintf (err, errlen, "%s: shrinking it cannot make up the deficit "
                "of %" PRIu64 " bytes", s->name, deficit);
      return -1;
    }
    if (s->extended)
      ext_extra -= (int64_t) (s_end - new_end);
    else
      s->new_size -= s_end - new_end;
    end = place (p, first_start, ext_extra);
    p->surplus = (int64_t) usable_end - (int64_t) end;
  }
  if (p->surplus < 0) {
    snprintf (err, errlen, "There is a deficit of %" PRIu64 " bytes (%s).  "
              "You need to make the target disk larger by at least this "
              "amount or adjust your resizing requests",
              (uint64_t) -p->surplus, rz_human ((uint64_t) -p->surplus, h1,
                                                sizeof h1));
    return -1;
  }

  /* Does the content fit? */
  for (i = 0; i < p->nparts; ++i) {
    struct rz_part *r = &p->parts[i];
    if (r->op != RZ_KEEP || r->extended)
      continue;
    if (r->new_size < r->src->size && strcmp (r->type, "swap") != 0) {
      if (r->content_size == 0) {
        snprintf (err, errlen, "%s: cannot shrink this partition: the size "
                  "of its content (%s) is not known",
                  r->name, r->type[0] ? r->type : "unknown");
        return -1;
      }
      if (r->new_size < r->content_size) {
        snprintf (err, errlen, "%s: cannot shrink the partition to %" PRIu64
                  " bytes (%s): its %s filesystem needs %" PRIu64
                  " bytes; %" PRIu64 " bytes are missing (shrink the "
                  "filesystem first)", r->name, r->new_size,
                  rz_human (r->new_size, h1, sizeof h1), r->type,
                  r->content_size, r->content_size - r->new_size);
        return -1;
      }
    }
    r->copy_size = r->new_size < r->src->size ? r->new_size : r->src->size;
    if (strcmp (r->type, "swap") == 0 && r->new_size < r->src->size)
      r->copy_size = r->new_size;
    ft = gbox_fstype_find (r->type);
    r->resize_content = p->expand_content && r->new_size != r->src->size &&
      ft != NULL && ft->grow != NULL &&
      (strcmp (r->type, "LVM2_member") != 0 || r->new_size > r->src->size);
    if (r->new_size < r->src->size && strcmp (r->type, "swap") == 0)
      r->resize_content = true;     /* a cut swap must be re-made */
  }

  /* Numbering, and the extra partition. */
  for (i = 0; i < p->nparts; ++i) {
    struct rz_part *r = &p->parts[i];
    if (r->op == RZ_DELETE)
      continue;
    if (gpt || !r->logical) {
      r->new_num = num_p++;
      nprim++;
    }
    else
      r->new_num = num_l++;
    nout++;
  }
  if (!expand && p->surplus >= RZ_MIN_EXTRA &&
      ((gpt && nprim < 128) || (!gpt && nprim < 4))) {
    p->extra = true;
    p->extra_start = align_up (end, a);
    p->extra_size = (usable_end - p->extra_start) / SECTOR * SECTOR;
    if (p->extra_start >= usable_end || p->extra_size < RZ_ALIGN)
      p->extra = false;
  }
  (void) h2;

  /* The target table. */
  memset (&p->out, 0, sizeof p->out);
  if (set_str (&p->out.label, p->src->label) == -1 ||
      set_str (&p->out.disk_id, p->src->disk_id) == -1)
    goto oom;
  p->out.disk_size = p->target_size;
  p->out.sector_size = SECTOR;
  p->out.bootcode.bootcode_val = malloc (440);
  if (!p->out.bootcode.bootcode_val)
    goto oom;
  memset (p->out.bootcode.bootcode_val, 0, 440);
  if (p->src->bootcode.bootcode_len > 0 && p->src->bootcode.bootcode_val)
    memcpy (p->out.bootcode.bootcode_val, p->src->bootcode.bootcode_val,
            p->src->bootcode.bootcode_len < 440 ?
            p->src->bootcode.bootcode_len : 440);
  p->out.bootcode.bootcode_len = 440;
  p->out.parts.parts_val = calloc (nout + 1, sizeof (gbox_partition));
  if (!p->out.parts.parts_val)
    goto oom;
  for (i = 0; i < p->nparts; ++i) {
    struct rz_part *r = &p->parts[i];
    gbox_partition *o;
    if (r->op == RZ_DELETE)
      continue;
    o = &p->out.parts.parts_val[p->out.parts.parts_len++];
    *o = *r->src;
    o->num = r->new_num;
    o->start = r->new_start;
    o->size = r->new_size;
    o->ebr = r->logical ? r->new_ebr : 0;
    o->type_guid = o->part_guid = o->name = NULL;
    if (set_str (&o->type_guid, r->src->type_guid) == -1 ||
        set_str (&o->part_guid, r->src->part_guid) == -1 ||
        set_str (&o->name, r->src->name) == -1)
      goto oom;
  }
  if (p->extra) {
    gbox_partition *o = &p->out.parts.parts_val[p->out.parts.parts_len++];
    memset (o, 0, sizeof *o);
    o->num = num_p;
    o->start = p->extra_start;
    o->size = p->extra_size;
    o->mbr_type = gpt ? -1 : 0x83;
    if (set_str (&o->type_guid, gpt ? LINUX_GUID : "") == -1 ||
        set_str (&o->part_guid, "") == -1 || set_str (&o->name, "") == -1)
      goto oom;
  }
  return 0;
 oom:
  snprintf (err, errlen, "out of memory");
  return -1;
}

void
rz_plan_free (struct rz_plan *p)
{
  size_t i;

  xdr_free ((xdrproc_t) xdr_gbox_part_layout, (char *) &p->out);
  for (i = 0; i < p->nparts; ++i)
    free (p->parts[i].lvs);
  free (p->parts);
  p->parts = NULL;
}
