/* guestbox - option parsing shared by all commands.
 * Copyright (C) 2026 the guestbox authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

/**
 * The shared options of every virt-* command (-a, --format, -m, -i, -v,
 * -x, -V, --long-options, --short-options) parsed into an explicit
 * struct gbox_opts, and the steps every command runs with them: add the
 * drives, then mount (the -m list, or the operating system found by
 * inspection).  The rules follow the libguestfs tools: --format applies
 * to the -a options after it, --format alone or --format=auto goes back
 * to probing, and a --format after the last -a is an error.
 */

#include <config.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdint.h>

#include "guestbox-internal.h"
#include "cleanups.h"
#include "options.h"
#include "mount-order.h"
#include "libvirt.h"

void
gbox_opts_init (struct gbox_opts *o, const char *program,
                const char *short_options,
                const struct option *long_options, bool readonly)
{
  memset (o, 0, sizeof *o);
  o->program = program;
  o->short_options = short_options;
  o->long_options = long_options;
  o->readonly = readonly;
  o->format_consumed = true;
}

void
gbox_opts_free_mount (struct gbox_opts_mount *mp)
{
  free (mp->device);
  free (mp->mountpoint);
  free (mp->options);
  free (mp->fstype);
  memset (mp, 0, sizeof *mp);
}

void
gbox_opts_free (struct gbox_opts *o)
{
  size_t i;

  for (i = 0; i < o->nr_drives; ++i) {
    free (o->drives[i].source);
    free (o->drives[i].format);
    free (o->drives[i].domain);
  }
  free (o->drives);
  free (o->libvirt_uri);
  o->libvirt_uri = NULL;
  for (i = 0; i < o->nr_mounts; ++i)
    gbox_opts_free_mount (&o->mounts[i]);
  free (o->mounts);
  gbox_opts_free_keys (o);
  free (o->format);
  free (o->root_device);
  for (i = 0; i < 26; ++i)
    free (o->drives_by_letter[i]);
  o->root_device = NULL;
  memset (o->drives_by_letter, 0, sizeof o->drives_by_letter);
  for (i = 0; i < o->nr_plan; ++i) {
    free (o->plan_mountpoints[i]);
    free (o->plan_devices[i]);
  }
  free (o->plan_mountpoints);
  free (o->plan_devices);
  o->plan_mountpoints = o->plan_devices = NULL;
  o->nr_plan = 0;
  o->windows = false;
  o->drives = NULL;
  o->mounts = NULL;
  o->format = NULL;
  o->nr_drives = o->nr_mounts = 0;
}

/* Duplicate the LEN bytes at S as a string. */
static char *
dup_part (const char *s, size_t len)
{
  char *r = malloc (len + 1);

  if (r == NULL)
    return NULL;
  memcpy (r, s, len);
  r[len] = '\0';
  return r;
}

int
gbox_opts_parse_mount (const char *arg, struct gbox_opts_mount *mp,
                       char *errbuf, size_t errlen)
{
  const char *fields[4] = { NULL, NULL, NULL, NULL };
  size_t lens[4] = { 0, 0, 0, 0 };
  const char *p = arg, *colon;
  size_t n = 0;

  memset (mp, 0, sizeof *mp);

  /* Split on the first three colons: the filesystem type is the last
   * field, and mount options never contain a colon.  A btrfs
   * subvolume's name has one of its own (btrfsvol:/dev/sda3/root). */
  while (n < 3 &&
         (colon = strchr (n == 0 && strncmp (p, "btrfsvol:", 9) == 0 ?
                          p + 9 : p, ':')) != NULL) {
    fields[n] = p;
    lens[n] = colon - p;
    n++;
    p = colon + 1;
  }
  fields[n] = p;
  lens[n] = strlen (p);
  n++;

  if (lens[0] == 0) {
    snprintf (errbuf, errlen,
              "-m '%s': no device given (expected "
              "-m DEVICE[:MOUNTPOINT[:OPTIONS[:FSTYPE]]])", arg);
    return -1;
  }
  if (n >= 2 && lens[1] > 0 && fields[1][0] != '/') {
    snprintf (errbuf, errlen,
              "-m '%s': the mountpoint must be an absolute path", arg);
    return -1;
  }

  mp->device = dup_part (fields[0], lens[0]);
  /* An empty or missing mountpoint means "/". */
  if (n >= 2 && lens[1] > 0)
    mp->mountpoint = dup_part (fields[1], lens[1]);
  else
    mp->mountpoint = strdup ("/");
  /* Empty options or type mean "not given". */
  if (n >= 3 && lens[2] > 0)
    mp->options = dup_part (fields[2], lens[2]);
  if (n >= 4 && lens[3] > 0)
    mp->fstype = dup_part (fields[3], lens[3]);

  if (mp->device == NULL || mp->mountpoint == NULL ||
      (n >= 3 && lens[2] > 0 && mp->options == NULL) ||
      (n >= 4 && lens[3] > 0 && mp->fstype == NULL)) {
    snprintf (errbuf, errlen, "-m: %s", strerror (errno));
    gbox_opts_free_mount (mp);
    return -1;
  }
  return 0;
}

