/* guestbox - virt-df: what main and the output writers share.
 * Copyright (C) 2026 the guestbox authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

/**
 * The results of an audit (one struct guest per guest, one struct row
 * per filesystem) and the writers of df/output.c: the libguestfs text
 * and CSV formats, JSON Lines, and the Prometheus textfile.
 */

#ifndef VIRT_DF_H
#define VIRT_DF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "guestbox.h"

extern const char program[];

struct df_opts {
  bool csv;
  bool human;
  bool inodes;
  bool uuid;
  bool one_per_guest;
  bool each;
  bool json;
  bool all_domains;             /* no -a/-d: every libvirt guest */
  const char *prometheus;       /* --prometheus FILE */
  unsigned shard, nr_shards;    /* --shard I/N (1-based); 0/0 = all */
  unsigned parallel;            /* -P: appliances at once (0 = default) */
  bool parallel_given;
};

/* One filesystem of a guest. */
struct row {
  char *device;                 /* as the guest's own appliance names it */
  char *type;                   /* filesystem type */
  struct gbox_statvfs st;
};

struct guest {
  char *name;                   /* VirtualMachine column */
  char *key;                    /* what --shard hashes: the image path as
                                   given, or the libvirt guest's name */
  char *image;                  /* the image, for an -a guest alone */
  char *domain;                 /* the libvirt guest, if it is one */
  char *uuid;                   /* its UUID (libvirt) */
  size_t first, count;          /* its drives in struct gbox_opts */
  struct row *rows;
  size_t nr_rows;
  char *error;                  /* set if it could not be examined */
  bool done;                    /* examined: its rows are final */
};

/* output.c */
extern void print_title (const struct df_opts *d);
extern void print_guest (FILE *fp, const struct df_opts *d,
                         const struct guest *g);
extern void print_guest_json (FILE *fp, const struct guest *g);
extern int write_prometheus (const char *file, const struct guest *guests,
                             size_t n);

#endif /* VIRT_DF_H */
