/* guestbox - virt-ls: list directories in a disk image.
 * Copyright (C) 2026 the guestbox authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

/**
 * virt-ls -a disk.img [-l|-R|-lR] DIRECTORY...: the same four output
 * formats as the libguestfs virt-ls:
 *
 *   (none)  the names in DIRECTORY, sorted, one a line
 *   -l      "ls -la" of DIRECTORY (GNU ls, C locale, UTC times)
 *   -R      every path below DIRECTORY, relative to it, sorted
 *   -lR     one line per file: type, mode, size, [uids] [times]
 *           [extra stats], full path [-> target]; with --csv as CSV,
 *           with --json one JSON object a file with every field
 *
 * Every directory costs one readdir_stat call (names, full lstat and
 * symlink targets together), never one call per file.
 */

#include <config.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stdbool.h>
#include <inttypes.h>
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <time.h>
#include <unistd.h>

#include <json.h>

#include "guestbox.h"
#include "cleanups.h"
#include "options.h"
#include "output.h"

static const char program[] = "virt-ls";

#define S_TYPE(mode) ((mode) & 0170000)
#define IS_DIR(mode) (S_TYPE (mode) == 0040000)
#define IS_LNK(mode) (S_TYPE (mode) == 0120000)
#define IS_REG(mode) (S_TYPE (mode) == 0100000)

enum time_style {
  TIME_ISO,                     /* --times: 2024-01-02 03:04:05 */
  TIME_T,                       /* --time-t: seconds since the epoch */
  TIME_RELATIVE,                /* --time-relative: seconds before now */
  TIME_DAYS,                    /* --time-days: days before now */
};

/* What the options asked for, and the state of one -lR line. */
struct ls {
  gbox_h *h;
  struct gbox_opts *o;
  bool csv;
  bool json;
  bool human;
  bool uids;
  bool times;
  enum time_style time_style;
  bool extra_stats;
  const char *checksum;         /* --checksum type, NULL = none */
  struct timespec now;
  int field;                    /* fields printed on the current line */
};

/* Stop everything when stdout is gone or full.  When the reader went
 * away, shut the appliance down first, then die of the SIGPIPE that
 * was put off (as ls(1) and the libguestfs tool do). */
static void __attribute__((noreturn))
output_failed (struct ls *ls)
{
  int err = errno;

  if (err != EPIPE)
    fprintf (stderr, "%s: error: write: %s\n", program, strerror (err));
  gbox_close (ls->h);
  gbox_opts_free (ls->o);
  if (err == EPIPE) {
    signal (SIGPIPE, SIG_DFL);
    raise (SIGPIPE);
  }
  exit (EXIT_FAILURE);
}

static void
check_output (struct ls *ls)
{
  struct pollfd pfd = { .fd = STDOUT_FILENO, .events = POLLOUT };

  if (fflush (stdout) == EOF)
    output_failed (ls);
  if (ferror (stdout)) {
    /* The failed write was earlier and errno is long gone: a pipe
     * whose reader went away polls as POLLERR. */
    errno = poll (&pfd, 1, 0) == 1 && (pfd.revents & POLLERR) ? EPIPE : EIO;
    output_failed (ls);
  }
}

/* "DIR/NAME", without doubling the slash after "/" (as the libguestfs
 * tools print paths). */
static char *
full_path (const char *dir, const char *name)
{
  size_t len = strlen (dir);
  char *r;

  if (asprintf (&r, "%s%s%s", dir,
                len > 0 && dir[len - 1] == '/' ? "" : "/", name) == -1)
    return NULL;
  return r;
}

static int
compare_dirent_names (const void *p1, const void *p2)
{
  const struct gbox_dirent *d1 = p1, *d2 = p2;

  return strcmp (d1->name, d2->name);
}

