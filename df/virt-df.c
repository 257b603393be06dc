/* guestbox - virt-df: free space on the filesystems of disk images.
 * Copyright (C) 2026 the guestbox authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

/**
 * virt-df -a disk.img [-a disk.img ...]: the disks of one guest; every
 * filesystem of every partition and logical volume is mounted read-only
 * in turn and statvfs'd by the appliance in one call (df), printed in
 * the libguestfs virt-df formats (text, -h, -i, --csv).
 *
 * virt-df --each IMAGE...: many separate images in one run (the
 * cron-audit use).  Each image is its own guest in the output, named
 * after the file, with its disk called /dev/sda.  Up to 255 images
 * share one appliance (hot-added disks), so an audit costs one launch
 * per 255 images instead of one per image; -P N runs N appliances in
 * parallel threads, one handle each, the output kept in input order.
 */

#include <config.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stdbool.h>
#include <inttypes.h>
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include "guestbox.h"
#include "cleanups.h"
#include "options.h"
#include "output.h"

static const char program[] = "virt-df";

GBOX_DEFINE_XDR_CLEANUP (gbox_df_ret)

/* Disks one appliance takes in --each mode. */
#define EACH_MAX_DISKS 255

struct df_opts {
  bool csv;
  bool human;
  bool inodes;
  bool uuid;
  bool one_per_guest;
  bool each;
  unsigned parallel;            /* -P: appliances at once (0 = default) */
  bool parallel_given;
};

/* One guest's results, printed once all are known. */
struct guest {
  char *name;                   /* VirtualMachine column */
  char *out;                    /* its formatted lines */
  size_t outlen;
  char *error;                  /* set if it could not be examined */
};

/* A batch of images examined by one appliance. */
struct batch {
  const struct df_opts *d;
  struct gbox_opts *o;
  size_t first, count;          /* images [first, first + count) */
  struct guest *guests;         /* the whole array */
};

static void __attribute__((noreturn))
usage (int status)
{
  if (status != EXIT_SUCCESS)
    fprintf (stderr, "Try '%s --help' for more information.\n", program);
  else
    printf ("%s: display free space on virtual filesystems\n"
            "Usage:\n"
            "  %s [--options] -a disk.img [-a disk.img ...]\n"
            "  %s [--options] --each disk.img [disk.img ...]\n"
            "Options:\n"
            "  -a|--add image       Add image\n"
            "  --csv                Output as Comma-Separated Values\n"
            "  --each               Every image is a separate guest\n"
            "  --echo-keys          Show keys typed on the terminal\n"
            "  --format[=raw|..]    Force disk format for -a option\n"
            "  -h|--human-readable  Human-readable sizes\n"
            "  --help               Display brief help\n"
            "  -i|--inodes          Display inodes\n"
            "  --one-per-guest      With --each, one appliance per image\n"
            "  -P nr_threads        Use at most nr_threads appliances\n"
            "  --uuid               (libvirt guests only: refused here)\n"
            "  --key ID:key:KEY     Key of a LUKS device (or ID:file:FILE)\n"
            "  --keys-from-stdin    Read LUKS keys from stdin\n"
            "  -v|--verbose         Verbose messages\n"
            "  -V|--version         Display version and exit\n"
            "  -x                   Trace each call to the appliance\n"
            "For more information, see the manpage %s(1).\n",
            program, program, program, program);
  exit (status);
}

/* The name of a guest, as libguestfs makes it: the file name without
 * its directory (a URI's last element, when it has one), then one "+"
 * for each further disk of the guest. */
static char *
display_name (const char *source, size_t more)
{
  const char *base = source, *slash = strrchr (source, '/');
  char *r;

  if (strstr (source, "://") == NULL) {
    if (slash)
      base = slash + 1;
  }
  else if (slash && slash[1] != '\0')
    base = slash + 1;
  r = malloc (strlen (base) + more + 1);
  if (r == NULL)
    return NULL;
  strcpy (r, base);
  memset (r + strlen (base), '+', more);
  r[strlen (base) + more] = '\0';
  return r;
}

