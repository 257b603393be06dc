/* guestbox - virt-resize: unit tests of the planner (no appliance).
 * Copyright (C) 2026 the guestbox authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

/**
 * Table-driven: made-up source layouts (MBR with an extended partition
 * and logical ones, GPT) with requests, and the target starts and sizes
 * or the error expected.  Also the size syntax of --resize.
 */

#include <config.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <inttypes.h>

#include "resize.h"
#define CHECK_QUIET
#include "check.h"

#define MiB ((uint64_t) 1024 * 1024)

static void
test_sizes (void)
{
  static const struct {
    const char *s;
    int ok, sign, percent;
    uint64_t value;
  } t[] = {
    { "10G", 1, 0, 0, 10ULL << 30 },
    { "+512M", 1, 1, 0, 512 * MiB },
    { "-1.5M", 1, -1, 0, 3 * MiB / 2 },
    { "50%", 1, 0, 1, 5000 },
    { "+10%", 1, 1, 1, 1000 },
    { "2048s", 1, 0, 0, 2048 * 512 },
    { "100", 1, 0, 0, 100 },
    { "10X", 0, 0, 0, 0 },
    { "", 0, 0, 0, 0 },
    { "G", 0, 0, 0, 0 },
    { "-", 0, 0, 0, 0 },
  };
  size_t i;

  for (i = 0; i < sizeof t / sizeof t[0]; ++i) {
    struct rz_size_req q;
    int r = rz_parse_size_req (t[i].s, &q);
    CHECK ((r == 0) == t[i].ok, "size '%s': ok %d", t[i].s, r == 0);
    if (r == 0 && t[i].ok)
      CHECK (q.sign == t[i].sign && q.percent == t[i].percent &&
             q.value == t[i].value, "size '%s': %d %d %" PRIu64, t[i].s,
             q.sign, q.percent, q.value);
    printf ("ok - size '%s'\n", t[i].s);
  }
}

/* Source partitions: num, start MiB, size MiB, mbr type, ebr MiB. */
struct sp { int num; uint64_t start, size; int type; uint64_t ebr; };

struct tcase {
  const char *what;
  const char *label;
  uint64_t disk, target;                /* MiB */
  struct sp parts[6];
  const char *expand, *shrink, *delete_, *resize, *resize_to;
  uint64_t content;                     /* content_size of every part, MiB */
  const char *error;                    /* expected error substring */
  /* Expected target: num, start MiB, size MiB (0-terminated). */
  struct { int num; uint64_t start, size; } out[7];
  int extra;
};