/* The entries of DIR, sorted by name.  -1 with the error on h. */
static int
read_dir (struct ls *ls, const char *dir,
          struct gbox_dirent **entries, size_t *n)
{
  if (gbox_readdir_stat_all (ls->h, dir, entries, n) == -1)
    return -1;
  qsort (*entries, *n, sizeof **entries, compare_dirent_names);
  return 0;
}

/* Plain listing: the names, one a line. */
static int
do_ls (struct ls *ls, const char *dir)
{
  struct gbox_dirent *entries = NULL;
  size_t n = 0, i;

  if (read_dir (ls, dir, &entries, &n) == -1)
    return -1;
  for (i = 0; i < n; ++i)
    printf ("%s\n", entries[i].name);
  gbox_free_dirents (entries, n);
  check_output (ls);
  return 0;
}

static int
compare_ls_entries (const void *p1, const void *p2)
{
  const struct gbox_ls_entry *e1 = p1, *e2 = p2;

  return strcmp (e1->name, e2->name);
}

/* -l: what "ls -la DIR" prints.  As in the libguestfs tool, a
 * symbolic link given on the command line is followed; a file that is
 * not a directory is shown as one line, under the name given. */
static int
do_ls_l (struct ls *ls, const char *dir)
{
  struct gbox_stat st, dot, dotdot;
  struct gbox_dirent *entries = NULL;
  struct gbox_ls_entry *list = NULL;
  size_t n = 0, i;
  int r = -1;

  if (gbox_stat_path (ls->h, dir, &st) == -1)
    return -1;

  if (!IS_DIR (st.mode)) {
    struct gbox_ls_entry e = { .name = dir, .st = &st, .link = NULL };

    if (gbox_print_ls_la (stdout, &e, 1, false,
                          ls->now.tv_sec, ls->now.tv_nsec) == -1)
      output_failed (ls);
    check_output (ls);
    return 0;
  }

  {
    CLEANUP_FREE char *up = full_path (dir, "..");

    if (up == NULL) {
      fprintf (stderr, "%s: error: %s\n", program, strerror (errno));
      return -2;
    }
    /* "." is DIR itself (a symlink followed), ".." its parent, which
     * the daemon resolves inside the guest ("/.." is "/"). */
    dot = st;
    if (gbox_stat_path (ls->h, up, &dotdot) == -1 ||
        read_dir (ls, dir, &entries, &n) == -1)
      return -1;
  }

  list = calloc (n + 2, sizeof *list);
  if (list == NULL) {
    fprintf (stderr, "%s: error: %s\n", program, strerror (errno));
    r = -2;
    goto out;
  }
  list[0] = (struct gbox_ls_entry) { .name = ".", .st = &dot };
  list[1] = (struct gbox_ls_entry) { .name = "..", .st = &dotdot };
  for (i = 0; i < n; ++i) {
    list[i + 2].name = entries[i].name;
    list[i + 2].st = &entries[i].st;
    list[i + 2].link = IS_LNK (entries[i].st.mode) ? entries[i].link : NULL;
  }
  /* ls sorts "." and ".." with the rest (a name starting with a byte
   * below '.' comes first). */
  qsort (list, n + 2, sizeof *list, compare_ls_entries);

  if (gbox_print_ls_la (stdout, list, n + 2, true,
                        ls->now.tv_sec, ls->now.tv_nsec) == -1)
    output_failed (ls);
  check_output (ls);
  r = 0;

 out:
  free (list);
  gbox_free_dirents (entries, n);
  return r;
}

/* The directories on the way down, to refuse a directory that
 * contains itself (a corrupt filesystem). */
struct ancestor {
  const struct ancestor *up;
  int64_t dev, ino;
};

static bool
is_ancestor (const struct ancestor *a, const struct gbox_stat *st)
{
  for (; a != NULL; a = a->up)
    if (a->dev == st->dev && a->ino == st->ino)
      return true;
  return false;
}

/* Growing list of relative paths for -R. */
struct paths {
  char **v;
  size_t n, alloc;
};