static void
print_title (const struct df_opts *d)
{
  const char *cols[6] = { "VirtualMachine", "Filesystem" };
  size_t i;

  if (!d->inodes) {
    cols[2] = d->human ? "Size" : "1K-blocks";
    cols[3] = "Used";
    cols[4] = "Available";
    cols[5] = "Use%";
  }
  else {
    cols[2] = "Inodes";
    cols[3] = "IUsed";
    cols[4] = "IFree";
    cols[5] = "IUse%";
  }
  if (!d->csv)
    printf ("%-36s%10s %10s %10s %5s\n",
            cols[1], cols[2], cols[3], cols[4], cols[5]);
  else {
    for (i = 0; i < 6; ++i) {
      if (i > 0)
        putchar (',');
      gbox_csv_write_field (stdout, cols[i]);
    }
    putchar ('\n');
  }
}

/* N blocks of FROM bytes in blocks of TO bytes (FAT's blocks can be
 * smaller than 1K: 512-byte clusters). */
static int64_t
scale (int64_t n, int64_t from, int64_t to)
{
  if (from <= 0)
    return 0;
  if (from >= to)
    return n * (from / to);
  return n / (to / from);
}

/* One filesystem's line, as the libguestfs virt-df prints it. */
static void
print_stat (FILE *fp, const struct df_opts *d, const char *name,
            const char *dev, const struct gbox_statvfs *st)
{
  char buf[3][GBOX_HUMAN_BUFLEN];
  float percent;

  if (!d->inodes) {
    if (!d->human) {
      snprintf (buf[0], sizeof buf[0], "%" PRIi64,
                scale (st->blocks, st->bsize, 1024));
      snprintf (buf[1], sizeof buf[1], "%" PRIi64,
                scale (st->blocks - st->bfree, st->bsize, 1024));
      snprintf (buf[2], sizeof buf[2], "%" PRIi64,
                scale (st->bavail, st->bsize, 1024));
    }
    else {
      int opts = GBOX_HUMAN_ROUND | GBOX_HUMAN_AUTOSCALE |
        GBOX_HUMAN_BASE_1024 | GBOX_HUMAN_SI;
      gbox_human_readable ((uint64_t) st->blocks, buf[0], opts,
                           (uint64_t) st->bsize, 1);
      gbox_human_readable ((uint64_t) (st->blocks - st->bfree), buf[1], opts,
                           (uint64_t) st->bsize, 1);
      gbox_human_readable ((uint64_t) st->bavail, buf[2], opts,
                           (uint64_t) st->bsize, 1);
    }
    percent = st->blocks != 0 ? 100. - 100. * st->bfree / st->blocks : 0;
  }
  else {
    snprintf (buf[0], sizeof buf[0], "%" PRIi64, st->files);
    snprintf (buf[1], sizeof buf[1], "%" PRIi64, st->files - st->ffree);
    snprintf (buf[2], sizeof buf[2], "%" PRIi64, st->ffree);
    percent = st->files != 0 ? 100. - 100. * st->ffree / st->files : 0;
  }

  if (!d->csv) {
    CLEANUP_FREE char *name_dev = NULL;

    if (asprintf (&name_dev, "%s:%s", name, dev) == -1)
      return;
    /* A first column too wide is wrapped. */
    if (strlen (name_dev) > 36)
      fprintf (fp, "%s\n%36s", name_dev, "");
    else
      fprintf (fp, "%-36s", name_dev);
    fprintf (fp, "%10s %10s %10s %4.0f%%\n", buf[0], buf[1], buf[2],
             ceil (percent));
  }
  else {
    gbox_csv_write_field (fp, name);
    fputc (',', fp);
    gbox_csv_write_field (fp, dev);
    fprintf (fp, ",%s,%s,%s,%.1f\n", buf[0], buf[1], buf[2], percent);
  }
}

/* "/dev/sdX..." of disk OFFSET+k renamed to disk k (in --each mode
 * every image sees its own disk as /dev/sda). */