static const struct tcase cases[] = {
  { "MBR: expand the second", "dos", 100, 200,
    { { 1, 1, 20, 0x83, 0 }, { 2, 21, 40, 0x83, 0 } },
    "/dev/sda2", NULL, NULL, NULL, NULL, 0, NULL,
    { { 1, 1, 20 }, { 2, 21, 179 } }, 0 },
  { "MBR: surplus makes an extra partition", "dos", 100, 200,
    { { 1, 1, 20, 0x83, 0 } },
    NULL, NULL, NULL, NULL, NULL, 0, NULL,
    { { 1, 1, 20 }, { 2, 21, 179 } }, 1 },
  { "MBR: expand a logical partition", "dos", 100, 300,
    { { 1, 1, 20, 0x83, 0 }, { 2, 21, 79, 0x05, 0 },
      { 5, 22, 30, 0x83, 21 }, { 6, 53, 40, 0x83, 52 } },
    "/dev/sda5", NULL, NULL, NULL, NULL, 0, NULL,
    { { 1, 1, 20 }, { 2, 21, 279 }, { 5, 22, 237 }, { 6, 260, 40 } }, 0 },
  { "MBR: delete a partition renumbers", "dos", 100, 100,
    { { 1, 1, 20, 0x83, 0 }, { 2, 21, 20, 0x83, 0 },
      { 3, 41, 20, 0x83, 0 } },
    "/dev/sda3", NULL, "/dev/sda2", NULL, NULL, 0, NULL,
    { { 1, 1, 20 }, { 2, 21, 79 } }, 0 },
  { "GPT: expand the second, room for the backup table", "gpt", 100, 200,
    { { 1, 1, 20, -1, 0 }, { 2, 21, 40, -1, 0 } },
    "/dev/sda2", NULL, NULL, NULL, NULL, 0, NULL,
    { { 1, 1, 20 }, { 2, 21, 0 } }, 0 },
  { "deficit without --shrink", "dos", 100, 50,
    { { 1, 1, 20, 0x83, 0 }, { 2, 21, 40, 0x83, 0 } },
    NULL, NULL, NULL, NULL, NULL, 0, "There is a deficit of 11534336 bytes",
    { { 0 } }, 0 },
  { "shrink refused: content does not fit", "dos", 100, 50,
    { { 1, 1, 20, 0x83, 0 }, { 2, 21, 40, 0x83, 0 } },
    NULL, "/dev/sda2", NULL, NULL, NULL, 35, "6291456 bytes are missing",
    { { 0 } }, 0 },
  { "shrink accepted when the content fits", "dos", 100, 50,
    { { 1, 1, 20, 0x83, 0 }, { 2, 21, 40, 0x83, 0 } },
    NULL, "/dev/sda2", NULL, NULL, NULL, 10, NULL,
    { { 1, 1, 20 }, { 2, 21, 29 } }, 0 },
  { "GPT: expand the first of two (rounding of the next start)", "gpt",
    100, 200,
    { { 1, 1, 40, -1, 0 }, { 2, 41, 40, -1, 0 } },
    "/dev/sda1", NULL, NULL, NULL, NULL, 0, NULL,
    { { 1, 1, 158 }, { 2, 159, 40 } }, 0 },
  { "MBR: expand the first of two", "dos",
    100, 200,
    { { 1, 1, 40, 0x83, 0 }, { 2, 41, 40, 0x83, 0 } },
    "/dev/sda1", NULL, NULL, NULL, NULL, 0, NULL,
    { { 1, 1, 159 }, { 2, 160, 40 } }, 0 },
  { "GPT: shrink the first of two", "gpt", 100, 70,
    { { 1, 1, 40, -1, 0 }, { 2, 41, 40, -1, 0 } },
    NULL, "/dev/sda1", NULL, NULL, NULL, 10, NULL,
    { { 1, 1, 28 }, { 2, 29, 40 } }, 0 },
  { "--resize +SIZE and --expand elsewhere", "dos", 100, 200,
    { { 1, 1, 20, 0x83, 0 }, { 2, 21, 40, 0x83, 0 } },
    "/dev/sda2", NULL, NULL, "/dev/sda1", "+10M", 0, NULL,
    { { 1, 1, 30 }, { 2, 31, 169 } }, 0 },
};