static int
paths_add (struct paths *p, char *s)
{
  if (p->n == p->alloc) {
    size_t na = p->alloc ? p->alloc * 2 : 64;
    char **nv = realloc (p->v, na * sizeof *nv);
    if (nv == NULL)
      return -1;
    p->v = nv;
    p->alloc = na;
  }
  p->v[p->n++] = s;
  return 0;
}

static void
paths_free (struct paths *p)
{
  size_t i;

  for (i = 0; i < p->n; ++i)
    free (p->v[i]);
  free (p->v);
}

static int
compare_strings (const void *p1, const void *p2)
{
  return strcmp (*(char * const *) p1, *(char * const *) p2);
}

/* Collect the paths below DIR (REL is DIR relative to the top, NULL
 * at the top). */
static int
collect_R (struct ls *ls, const char *dir, const char *rel,
           const struct ancestor *up, struct paths *out)
{
  struct gbox_dirent *entries = NULL;
  size_t n = 0, i;
  int r = 0;

  if (read_dir (ls, dir, &entries, &n) == -1)
    return -1;

  for (i = 0; i < n && r == 0; ++i) {
    const struct gbox_dirent *e = &entries[i];
    char *relpath = NULL, *path;
    struct ancestor me;

    if ((rel ? asprintf (&relpath, "%s/%s", rel, e->name)
         : asprintf (&relpath, "%s", e->name)) == -1 ||
        paths_add (out, relpath) == -1) {
      free (relpath);
      fprintf (stderr, "%s: error: %s\n", program, strerror (errno));
      r = -2;
      break;
    }
    if (!IS_DIR (e->st.mode))
      continue;
    if (is_ancestor (up, &e->st)) {
      fprintf (stderr, "%s: warning: %s: directory loop (not descending)\n",
               program, relpath);
      continue;
    }
    path = full_path (dir, e->name);
    if (path == NULL) {
      fprintf (stderr, "%s: error: %s\n", program, strerror (errno));
      r = -2;
      break;
    }
    me = (struct ancestor) { .up = up, .dev = e->st.dev, .ino = e->st.ino };
    r = collect_R (ls, path, relpath, &me, out);
    free (path);
  }

  gbox_free_dirents (entries, n);
  return r;
}

/* -R: every path below DIR, sorted, as the libguestfs "find" call
 * returns them: relative to DIR, with a leading "/" unless DIR ends
 * with one ("virt-ls -R /etc" prints "/fstab", "-R /" prints "etc"). */
static int
do_ls_R (struct ls *ls, const char *dir)
{
  struct paths paths = { 0 };
  struct gbox_stat st;
  struct ancestor top;
  size_t i;
  int r;

  /* A symbolic link given on the command line is followed. */
  if (gbox_stat_path (ls->h, dir, &st) == -1)
    return -1;
  if (!IS_DIR (st.mode)) {
    fprintf (stderr, "%s: error: %s: not a directory\n", program, dir);
    return -2;
  }

  top = (struct ancestor) { .up = NULL, .dev = st.dev, .ino = st.ino };
  r = collect_R (ls, dir, NULL, &top, &paths);
  if (r == 0) {
    qsort (paths.v, paths.n, sizeof (char *), compare_strings);
    const char *sep = dir[0] && dir[strlen (dir) - 1] == '/' ? "" : "/";

    for (i = 0; i < paths.n; ++i)
      printf ("%s%s\n", sep, paths.v[i]);
    check_output (ls);
  }
  paths_free (&paths);
  return r;
}

/* -lR output, field by field, as the libguestfs virt-ls prints it. */

static void
next_field (struct ls *ls)
{
  if (ls->field++ > 0)
    putchar (ls->csv ? ',' : ' ');
}

static void
output_string (struct ls *ls, const char *s)
{
  next_field (ls);
  if (ls->csv)
    gbox_csv_write_field (stdout, s);
  else
    fputs (s, stdout);
}

static void
output_int (struct ls *ls, int64_t v)
{
  next_field (ls);
  printf ("%" PRIi64, v);
}