void
gbox_opts_print_long_options (FILE *fp, const struct option *long_options)
{
  for (; long_options->name != NULL; long_options++) {
    if (strcmp (long_options->name, "long-options") == 0 ||
        strcmp (long_options->name, "short-options") == 0)
      continue;
    fprintf (fp, "--%s\n", long_options->name);
  }
}

void
gbox_opts_print_short_options (FILE *fp, const char *short_options)
{
  for (; *short_options; short_options++) {
    if (*short_options == ':' || *short_options == '+' ||
        *short_options == '-')
      continue;
    fprintf (fp, "-%c\n", *short_options);
  }
}

int
gbox_opts_parse_shard (const char *program, const char *arg,
                       unsigned *shard, unsigned *nr_shards)
{
  unsigned i, n;
  int end = 0;

  if (sscanf (arg, "%u/%u%n", &i, &n, &end) != 2 || arg[end] != '\0' ||
      arg[0] == '-' || n == 0 || n > 1000000 || i == 0 || i > n) {
    fprintf (stderr, "%s: error: --shard: '%s': expected I/N with "
             "1 <= I <= N\n", program, arg);
    return -1;
  }
  *shard = i;
  *nr_shards = n;
  return 0;
}

unsigned
gbox_shard_of (const char *key, unsigned n)
{
  uint64_t hash = UINT64_C (14695981039346656037);

  for (; *key; ++key) {
    hash ^= (unsigned char) *key;
    hash *= UINT64_C (1099511628211);
  }
  return (unsigned) (hash % n) + 1;
}

void
gbox_opts_keep_shard (struct gbox_opts *o, unsigned shard, unsigned nr_shards)
{
  size_t i, kept = 0;

  for (i = 0; i < o->nr_drives; ++i) {
    struct gbox_opts_drive *d = &o->drives[i];

    if (gbox_shard_of (d->source, nr_shards) == shard)
      o->drives[kept++] = *d;
    else {
      free (d->source);
      free (d->format);
      free (d->domain);
    }
  }
  o->nr_drives = kept;
}

static void __attribute__((noreturn))
print_and_exit (int status)
{
  if (fflush (stdout) == EOF || ferror (stdout))
    exit (EXIT_FAILURE);
  exit (status);
}

/* A new zeroed entry at the end of the -a/-d list, in a group of its
 * own, or NULL (the error said) if memory ran out.  OPT names the
 * option for the message about an empty WHAT. */
static struct gbox_opts_drive *
new_drive_entry (struct gbox_opts *o, const char *opt, const char *what,
                 const char *name)
{
  struct gbox_opts_drive *d;

  if (name == NULL || *name == '\0') {
    fprintf (stderr, "%s: error: %s: empty %s\n", o->program, opt, what);
    return NULL;
  }
  d = realloc (o->drives, (o->nr_drives + 1) * sizeof *d);
  if (d == NULL) {
    fprintf (stderr, "%s: error: %s\n", o->program, strerror (errno));
    return NULL;
  }
  o->drives = d;
  d = &o->drives[o->nr_drives];
  memset (d, 0, sizeof *d);
  d->group = o->nr_groups;
  return d;
}

static int
add_drive_option (struct gbox_opts *o, const char *source)
{
  struct gbox_opts_drive *d = new_drive_entry (o, "-a", "disk name", source);

  if (d == NULL)
    return -1;
  d->source = strdup (source);
  d->format = o->format ? strdup (o->format) : NULL;
  d->blocksize = o->blocksize;
  if (d->source == NULL || (o->format && d->format == NULL)) {
    free (d->source);
    free (d->format);
    fprintf (stderr, "%s: error: %s\n", o->program, strerror (errno));
    return -1;
  }
  o->nr_drives++;
  o->nr_groups++;
  o->format_consumed = true;
  return 0;
}

/* -d GUEST: an entry looked up by gbox_opts_check (once -c is known).
 * The --format in force does not apply to it (the guest's XML says). */
