/* guestbox - virt-df: the output formats.
 * Copyright (C) 2026 the guestbox authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

/**
 * What virt-df prints once a guest has been examined: the libguestfs
 * virt-df text and CSV lines (byte for byte, -h and -i included), one
 * JSON object per filesystem or failed guest (JSON Lines, built with
 * json-c), and the Prometheus text format that node-exporter's
 * textfile collector reads, written to a temporary file beside the
 * target and renamed over it, so that a reader never sees half a file.
 */

#include <config.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <inttypes.h>
#include <errno.h>
#include <math.h>
#include <time.h>
#include <unistd.h>
#include <sys/stat.h>

#include <json-c/json.h>

#include "cleanups.h"
#include "output.h"
#include "virt-df.h"

void
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

void
print_guest (FILE *fp, const struct df_opts *d, const struct guest *g)
{
  /* --uuid names libvirt guests by their UUID; an image has none and
   * keeps its name (as with the libguestfs tool). */
  const char *name = d->uuid && g->uuid ? g->uuid : g->name;
  size_t i;

  for (i = 0; i < g->nr_rows; ++i)
    print_stat (fp, d, name, g->rows[i].device, &g->rows[i].st);
}

/* "guest", then "image" or "domain" and "uuid". */
static json_object *
guest_object (const struct guest *g)
{
  json_object *o = json_object_new_object ();

  json_object_object_add (o, "guest", gbox_json_new_string (g->name));
  if (g->image)
    json_object_object_add (o, "image", gbox_json_new_string (g->image));
  if (g->domain)
    json_object_object_add (o, "domain", gbox_json_new_string (g->domain));
  if (g->uuid)
    json_object_object_add (o, "uuid", gbox_json_new_string (g->uuid));
  return o;
}

/* A percentage with one decimal, as the CSV output, printed as such
 * (not as the nearest double's 17 digits). */
static json_object *
percent_of (int64_t part, int64_t whole)
{
  double v = whole > 0 ? 100. * part / whole : 0;
  char buf[32];

  snprintf (buf, sizeof buf, "%.1f", v);
  return json_object_new_double_s (strtod (buf, NULL), buf);
}

static void
emit (FILE *fp, json_object *o)
{
  fputs (json_object_to_json_string_ext (o, JSON_C_TO_STRING_PLAIN |
                                         JSON_C_TO_STRING_NOSLASHESCAPE), fp);
  fputc ('\n', fp);
  json_object_put (o);
}

void
print_guest_json (FILE *fp, const struct guest *g)
{
  size_t i;

  if (g->error) {
    json_object *o = guest_object (g);
    json_object_object_add (o, "error", gbox_json_new_string (g->error));
    emit (fp, o);
    return;
  }
  for (i = 0; i < g->nr_rows; ++i) {
    const struct row *r = &g->rows[i];
    const struct gbox_statvfs *st = &r->st;
    json_object *o = guest_object (g);

    json_object_object_add (o, "filesystem", gbox_json_new_string (r->device));
    json_object_object_add (o, "type", gbox_json_new_string (r->type));
    json_object_object_add (o, "block_size", json_object_new_int64 (st->bsize));
    json_object_object_add (o, "blocks", json_object_new_int64 (st->blocks));
    json_object_object_add (o, "blocks_free", json_object_new_int64 (st->bfree));
    json_object_object_add (o, "blocks_available",
                            json_object_new_int64 (st->bavail));
    json_object_object_add (o, "size_bytes",
                            json_object_new_int64 (st->blocks * st->bsize));
    json_object_object_add (o, "used_bytes",
                            json_object_new_int64 ((st->blocks - st->bfree) *
                                                   st->bsize));
    json_object_object_add (o, "available_bytes",
                            json_object_new_int64 (st->bavail * st->bsize));
    json_object_object_add (o, "use_percent",
                            percent_of (st->blocks - st->bfree, st->blocks));
    json_object_object_add (o, "inodes", json_object_new_int64 (st->files));
    json_object_object_add (o, "inodes_used",
                            json_object_new_int64 (st->files - st->ffree));
    json_object_object_add (o, "inodes_free", json_object_new_int64 (st->ffree));
    json_object_object_add (o, "inodes_use_percent",
                            percent_of (st->files - st->ffree, st->files));
    emit (fp, o);
  }
}

/* A Prometheus label value: backslash, double quote and newline
 * escaped; other control bytes and invalid UTF-8 become '?'. */
