/* guestbox - virt-filesystems: list filesystems, partitions, block
 * devices and LVM in a disk image.
 * Copyright (C) 2026 the guestbox authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

/**
 * virt-filesystems -a disk.img [--all|--filesystems|--extra|--lvs|--vgs
 * |--pvs|--partitions|--blkdevs] [-l [-h] [--uuid] [--no-title]]
 * [--csv]: one list_storage call gathers everything and the rows are
 * printed in the libguestfs tool's order, columns and bytes (text with
 * aligned columns, or CSV), or with --json one JSON object a row
 * (JSON Lines) with every field whatever -l says.  Whatever the
 * appliance's device and filesystem lists hold (md, LUKS, btrfs
 * subvolumes, LVs) is printed.
 */

#include <config.h>

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <json.h>

#include "guestbox.h"
#include "cleanups.h"
#include "options.h"
#include "output.h"

static const char program[] = "virt-filesystems";

enum {
  OUTPUT_FILESYSTEMS = 1,
  OUTPUT_FILESYSTEMS_EXTRA = 2,
  OUTPUT_PARTITIONS = 4,
  OUTPUT_BLOCKDEVS = 8,
  OUTPUT_LVS = 16,
  OUTPUT_VGS = 32,
  OUTPUT_PVS = 64,
  OUTPUT_ALL = 127,
};

enum {
  COLUMN_NAME = 1,
  COLUMN_TYPE = 2,
  COLUMN_VFS_TYPE = 4,
  COLUMN_VFS_LABEL = 8,
  COLUMN_MBR = 16,
  COLUMN_SIZE = 32,
  COLUMN_PARENTS = 64,
  COLUMN_UUID = 128,
};
#define NR_COLUMNS 8

/* What is printed and how; the rows kept for aligned text output. */
struct table {
  int columns;
  bool csv, human, json;
  char **cells;                 /* nr_rows * NR_COLUMNS, NULL = "-" */
  size_t nr_rows;
  size_t width[NR_COLUMNS];
};

static void __attribute__((noreturn))
usage (int status)
{
  if (status != EXIT_SUCCESS)
    fprintf (stderr, "Try '%s --help' for more information.\n", program);
  else
    printf ("%s: list filesystems, partitions, block devices, LVM in a "
            "disk image\n"
            "Usage:\n"
            "  %s [--options] -a disk.img [-a disk.img ...]\n"
            "Options:\n"
            "  -a|--add image       Add image\n"
            "  -c|--connect uri     Specify libvirt URI for -d option\n"
            "  -d|--domain guest    Add disks from libvirt guest\n"
            "  --all                Display everything\n"
            "  --blkdevs|--block-devices\n"
            "                       Display block devices\n"
            "  --blocksize=512|4096 Sector size of the disks of the -a after it\n"
            "  --csv                Output as Comma-Separated Values\n"
            "  --json               One JSON object per row (JSON Lines)\n"
            "  --extra              Display swap and data filesystems\n"
            "  --filesystems        Display mountable filesystems\n"
            "  --format[=raw|..]    Force disk format for -a option\n"
            "  -h|--human-readable  Human-readable sizes in --long output\n"
            "  --help               Display brief help\n"
            "  -l|--long            Long output\n"
            "  --lvs|--logvols|--logical-volumes\n"
            "                       Display LVM logical volumes\n"
            "  --no-title           No title in --long output\n"
            "  --parts|--partitions Display partitions\n"
            "  --pvs|--physvols|--physical-volumes\n"
            "                       Display LVM physical volumes\n"
            "  --uuid|--uuids       Add UUIDs to --long output\n"
            "  -v|--verbose         Verbose messages\n"
            "  -V|--version         Display version and exit\n"
            "  --vgs|--volgroups|--volume-groups\n"
            "                       Display LVM volume groups\n"
            "  -x                   Trace each call to the appliance\n"
            "For more information, see the manpage %s(1).\n",
            program, program, program);
  exit (status);
}

static void
out_of_memory (void)
{
  fprintf (stderr, "%s: error: %s\n", program, strerror (ENOMEM));
  exit (EXIT_FAILURE);
}

/* A copy of S (a label, a UUID: guest data) without control
 * characters, which become '?', before it reaches a terminal. */