static int
add_domain_option (struct gbox_opts *o, const char *name)
{
  struct gbox_opts_drive *d = new_drive_entry (o, "-d", "guest name", name);

  if (d == NULL)
    return -1;
  d->source = strdup (name);
  d->domain = strdup (name);
  d->domain_pending = true;
  if (d->source == NULL || d->domain == NULL) {
    free (d->source);
    free (d->domain);
    fprintf (stderr, "%s: error: %s\n", o->program, strerror (errno));
    return -1;
  }
  o->nr_drives++;
  o->nr_groups++;
  return 0;
}

/* Replace the pending -d entry I by the disks of its guest. */
static int
expand_domain (struct gbox_opts *o, size_t i)
{
  struct gbox_libvirt_domain dom;
  struct gbox_opts_drive *nd, *d;
  char *err = NULL;
  size_t k, n, group = o->drives[i].group;

  if (gbox_libvirt_get_domain (o->libvirt_uri, o->drives[i].domain, &dom,
                               &err) == -1) {
    fprintf (stderr, "%s: error: %s\n", o->program,
             err ? err : "libvirt: out of memory");
    free (err);
    return -1;
  }
  n = dom.nr_disks;
  nd = realloc (o->drives, (o->nr_drives + n - 1) * sizeof *nd);
  if (nd == NULL) {
    gbox_libvirt_free_domain (&dom);
    fprintf (stderr, "%s: error: %s\n", o->program, strerror (errno));
    return -1;
  }
  o->drives = nd;
  memmove (&nd[i + n], &nd[i + 1], (o->nr_drives - i - 1) * sizeof *nd);
  free (nd[i].source);
  free (nd[i].domain);
  for (k = 0; k < n; ++k) {
    d = &nd[i + k];
    memset (d, 0, sizeof *d);
    d->group = group;
    d->source = dom.disks[k].source;
    d->format = dom.disks[k].format;
    dom.disks[k].source = dom.disks[k].format = NULL;
    d->domain = strdup (dom.name);
    d->domain_active = dom.active;
    d->readonly = dom.disks[k].readonly;
    if (d->domain == NULL) {
      fprintf (stderr, "%s: error: %s\n", o->program, strerror (errno));
      o->nr_drives += k;
      gbox_libvirt_free_domain (&dom);
      return -1;
    }
  }
  o->nr_drives += n - 1;
  gbox_libvirt_free_domain (&dom);
  return 0;
}

static int
add_mount_option (struct gbox_opts *o, const char *arg)
{
  struct gbox_opts_mount *m;
  char err[512];

  m = realloc (o->mounts, (o->nr_mounts + 1) * sizeof *m);
  if (m == NULL) {
    fprintf (stderr, "%s: error: %s\n", o->program, strerror (errno));
    return -1;
  }
  o->mounts = m;
  if (gbox_opts_parse_mount (arg, &o->mounts[o->nr_mounts],
                             err, sizeof err) == -1) {
    fprintf (stderr, "%s: error: %s\n", o->program, err);
    return -1;
  }
  o->nr_mounts++;
  return 0;
}

static int
set_format (struct gbox_opts *o, const char *arg)
{
  free (o->format);
  o->format = NULL;
  if (arg != NULL && *arg != '\0' && strcmp (arg, "auto") != 0) {
    o->format = strdup (arg);
    if (o->format == NULL) {
      fprintf (stderr, "%s: error: %s\n", o->program, strerror (errno));
      return -1;
    }
  }
  o->format_consumed = false;
  return 0;
}

void
gbox_opts_set_argv (struct gbox_opts *o, int argc, char **argv)
{
  o->argc = argc;
  o->argv = argv;
}

bool
gbox_opts_is_format_word (const char *s)
{
  size_t len = strlen (s);

  return len > 0 && len <= 32 &&
    strspn (s, "abcdefghijklmnopqrstuvwxyz0123456789-_") == len;
}

/* getopt_long has just returned an optional_argument option without a
 * value, so optind is the index of the word after it (getopt permutes
 * the words that are not options only when it reaches them, so taking
 * this one keeps its order intact). */
const char *
gbox_opts_optional_value (struct gbox_opts *o, const char *optarg,
                          bool (*is_value) (const char *))
{
  const char *next;

  if (optarg != NULL || o->argv == NULL || optind <= 0 || optind >= o->argc)
    return optarg;
  next = o->argv[optind];
  if (next == NULL || next[0] == '-' || !is_value (next))
    return NULL;
  optind++;
  return next;
}

bool
gbox_opts_is_machine_readable_word (const char *s)
{
  return strncmp (s, "stream:", 7) == 0 || strncmp (s, "file:", 5) == 0 ||
    strncmp (s, "fd:", 3) == 0;
}