static void
run_case (const struct tcase *t)
{
  gbox_part_layout l;
  gbox_partition parts[6];
  unsigned char boot[440];
  struct rz_plan p;
  char err[1024] = "";
  size_t i, n = 0;
  int r;
  unsigned before;

  memset (&l, 0, sizeof l);
  memset (boot, 0, sizeof boot);
  boot[0] = 0xeb;               /* boot code present: first stays put */
  for (i = 0; i < 6 && t->parts[i].num; ++i) {
    gbox_partition *q = &parts[n++];
    memset (q, 0, sizeof *q);
    q->num = t->parts[i].num;
    q->start = t->parts[i].start * MiB;
    q->size = t->parts[i].size * MiB;
    q->mbr_type = t->parts[i].type;
    q->ebr = t->parts[i].ebr * MiB;
    q->type_guid = (char *) (t->parts[i].type == -1 ?
                             "0FC63DAF-8483-4772-8E79-3D69D8477DE4" : "");
    q->part_guid = (char *) "";
    q->name = (char *) "";
  }
  l.label = (char *) t->label;
  l.disk_id = (char *) "0x12345678";
  l.disk_size = t->disk * MiB;
  l.sector_size = 512;
  l.bootcode.bootcode_val = (char *) boot;
  l.bootcode.bootcode_len = sizeof boot;
  l.parts.parts_val = parts;
  l.parts.parts_len = n;

  if (rz_plan_init (&p, &l, t->target * MiB) == -1) {
    CHECK (0, "%s: init", t->what);
    return;
  }
  for (i = 0; i < p.nparts; ++i) {
    struct rz_part *q = &p.parts[i];
    strcpy (q->type, "ext4");
    q->content_size = t->content ? t->content * MiB : q->src->size;
    if (t->expand && strcmp (q->name, t->expand) == 0) q->expand = true;
    if (t->shrink && strcmp (q->name, t->shrink) == 0) q->shrink = true;
    if (t->delete_ && strcmp (q->name, t->delete_) == 0) q->op = RZ_DELETE;
    if (t->resize && strcmp (q->name, t->resize) == 0)
      rz_parse_size_req (t->resize_to, &q->req);
  }
  r = rz_plan_compute (&p, err, sizeof err);
  before = check_failures;
  if (t->error) {
    CHECK (r == -1 && strstr (err, t->error), "%s: expected error '%s', "
           "got %d '%s'", t->what, t->error, r, err);
  }
  else if (r == -1)
    CHECK (0, "%s: unexpected error: %s", t->what, err);
  else {
    size_t k = 0;
    for (i = 0; i < 7 && t->out[i].num; ++i) {
      const gbox_partition *o = NULL;
      uint64_t want = t->out[i].size * MiB;
      for (k = 0; k < p.out.parts.parts_len; ++k)
        if (p.out.parts.parts_val[k].num == t->out[i].num)
          o = &p.out.parts.parts_val[k];
      if (want == 0)            /* GPT: up to the backup table */
        want = t->target * MiB - 33 * 512 - t->out[i].start * MiB;
      CHECK (o && o->start == t->out[i].start * MiB && o->size == want,
             "%s: partition %d: start %" PRIu64 " size %" PRIu64
             " (expected %" PRIu64 " %" PRIu64 ")", t->what, t->out[i].num,
             o ? o->start : 0, o ? o->size : 0, t->out[i].start * MiB, want);
    }
    CHECK (p.extra == t->extra, "%s: extra partition %d", t->what, p.extra);
    CHECK (p.out.parts.parts_len == i, "%s: %u partitions", t->what,
           p.out.parts.parts_len);
  }
  if (check_failures == before)
    printf ("ok - %s%s%s\n", t->what, err[0] ? ": " : "", err);
  rz_plan_free (&p);
}

/* xorshift64*: reproducible layouts from a seed. */
static uint64_t rng_state;

static uint64_t
rnd (uint64_t n)
{
  rng_state ^= rng_state >> 12;
  rng_state ^= rng_state << 25;
  rng_state ^= rng_state >> 27;
  return n ? (rng_state * 2685821657736338717ULL) % n : 0;
}

#define S 512
#define RMAX 12

/* A random layout: MBR (maybe with an extended partition holding
 * logical ones) or GPT; starts on 1 MiB or odd sectors; sizes in
 * sectors. */