static char *
rename_device (const char *dev, size_t offset)
{
  const char *p, *q, *prefix = "";
  size_t idx = 0, n, i;
  char letters[8], *r;

  if (strncmp (dev, "btrfsvol:", 9) == 0) {
    prefix = "btrfsvol:";
    dev += 9;
  }
  if (offset == 0 || strncmp (dev, "/dev/sd", 7) != 0)
    return strdup (dev - strlen (prefix));
  p = dev + 7;
  for (q = p; *q >= 'a' && *q <= 'z'; ++q)
    idx = idx * 26 + (*q - 'a' + 1);
  if (q == p || q - p > 4 || idx - 1 < offset)
    return strdup (dev - strlen (prefix));
  idx = idx - 1 - offset;
  /* Index to letters: a..z, aa.. */
  n = 0;
  letters[n++] = 'a' + idx % 26;
  idx /= 26;
  while (idx > 0 && n < sizeof letters - 1) {
    idx--;
    letters[n++] = 'a' + idx % 26;
    idx /= 26;
  }
  for (i = 0; i < n / 2; ++i) {
    char t = letters[i];
    letters[i] = letters[n - 1 - i];
    letters[n - 1 - i] = t;
  }
  letters[n] = '\0';
  if (asprintf (&r, "%s/dev/sd%s%s", prefix, letters, q) == -1)
    return NULL;
  return r;
}

/* Examine the images of batch B with one appliance and fill in their
 * guests' output. */
static void *
run_batch (void *bv)
{
  struct batch *b = bv;
  CLEANUP_XDR_FREE (gbox_df_ret) struct gbox_df_ret ret = { 0 };
  FILE **fps;
  gbox_h *h;
  size_t i, k;
  const char *err = NULL;

  fps = calloc (b->count, sizeof *fps);
  if (fps == NULL)
    goto nomem;
  for (k = 0; k < b->count; ++k) {
    struct guest *g = &b->guests[b->first + k];
    fps[k] = open_memstream (&g->out, &g->outlen);
    if (fps[k] == NULL)
      goto nomem;
  }

  h = gbox_create ();
  if (h == NULL)
    goto nomem;
  gbox_opts_setup_handle (h, b->o);
  for (k = 0; k < b->count; ++k) {
    const struct gbox_opts_drive *dr = &b->o->drives[b->first + k];
    if (gbox_add_drive (h, dr->source, dr->format, 1) == -1 ||
        (dr->blocksize && gbox_drive_set_blocksize (h, k, dr->blocksize) == -1))
      break;
  }
  if (k < b->count || gbox_launch (h) == -1 ||
      (b->o->nr_keys > 0 && gbox_opts_storage (h, b->o) == -1) ||
      gbox_df (h, &ret) == -1)
    err = gbox_last_error (h);

  if (err == NULL) {
    for (i = 0; i < ret.entries.entries_len; ++i) {
      const struct gbox_df_entry *e = &ret.entries.entries_val[i];
      CLEANUP_FREE char *dev = NULL;
      struct guest *g;

      if (e->disk < 0 || (size_t) e->disk >= b->count) {
        fprintf (stderr, "%s: warning: %s: cannot tell which image holds "
                 "it (skipped)\n", program, e->device);
        continue;
      }
      g = &b->guests[b->first + e->disk];
      dev = rename_device (e->device, e->disk);
      if (dev == NULL)
        goto nomem_h;
      /* --uuid names libvirt guests by their UUID: an image has none,
       * so its name is shown (as the libguestfs tool does). */
      print_stat (fps[e->disk], b->d, g->name, dev, &e->st);
    }
  }
  for (k = 0; k < b->count; ++k) {
    fclose (fps[k]);
    fps[k] = NULL;
    if (err && (b->guests[b->first + k].error = strdup (err)) == NULL)
      goto nomem_h;
  }
  free (fps);
  gbox_close (h);
  return NULL;

 nomem_h:
  gbox_close (h);
 nomem:
  perror (program);
  exit (EXIT_FAILURE);
}

/* Run the batches, at most PARALLEL at a time, in threads. */
static void
run_batches (struct batch *batches, size_t n, unsigned parallel)
{
  size_t i, j;

  if (parallel <= 1 || n == 1) {
    for (i = 0; i < n; ++i)
      run_batch (&batches[i]);
    return;
  }
  for (i = 0; i < n; i += parallel) {
    pthread_t tids[64];
    size_t m = n - i < parallel ? n - i : parallel;
    int r;

    for (j = 0; j < m; ++j) {
      r = pthread_create (&tids[j], NULL, run_batch, &batches[i + j]);
      if (r != 0) {
        fprintf (stderr, "%s: error: pthread_create: %s\n", program,
                 strerror (r));
        exit (EXIT_FAILURE);
      }
    }
    for (j = 0; j < m; ++j)
      pthread_join (tids[j], NULL);
  }
}