FILE *
gbox_opts_machine_readable (const char *program, const char *format)
{
  FILE *fp;
  char *end;
  long fd;

  if (format == NULL || *format == '\0' ||
      strcmp (format, "stream:stdout") == 0)
    return stdout;
  if (strcmp (format, "stream:stderr") == 0)
    return stderr;
  if (strncmp (format, "stream:", 7) == 0) {
    fprintf (stderr, "%s: error: invalid output stream for "
             "--machine-readable: %s\n", program, format);
    return NULL;
  }
  if (strncmp (format, "file:", 5) == 0 && format[5] != '\0') {
    fp = fopen (format + 5, "we");
    if (fp == NULL)
      fprintf (stderr, "%s: error: %s: %s\n", program, format + 5,
               strerror (errno));
    return fp;
  }
  if (strncmp (format, "fd:", 3) == 0) {
    errno = 0;
    fd = strtol (format + 3, &end, 10);
    if (errno == 0 && end != format + 3 && *end == '\0' && fd >= 0 &&
        fd <= INT_MAX && (fp = fdopen ((int) fd, "w")) != NULL)
      return fp;
  }
  fprintf (stderr, "%s: error: invalid format string for "
           "--machine-readable: %s\n", program, format);
  return NULL;
}

int
gbox_opts_old_style (struct gbox_opts *o)
{
  if (o->nr_drives > 0 || o->argv == NULL)
    return 0;
  /* Every word but the last names a disk; the pending --format applies
   * to them as to -a. */
  while (optind < o->argc - 1) {
    if (add_drive_option (o, o->argv[optind]) == -1)
      return -1;
    optind++;
  }
  return 0;
}

int
gbox_opts_handle (struct gbox_opts *o, int c, const char *arg)
{
  switch (c) {
  case 'a':
    return add_drive_option (o, arg) == 0 ? 1 : -1;
  case GBOX_OPT_FORMAT:
    arg = gbox_opts_optional_value (o, arg, gbox_opts_is_format_word);
    return set_format (o, arg) == 0 ? 1 : -1;
  case 'm':
    return add_mount_option (o, arg) == 0 ? 1 : -1;
  case 'c':
    free (o->libvirt_uri);
    o->libvirt_uri = strdup (arg);
    if (o->libvirt_uri == NULL) {
      fprintf (stderr, "%s: error: %s\n", o->program, strerror (errno));
      return -1;
    }
    return 1;
  case 'd':
    return add_domain_option (o, arg) == 0 ? 1 : -1;
  case GBOX_OPT_BLOCKSIZE:
    /* As libguestfs: the sector size of the -a options after it. */
    if (strcmp (arg, "512") == 0)
      o->blocksize = 512;
    else if (strcmp (arg, "4096") == 0)
      o->blocksize = 4096;
    else {
      fprintf (stderr, "%s: error: --blocksize: '%s': expected 512 or "
               "4096\n", o->program, arg);
      return -1;
    }
    return 1;
  case 'i':
    o->inspect = true;
    return 1;
  case 'v':
    o->verbose++;
    return 1;
  case 'x':
    o->trace = true;
    return 1;
  case GBOX_OPT_KEY:
    return gbox_opts_add_key (o, arg) == 0 ? 1 : -1;
  case GBOX_OPT_KEYS_FROM_STDIN:
    o->keys_from_stdin = true;
    return 1;
  case GBOX_OPT_ECHO_KEYS:
    o->echo_keys = true;
    return 1;
  case 'V':
    printf ("%s %s\n", o->program, PACKAGE_VERSION);
    /* The second line only when qemu has no seccomp sandbox, so that
     * scripts reading the version are not disturbed otherwise. */
    {
      gbox_h *h = gbox_create ();
      char line[256];

      if (h && gbox_qemu_confinement (h, line, sizeof line) == 0)
        printf ("%s\n", line);
      if (h)
        gbox_close (h);
    }
    print_and_exit (EXIT_SUCCESS);
  case GBOX_OPT_LONG_OPTIONS:
    gbox_opts_print_long_options (stdout, o->long_options);
    print_and_exit (EXIT_SUCCESS);
  case GBOX_OPT_SHORT_OPTIONS:
    gbox_opts_print_short_options (stdout, o->short_options);
    print_and_exit (EXIT_SUCCESS);
  default:
    return 0;
  }
}