static char *
printable (const char *s)
{
  char *r = strdup (s), *p;

  if (r == NULL)
    out_of_memory ();
  for (p = r; *p; ++p)
    if ((unsigned char) *p < 0x20 || *p == 0x7f)
      *p = '?';
  return r;
}

/* One row: STRINGS are the columns in use, in order (NULL = none). */
static void
add_row (struct table *t, const char *const *strings, size_t len)
{
  size_t i;
  char **row;

  if (t->csv) {
    for (i = 0; i < len; ++i) {
      if (i > 0)
        putchar (',');
      if (strings[i]) {
        CLEANUP_FREE char *p = printable (strings[i]);
        gbox_csv_write_field (stdout, p);
      }
    }
    putchar ('\n');
    return;
  }
  row = realloc (t->cells, (t->nr_rows + 1) * NR_COLUMNS * sizeof (char *));
  if (row == NULL)
    out_of_memory ();
  t->cells = row;
  row = &t->cells[t->nr_rows * NR_COLUMNS];
  for (i = 0; i < NR_COLUMNS; ++i) {
    row[i] = NULL;
    if (i < len && strings[i]) {
      size_t w = strlen (strings[i]);
      row[i] = printable (strings[i]);
      if (w == 0)
        w = 1;                  /* "" is printed as "-" */
      if (w > t->width[i])
        t->width[i] = w;
    }
  }
  t->nr_rows++;
}

static void
print_title (struct table *t)
{
  const char *h[NR_COLUMNS];
  size_t n = 0;

  h[n++] = "Name";
  if (t->columns & COLUMN_TYPE) h[n++] = "Type";
  if (t->columns & COLUMN_VFS_TYPE) h[n++] = "VFS";
  if (t->columns & COLUMN_VFS_LABEL) h[n++] = "Label";
  if (t->columns & COLUMN_MBR) h[n++] = "MBR";
  if (t->columns & COLUMN_SIZE) h[n++] = "Size";
  if (t->columns & COLUMN_PARENTS) h[n++] = "Parent";
  if (t->columns & COLUMN_UUID) h[n++] = "UUID";
  add_row (t, h, n);
}

/* PARENTS joined with commas (never NULL). */
static char *
join (gbox_path *parents, u_int n)
{
  size_t len = 1, i;
  char *s;

  for (i = 0; i < n; ++i)
    len += strlen (parents[i]) + 1;
  s = malloc (len);
  if (s == NULL)
    out_of_memory ();
  s[0] = '\0';
  for (i = 0; i < n; ++i) {
    if (i > 0)
      strcat (s, ",");
    strcat (s, parents[i]);
  }
  return s;
}

/* A JSON string or null. */
static json_object *
json_str (const char *s)
{
  json_object *o;

  if (s == NULL)
    return NULL;
  o = gbox_json_new_string (s);
  if (o == NULL)
    out_of_memory ();
  return o;
}

/* --json: one object a row, every field, null where there is none. */
static void
write_json_row (const char *name, const char *type, const char *vfs_type,
                const char *vfs_label, int mbr_id, int64_t size,
                gbox_path *parents, u_int nr_parents, const char *uuid)
{
  json_object *o = json_object_new_object (), *a = json_object_new_array ();
  char mbr[16];
  u_int i;

  if (o == NULL || a == NULL)
    out_of_memory ();
  json_object_object_add (o, "name", json_str (name));
  json_object_object_add (o, "type", json_str (type));
  json_object_object_add (o, "vfs_type", json_str (vfs_type));
  json_object_object_add (o, "vfs_label", json_str (vfs_label));
  if (mbr_id >= 0)
    snprintf (mbr, sizeof mbr, "%02x", (unsigned) mbr_id);
  json_object_object_add (o, "mbr", json_str (mbr_id >= 0 ? mbr : NULL));
  json_object_object_add (o, "size",
                          size >= 0 ? json_object_new_int64 (size) : NULL);
  for (i = 0; i < nr_parents; ++i)
    json_object_array_add (a, json_str (parents[i]));
  json_object_object_add (o, "parents", a);
  json_object_object_add (o, "uuid", json_str (uuid));
  fputs (json_object_to_json_string_ext (o, JSON_C_TO_STRING_PLAIN |
                                         JSON_C_TO_STRING_NOSLASHESCAPE),
         stdout);
  putchar ('\n');
  json_object_put (o);
}

