/* guestbox - virt-resize: the planner's interface.
 * Copyright (C) 2026 the guestbox authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

/**
 * plan.c turns the source partition table, the content of each
 * partition and the user's requests (--expand, --shrink, --resize,
 * --delete, --ignore, --align-first) into the target table and the list
 * of things to do, without any I/O, so that test-plan.c checks it on
 * made-up layouts.
 */

#ifndef GUESTBOX_RESIZE_H
#define GUESTBOX_RESIZE_H

#include <stdbool.h>
#include <stdint.h>
#include <stddef.h>

#include "protocol.h"

#define RZ_ALIGN (1024 * 1024)                 /* partition alignment */
#define RZ_MIN_EXTRA (10 * 1024 * 1024)        /* smallest extra partition */

enum rz_op { RZ_KEEP, RZ_DELETE, RZ_IGNORE };
enum rz_align_first { RZ_ALIGN_AUTO, RZ_ALIGN_NEVER, RZ_ALIGN_ALWAYS };

/* A --resize request: absolute, relative (+/-) or a percentage. */
struct rz_size_req {
  bool set;
  int sign;                     /* 0 absolute, +1, -1 */
  bool percent;
  uint64_t value;               /* bytes, or percent * 100 */
};

/* One source partition and what happens to it. */
struct rz_part {
  const gbox_partition *src;
  char name[32];                /* "/dev/sda1" */
  bool logical, extended;
  /* Content (content_info). */
  char type[64];                /* "ext4", "swap", "" ... */
  char uuid[64], label[64];
  uint64_t content_size;        /* 0 = unknown / recreated */
  /* Requests. */
  enum rz_op op;
  struct rz_size_req req;
  bool expand, shrink;
  /* Result. */
  uint64_t new_size;            /* bytes */
  int new_num;
  uint64_t new_start, new_ebr;
  uint64_t copy_size;           /* bytes of content copied */
  bool resize_content;          /* grow/recreate the content */
  /* --lv-expand: the logical volumes in this physical volume. */
  char **lvs;
  size_t nlvs;
};

struct rz_plan {
  /* Inputs. */
  const gbox_part_layout *src;
  uint64_t target_size;
  enum rz_align_first align_first;
  /* --alignment in sectors (0: the default).  A divisor of 2048 keeps
   * 1 MiB boundaries (multiples of it too); any other value puts each
   * partition on a multiple of that many sectors, as libguestfs does. */
  uint32_t align_sectors;
  bool expand_content;
  /* Partitions in source order of start (logicals after their
   * extended partition). */
  struct rz_part *parts;
  size_t nparts;
  /* Results. */
  int64_t surplus;              /* bytes left at the end (before extra) */
  bool extra;                   /* an extra partition is added */
  uint64_t extra_start, extra_size;
  bool first_moved;
  gbox_part_layout out;         /* the target table (free with rz_plan_free) */
};

/* Parse SIZE|+SIZE|-SIZE|N%|+N%|-N% (K, M, G, T, P, E suffixes, powers
 * of 1024; "b" or none = bytes; "s" = 512-byte sectors).  -1 if bad. */
extern int rz_parse_size_req (const char *s, struct rz_size_req *req);

/* Validate a source layout that came from the appliance (hostile
 * input): the table type, sector size, disk size, partition numbers,
 * at most one extended partition, every partition inside the disk (and
 * every logical inside the extended one), no overlaps.  -1 with a
 * message in ERR. */
extern int rz_layout_check (const gbox_part_layout *src, char *err,
                            size_t errlen);

/* Build P->parts from SRC (names /dev/sdaN).  -1 on allocation failure. */
extern int rz_plan_init (struct rz_plan *p, const gbox_part_layout *src,
                         uint64_t target_size);
/* The alignment the plan uses, in bytes. */
extern uint64_t rz_plan_align (const struct rz_plan *p);
extern struct rz_part *rz_plan_find (struct rz_plan *p, const char *name);
/* Compute the target.  -1 with a message in ERR when the requests cannot
 * be met (deficit, content does not fit, ...). */
extern int rz_plan_compute (struct rz_plan *p, char *err, size_t errlen);
extern void rz_plan_free (struct rz_plan *p);

/* Sizes as the libguestfs tool prints them: "512", "20.0M", "1.5G". */
extern char *rz_human (uint64_t n, char *buf, size_t len);

#endif /* GUESTBOX_RESIZE_H */