int
gbox_opts_check (struct gbox_opts *o)
{
  if (!o->format_consumed) {
    fprintf (stderr, "%s: error: --format must appear before the -a "
             "option it applies to\n", o->program);
    return -1;
  }
  if (o->inspect && o->nr_mounts > 0) {
    fprintf (stderr, "%s: error: -i and -m cannot be used together\n",
             o->program);
    return -1;
  }
  if (o->nr_drives == 0 && !o->allow_no_drives) {
    fprintf (stderr, "%s: error: you must specify at least one -a or -d "
             "option\n", o->program);
    return -1;
  }
  /* A guest that cannot be read is not a usage error: its one error
   * line, and no --help hint. */
  if (gbox_opts_expand_domains (o) == -1)
    exit (EXIT_FAILURE);
  return 0;
}

int
gbox_opts_expand_domains (struct gbox_opts *o)
{
  size_t i;

  for (i = 0; i < o->nr_drives; ++i)
    if (o->drives[i].domain_pending) {
      size_t before = o->nr_drives;

      if (expand_domain (o, i) == -1)
        return -1;
      /* Step over the guest's disks. */
      i += o->nr_drives - before;
    }
  return 0;
}

gbox_h *
gbox_opts_new_handle (struct gbox_opts *o)
{
  gbox_h *h = gbox_create ();

  if (h == NULL) {
    fprintf (stderr, "%s: error: cannot create handle: %s\n",
             o->program, strerror (errno));
    exit (EXIT_FAILURE);
  }
  gbox_set_program (h, o->program);
  if (o->verbose)
    gbox_set_verbose (h, o->verbose);
  if (o->trace)
    gbox_set_trace (h, 1);
  return h;
}

int
gbox_opts_add_drive (gbox_h *h, struct gbox_opts *o, size_t i, int readonly)
{
  const struct gbox_opts_drive *d = &o->drives[i];

  if (readonly != 1 && d->domain && d->domain_active) {
    gbox_int_error (h, "libvirt guest '%s' is running: writing to the disks "
                    "of a running guest would corrupt them (shut it down "
                    "first)", d->domain);
    return -1;
  }
  /* READONLY may be GBOX_DRIVE_WRITE_LATER (2): kept as it is. */
  if (gbox_add_drive (h, d->source, d->format, d->readonly ? 1 : readonly)
      == -1)
    return -1;
  if (d->blocksize &&
      gbox_drive_set_blocksize (h, gbox_nr_drives (h) - 1, d->blocksize) == -1)
    return -1;
  return 0;
}

int
gbox_opts_add_drives (gbox_h *h, struct gbox_opts *o, int readonly)
{
  size_t i;

  for (i = 0; i < o->nr_drives; ++i)
    if (gbox_opts_add_drive (h, o, i, readonly) == -1)
      return -1;
  return 0;
}

/* After a failed -m, list what could have been mounted, as a suffix
 * for the error message ("" if nothing useful is known). */
static char *
filesystems_hint (gbox_h *h)
{
  CLEANUP_XDR_FREE (gbox_list_filesystems_ret)
    struct gbox_list_filesystems_ret fs = { 0 };
  char *buf = NULL;
  size_t len = 0, i;
  FILE *fp;

  if (gbox_list_filesystems (h, &fs) == -1 ||
      fs.filesystems.filesystems_len == 0)
    return strdup ("");

  fp = open_memstream (&buf, &len);
  if (fp == NULL)
    return strdup ("");
  fputs ("; filesystems found:", fp);
  for (i = 0; i < fs.filesystems.filesystems_len; ++i) {
    const struct gbox_filesystem *f = &fs.filesystems.filesystems_val[i];
    fprintf (fp, "%s %s (%s)", i == 0 ? "" : ",", f->device, f->type);
  }
  if (fclose (fp) == EOF) {
    free (buf);
    return strdup ("");
  }
  return buf;
}

static int
mount_option_list (gbox_h *h, struct gbox_opts *o)
{
  size_t i;
  int r;

  for (i = 0; i < o->nr_mounts; ++i) {
    const struct gbox_opts_mount *m = &o->mounts[i];
    CLEANUP_FREE char *options = NULL;
    CLEANUP_FREE char *why = NULL;
    CLEANUP_FREE char *hint = NULL;

    if (m->options == NULL && m->fstype == NULL && o->readonly)
      r = gbox_mount_ro (h, m->device, m->mountpoint);
    else {
      /* A read-only command never mounts read-write, whatever the
       * options say. */
      if (o->readonly)
        options = m->options ? gbox_int_asprintf (h, "ro,%s", m->options)
          : strdup ("ro");
      else
        options = strdup (m->options ? m->options : "");
      if (options == NULL)
        return -1;
      r = gbox_mount (h, m->device, m->mountpoint, options,
                      m->fstype ? m->fstype : "");
    }
    if (r == 0)
      continue;

    why = strdup (gbox_last_error (h) ? gbox_last_error (h) : "unknown error");
    hint = filesystems_hint (h);
    gbox_int_error (h, "-m %s: could not mount on %s: %s%s",
                    m->device, m->mountpoint,
                    why ? why : "", hint ? hint : "");
    return -1;
  }
  return 0;
}