static void
random_layout (gbox_part_layout *l, gbox_partition *parts, bool *gpt_out)
{
  bool gpt = rnd (3) == 0;
  size_t n = 0, nprim = 1 + rnd (gpt ? 6 : 4), i, k;
  uint64_t pos = rnd (2) ? MiB : 63 * S;
  int ext_at = !gpt && rnd (2) ? (int) rnd (nprim) : -1;

  memset (l, 0, sizeof *l);
  for (i = 0; i < nprim; ++i) {
    gbox_partition *q = &parts[n++];
    memset (q, 0, sizeof *q);
    q->num = (int) i + 1;
    q->start = pos;
    q->mbr_type = gpt ? -1 : 0x83;
    q->type_guid = (char *) (gpt ? "0FC63DAF-8483-4772-8E79-3D69D8477DE4" : "");
    q->part_guid = q->name = (char *) "";
    if ((int) i == ext_at) {
      size_t nl = 1 + rnd (4);
      uint64_t c = pos;
      q->mbr_type = 0x05;
      for (k = 0; k < nl; ++k) {
        gbox_partition *lq = &parts[n++];
        memset (lq, 0, sizeof *lq);
        lq->num = 5 + (int) k;
        lq->ebr = c;
        lq->start = c + (rnd (2) ? MiB : 63 * S);
        lq->size = (1 + rnd (40 * 2048)) * S;
        lq->mbr_type = rnd (4) ? 0x83 : 0x82;
        lq->type_guid = lq->part_guid = lq->name = (char *) "";
        c = lq->start + lq->size + rnd (3) * MiB;
      }
      q->size = c - pos;
    }
    else
      q->size = (1 + rnd (40 * 2048)) * S;
    pos = q->start + q->size;
    if (rnd (2))
      pos = (pos + MiB - 1) / MiB * MiB;
    else
      pos += rnd (2048) * S;
  }
  l->label = (char *) (gpt ? "gpt" : "dos");
  l->disk_id = (char *) "";
  l->disk_size = pos + rnd (4 * 2048) * S + (gpt ? 33 * S : 0);
  l->sector_size = S;
  l->parts.parts_val = parts;
  l->parts.parts_len = n;
  *gpt_out = gpt;
}

/* Check one computed plan: every target partition sector aligned, all
 * but the first on 1 MiB, inside the disk, no overlaps, logicals inside
 * the extended one after their EBR; the data of every kept partition
 * fits its target and is copied whole unless it was shrunk. */
static int
check_plan (const struct rz_plan *p, bool gpt, const char *what)
{
  const gbox_part_layout *o = &p->out;
  uint64_t usable = p->target_size / S * S - (gpt ? 33 * S : 0);
  uint64_t align = rz_plan_align (p);
  const gbox_partition *ext = NULL;
  size_t i, j;
  int bad = 0;

  for (i = 0; i < o->parts.parts_len; ++i)
    if (!gpt && o->parts.parts_val[i].num <= 4 &&
        (o->parts.parts_val[i].mbr_type == 0x05))
      ext = &o->parts.parts_val[i];
  for (i = 0; i < o->parts.parts_len; ++i) {
    const gbox_partition *q = &o->parts.parts_val[i];
    bool logical = !gpt && q->num >= 5;
    uint64_t q0 = logical ? q->ebr : q->start, q1 = q->start + q->size;

    if (q->start % S || q->size % S || q->size == 0 || q1 > usable ||
        (q0 != o->parts.parts_val[0].start && q0 % align)) {
      printf ("FAIL: %s: partition %d at %" PRIu64 " size %" PRIu64
              " (usable %" PRIu64 ")\n", what, q->num, q->start, q->size,
              usable);
      bad = 1;
    }
    if (logical && (!ext || q->ebr < ext->start || q->ebr >= q->start ||
                    q1 > ext->start + ext->size)) {
      printf ("FAIL: %s: logical %d outside its extended partition\n",
              what, q->num);
      bad = 1;
    }
    for (j = 0; j < i; ++j) {
      const gbox_partition *r = &o->parts.parts_val[j];
      bool rl = !gpt && r->num >= 5;
      uint64_t r0 = rl ? r->ebr : r->start, r1 = r->start + r->size;
      if ((logical && r == ext) || (rl && q == ext))
        continue;
      if (q0 < r1 && r0 < q1) {
        printf ("FAIL: %s: partitions %d and %d overlap\n", what, r->num,
                q->num);
        bad = 1;
      }
    }
  }
  for (i = 0; i < p->nparts; ++i) {
    const struct rz_part *r = &p->parts[i];
    uint64_t want;
    if (r->op != RZ_KEEP || r->extended)
      continue;
    want = r->new_size < r->src->size ? r->new_size : r->src->size;
    if (r->copy_size != want || r->copy_size > r->new_size ||
        (r->new_size < r->src->size && r->new_size < r->content_size &&
         strcmp (r->type, "swap") != 0)) {
      printf ("FAIL: %s: %s copies %" PRIu64 " of %" PRIu64 " bytes into %"
              PRIu64 "\n", what, r->name, r->copy_size, r->src->size,
              r->new_size);
      bad = 1;
    }
  }
  return bad;
}

