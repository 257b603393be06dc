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

#define MiB ((uint64_t) 1024 * 1024)

static int failed;

#define CHECK(cond, ...)                                        \
  do {                                                          \
    if (!(cond)) {                                              \
      printf ("FAIL: " __VA_ARGS__);                            \
      printf ("\n");                                            \
      failed = 1;                                               \
    }                                                           \
  } while (0)

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
  int r, before;

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
    printf ("FAIL: %s: init\n", t->what);
    failed = 1;
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
  before = failed;
  failed = 0;
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
  if (!failed)
    printf ("ok - %s%s%s\n", t->what, err[0] ? ": " : "", err);
  failed |= before;
  rz_plan_free (&p);
}

int
main (void)
{
  size_t i;
  char buf[32];

  test_sizes ();
  for (i = 0; i < sizeof cases / sizeof cases[0]; ++i)
    run_case (&cases[i]);
  CHECK (strcmp (rz_human (20 * MiB, buf, sizeof buf), "20.0M") == 0, "human");
  CHECK (strcmp (rz_human (1000, buf, sizeof buf), "1000") == 0, "human");
  return failed;
}