static void
output_dev (struct ls *ls, int64_t dev)
{
  next_field (ls);
  printf ("%" PRIu64 ":%" PRIu64, gbox_dev_major ((uint64_t) dev),
          gbox_dev_minor ((uint64_t) dev));
}

static void
output_size (struct ls *ls, int64_t size)
{
  char buf[GBOX_HUMAN_BUFLEN];

  next_field (ls);
  if (ls->human)
    printf (ls->csv ? "%s" : "%10s", gbox_human_size ((uint64_t) size, buf));
  else
    printf (ls->csv ? "%" PRIi64 : "%10" PRIi64, size);
}

static void
output_uid (struct ls *ls, int64_t id)
{
  next_field (ls);
  printf ("%4" PRIi64, id);
}

static void
output_time (struct ls *ls, int64_t secs)
{
  char buf[64];

  next_field (ls);
  switch (ls->time_style) {
  case TIME_ISO:
    gbox_format_iso_time (secs, buf, sizeof buf);
    fputs (buf, stdout);
    break;
  case TIME_T:
    printf ("%10" PRIi64, secs);
    break;
  case TIME_RELATIVE:
    printf ("%8" PRIi64, (int64_t) ls->now.tv_sec - secs);
    break;
  case TIME_DAYS:
    printf ("%3" PRIi64, ((int64_t) ls->now.tv_sec - secs) / 86400);
    break;
  }
}

/* The checksums of the regular files of one directory, by name. */
struct sums {
  struct gbox_checksum_entry *v;
  size_t n;
};

static int
compare_sum_names (const void *p1, const void *p2)
{
  return strcmp (((const struct gbox_checksum_entry *) p1)->name,
                 ((const struct gbox_checksum_entry *) p2)->name);
}

static void
sums_free (struct sums *s)
{
  size_t i;

  for (i = 0; i < s->n; ++i) {
    free (s->v[i].name);
    free (s->v[i].checksum);
  }
  free (s->v);
  s->v = NULL;
  s->n = 0;
}

/* One checksums call per page of DIR (one in all but huge
 * directories). */
static int
read_sums (struct ls *ls, const char *dir, struct sums *s)
{
  uint64_t start = 0;

  s->v = NULL;
  s->n = 0;
  for (;;) {
    struct gbox_checksums_ret ret;
    struct gbox_checksum_entry *nv;

    if (gbox_checksums (ls->h, dir, ls->checksum, start, &ret) == -1)
      return -1;
    nv = realloc (s->v, (s->n + ret.entries.entries_len + 1) * sizeof *nv);
    if (nv == NULL) {
      xdr_free ((xdrproc_t) xdr_gbox_checksums_ret, (char *) &ret);
      return -1;
    }
    s->v = nv;
    /* Move the entries over; the reply's array is freed alone. */
    memcpy (&s->v[s->n], ret.entries.entries_val,
            ret.entries.entries_len * sizeof *nv);
    s->n += ret.entries.entries_len;
    free (ret.entries.entries_val);
    if (!ret.more)
      break;
    if (ret.next <= start) {
      errno = EPROTO;
      return -1;
    }
    start = ret.next;
  }
  qsort (s->v, s->n, sizeof *s->v, compare_sum_names);
  return 0;
}

static const char *
find_sum (const struct sums *s, const char *name)
{
  struct gbox_checksum_entry key = { .name = (char *) name };
  const struct gbox_checksum_entry *e;

  if (s == NULL || s->n == 0)
    return NULL;
  e = bsearch (&key, s->v, s->n, sizeof *s->v, compare_sum_names);
  return e ? e->checksum : NULL;
}

static void
json_add_int (json_object *o, const char *key, int64_t v)
{
  json_object_object_add (o, key, json_object_new_int64 (v));
}

static void
json_add_string (json_object *o, const char *key, const char *v)
{
  json_object *s = gbox_json_new_string (v);

  if (s == NULL) {
    fprintf (stderr, "%s: error: %s\n", program, strerror (ENOMEM));
    exit (EXIT_FAILURE);
  }
  json_object_object_add (o, key, s);
}