/* Parents before children (mount-order.h, the daemon's rule too). */
static int
compare_mountpoints (const void *p1, const void *p2)
{
  const struct gbox_mountpoint *m1 = p1, *m2 = p2;

  return gbox_mount_order (m1->mountpoint, m1->device,
                           m2->mountpoint, m2->device);
}

/* A copy of guest text for a message: control bytes become '?'. */
static char *
printable (const char *s)
{
  char *r = strdup (s);
  size_t i;

  for (i = 0; r && r[i]; ++i)
    if ((unsigned char) r[i] < 0x20 || r[i] == 0x7f)
      r[i] = '?';
  return r;
}

/* "ROOT (PRODUCT)" for each OS found, for the multi-boot error. */
static char *
list_roots (const struct gbox_inspect_full_ret *ret)
{
  char *roots = NULL;
  size_t len = 0, i;
  FILE *fp = open_memstream (&roots, &len);

  if (fp == NULL)
    return NULL;
  for (i = 0; i < ret->oses.oses_len; ++i) {
    const struct gbox_inspected_os *os = &ret->oses.oses_val[i];
    CLEANUP_FREE char *root = printable (os->root);
    CLEANUP_FREE char *product =
      printable (os->product_name[0] ? os->product_name : os->type);

    fprintf (fp, "%s%s (%s)", i == 0 ? "" : ", ", root ? root : "?",
             product ? product : "?");
  }
  if (fclose (fp) == EOF) {
    free (roots);
    return NULL;
  }
  return roots;
}

/* Keep what Windows paths need: the drive letters and the device
 * mounted on "/". */
static int
keep_windows_info (struct gbox_opts *o, const struct gbox_inspected_os *os)
{
  size_t i;

  o->windows = strcmp (os->type, "windows") == 0;
  free (o->root_device);
  o->root_device = NULL;
  for (i = 0; i < 26; ++i) {
    free (o->drives_by_letter[i]);
    o->drives_by_letter[i] = NULL;
  }
  for (i = 0; i < os->drive_mappings.drive_mappings_len; ++i) {
    const struct gbox_drive_mapping *d = &os->drive_mappings.drive_mappings_val[i];
    int c = d->letter[0];

    if (c >= 'a' && c <= 'z')
      c -= 'a' - 'A';
    if (c < 'A' || c > 'Z' || d->letter[1] != '\0' ||
        strncmp (d->device, "/dev/", 5) != 0 ||
        o->drives_by_letter[c - 'A'] != NULL)
      continue;
    o->drives_by_letter[c - 'A'] = strdup (d->device);
    if (o->drives_by_letter[c - 'A'] == NULL)
      return -1;
  }
  for (i = 0; i < os->mountpoints.mountpoints_len; ++i)
    if (strcmp (os->mountpoints.mountpoints_val[i].mountpoint, "/") == 0) {
      o->root_device = strdup (os->mountpoints.mountpoints_val[i].device);
      if (o->root_device == NULL)
        return -1;
    }
  return 0;
}

static int
keep_plan (struct gbox_opts *o, const struct gbox_inspected_os *os)
{
  size_t i, n = os->mountpoints.mountpoints_len;

  o->plan_mountpoints = calloc (n, sizeof (char *));
  o->plan_devices = calloc (n, sizeof (char *));
  if (o->plan_mountpoints == NULL || o->plan_devices == NULL)
    return -1;
  for (i = 0; i < n; ++i) {
    o->plan_mountpoints[i] =
      strdup (os->mountpoints.mountpoints_val[i].mountpoint);
    o->plan_devices[i] = strdup (os->mountpoints.mountpoints_val[i].device);
    o->nr_plan++;
    if (o->plan_mountpoints[i] == NULL || o->plan_devices[i] == NULL)
      return -1;
  }
  return 0;
}

/* Mount number I of the plan, DEV on MP, as inspect_mount did it (DONE
 * holds its results): 0 mounted, -1 not (its error on the handle), -2
 * when the result is not this mount (the appliance cannot be trusted).
 * 1: not tried (past the results). */