int
main (int argc, char *argv[])
{
  enum {
    CSV_OPTION = GBOX_OPT_FIRST_FREE,
    EACH_OPTION,
    ONE_PER_GUEST_OPTION,
    UUID_OPTION,
  };
  static const char short_options[] = "a:hiP:vVx";
  static const struct option long_options[] = {
    { "add", required_argument, NULL, 'a' },
    { "blocksize", required_argument, NULL, GBOX_OPT_BLOCKSIZE },
    { "csv", no_argument, NULL, CSV_OPTION },
    { "each", no_argument, NULL, EACH_OPTION },
    { "format", optional_argument, NULL, GBOX_OPT_FORMAT },
    { "help", no_argument, NULL, GBOX_OPT_HELP },
    { "human-readable", no_argument, NULL, 'h' },
    { "inodes", no_argument, NULL, 'i' },
    { "long-options", no_argument, NULL, GBOX_OPT_LONG_OPTIONS },
    { "one-per-guest", no_argument, NULL, ONE_PER_GUEST_OPTION },
    { "short-options", no_argument, NULL, GBOX_OPT_SHORT_OPTIONS },
    { "uuid", no_argument, NULL, UUID_OPTION },
    { "verbose", no_argument, NULL, 'v' },
    { "version", no_argument, NULL, 'V' },
    GBOX_OPTS_KEYS_LONG,
    { NULL, 0, NULL, 0 }
  };
  struct gbox_opts o;
  struct df_opts d = { 0 };
  struct guest *guests;
  struct batch *batches;
  size_t nguests, nbatches, per, i;
  unsigned errors = 0;
  int c, r;

  gbox_opts_init (&o, program, short_options, long_options, true);
  gbox_opts_set_argv (&o, argc, argv);
  /* As the libguestfs virt-df: encrypted devices without a --key are
   * left out, never asked for. */
  o.keys_optional = true;

  while ((c = getopt_long (argc, argv, short_options, long_options,
                           NULL)) != -1) {
    switch (c) {
    case 'h': d.human = true; continue;
    case 'i': d.inodes = true; continue;
    case 'P': {
      char *end;
      unsigned long v;
      errno = 0;
      v = strtoul (optarg, &end, 10);
      if (errno || *end || end == optarg || v > 64 || optarg[0] == '-') {
        fprintf (stderr, "%s: error: -P: '%s': expecting a number of "
                 "threads from 0 to 64\n", program, optarg);
        usage (EXIT_FAILURE);
      }
      d.parallel = v;
      d.parallel_given = true;
      continue;
    }
    case CSV_OPTION: d.csv = true; continue;
    case EACH_OPTION: d.each = true; continue;
    case ONE_PER_GUEST_OPTION: d.one_per_guest = true; continue;
    case UUID_OPTION: d.uuid = true; continue;
    }
    r = gbox_opts_handle (&o, c, optarg);
    if (r == 1)
      continue;
    if (r == -1)
      usage (EXIT_FAILURE);
    switch (c) {
    case GBOX_OPT_HELP:
      usage (EXIT_SUCCESS);
    default:
      usage (EXIT_FAILURE);
    }
  }

  /* Images may also be given without -a (as in the libguestfs tool):
   * the disks of one guest, or with --each one guest each. */
  for (; optind < argc; optind++)
    if (gbox_opts_handle (&o, 'a', argv[optind]) != 1)
      usage (EXIT_FAILURE);
  if (gbox_opts_check (&o) == -1)
    usage (EXIT_FAILURE);
  /* Options that would otherwise be silently ignored. */
  if (d.uuid) {
    fprintf (stderr, "%s: error: --uuid names libvirt guests by their "
             "UUID; disk images have none (guestbox does not read libvirt), "
             "so each row is named after its image\n", program);
    usage (EXIT_FAILURE);
  }
  if (!d.each && (d.one_per_guest || d.parallel_given)) {
    fprintf (stderr, "%s: error: --one-per-guest and -P only apply with "
             "--each (the disks given are those of one guest, examined "
             "by one appliance)\n", program);
    usage (EXIT_FAILURE);
  }
  if (d.human && d.csv) {
    fprintf (stderr, "%s: error: you cannot use -h and --csv options "
             "together\n", program);
    usage (EXIT_FAILURE);
  }

  signal (SIGPIPE, SIG_IGN);
  gbox_install_signal_handlers ();

  if (d.each) {
    nguests = o.nr_drives;
    per = d.one_per_guest ? 1 : EACH_MAX_DISKS;
    /* Spread the images over the -P appliances. */
    if (d.parallel > 1 && (nguests + d.parallel - 1) / d.parallel < per)
      per = (nguests + d.parallel - 1) / d.parallel;
    nbatches = (nguests + per - 1) / per;
  }
  else {
    if (o.nr_drives > EACH_MAX_DISKS) {
      fprintf (stderr, "%s: error: too many disks for one guest (at most "
               "%d)\n", program, EACH_MAX_DISKS);
      exit (EXIT_FAILURE);
    }
    nguests = nbatches = 1;
    per = o.nr_drives;
  }
  guests = calloc (nguests, sizeof *guests);
  batches = calloc (nbatches, sizeof *batches);
  if (guests == NULL || batches == NULL) {
    perror (program);
    exit (EXIT_FAILURE);
  }
  for (i = 0; i < nguests; ++i) {
    guests[i].name = display_name (o.drives[i].source,
                                   d.each ? 0 : o.nr_drives - 1);
    if (guests[i].name == NULL) {
      perror (program);
      exit (EXIT_FAILURE);
    }
  }
  for (i = 0; i < nbatches; ++i) {
    batches[i].d = &d;
    batches[i].o = &o;
    batches[i].guests = guests;
    batches[i].first = i * per;
    batches[i].count = d.each ? (nguests - i * per < per ? nguests - i * per
                                 : per) : 1;
  }
  if (!d.each) {
    /* One guest of all the disks: its batch adds every drive. */
    batches[0].count = 1;
  }

  if (d.each)
    run_batches (batches, nbatches, d.parallel ? d.parallel : 1);
  else {
    /* All the -a disks are one guest: one handle, every drive. */
    CLEANUP_XDR_FREE (gbox_df_ret) struct gbox_df_ret ret = { 0 };
    FILE *fp = open_memstream (&guests[0].out, &guests[0].outlen);
    gbox_h *h = gbox_create ();

    if (h == NULL || fp == NULL) {
      perror (program);
      exit (EXIT_FAILURE);
    }
    gbox_opts_setup_handle (h, &o);
    if (gbox_opts_add_drives (h, &o, 1) == -1 || gbox_launch (h) == -1 ||
        (o.nr_keys > 0 && gbox_opts_storage (h, &o) == -1) ||
        gbox_df (h, &ret) == -1)
      guests[0].error = strdup (gbox_last_error (h));
    else
      for (i = 0; i < ret.entries.entries_len; ++i)
        print_stat (fp, &d, guests[0].name,
                    ret.entries.entries_val[i].device,
                    &ret.entries.entries_val[i].st);
    fclose (fp);
    gbox_close (h);
  }

  if (d.each || guests[0].error == NULL)
    print_title (&d);
  for (i = 0; i < nguests; ++i) {
    if (guests[i].error) {
      fflush (stdout);
      fprintf (stderr, "%s: error: %s: %s\n", program, guests[i].name,
               guests[i].error);
      errors++;
    }
    else if (guests[i].out)
      fwrite (guests[i].out, 1, guests[i].outlen, stdout);
    free (guests[i].name);
    free (guests[i].out);
    free (guests[i].error);
  }
  free (guests);
  free (batches);
  gbox_opts_free (&o);
  if (fflush (stdout) == EOF || ferror (stdout)) {
    if (errno != EPIPE)
      fprintf (stderr, "%s: error: write: %s\n", program, strerror (errno));
    exit (EXIT_FAILURE);
  }
  exit (errors == 0 ? EXIT_SUCCESS : EXIT_FAILURE);
}