/* --json: one object a file, every field of its lstat, numbers as
 * numbers (times in seconds since the epoch). */
static void
show_file_json (const char *path, const struct gbox_stat *st,
                const char *link, const char *sum)
{
  char type[2] = { gbox_file_type_char ((uint64_t) st->mode), '\0' };
  json_object *o = json_object_new_object ();

  if (o == NULL) {
    fprintf (stderr, "%s: error: %s\n", program, strerror (ENOMEM));
    exit (EXIT_FAILURE);
  }
  json_add_string (o, "path", path);
  json_add_string (o, "type", type);
  json_add_int (o, "mode", st->mode & 07777);
  json_add_int (o, "size", st->size);
  json_add_int (o, "uid", st->uid);
  json_add_int (o, "gid", st->gid);
  json_add_int (o, "atime", st->atime);
  json_add_int (o, "mtime", st->mtime);
  json_add_int (o, "ctime", st->ctime);
  json_add_int (o, "dev", st->dev);
  json_add_int (o, "ino", st->ino);
  json_add_int (o, "nlink", st->nlink);
  json_add_int (o, "rdev", st->rdev);
  json_add_int (o, "blocks", st->blocks);
  if (link)
    json_add_string (o, "link", link);
  if (sum && IS_REG (st->mode))
    json_add_string (o, "checksum", sum);
  fputs (json_object_to_json_string_ext (o, JSON_C_TO_STRING_PLAIN |
                                         JSON_C_TO_STRING_NOSLASHESCAPE),
         stdout);
  putchar ('\n');
  json_object_put (o);
}

static void
show_file (struct ls *ls, const char *path, const struct gbox_stat *st,
           const char *link, const char *sum)
{
  char type[2] = { gbox_file_type_char ((uint64_t) st->mode), '\0' };
  char perms[8];

  if (ls->json) {
    show_file_json (path, st, link, sum);
    return;
  }
  ls->field = 0;
  output_string (ls, type);
  snprintf (perms, sizeof perms, "%04" PRIo64, (uint64_t) st->mode & 07777);
  output_string (ls, perms);
  output_size (ls, st->size);
  if (ls->uids) {
    output_uid (ls, st->uid);
    output_uid (ls, st->gid);
  }
  if (ls->times) {
    output_time (ls, st->atime);
    output_time (ls, st->mtime);
    output_time (ls, st->ctime);
  }
  if (ls->extra_stats) {
    output_dev (ls, st->dev);
    output_int (ls, st->ino);
    output_int (ls, st->nlink);
    output_dev (ls, st->rdev);
    output_int (ls, st->blocks);
  }
  if (ls->checksum) {
    if (IS_REG (st->mode))
      output_string (ls, sum ? sum : "");
    else if (ls->csv)
      output_string (ls, "");
  }
  output_string (ls, path);
  if (link != NULL) {
    if (ls->csv)
      output_string (ls, link);
    else {
      next_field (ls);
      printf ("-> %s", link);
    }
  }
  putchar ('\n');
}

static int
visit_lR (struct ls *ls, const char *dir, const struct ancestor *up)
{
  struct gbox_dirent *entries = NULL;
  size_t n = 0, i;
  int r = 0;

  struct sums sums = { NULL, 0 };

  if (read_dir (ls, dir, &entries, &n) == -1)
    return -1;
  if (ls->checksum && read_sums (ls, dir, &sums) == -1) {
    gbox_free_dirents (entries, n);
    return -1;
  }

  for (i = 0; i < n && r == 0; ++i) {
    const struct gbox_dirent *e = &entries[i];
    CLEANUP_FREE char *path = full_path (dir, e->name);
    struct ancestor me;

    if (path == NULL) {
      fprintf (stderr, "%s: error: %s\n", program, strerror (errno));
      r = -2;
      break;
    }
    show_file (ls, path, &e->st, IS_LNK (e->st.mode) ? e->link : NULL,
               find_sum (&sums, e->name));
    if (!IS_DIR (e->st.mode))
      continue;
    if (is_ancestor (up, &e->st)) {
      fprintf (stderr, "%s: warning: %s: directory loop (not descending)\n",
               program, path);
      continue;
    }
    check_output (ls);
    me = (struct ancestor) { .up = up, .dev = e->st.dev, .ino = e->st.ino };
    r = visit_lR (ls, path, &me);
  }

  sums_free (&sums);
  gbox_free_dirents (entries, n);
  return r;
}