static void
test_random (unsigned runs)
{
  unsigned run, nok = 0, nerr = 0;
  int bad = 0;

  rng_state = 0x9e3779b97f4a7c15ULL;
  for (run = 0; run < runs; ++run) {
    gbox_part_layout l;
    gbox_partition parts[RMAX];
    struct rz_plan p;
    bool gpt;
    char err[1024] = "", what[160];
    int op = (int) rnd (5), r;
    size_t victim, i, nreal = 0;
    uint64_t target, need = 0, overhead, unit;
    struct rz_part *v;
    /* --alignment: the default, divisors of 2048 (1 MiB kept) and
     * values that are not (libguestfs's semantics). */
    static const uint32_t aligns[] = { 0, 0, 0, 128, 2048, 1, 3000, 4096,
                                       1000, 6144 };

    random_layout (&l, parts, &gpt);
    if (rz_layout_check (&l, err, sizeof err) == -1) {
      printf ("FAIL: random layout %u refused: %s\n", run, err);
      bad = 1;
      continue;
    }
    /* Bigger or smaller output. */
    target = rnd (2) ? l.disk_size + rnd (200 * MiB)
      : l.disk_size - rnd (l.disk_size / 2);
    if (rz_plan_init (&p, &l, target) == -1)
      abort ();
    p.align_sectors = aligns[rnd (sizeof aligns / sizeof aligns[0])];
    unit = rz_plan_align (&p) > MiB ? 2 * rz_plan_align (&p) : MiB;
    for (i = 0; i < p.nparts; ++i) {
      strcpy (p.parts[i].type, p.parts[i].src->mbr_type == 0x82 ? "swap"
              : "ext4");
      p.parts[i].content_size = p.parts[i].src->size / 4 / S * S + S;
      if (!p.parts[i].extended)
        nreal++;
    }
    do
      victim = rnd (p.nparts);
    while (p.parts[victim].extended && op != 0);
    v = &p.parts[victim];
    snprintf (what, sizeof what, "random %u (%s, %zu partitions, op %d on "
              "%s, %" PRIu64 " -> %" PRIu64 ", alignment %" PRIu32 ")", run,
              l.label, p.nparts, op, v->name, l.disk_size, target,
              p.align_sectors);
    switch (op) {
    case 0: v->expand = true; break;
    case 1: v->shrink = true; break;
    case 2: rz_parse_size_req (rnd (2) ? "+3M" : "-20%", &v->req); break;
    case 3: v->op = RZ_DELETE; break;
    case 4: v->op = RZ_IGNORE; break;
    }
    r = rz_plan_compute (&p, err, sizeof err);
    /* When must it succeed?  Expanding (or shrinking to content) with
     * room for every partition and a MiB of alignment for each. */
    overhead = (nreal + 2) * unit + (gpt ? 33 * S : 0) + 2 * unit;
    for (i = 0; i < p.nparts; ++i)
      if (!p.parts[i].extended)
        need += &p.parts[i] == v && op == 1 ? v->content_size + unit
          : p.parts[i].src->size;
    if (r == -1) {
      nerr++;
      if ((op == 0 && !v->extended && target >= l.disk_size + overhead) ||
          (op == 1 && target >= need + overhead)) {
        printf ("FAIL: %s: %s\n", what, err);
        bad = 1;
      }
    }
    else {
      nok++;
      bad |= check_plan (&p, gpt, what);
      if (op == 0 && !v->extended && target >= l.disk_size + overhead &&
          v->new_size < v->src->size) {
        printf ("FAIL: %s: expanded partition shrank\n", what);
        bad = 1;
      }
    }
    rz_plan_free (&p);
  }
  CHECK (!bad, "%u random layouts: %u planned and checked, %u refused",
         runs, nok, nerr);
}