static int
mount_done (gbox_h *h, const struct gbox_inspect_mount_ret *done, size_t i,
            const char *dev, const char *mp)
{
  const struct gbox_mount_result *m;

  if (i >= done->mounts.mounts_len)
    return 1;
  m = &done->mounts.mounts_val[i];
  if (strcmp (m->mountpoint, mp) != 0 || strcmp (m->device, dev) != 0) {
    gbox_int_error (h, "inspect_mount: the appliance mounted other "
                    "filesystems than the inspection planned");
    return -2;
  }
  if (m->error[0] == '\0')
    return 0;
  if (strncmp (m->error, "mount_ro:", 9) == 0)
    gbox_int_error (h, "%s", m->error);
  else
    gbox_int_error (h, "mount_ro: %s", m->error);
  return -1;
}

/* Mount the plan (read-only if the command only reads); DONE, if not
 * NULL, holds the mounts inspect_mount made already.  After a drive
 * letter put another Windows filesystem on "/", that one is mounted
 * alone, as it was. */
static int
mount_plan (gbox_h *h, struct gbox_opts *o,
            const struct gbox_inspect_mount_ret *done)
{
  size_t i, failed = 0;
  int r;

  if (done && done->mounts.mounts_len > o->nr_plan) {
    gbox_int_error (h, "inspect_mount: the appliance mounted more "
                    "filesystems than the inspection planned");
    return -1;
  }
  for (i = 0; i < o->nr_plan; ++i) {
    const char *mp = o->plan_mountpoints[i], *dev = o->plan_devices[i];

    if (strcmp (mp, "/") == 0 && o->root_device &&
        strcmp (o->root_device, dev) != 0) {
      dev = o->root_device;
      i = o->nr_plan - 1;       /* that filesystem alone */
    }
    r = done ? mount_done (h, done, i, dev, mp) : 1;
    if (r == -2)
      return -1;
    if (r == 1)
      r = o->readonly ? gbox_mount_ro (h, dev, mp)
        : gbox_mount (h, dev, mp, "", "");
    if (r == 0)
      continue;
    /* Without "/" there is nothing to work on. */
    if (strcmp (mp, "/") == 0)
      return -1;
    /* Other failures (an fstab entry naming a device that is not
     * attached, a filesystem that does not mount) are skipped: the
     * reason under -v, one line for all of them otherwise, as the
     * libguestfs tools print it. */
    if (o->verbose) {
      CLEANUP_FREE char *pdev = printable (dev);
      CLEANUP_FREE char *pmp = printable (mp);

      fprintf (stderr, "%s: debug: %s: could not mount on %s: %s\n",
               o->program, pdev ? pdev : "?", pmp ? pmp : "?",
               gbox_last_error (h) ? gbox_last_error (h) : "unknown error");
    }
    failed++;
  }
  if (failed > 0)
    fprintf (stderr, "%s: some filesystems could not be mounted (ignored)\n",
             o->program);
  return 0;
}

/* The mount plan comes from the same inspection that virt-inspector
 * prints (inspect_full): the root and every mountpoint it reports
 * (btrfs subvolumes as btrfsvol:DEVICE/SUBVOLUME, logical volumes,
 * /boot/efi, ...). */
static int plan_inspected (gbox_h *h, struct gbox_opts *o,
                           struct gbox_inspect_full_ret *ret);

static int
mount_inspected (gbox_h *h, struct gbox_opts *o)
{
  CLEANUP_XDR_FREE (gbox_inspect_full_ret)
    struct gbox_inspect_full_ret ret = { 0 };

  if (o->nr_plan > 0)
    return mount_plan (h, o, NULL);
  if (gbox_inspect_full (h, &ret) == -1 ||
      plan_inspected (h, o, &ret) == -1)
    return -1;
  return mount_plan (h, o, NULL);
}

/* The first -i mount in one call (inspect_mount: the storage stack,
 * inspection and, for a command that only reads, the mounts).  1: an
 * encrypted device needs its key first (the separate calls do it). */
static int
inspect_and_mount (gbox_h *h, struct gbox_opts *o)
{
  CLEANUP_XDR_FREE (gbox_inspect_mount_ret)
    struct gbox_inspect_mount_ret ret = { 0 };

  if (gbox_inspect_mount (h, o->readonly, o->readonly, &ret) == -1)
    return -1;
  if (!ret.inspected)
    return 1;
  if (plan_inspected (h, o, &ret.inspection) == -1)
    return -1;
  return mount_plan (h, o, o->readonly ? &ret : NULL);
}

/* The mount plan of the one operating system in RET, checked, kept in
 * O (the mountpoints of RET sorted in mount order). */
static int
plan_inspected (gbox_h *h, struct gbox_opts *o,
                struct gbox_inspect_full_ret *rp)
{
  struct gbox_inspect_full_ret ret = *rp;
  struct gbox_inspected_os *os;
  size_t i;