/* -lR: DIR itself, then everything below it, depth first, each
 * directory's entries sorted by name.  Trailing slashes of DIR are
 * dropped ("-lR /etc/" prints "/etc" first, as the libguestfs tool). */
static int
do_ls_lR (struct ls *ls, const char *arg)
{
  CLEANUP_FREE char *target = NULL;
  CLEANUP_FREE char *dir = strdup (arg);
  struct gbox_stat st;
  struct ancestor top;
  size_t len;
  int r;

  if (dir == NULL) {
    fprintf (stderr, "%s: error: %s\n", program, strerror (errno));
    return -2;
  }
  len = strlen (dir);
  while (len > 1 && dir[len - 1] == '/')
    dir[--len] = '\0';

  if (gbox_lstat (ls->h, dir, &st) == -1)
    return -1;
  if (IS_LNK (st.mode)) {
    target = gbox_readlink (ls->h, dir);
    if (target == NULL)
      return -1;
  }
  if (ls->checksum && IS_REG (st.mode)) {
    /* A file given on the command line: its directory's checksums. */
    CLEANUP_FREE char *parent = strdup (dir);
    char *slash = parent ? strrchr (parent, '/') : NULL;
    struct sums sums = { NULL, 0 };

    if (slash == NULL) {
      fprintf (stderr, "%s: error: %s: %s\n", program, dir,
               parent ? "not an absolute path" : strerror (errno));
      return -2;
    }
    if (slash == parent)
      slash[1] = '\0';
    else
      slash[0] = '\0';
    if (read_sums (ls, parent, &sums) == -1)
      return -1;
    show_file (ls, dir, &st, target, find_sum (&sums, strrchr (dir, '/') + 1));
    sums_free (&sums);
  }
  else
    show_file (ls, dir, &st, target, NULL);
  top = (struct ancestor) { .up = NULL, .dev = st.dev, .ino = st.ino };
  r = visit_lR (ls, dir, &top);
  check_output (ls);
  return r;
}

static void __attribute__((noreturn))
usage (int status)
{
  if (status != EXIT_SUCCESS)
    fprintf (stderr, "Try '%s --help' for more information.\n", program);
  else
    printf ("%s: list files in a virtual machine disk image\n"
            "Usage:\n"
            "  %s [--options] -a disk.img [-a disk.img ...] dir [dir ...]\n"
            "Options:\n"
            "  -a|--add image       Add image\n"
            "  -c|--connect uri     Specify libvirt URI for -d option\n"
            "  -d|--domain guest    Add disks from libvirt guest\n"
            "  --checksum[=crc|md5|sha1|sha224|sha256|sha384|sha512]\n"
            "                       Display checksums of regular files\n"
            "  --csv                Comma-Separated Values output\n"
            "  --json               With -lR: one JSON object per file\n"
            "  --extra-stats        Display extra stats\n"
            "  --echo-keys          Show keys typed on the terminal\n"
            "  --format[=raw|..]    Force disk format for -a option\n"
            "  --help               Display brief help\n"
            "  -h|--human-readable  Human-readable sizes in output\n"
            "  -i|--inspector       Mount the filesystems of the operating\n"
            "                       system found by inspection (default)\n"
            "  -l|--long            Long listing\n"
            "  -m|--mount dev[:mnt[:opts[:fstype]]]\n"
            "                       Mount dev on mnt (if omitted, /)\n"
            "  -R|--recursive       Recursive listing\n"
            "  --times              Display file times\n"
            "  --time-days          Display file times as days before now\n"
            "  --time-relative      Display file times as seconds before now\n"
            "  --time-t             Display file times as time_t's\n"
            "  --uids               Display UID, GID\n"
            "  --key ID:key:KEY     Key of a LUKS device (or ID:file:FILE)\n"
            "  --keys-from-stdin    Read LUKS keys from stdin\n"
            "  -v|--verbose         Verbose messages\n"
            "  -V|--version         Display version and exit\n"
            "  -x                   Trace each call to the appliance\n"
            "For more information, see the manpage %s(1).\n",
            program, program, program);
  exit (status);
}