static void
label (FILE *fp, const char *s)
{
  const unsigned char *p = (const unsigned char *) s;

  fputc ('"', fp);
  while (*p) {
    size_t len = 0, k;

    if (*p < 0x80)
      len = 1;
    else if ((*p & 0xe0) == 0xc0 && *p >= 0xc2)
      len = 2;
    else if ((*p & 0xf0) == 0xe0)
      len = 3;
    else if ((*p & 0xf8) == 0xf0 && *p <= 0xf4)
      len = 4;
    for (k = 1; k < len; ++k)
      if ((p[k] & 0xc0) != 0x80)
        len = 0;
    if (len == 0) {
      fputc ('?', fp);
      p++;
      continue;
    }
    if (*p == '\\')
      fputs ("\\\\", fp);
    else if (*p == '"')
      fputs ("\\\"", fp);
    else if (*p == '\n')
      fputs ("\\n", fp);
    else if (*p < 0x20 || *p == 0x7f)
      fputc ('?', fp);
    else
      fwrite (p, 1, len, fp);
    p += len;
  }
  fputc ('"', fp);
}

static void
guest_labels (FILE *fp, const struct guest *g)
{
  fputs ("guest=", fp);
  label (fp, g->name);
  if (g->uuid) {
    fputs (",uuid=", fp);
    label (fp, g->uuid);
  }
}

/* The per-filesystem metrics: name, help, and the value of a row. */
enum metric { SIZE, USED, AVAIL, FILES, FILES_FREE };
static const struct {
  const char *name, *help;
} metrics[] = {
  [SIZE] = { "guestbox_filesystem_size_bytes",
             "Size of the guest's filesystem in bytes." },
  [USED] = { "guestbox_filesystem_used_bytes",
             "Bytes used on the guest's filesystem." },
  [AVAIL] = { "guestbox_filesystem_avail_bytes",
              "Bytes available to unprivileged users on the guest's "
              "filesystem." },
  [FILES] = { "guestbox_filesystem_files",
              "Inodes of the guest's filesystem." },
  [FILES_FREE] = { "guestbox_filesystem_files_free",
                   "Free inodes of the guest's filesystem." },
};

static int64_t
value (enum metric m, const struct gbox_statvfs *st)
{
  switch (m) {
  case SIZE: return st->blocks * st->bsize;
  case USED: return (st->blocks - st->bfree) * st->bsize;
  case AVAIL: return st->bavail * st->bsize;
  case FILES: return st->files;
  case FILES_FREE: return st->ffree;
  }
  return 0;
}

int
write_prometheus (const char *file, const struct guest *guests, size_t n)
{
  CLEANUP_FREE char *tmp = NULL;
  FILE *fp;
  size_t m, i, j;
  int fd;

  if (asprintf (&tmp, "%s.tmp.XXXXXX", file) == -1)
    goto err;
  fd = mkstemp (tmp);
  if (fd == -1)
    goto err;
  /* Readable by the exporter, which may run as another user. */
  if (fchmod (fd, 0644) == -1 || (fp = fdopen (fd, "w")) == NULL) {
    close (fd);
    goto err_unlink;
  }
  for (m = 0; m < sizeof metrics / sizeof metrics[0]; ++m) {
    fprintf (fp, "# HELP %s %s\n# TYPE %s gauge\n", metrics[m].name,
             metrics[m].help, metrics[m].name);
    for (i = 0; i < n; ++i)
      for (j = 0; j < guests[i].nr_rows; ++j) {
        const struct row *r = &guests[i].rows[j];
        fprintf (fp, "%s{", metrics[m].name);
        guest_labels (fp, &guests[i]);
        fputs (",device=", fp);
        label (fp, r->device);
        fputs (",fstype=", fp);
        label (fp, r->type);
        fprintf (fp, "} %" PRIi64 "\n", value (m, &r->st));
      }
  }
  fputs ("# HELP guestbox_guest_error 1 if the guest could not be "
         "examined, else 0.\n# TYPE guestbox_guest_error gauge\n", fp);
  for (i = 0; i < n; ++i) {
    fputs ("guestbox_guest_error{", fp);
    guest_labels (fp, &guests[i]);
    fprintf (fp, "} %d\n", guests[i].error ? 1 : 0);
  }
  fprintf (fp, "# HELP guestbox_df_last_run_timestamp_seconds When virt-df "
           "wrote this file.\n# TYPE guestbox_df_last_run_timestamp_seconds "
           "gauge\nguestbox_df_last_run_timestamp_seconds %lld\n",
           (long long) time (NULL));
  if (fflush (fp) == EOF || ferror (fp) || fsync (fileno (fp)) == -1) {
    fclose (fp);
    goto err_unlink;
  }
  if (fclose (fp) == EOF)
    goto err_unlink;
  if (rename (tmp, file) == -1)
    goto err_unlink;
  return 0;

 err_unlink:
  fprintf (stderr, "%s: error: --prometheus: %s: %s\n", program, file,
           strerror (errno));
  unlink (tmp);
  return -1;
 err:
  fprintf (stderr, "%s: error: --prometheus: %s: %s\n", program, file,
           strerror (errno));
  return -1;
}