/* Hostile layouts, as a compromised appliance could report them. */
static void
test_hostile (void)
{
  static gbox_partition parts[128];
  gbox_part_layout l;
  struct rz_plan p;
  char err[1024];
  size_t i;

  memset (&l, 0, sizeof l);
  memset (parts, 0, sizeof parts);
  l.label = (char *) "dos";
  l.disk_id = (char *) "";
  l.disk_size = 1024 * MiB;
  l.sector_size = 512;
  l.parts.parts_val = parts;
  /* 64 "extended" primaries and 64 logicals. */
  for (i = 0; i < 128; ++i) {
    parts[i].num = i < 64 ? 1 + (int) (i % 4) : 5 + (int) i;
    parts[i].start = MiB + i * MiB;
    parts[i].size = MiB;
    parts[i].ebr = parts[i].start - 512;
    parts[i].mbr_type = i < 64 ? 0x05 : 0x83;
    parts[i].type_guid = parts[i].part_guid = parts[i].name = (char *) "";
  }
  l.parts.parts_len = 128;
  CHECK (rz_layout_check (&l, err, sizeof err) == -1,
         "64 extended partitions accepted");
  printf ("ok - hostile: 64 extended + 64 logicals refused: %s\n", err);
  /* Even unchecked, planning stays inside its arrays. */
  if (rz_plan_init (&p, &l, 2048 * MiB) == 0) {
    CHECK (p.nparts <= 128, "nparts %zu", p.nparts);
    rz_plan_free (&p);
  }
  printf ("ok - hostile: unchecked layout planned within bounds\n");

  {
    static const struct {
      const char *what; int num; uint64_t start, size; int type;
      const char *error;
    } t[] = {
      { "partition past the end", 1, MiB, 2048 * MiB, 0x83, "does not fit" },
      { "size wraps around", 1, MiB, UINT64_MAX - 1023, 0x83, "does not fit" },
      { "number 0", 0, MiB, MiB, 0x83, "out of range" },
      { "number 9999", 9999, MiB, MiB, 0x83, "out of range" },
      { "overlap", 2, MiB + 512, MiB, 0x83, "overlap" },
      { "odd start", 2, 3 * MiB + 1, MiB, 0x83, "does not fit" },
      { "logical without extended", 5, 4 * MiB, MiB, 0x83, "without an extended" },
      { "duplicate number", 1, 8 * MiB, MiB, 0x83, "appears twice" },
    };
    for (i = 0; i < sizeof t / sizeof t[0]; ++i) {
      memset (parts, 0, 2 * sizeof parts[0]);
      parts[0].num = 1; parts[0].start = MiB; parts[0].size = MiB;
      parts[0].mbr_type = 0x83;
      parts[1].num = t[i].num; parts[1].start = t[i].start;
      parts[1].size = t[i].size; parts[1].mbr_type = t[i].type;
      parts[1].ebr = t[i].start - MiB / 2;
      parts[0].type_guid = parts[0].part_guid = parts[0].name = (char *) "";
      parts[1].type_guid = parts[1].part_guid = parts[1].name = (char *) "";
      l.parts.parts_len = 2;
      err[0] = '\0';
      CHECK (rz_layout_check (&l, err, sizeof err) == -1 &&
             strstr (err, t[i].error), "hostile %s: got '%s'", t[i].what,
             err);
      printf ("ok - hostile: %s: %s\n", t[i].what, err);
    }
  }
  /* A huge output disk and a huge percentage: no signed overflow. */
  parts[1].num = 2; parts[1].start = 2 * MiB; parts[1].size = MiB;
  l.parts.parts_len = 2;
  CHECK (rz_layout_check (&l, err, sizeof err) == 0, "two small: %s", err);
  if (rz_plan_init (&p, &l, UINT64_MAX) == 0) {
    CHECK (rz_plan_compute (&p, err, sizeof err) == -1 &&
           strstr (err, "too large"), "huge output: %s", err);
    rz_plan_free (&p);
  }
  if (rz_plan_init (&p, &l, 2048 * MiB) == 0) {
    rz_parse_size_req ("+1E", &p.parts[0].req);
    CHECK (rz_plan_compute (&p, err, sizeof err) == -1, "huge percent");
    rz_plan_free (&p);
  }
  printf ("ok - hostile: huge output disk and percentage refused\n");
}