static const char *const checksum_types[] = {
  "crc", "md5", "sha1", "sha224", "sha256", "sha384", "sha512", NULL
};

static bool
is_checksum_type (const char *s)
{
  size_t t;

  for (t = 0; checksum_types[t]; ++t)
    if (strcmp (s, checksum_types[t]) == 0)
      return true;
  return false;
}

int
main (int argc, char *argv[])
{
  enum {
    CSV_OPTION = GBOX_OPT_FIRST_FREE,
    CHECKSUM_OPTION,
    EXTRA_STATS_OPTION,
    JSON_OPTION,
    TIMES_OPTION,
    TIME_DAYS_OPTION,
    TIME_RELATIVE_OPTION,
    TIME_T_OPTION,
    UIDS_OPTION,
  };
  static const char short_options[] = GBOX_OPTS_SHORT "hlR";
  static const struct option long_options[] = {
    GBOX_OPTS_LONG,
    { "checksum", optional_argument, NULL, CHECKSUM_OPTION },
    { "checksums", optional_argument, NULL, CHECKSUM_OPTION },
    { "csv", no_argument, NULL, CSV_OPTION },
    { "extra-stat", no_argument, NULL, EXTRA_STATS_OPTION },
    { "extra-stats", no_argument, NULL, EXTRA_STATS_OPTION },
    { "human-readable", no_argument, NULL, 'h' },
    { "json", no_argument, NULL, JSON_OPTION },
    { "long", no_argument, NULL, 'l' },
    { "recursive", no_argument, NULL, 'R' },
    { "time", no_argument, NULL, TIMES_OPTION },
    { "times", no_argument, NULL, TIMES_OPTION },
    { "time-days", no_argument, NULL, TIME_DAYS_OPTION },
    { "time-relative", no_argument, NULL, TIME_RELATIVE_OPTION },
    { "time-t", no_argument, NULL, TIME_T_OPTION },
    { "uid", no_argument, NULL, UIDS_OPTION },
    { "uids", no_argument, NULL, UIDS_OPTION },
    { NULL, 0, NULL, 0 }
  };
  struct gbox_opts o;
  struct ls ls = { .time_style = TIME_ISO };
  bool long_mode = false, recursive = false;
  unsigned errors = 0;
  int c, r;

  gbox_opts_init (&o, program, short_options, long_options, true);
  gbox_opts_set_argv (&o, argc, argv);
  ls.o = &o;

  while ((c = getopt_long (argc, argv, short_options, long_options,
                           NULL)) != -1) {
    r = gbox_opts_handle (&o, c, optarg);
    if (r == 1)
      continue;
    if (r == -1)
      usage (EXIT_FAILURE);
    switch (c) {
    case 'h': ls.human = true; break;
    case 'l': long_mode = true; break;
    case 'R': recursive = true; break;
    case CSV_OPTION: ls.csv = true; break;
    case JSON_OPTION: ls.json = true; break;
    case CHECKSUM_OPTION: {
      size_t t;

      /* "--checksum sha256" as well as "--checksum=sha256". */
      optarg = (char *) gbox_opts_optional_value (&o, optarg,
                                                  is_checksum_type);
      ls.checksum = optarg ? optarg : "md5";
      for (t = 0; checksum_types[t]; ++t)
        if (strcmp (ls.checksum, checksum_types[t]) == 0)
          break;
      if (checksum_types[t] == NULL) {
        fprintf (stderr, "%s: error: --checksum=%s: unknown checksum type "
                 "(crc, md5, sha1, sha224, sha256, sha384 or sha512)\n",
                 program, ls.checksum);
        usage (EXIT_FAILURE);
      }
      break;
    }
    case EXTRA_STATS_OPTION: ls.extra_stats = true; break;
    case TIMES_OPTION: ls.times = true; break;
    case TIME_T_OPTION:
      ls.times = true;
      ls.time_style = TIME_T;
      break;
    case TIME_RELATIVE_OPTION:
      ls.times = true;
      ls.time_style = TIME_RELATIVE;
      break;
    case TIME_DAYS_OPTION:
      ls.times = true;
      ls.time_style = TIME_DAYS;
      break;
    case UIDS_OPTION: ls.uids = true; break;
    case GBOX_OPT_HELP:
      usage (EXIT_SUCCESS);
    default:
      usage (EXIT_FAILURE);
    }
  }

  if (!(long_mode && recursive) &&
      (ls.csv || ls.human || ls.uids || ls.times || ls.extra_stats ||
       ls.checksum || ls.json)) {
    fprintf (stderr, "%s: error: --csv, -h, --uids, --times, --extra-stats, "
             "--checksum and --json can only be used with -lR\n", program);
    usage (EXIT_FAILURE);
  }
  /* JSON has every field, in bytes and seconds. */
  if (ls.json && (ls.csv || ls.human)) {
    fprintf (stderr, "%s: error: --json cannot be used with -h or --csv\n",
             program);
    usage (EXIT_FAILURE);
  }
  /* Spreadsheets would read "1.5K" as text (as the libguestfs tool,
   * refuse the combination). */
  if (ls.human && ls.csv) {
    fprintf (stderr, "%s: error: you cannot use -h and --csv options "
             "together\n", program);
    usage (EXIT_FAILURE);
  }
  if (gbox_opts_old_style (&o) == -1 || gbox_opts_check (&o) == -1)
    usage (EXIT_FAILURE);
  if (optind >= argc) {
    fprintf (stderr, "%s: error: no directory name given\n", program);
    usage (EXIT_FAILURE);
  }

  /* A closed stdout is seen as EPIPE and ends the listing quietly. */
  signal (SIGPIPE, SIG_IGN);
  /* ^C, kill, hang-up: no qemu or temp dir is left behind. */
  gbox_install_signal_handlers ();
  clock_gettime (CLOCK_REALTIME, &ls.now);

  ls.h = gbox_opts_new_handle (&o);

  if (gbox_opts_add_drives (ls.h, &o, 1) == -1 ||
      gbox_launch (ls.h) == -1 ||
      gbox_opts_mount (ls.h, &o) == -1) {
    gbox_opts_print_error (&o, ls.h);
    gbox_close (ls.h);
    gbox_opts_free (&o);
    exit (EXIT_FAILURE);
  }

  for (; optind < argc; optind++) {
    char *dir = gbox_opts_guest_path (ls.h, &o, argv[optind]);

    if (dir == NULL)
      r = -1;
    else if (!long_mode && !recursive)
      r = do_ls (&ls, dir);
    else if (long_mode && !recursive)
      r = do_ls_l (&ls, dir);
    else if (!long_mode)
      r = do_ls_R (&ls, dir);
    else
      r = do_ls_lR (&ls, dir);
    free (dir);
    /* -1: the message is on the handle; -2: already printed. */
    if (r == -1)
      gbox_opts_print_error (&o, ls.h);
    if (r != 0)
      errors++;
  }

  check_output (&ls);
  gbox_close (ls.h);
  gbox_opts_free (&o);
  exit (errors == 0 ? EXIT_SUCCESS : EXIT_FAILURE);
}
