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
 *
 * virt-df with no -a or -d: every guest of the libvirt connection (-c),
 * sorted by name, each named as libvirt names it and seeing its own
 * disks as /dev/sda, /dev/sdb..., many guests per appliance as in
 * --each.  -d GUEST adds a libvirt guest's disks like -a.
 *
 * Isolation: in the batch modes a guest that cannot be examined fails
 * alone, and a guest is reported as failed only when it failed alone.
 * An image that cannot be added (missing, unreadable, refused format)
 * fails before launch; when the appliance of a batch cannot start or
 * its df call fails (qemu refuses an image, a mount hangs until the
 * call times out, the appliance dies), the guest the failure points at
 * (the disk qemu refused, the disk the appliance was mounting) is
 * examined alone and the others together again; without such a guest
 * the batch is split in halves (each guest alone after a df call timed
 * out), down to the guests that fail alone.  The df call's timeout
 * runs per mount (the appliance sends a progress message before each),
 * and launch waits that grow with the number of disks scale with it
 * (common/launch.c, common/drives.c).  The exit status is 1 if any
 * guest failed.
 *
 * --shard I/N keeps the guests whose name hashes to shard I (FNV-1a of
 * the image path as given, or of the libvirt name, modulo N), so that
 * N runs on any number of hosts share one audit and a guest stays in
 * its shard when others come and go.  --json prints JSON Lines,
 * --prometheus FILE writes node-exporter's textfile format (output.c).
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
#include <sys/stat.h>
#include <unistd.h>

#include "guestbox.h"
#include "cleanups.h"
#include "options.h"
#include "output.h"
#include "libvirt.h"
#include "virt-df.h"

const char program[] = "virt-df";

GBOX_DEFINE_XDR_CLEANUP (gbox_df_ret)

/* Disks one appliance takes in the batch modes. */
#define EACH_MAX_DISKS 255

/* A batch of guests examined by one appliance. */
struct batch {
  const struct df_opts *d;
  struct gbox_opts *o;
  struct guest *guests;         /* the whole array */
  size_t first, count;          /* guests [first, first + count) */
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
            "  %s [--options] -d domname\n"
            "  %s [--options] [-c URI]      (every libvirt guest)\n"
            "Options:\n"
            "  -a|--add image       Add image\n"
            "  -c|--connect uri     Specify libvirt URI for -d option\n"
            "  --csv                Output as Comma-Separated Values\n"
            "  -d|--domain guest    Add disks from libvirt guest\n"
            "  --each               Every image is a separate guest\n"
            "  --echo-keys          Show keys typed on the terminal\n"
            "  --format[=raw|..]    Force disk format for -a option\n"
            "  -h|--human-readable  Human-readable sizes\n"
            "  --help               Display brief help\n"
            "  -i|--inodes          Display inodes\n"
            "  --json               One JSON object per filesystem (JSON Lines)\n"
            "  --one-per-guest      With --each, one appliance per image\n"
            "  -P nr_threads        Use at most nr_threads appliances\n"
            "  --prometheus FILE    Also write metrics for node-exporter to FILE\n"
            "  --shard I/N          Examine only shard I of N of the guests\n"
            "  --uuid               Name libvirt guests by their UUID\n"
            "  --key ID:key:KEY     Key of a LUKS device (or ID:file:FILE)\n"
            "  --keys-from-stdin    Read LUKS keys from stdin\n"
            "  -v|--verbose         Verbose messages\n"
            "  -V|--version         Display version and exit\n"
            "  -x                   Trace each call to the appliance\n"
            "For more information, see the manpage %s(1).\n",
            program, program, program, program, program, program);
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


/* Validate one row of the reply (it comes from the appliance). */
static bool
valid_stat (const struct gbox_statvfs *st)
{
  return st->bsize > 0 && st->bsize <= (1 << 30) &&
    st->blocks >= 0 && st->blocks <= INT64_MAX / st->bsize &&
    st->bfree >= 0 && st->bfree <= st->blocks &&
    st->bavail >= 0 && st->bavail <= st->blocks &&
    st->files >= 0 && st->ffree >= 0 && st->ffree <= st->files;
}