static void
write_row (struct table *t, const char *name, const char *type,
           const char *vfs_type, const char *vfs_label, int mbr_id,
           int64_t size, gbox_path *parents, u_int nr_parents,
           const char *uuid)
{
  const char *s[NR_COLUMNS];
  char num[GBOX_HUMAN_BUFLEN], mbr[16];
  CLEANUP_FREE char *p = NULL;
  size_t n = 0;

  if (t->json) {
    write_json_row (name, type, vfs_type, vfs_label, mbr_id, size, parents,
                    nr_parents, uuid);
    return;
  }
  s[n++] = name;
  if (t->columns & COLUMN_TYPE)
    s[n++] = type;
  if (t->columns & COLUMN_VFS_TYPE)
    s[n++] = vfs_type;
  if (t->columns & COLUMN_VFS_LABEL)
    s[n++] = vfs_label;
  if (t->columns & COLUMN_MBR) {
    if (mbr_id >= 0) {
      snprintf (mbr, sizeof mbr, "%02x", (unsigned) mbr_id);
      s[n++] = mbr;
    }
    else
      s[n++] = NULL;
  }
  if (t->columns & COLUMN_SIZE) {
    if (size >= 0) {
      if (t->human)
        gbox_human_readable ((uint64_t) size, num,
                             GBOX_HUMAN_ROUND | GBOX_HUMAN_AUTOSCALE |
                             GBOX_HUMAN_BASE_1024 | GBOX_HUMAN_SI, 1, 1);
      else
        snprintf (num, sizeof num, "%" PRIi64, size);
      s[n++] = num;
    }
    else
      s[n++] = NULL;
  }
  if (t->columns & COLUMN_PARENTS) {
    p = join (parents, nr_parents);
    s[n++] = p;
  }
  if (t->columns & COLUMN_UUID)
    s[n++] = uuid;
  add_row (t, s, n);
}

/* Aligned text: columns that are empty in every row are left out;
 * two spaces between columns, one if that makes lines too long. */
static void
print_table (struct table *t)
{
  size_t i, j, k, len, sep = 2, total = 0;

  for (j = 0; j < NR_COLUMNS; ++j)
    total += t->width[j] + sep;
  if (total > 72)
    sep = 1;
  for (i = 0; i < t->nr_rows; ++i) {
    char **row = &t->cells[i * NR_COLUMNS];

    k = 0;
    for (j = 0; j < NR_COLUMNS; ++j) {
      if (t->width[j] == 0)
        continue;
      for (; k > 0; --k)
        putchar (' ');
      if (row[j] == NULL || row[j][0] == '\0') {
        putchar ('-');
        len = 1;
      }
      else {
        fputs (row[j], stdout);
        len = strlen (row[j]);
      }
      free (row[j]);
      k = t->width[j] - len + sep;
    }
    putchar ('\n');
  }
  free (t->cells);
  t->cells = NULL;
}

/* What the libguestfs list of filesystems leaves out: members of RAID
 * and LVM sets, LUKS containers. */
static bool
is_container (const char *type)
{
  size_t l = strlen (type);

  return (l >= 7 && strcmp (type + l - 7, "_member") == 0) ||
    strcmp (type, "crypto_LUKS") == 0;
}

static void
print_lvm (struct table *t, const char *type,
           const struct gbox_storage_lvm *v, u_int n)
{
  u_int i;

  for (i = 0; i < n; ++i)
    write_row (t, v[i].name, type, NULL, NULL, -1, v[i].size,
               v[i].parents.parents_val, v[i].parents.parents_len,
               v[i].uuid);
}