  if (ret.oses.oses_len == 0) {
    gbox_int_error (h, "no operating system was found on this disk; "
                    "use -m DEVICE[:MOUNTPOINT] to choose the filesystems "
                    "to mount");
    return -1;
  }
  if (ret.oses.oses_len > 1) {
    CLEANUP_FREE char *roots = list_roots (&ret);
    CLEANUP_FREE char *first = printable (ret.oses.oses_val[0].root);

    if (roots == NULL || first == NULL) {
      gbox_int_perror (h, "open_memstream");
      return -1;
    }
    gbox_int_error (h, "multi-boot operating systems are not supported "
                    "by -i: %u operating systems found: %s; mount the "
                    "filesystems of one of them with -m DEVICE[:MOUNTPOINT] "
                    "(for example -m %s)", ret.oses.oses_len, roots, first);
    return -1;
  }

  os = &ret.oses.oses_val[0];
  /* The reply comes from the appliance: every mountpoint must be an
   * absolute path and every device a device name. */
  for (i = 0; i < os->mountpoints.mountpoints_len; ++i) {
    const struct gbox_mountpoint *m = &os->mountpoints.mountpoints_val[i];
    if (m->mountpoint[0] != '/' ||
        (strncmp (m->device, "/dev/", 5) != 0 &&
         strncmp (m->device, "btrfsvol:/dev/", 14) != 0)) {
      gbox_int_error (h, "inspection: invalid mountpoint in the reply");
      return -1;
    }
  }
  qsort (os->mountpoints.mountpoints_val, os->mountpoints.mountpoints_len,
         sizeof (struct gbox_mountpoint), compare_mountpoints);
  if (os->mountpoints.mountpoints_len == 0 ||
      strcmp (os->mountpoints.mountpoints_val[0].mountpoint, "/") != 0) {
    gbox_int_error (h, "inspection: %s: no filesystem to mount on /",
                    os->root);
    return -1;
  }
  if (keep_windows_info (o, os) == -1 || keep_plan (o, os) == -1) {
    gbox_int_perror (h, "strdup");
    return -1;
  }
  return 0;
}

char *
gbox_opts_guest_path (gbox_h *h, struct gbox_opts *o, const char *path)
{
  const char *rest = path;
  char *r;
  size_t i;

  if (!o->windows)
    return strdup (path);

  /* A drive letter: the filesystem inspection maps it to is mounted
   * on "/" in place of the current one (as libguestfs does). */
  if (((path[0] >= 'a' && path[0] <= 'z') ||
       (path[0] >= 'A' && path[0] <= 'Z')) && path[1] == ':') {
    int c = path[0] >= 'a' ? path[0] - 'a' : path[0] - 'A';
    const char *dev = o->drives_by_letter[c];

    if (dev == NULL) {
      gbox_int_error (h, "drive '%c:' not found (the drive letters of "
                      "this guest are those its registry maps)", 'a' + c);
      return NULL;
    }
    if (o->root_device == NULL || strcmp (dev, o->root_device) != 0) {
      char *copy = strdup (dev);

      if (copy == NULL) {
        gbox_int_perror (h, "strdup");
        return NULL;
      }
      if (gbox_umount_all (h) == -1 ||
          (o->readonly ? gbox_mount_ro (h, copy, "/")
           : gbox_mount (h, copy, "/", "", "")) == -1) {
        free (copy);
        return NULL;
      }
      free (o->root_device);
      o->root_device = copy;
    }
    rest = path + 2;
  }

  if (asprintf (&r, "%s%s", rest[0] == '/' || rest[0] == '\\' ? "" : "/",
                rest) == -1) {
    gbox_int_perror (h, "asprintf");
    return NULL;
  }
  for (i = 0; r[i]; ++i)
    if (r[i] == '\\')
      r[i] = '/';
  return r;
}

int
gbox_opts_mount (gbox_h *h, struct gbox_opts *o)
{
  if (o->nr_mounts == 0 && o->nr_plan == 0) {
    int r = inspect_and_mount (h, o);

    if (r != 1)
      return r;
  }
  if (gbox_opts_storage (h, o) == -1)
    return -1;
  if (o->nr_mounts > 0)
    return mount_option_list (h, o);
  return mount_inspected (h, o);
}

void
gbox_opts_print_error (struct gbox_opts *o, gbox_h *h)
{
  const char *msg = h ? gbox_last_error (h) : NULL;

  fprintf (stderr, "%s: error: %s\n", o->program,
           msg && *msg ? msg : "unknown error");
}