/* --alignment 3000 (not a divisor of 1 MiB): the partition after the
 * expanded one starts on the next multiple of 3000 sectors; 2048 and
 * 128 keep 1 MiB boundaries. */
static void
test_alignment (void)
{
  static const struct { uint32_t align; uint64_t size1, start2; } t[] = {
    { 3000, 323640, 327000 },
    { 128, 325632, 327680 },
    { 0, 325632, 327680 },
  };
  gbox_partition parts[2];
  gbox_part_layout l;
  struct rz_plan p;
  char err[1024];
  size_t i;

  for (i = 0; i < sizeof t / sizeof t[0]; ++i) {
    memset (&l, 0, sizeof l);
    memset (parts, 0, sizeof parts);
    l.label = (char *) "dos";
    l.disk_id = (char *) "";
    l.disk_size = 100 * MiB;
    l.sector_size = 512;
    l.parts.parts_val = parts;
    l.parts.parts_len = 2;
    parts[0].num = 1;
    parts[0].start = MiB;
    parts[0].size = 20 * MiB;
    parts[1].num = 2;
    parts[1].start = 21 * MiB;
    parts[1].size = 40 * MiB;
    parts[0].mbr_type = parts[1].mbr_type = 0x83;
    parts[0].type_guid = parts[0].part_guid = parts[0].name = (char *) "";
    parts[1].type_guid = parts[1].part_guid = parts[1].name = (char *) "";
    CHECK (rz_plan_init (&p, &l, 200 * MiB) == 0, "alignment: init");
    p.align_sectors = t[i].align;
    p.parts[0].expand = true;
    strcpy (p.parts[0].type, "ext4");
    strcpy (p.parts[1].type, "ext4");
    CHECK (rz_plan_compute (&p, err, sizeof err) == 0, "alignment: %s", err);
    CHECK (p.out.parts.parts_len == 2, "alignment: two partitions");
    if (p.out.parts.parts_val[0].start != MiB ||
        p.out.parts.parts_val[0].size != t[i].size1 * S ||
        p.out.parts.parts_val[1].start != t[i].start2 * S ||
        p.out.parts.parts_val[1].size != 40 * MiB) {
      printf ("FAIL: --alignment %" PRIu32 ": sda1 %" PRIu64 "+%" PRIu64
              ", sda2 %" PRIu64 "+%" PRIu64 " (sectors)\n", t[i].align,
              p.out.parts.parts_val[0].start / S,
              p.out.parts.parts_val[0].size / S,
              p.out.parts.parts_val[1].start / S,
              p.out.parts.parts_val[1].size / S);
      check_failures++;
    }
    else
      printf ("ok - --alignment %" PRIu32 ": sda2 starts at sector %" PRIu64
              "\n", t[i].align, t[i].start2);
    rz_plan_free (&p);
  }
}

int
main (void)
{
  size_t i;
  char buf[32];

  test_sizes ();
  test_hostile ();
  test_alignment ();
  test_random (getenv ("RZ_RANDOM_RUNS") ? (unsigned) atoi (getenv ("RZ_RANDOM_RUNS")) : 20000);
  for (i = 0; i < sizeof cases / sizeof cases[0]; ++i)
    run_case (&cases[i]);
  CHECK (strcmp (rz_human (20 * MiB, buf, sizeof buf), "20.0M") == 0, "human");
  CHECK (strcmp (rz_human (1000, buf, sizeof buf), "1000") == 0, "human");
  return check_finish ("test-plan");
}