static void
print_storage (struct table *t, int output,
               const struct gbox_list_storage_ret *s)
{
  u_int i;

  if (output & OUTPUT_FILESYSTEMS)
    for (i = 0; i < s->filesystems.filesystems_len; ++i) {
      const struct gbox_storage_filesystem *f =
        &s->filesystems.filesystems_val[i];

      if (is_container (f->type))
        continue;
      if (!(output & OUTPUT_FILESYSTEMS_EXTRA) &&
          (strcmp (f->type, "swap") == 0 || strcmp (f->type, "unknown") == 0))
        continue;
      write_row (t, f->name, "filesystem", f->type, f->label, -1, f->size,
                 f->parents.parents_val, f->parents.parents_len, f->uuid);
    }
  if (output & OUTPUT_LVS)
    print_lvm (t, "lv", s->lvs.lvs_val, s->lvs.lvs_len);
  if (output & OUTPUT_VGS)
    print_lvm (t, "vg", s->vgs.vgs_val, s->vgs.vgs_len);
  if (output & OUTPUT_PVS)
    print_lvm (t, "pv", s->pvs.pvs_val, s->pvs.pvs_len);
  if (output & OUTPUT_PARTITIONS)
    for (i = 0; i < s->partitions.partitions_len; ++i) {
      const struct gbox_storage_partition *p =
        &s->partitions.partitions_val[i];
      gbox_path parent = p->parent;

      write_row (t, p->name, "partition", NULL, NULL, p->mbr_id, p->size,
                 &parent, 1, NULL);
    }
  if (output & OUTPUT_BLOCKDEVS)
    for (i = 0; i < s->devices.devices_len; ++i) {
      const struct gbox_storage_device *d = &s->devices.devices_val[i];

      write_row (t, d->name, "device", NULL, NULL, -1, d->size,
                 d->parents.parents_val, d->parents.parents_len, NULL);
    }
}