static int
add_row (struct guest *g, const char *dev, const char *type,
         const struct gbox_statvfs *st)
{
  struct row *r = realloc (g->rows, (g->nr_rows + 1) * sizeof *r);

  if (r == NULL)
    return -1;
  g->rows = r;
  r = &g->rows[g->nr_rows];
  r->device = strdup (dev);
  r->type = strdup (type);
  r->st = *st;
  if (r->device == NULL || r->type == NULL) {
    free (r->device);
    free (r->type);
    return -1;
  }
  g->nr_rows++;
  return 0;
}

static void
set_error (struct guest *g, const char *msg)
{
  size_t i;

  for (i = 0; i < g->nr_rows; ++i) {
    free (g->rows[i].device);
    free (g->rows[i].type);
  }
  free (g->rows);
  g->rows = NULL;
  g->nr_rows = 0;
  free (g->error);
  g->error = strdup (msg && *msg ? msg : "unknown error");
  if (g->error == NULL) {
    perror (program);
    exit (EXIT_FAILURE);
  }
}

/* A guest still to be examined: not failed, not reported. */
static bool
pending (const struct guest *g)
{
  return g->error == NULL && !g->done;
}

/* How a batch failed. */
struct failure {
  char *err;                    /* the message */
  int errnum;
  bool df_timeout;              /* the df call timed out (a hung mount) */
  size_t suspect;               /* the guest it points at, or SIZE_MAX */
  bool suspect_known;           /* qemu refused the suspect's disk */
};

static void examine (const struct df_opts *d, struct gbox_opts *o,
                     struct guest *guests, size_t first, size_t count,
                     bool hints);

/* The pending guests of [FIRST, FIRST + COUNT) failed together (F).
 * A guest fails only alone: if one guest is left, that one has
 * failed; if the failure points at one guest (qemu refused its disk,
 * or the appliance said it was mounting that guest's disk when the
 * call hung or the appliance died), that guest is examined alone and
 * the others together again (a hint from the appliance is taken once:
 * it may be lying); after a df call that timed out without a hint,
 * each guest is examined alone, so that a hang costs one more timeout,
 * not one per halving; else each half is examined again. */
static void
split (const struct df_opts *d, struct gbox_opts *o, struct guest *guests,
       size_t first, size_t count, const struct failure *f, bool hints)
{
  size_t k, live = 0, last = 0;

  for (k = first; k < first + count; ++k)
    if (pending (&guests[k])) {
      live++;
      last = k;
    }
  if (live == 0)
    return;
  if (live == 1) {
    set_error (&guests[last], f->err);
    return;
  }
  if (f->suspect != SIZE_MAX && (hints || f->suspect_known)) {
    if (o->verbose)
      fprintf (stderr, "%s: debug: %zu guests failed together (%s): "
               "examining %s alone, then the others\n", program, live,
               f->err, guests[f->suspect].name);
    examine (d, o, guests, f->suspect, 1, true);
    examine (d, o, guests, first, count, f->suspect_known && hints);
    return;
  }
  if (o->verbose)
    fprintf (stderr, "%s: debug: %zu guests failed together (%s): "
             "examining %s again\n", program, live, f->err,
             f->df_timeout ? "each alone" : "each half");
  if (f->df_timeout) {
    for (k = first; k < first + count; ++k)
      if (pending (&guests[k]))
        examine (d, o, guests, k, 1, true);
    return;
  }
  /* Halves of the pending guests, so that each half holds some. */
  {
    size_t half = 0, mid = first;

    for (k = first; k < first + count && half < live / 2; ++k)
      if (pending (&guests[k])) {
        half++;
        mid = k + 1;
      }
    examine (d, o, guests, first, mid - first, true);
    examine (d, o, guests, mid, first + count - mid, true);
  }
}

/* The progress messages of the df call: which disk is being mounted. */
static void
df_progress (gbox_h *h, void *opaque, int proc, uint64_t position,
             uint64_t total)
{
  long *mounting = opaque;

  (void) h;
  (void) total;
  if (proc == GBOX_PROC_DF)
    *mounting = position >= 1 && position <= EACH_MAX_DISKS ?
      (long) position - 1 : -1;
}

/* Examine the pending guests of [FIRST, FIRST + COUNT) with one
 * appliance.  HINTS: whether a failure may be pinned on the guest the
 * appliance names. */
static void
examine (const struct df_opts *d, struct gbox_opts *o, struct guest *guests,
         size_t first, size_t count, bool hints)
{
  CLEANUP_XDR_FREE (gbox_df_ret) struct gbox_df_ret ret = { 0 };
  CLEANUP_FREE size_t *base = NULL;
  struct failure f = { .suspect = SIZE_MAX };
  size_t i, k, j, ndisks = 0;
  long mounting = -1, bad = -1;
  bool in_df = false;
  gbox_h *h;

  for (k = first; k < first + count; ++k)
    if (pending (&guests[k]))
      break;
  if (k == first + count)
    return;
  base = calloc (count, sizeof *base);
  if (base == NULL) {
    perror (program);
    exit (EXIT_FAILURE);
  }
  h = gbox_opts_new_handle (o);
  gbox_set_progress_callback (h, df_progress, &mounting);
  /* A guest whose disks cannot be added fails alone, before launch. */
  for (k = 0; k < count; ++k) {
    struct guest *g = &guests[first + k];

    base[k] = SIZE_MAX;
    if (!pending (g))
      continue;
    base[k] = gbox_nr_drives (h);
    for (j = 0; j < g->count; ++j)
      if (gbox_opts_add_drive (h, o, g->first + j, 1) == -1) {
        set_error (g, gbox_last_error (h));
        base[k] = SIZE_MAX;     /* rows on its disks go to nobody */
        break;
      }
    ndisks += g->count;
  }
  if (ndisks == 0)
    goto out;
  if (gbox_launch (h) == -1)
    bad = gbox_launch_failed_drive (h);
  else if (o->nr_keys > 0 && gbox_opts_storage (h, o) == -1)
    bad = -1;
  else {
    in_df = true;
    if (gbox_df (h, &ret) == 0)
      goto done;
    bad = mounting;
  }

  /* The batch failed. */
  f.errnum = gbox_last_errno (h);
  f.err = strdup (gbox_last_error (h) ? gbox_last_error (h) : "failed");
  if (f.err == NULL) {
    perror (program);
    exit (EXIT_FAILURE);
  }
  f.df_timeout = in_df && f.errnum == ETIMEDOUT;
  f.suspect_known = !in_df;
  for (k = 0; bad >= 0 && k < count; ++k) {
    struct guest *gk = &guests[first + k];
    if (pending (gk) && base[k] != SIZE_MAX && (size_t) bad >= base[k] &&
        (size_t) bad < base[k] + gk->count)
      f.suspect = first + k;
  }
  gbox_close (h);
  split (d, o, guests, first, count, &f, hints);
  free (f.err);
  return;

 done:
  for (i = 0; i < ret.entries.entries_len; ++i) {
    const struct gbox_df_entry *e = &ret.entries.entries_val[i];
    CLEANUP_FREE char *dev = NULL;
    struct guest *g = NULL;

    for (k = 0; e->disk >= 0 && k < count; ++k) {
      struct guest *gk = &guests[first + k];
      if (base[k] != SIZE_MAX && (size_t) e->disk >= base[k] &&
          (size_t) e->disk < base[k] + gk->count) {
        g = gk;
        break;
      }
    }
    if (g && g->error)          /* failed already */
      continue;
    if (g == NULL) {
      fprintf (stderr, "%s: warning: %s: cannot tell which guest holds "
               "it (skipped)\n", program, e->device);
      continue;
    }
    if (!valid_stat (&e->st)) {
      CLEANUP_FREE char *msg = NULL;
      if (asprintf (&msg, "invalid figures for %s in the appliance's "
                    "reply", e->device) == -1)
        msg = NULL;
      set_error (g, msg ? msg : "invalid figures in the appliance's reply");
      continue;
    }
    dev = rename_device (e->device, base[k]);
    if (dev == NULL || add_row (g, dev, e->type, &e->st) == -1) {
      perror (program);
      exit (EXIT_FAILURE);
    }
  }
  /* Every guest of this appliance is reported (with or without rows). */
  for (k = first; k < first + count; ++k)
    if (guests[k].error == NULL)
      guests[k].done = true;
 out:
  gbox_close (h);
}