int
main (int argc, char *argv[])
{
  enum {
    ALL_OPTION = GBOX_OPT_FIRST_FREE, BLKDEVS_OPTION, CSV_OPTION,
    EXTRA_OPTION, FILESYSTEMS_OPTION, JSON_OPTION, LVS_OPTION,
    NO_TITLE_OPTION,
    PARTS_OPTION, PVS_OPTION, UUID_OPTION, VGS_OPTION,
  };
  static const char short_options[] = "a:c:d:hlvVx";
  static const struct option long_options[] = {
    { "add", required_argument, NULL, 'a' },
    { "all", no_argument, NULL, ALL_OPTION },
    { "blkdevs", no_argument, NULL, BLKDEVS_OPTION },
    { "blocksize", required_argument, NULL, GBOX_OPT_BLOCKSIZE },
    { "block-devices", no_argument, NULL, BLKDEVS_OPTION },
    { "csv", no_argument, NULL, CSV_OPTION },
    { "extra", no_argument, NULL, EXTRA_OPTION },
    { "filesystems", no_argument, NULL, FILESYSTEMS_OPTION },
    { "format", optional_argument, NULL, GBOX_OPT_FORMAT },
    { "help", no_argument, NULL, GBOX_OPT_HELP },
    { "human-readable", no_argument, NULL, 'h' },
    { "json", no_argument, NULL, JSON_OPTION },
    { "logical-volumes", no_argument, NULL, LVS_OPTION },
    { "logvols", no_argument, NULL, LVS_OPTION },
    { "long", no_argument, NULL, 'l' },
    { "long-options", no_argument, NULL, GBOX_OPT_LONG_OPTIONS },
    { "lvs", no_argument, NULL, LVS_OPTION },
    { "no-title", no_argument, NULL, NO_TITLE_OPTION },
    { "parts", no_argument, NULL, PARTS_OPTION },
    { "partitions", no_argument, NULL, PARTS_OPTION },
    { "physical-volumes", no_argument, NULL, PVS_OPTION },
    { "physvols", no_argument, NULL, PVS_OPTION },
    { "pvs", no_argument, NULL, PVS_OPTION },
    { "short-options", no_argument, NULL, GBOX_OPT_SHORT_OPTIONS },
    { "uuid", no_argument, NULL, UUID_OPTION },
    { "uuids", no_argument, NULL, UUID_OPTION },
    { "verbose", no_argument, NULL, 'v' },
    { "version", no_argument, NULL, 'V' },
    { "vgs", no_argument, NULL, VGS_OPTION },
    { "volgroups", no_argument, NULL, VGS_OPTION },
    { "volume-groups", no_argument, NULL, VGS_OPTION },
    GBOX_OPTS_LIBVIRT_LONG,
    { NULL, 0, NULL, 0 }
  };
  struct gbox_opts o;
  struct table t = { 0 };
  struct gbox_list_storage_ret s;
  bool long_mode = false, no_title = false, uuid = false;
  int output = 0, c, r;
  gbox_h *h;

  gbox_opts_init (&o, program, short_options, long_options, true);
  gbox_opts_set_argv (&o, argc, argv);

  while ((c = getopt_long (argc, argv, short_options, long_options,
                           NULL)) != -1) {
    r = gbox_opts_handle (&o, c, optarg);
    if (r == 1)
      continue;
    if (r == -1)
      usage (EXIT_FAILURE);
    switch (c) {
    case ALL_OPTION: output = OUTPUT_ALL; break;
    case BLKDEVS_OPTION: output |= OUTPUT_BLOCKDEVS; break;
    case CSV_OPTION: t.csv = true; break;
    case EXTRA_OPTION:
      output |= OUTPUT_FILESYSTEMS | OUTPUT_FILESYSTEMS_EXTRA;
      break;
    case FILESYSTEMS_OPTION: output |= OUTPUT_FILESYSTEMS; break;
    case JSON_OPTION: t.json = true; break;
    case LVS_OPTION: output |= OUTPUT_LVS; break;
    case NO_TITLE_OPTION: no_title = true; break;
    case PARTS_OPTION: output |= OUTPUT_PARTITIONS; break;
    case PVS_OPTION: output |= OUTPUT_PVS; break;
    case UUID_OPTION: uuid = true; break;
    case VGS_OPTION: output |= OUTPUT_VGS; break;
    case 'h': t.human = true; break;
    case 'l': long_mode = true; break;
    case GBOX_OPT_HELP:
      usage (EXIT_SUCCESS);
    default:
      usage (EXIT_FAILURE);
    }
  }

  if (optind != argc) {
    fprintf (stderr, "%s: error: extra argument '%s' on the command line\n",
             program, argv[optind]);
    usage (EXIT_FAILURE);
  }
  if (gbox_opts_check (&o) == -1)
    usage (EXIT_FAILURE);
  /* Spreadsheets would mangle human sizes. */
  if (t.human && t.csv) {
    fprintf (stderr, "%s: error: you cannot use -h and --csv options "
             "together.\n", program);
    usage (EXIT_FAILURE);
  }
  /* JSON numbers are bytes, and JSON is not CSV. */
  if (t.json && (t.human || t.csv)) {
    fprintf (stderr, "%s: error: --json cannot be used with -h or --csv\n",
             program);
    usage (EXIT_FAILURE);
  }

  if (output == 0)
    output = OUTPUT_FILESYSTEMS;
  t.columns = COLUMN_NAME;
  if (long_mode) {
    t.columns |= COLUMN_TYPE | COLUMN_SIZE | COLUMN_PARENTS;
    if (output & OUTPUT_FILESYSTEMS)
      t.columns |= COLUMN_VFS_TYPE | COLUMN_VFS_LABEL;
    if (output & OUTPUT_PARTITIONS)
      t.columns |= COLUMN_MBR;
    if (uuid)
      t.columns |= COLUMN_UUID;
  }

  gbox_install_signal_handlers ();
  h = gbox_opts_new_handle (&o);
  if (gbox_opts_add_drives (h, &o, 1) == -1 ||
      gbox_launch (h) == -1 ||
      gbox_list_storage (h, (t.columns & COLUMN_SIZE) != 0 || t.json,
                         &s) == -1) {
    gbox_opts_print_error (&o, h);
    gbox_close (h);
    gbox_opts_free (&o);
    exit (EXIT_FAILURE);
  }

  if (long_mode && !no_title && !t.json)
    print_title (&t);
  print_storage (&t, output, &s);
  if (!t.csv && !t.json)
    print_table (&t);
  xdr_free ((xdrproc_t) xdr_gbox_list_storage_ret, (char *) &s);

  gbox_close (h);
  gbox_opts_free (&o);
  if (fflush (stdout) == EOF || ferror (stdout)) {
    fprintf (stderr, "%s: error: standard output: %s\n", program,
             strerror (errno));
    exit (EXIT_FAILURE);
  }
  exit (EXIT_SUCCESS);
}