static void *
run_batch (void *bv)
{
  struct batch *b = bv;

  examine (b->d, b->o, b->guests, b->first, b->count, true);
  return NULL;
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

static char *
xstrdup (const char *s)
{
  char *r = s ? strdup (s) : NULL;

  if (s && r == NULL) {
    perror (program);
    exit (EXIT_FAILURE);
  }
  return r;
}

/* No -a, no -d: every guest of the libvirt connection becomes -d
 * options (their disks, each guest one group), in name order.  A guest
 * whose disks cannot be read fails alone: its message in *ERRS. */
static int
add_all_domains (struct gbox_opts *o, char ***errs, char ***uuids, size_t *n)
{
  struct gbox_libvirt_domain *doms;
  char *err = NULL;
  size_t i, k;

  if (gbox_libvirt_list_domains (o->libvirt_uri, &doms, errs, n, &err) == -1) {
    fprintf (stderr, "%s: error: %s\n", program, err ? err : "libvirt");
    free (err);
    return -1;
  }
  for (i = 0; i < *n; ++i) {
    struct gbox_opts_drive *nd;
    size_t nk = doms[i].nr_disks ? doms[i].nr_disks : 1;

    nd = realloc (o->drives, (o->nr_drives + nk) * sizeof *nd);
    if (nd == NULL) {
      perror (program);
      exit (EXIT_FAILURE);
    }
    o->drives = nd;
    for (k = 0; k < nk; ++k) {
      struct gbox_opts_drive *dr = &o->drives[o->nr_drives + k];
      memset (dr, 0, sizeof *dr);
      dr->group = i;
      dr->domain = xstrdup (doms[i].name);
      dr->domain_active = doms[i].active;
      if (doms[i].nr_disks == 0) {
        /* A placeholder: the guest has its error already. */
        dr->source = xstrdup (doms[i].name);
        continue;
      }
      dr->source = doms[i].disks[k].source;
      dr->format = doms[i].disks[k].format;
      dr->readonly = doms[i].disks[k].readonly;
      doms[i].disks[k].source = doms[i].disks[k].format = NULL;
    }
    o->nr_drives += nk;
    if (doms[i].nr_disks == 0 && (*errs)[i] == NULL)
      (*errs)[i] = xstrdup ("the libvirt guest has no disks");
  }
  o->nr_groups = *n;
  *uuids = calloc (*n ? *n : 1, sizeof **uuids);
  if (*uuids == NULL) {
    perror (program);
    exit (EXIT_FAILURE);
  }
  for (i = 0; i < *n; ++i) {
    (*uuids)[i] = doms[i].uuid;
    doms[i].uuid = NULL;
    gbox_libvirt_free_domain (&doms[i]);
  }
  free (doms);
  return 0;
}

/* Guest I of the groups of drives: [FIRST, FIRST + COUNT). */
static void
group_range (const struct gbox_opts *o, size_t group, size_t *first,
             size_t *count)
{
  size_t i;

  *first = *count = 0;
  for (i = 0; i < o->nr_drives; ++i)
    if (o->drives[i].group == group) {
      if (*count == 0)
        *first = i;
      (*count)++;
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
    JSON_OPTION,
    PROMETHEUS_OPTION,
    SHARD_OPTION,
  };
  static const char short_options[] = "a:c:d:hiP:vVx";
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
    GBOX_OPTS_LIBVIRT_LONG,
    { "json", no_argument, NULL, JSON_OPTION },
    { "prometheus", required_argument, NULL, PROMETHEUS_OPTION },
    { "shard", required_argument, NULL, SHARD_OPTION },
    { NULL, 0, NULL, 0 }
  };
  struct gbox_opts o;
  struct df_opts d = { 0 };
  struct guest *guests;
  struct batch *batches;
  char **dom_errs = NULL, **dom_uuids = NULL;
  size_t nguests, nbatches, nall, i, j, per;
  unsigned errors = 0;
  bool batch_mode;
  int c, r;

  gbox_opts_init (&o, program, short_options, long_options, true);
  gbox_opts_set_argv (&o, argc, argv);
  /* As the libguestfs virt-df: encrypted devices without a --key are
   * left out, never asked for. */
  o.keys_optional = true;
  o.allow_no_drives = true;

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
    case JSON_OPTION: d.json = true; continue;
    case PROMETHEUS_OPTION: d.prometheus = optarg; continue;
    case SHARD_OPTION:
      if (gbox_opts_parse_shard (program, optarg, &d.shard,
                                 &d.nr_shards) == -1)
        usage (EXIT_FAILURE);
      continue;
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
   * a word with a '/' or naming a file is an image, any other word a
   * libvirt guest; with --each every word is an image. */
  for (; optind < argc; optind++)
    if (gbox_opts_handle (&o, d.each || strchr (argv[optind], '/') ||
                          access (argv[optind], F_OK) == 0 ? 'a' : 'd',
                          argv[optind]) != 1)
      usage (EXIT_FAILURE);
  if (d.each && o.nr_drives == 0) {
    fprintf (stderr, "%s: error: --each: no image given\n", program);
    usage (EXIT_FAILURE);
  }
  if (gbox_opts_check (&o) == -1)
    usage (EXIT_FAILURE);
  d.all_domains = o.nr_drives == 0;
  batch_mode = d.each || d.all_domains;
  /* Options that would otherwise be silently ignored. */
  if (!batch_mode && (d.one_per_guest || d.parallel_given)) {
    fprintf (stderr, "%s: error: --one-per-guest and -P only apply with "
             "--each or to every libvirt guest (the disks given are those "
             "of one guest, examined by one appliance)\n", program);
    usage (EXIT_FAILURE);
  }
  if (!batch_mode && d.nr_shards) {
    fprintf (stderr, "%s: error: --shard only applies with --each or to "
             "every libvirt guest (no -a or -d)\n", program);
    usage (EXIT_FAILURE);
  }
  if (d.human && d.csv) {
    fprintf (stderr, "%s: error: you cannot use -h and --csv options "
             "together\n", program);
    usage (EXIT_FAILURE);
  }
  if (d.json && (d.human || d.csv || d.inodes)) {
    fprintf (stderr, "%s: error: --json prints every figure in bytes and "
             "inodes: it cannot be used with -h, -i or --csv\n", program);
    usage (EXIT_FAILURE);
  }

  /* The metrics file is replaced by a rename: only a regular file (or
   * none yet) can be, never a device such as /dev/null or a FIFO. */
  if (d.prometheus) {
    struct stat st;

    if (lstat (d.prometheus, &st) == 0 && !S_ISREG (st.st_mode)) {
      fprintf (stderr, "%s: error: --prometheus: %s: not a regular file "
               "(the file is replaced atomically by a rename)\n",
               program, d.prometheus);
      exit (EXIT_FAILURE);
    }
  }

  signal (SIGPIPE, SIG_IGN);
  gbox_install_signal_handlers ();

  if (d.all_domains &&
      add_all_domains (&o, &dom_errs, &dom_uuids, &nall) == -1)
    exit (EXIT_FAILURE);

  /* The guests. */
  nguests = batch_mode ? o.nr_groups : 1;
  guests = calloc (nguests ? nguests : 1, sizeof *guests);
  if (guests == NULL) {
    perror (program);
    exit (EXIT_FAILURE);
  }
  for (i = 0; i < nguests; ++i) {
    struct guest *g = &guests[i];
    const struct gbox_opts_drive *dr;

    if (batch_mode)
      group_range (&o, i, &g->first, &g->count);
    else {
      g->first = 0;
      g->count = o.nr_drives;
    }
    dr = &o.drives[g->first];
    if (dr->domain) {
      g->name = xstrdup (dr->domain);
      g->domain = xstrdup (dr->domain);
      g->key = xstrdup (dr->domain);
    }
    else {
      g->name = display_name (dr->source, 0);
      g->key = xstrdup (dr->source);
      if (batch_mode || o.nr_drives == 1)
        g->image = xstrdup (dr->source);
    }
    if (g->name == NULL) {
      perror (program);
      exit (EXIT_FAILURE);
    }
    if (!batch_mode && o.nr_groups > 1) {
      /* One guest of several -a/-d: "first" and one '+' for each
       * further option, as libguestfs names it. */
      size_t len = strlen (g->name), more = o.nr_groups - 1;
      char *nn = realloc (g->name, len + more + 1);
      if (nn == NULL) {
        perror (program);
        exit (EXIT_FAILURE);
      }
      memset (nn + len, '+', more);
      nn[len + more] = '\0';
      g->name = nn;
    }
    if (d.all_domains) {
      g->uuid = dom_uuids[i];
      dom_uuids[i] = NULL;
      if (dom_errs[i]) {
        g->error = dom_errs[i];
        dom_errs[i] = NULL;
      }
    }
    if (g->error == NULL && g->count > EACH_MAX_DISKS) {
      fprintf (stderr, "%s: error: %s: too many disks for one guest (at "
               "most %d)\n", program, g->name, EACH_MAX_DISKS);
      if (!batch_mode)
        exit (EXIT_FAILURE);
      set_error (g, "too many disks for one guest");
    }
  }
  free (dom_errs);
  free (dom_uuids);

  /* --shard: keep this shard's guests, in order. */
  if (d.nr_shards) {
    size_t kept = 0;
    for (i = 0; i < nguests; ++i) {
      if (gbox_shard_of (guests[i].key, d.nr_shards) == d.shard)
        guests[kept++] = guests[i];
      else {
        free (guests[i].name);
        free (guests[i].key);
        free (guests[i].image);
        free (guests[i].domain);
        free (guests[i].uuid);
        free (guests[i].error);
      }
    }
    nguests = kept;
  }

  /* Batches of guests, at most EACH_MAX_DISKS disks each (one guest
   * each with --one-per-guest), spread over the -P appliances. */
  batches = calloc (nguests ? nguests : 1, sizeof *batches);
  if (batches == NULL) {
    perror (program);
    exit (EXIT_FAILURE);
  }
  per = nguests;
  if (d.one_per_guest)
    per = 1;
  else if (d.parallel > 1 && nguests > 0)
    per = (nguests + d.parallel - 1) / d.parallel;
  nbatches = 0;
  for (i = 0; i < nguests; ) {
    size_t disks = 0;

    batches[nbatches].d = &d;
    batches[nbatches].o = &o;
    batches[nbatches].guests = guests;
    batches[nbatches].first = i;
    for (j = i; j < nguests && j - i < per; ++j) {
      size_t n = guests[j].error ? 0 : guests[j].count;
      if (j > i && disks + n > EACH_MAX_DISKS)
        break;
      disks += n;
    }
    batches[nbatches].count = j - i;
    nbatches++;
    i = j;
  }
  run_batches (batches, nbatches, d.parallel ? d.parallel : 1);

  if (!d.json && (batch_mode || guests[0].error == NULL))
    print_title (&d);
  for (i = 0; i < nguests; ++i) {
    struct guest *g = &guests[i];

    if (d.json)
      print_guest_json (stdout, g);
    else
      print_guest (stdout, &d, g);
    if (g->error) {
      CLEANUP_FREE char *msg = xstrdup (g->error);
      /* The appliance's text is guest-controlled. */
      for (j = 0; msg[j]; ++j)
        if ((unsigned char) msg[j] < 0x20 || msg[j] == 0x7f)
          msg[j] = '?';
      fflush (stdout);
      /* Most messages about an image name it already. */
      if (g->image && strncmp (msg, g->name, strlen (g->name)) == 0 &&
          msg[strlen (g->name)] == ':')
        fprintf (stderr, "%s: error: %s\n", program, msg);
      else
        fprintf (stderr, "%s: error: %s: %s\n", program, g->name, msg);
      errors++;
    }
  }
  if (d.prometheus && write_prometheus (d.prometheus, guests, nguests) == -1)
    errors++;
  for (i = 0; i < nguests; ++i) {
    for (j = 0; j < guests[i].nr_rows; ++j) {
      free (guests[i].rows[j].device);
      free (guests[i].rows[j].type);
    }
    free (guests[i].rows);
    free (guests[i].name);
    free (guests[i].key);
    free (guests[i].image);
    free (guests[i].domain);
    free (guests[i].uuid);
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
