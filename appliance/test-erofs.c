/* guestbox - the appliance builder.
 * Copyright (C) 2026 the guestbox authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

/** Test of the EROFS image writer: an entry list with nested directories,
 * host files of 0, 1, 4095, 4096 and 4097 bytes, 3 MiB and 9 MiB,
 * in-memory files, short and 200-byte symlinks, names with bytes that
 * sort before '.' ("-x", "+y", "!z"), a directory of 400 names (several
 * directory blocks), modes 0700, 0755, 0644, 04755 and entries outside
 * the prefix is written as an image of its "usr/" part.  fsck.erofs
 * (erofs-utils) must find it clean and extract it: every file's bytes,
 * every mode and symlink target must match, nothing from outside the
 * prefix may appear.  As root, when the host kernel can mount EROFS
 * from a loop device, the same checks run on the mount, with a stat of
 * every name (the kernel's lookup, not only its readdir).  Also: a
 * directory of 1500 names of 255 bytes (about 100 blocks), 20 random
 * lists, host files on tmpfs (copied without copy_file_range), the same
 * image for the same input, the prefix's spellings, an existing output
 * file, a missing source and host files that change size while copied
 * (files of /proc and /sys, whose sizes lie).
 *
 * Without fsck.erofs the test is skipped, or fails when REQUIRE_APPLIANCE=1
 * is set.
 *
 * "test-erofs --bench DIR [MB]" writes an image of the regular files and
 * symlinks below DIR (in name order, up to MB megabytes, default 100)
 * and prints how long it took. */

#include <config.h>

#include <dirent.h>
#include <ftw.h>
#include <sys/mount.h>
#include <time.h>

#include "tests.h"

#define NMANY 400
#define NWIDE 1500

static char *dir;               /* the test's temporary directory */

struct want {
  const char *name;             /* below the prefix */
  char type;                    /* 'd', '-', 'l' */
  mode_t mode;
  const char *host;             /* the bytes: a host file ... */
  const char *data;             /* ... or these */
  size_t len;
  const char *target;           /* symlinks */
};

static struct want wants[64 + NMANY];
static size_t nwants;
static char *many_names[NMANY + 1];
static char long_target[201];
static char long_name[256];
static char *blob;
#define BLOB_LEN 10000

static void
fill (char *buf, size_t len, unsigned seed)
{
  uint32_t x = seed * 2654435761u + 1;
  size_t i;

  for (i = 0; i < len; ++i) {
    x = x * 1103515245u + 12345u;
    buf[i] = x >> 16;
  }
}

static char *
host_file (const char *name, size_t len, unsigned seed)
{
  char *p = gbox_app_asprintf ("%s/src/%s", dir, name);
  char *buf = malloc (len ? len : 1);

  fill (buf, len, seed);
  if (test_write_file (p, buf, len) == -1) {
    perror (p);
    exit (EXIT_FAILURE);
  }
  free (buf);
  return p;
}

static void
want (const char *name, char type, mode_t mode, const char *host,
      const char *data, size_t len, const char *target)
{
  wants[nwants++] = (struct want) { name, type, mode, host, data, len,
                                    target };
}

/* The list: what is wanted below "usr/", and what must stay out. */
static struct gbox_app_cpio *
make_list (struct gbox_app_ctx *cx)
{
  struct gbox_app_cpio *a = gbox_app_cpio_new ();
  char *empty = host_file ("empty", 0, 1);
  char *one = host_file ("one", 1, 2);
  char *b4095 = host_file ("b4095", 4095, 11);
  char *b4096 = host_file ("b4096", 4096, 3);
  char *b4097 = host_file ("b4097", 4097, 4);
  char *mb3 = host_file ("mb3", 3 * 1024 * 1024 + 17, 5);
  char *big = host_file ("big", 9 * 1024 * 1024 + 5, 6);
  size_t i;
  int ok = 0;

  blob = malloc (BLOB_LEN);
  fill (blob, BLOB_LEN, 7);
  for (i = 0; i < 200; ++i)
    long_target[i] = i % 10 == 9 ? '/' : 'a' + i % 26;
  memset (long_name, 'n', 255);

  want ("bin", 'd', 0755, NULL, NULL, 0, NULL);
  want ("bin/setuid", '-', 04755, b4097, NULL, 0, NULL);
  want ("bin/big", '-', 0755, big, NULL, 0, NULL);
  want ("bin/-x", '-', 0755, one, NULL, 0, NULL);
  want ("bin/+y", '-', 0644, NULL, "plus\n", 5, NULL);
  want ("bin/!z", 'l', 0777, NULL, NULL, 0, "setuid");
  want ("bin/.hidden", '-', 0644, NULL, "h", 1, NULL);
  want ("bin/..dots", 'd', 0755, NULL, NULL, 0, NULL);
  want ("lib", 'd', 0755, NULL, NULL, 0, NULL);
  want ("lib/empty", '-', 0644, empty, NULL, 0, NULL);
  want ("lib/one", '-', 0644, one, NULL, 0, NULL);
  want ("lib/b4095", '-', 0644, b4095, NULL, 0, NULL);
  want ("lib/b4096", '-', 0600, b4096, NULL, 0, NULL);
  want ("lib/mb3", '-', 0644, mb3, NULL, 0, NULL);
  want ("lib/deep", 'd', 0755, NULL, NULL, 0, NULL);
  want ("lib/deep/er", 'd', 0750, NULL, NULL, 0, NULL);
  want ("lib/deep/er/est", 'd', 0755, NULL, NULL, 0, NULL);
  want ("lib/deep/er/est/data", '-', 0644, NULL, "hello\n", 6, NULL);
  want ("lib/deep/er/est/nothing", '-', 0640, NULL, "", 0, NULL);
  want ("lib/short", 'l', 0777, NULL, NULL, 0, "one");
  want ("lib/long", 'l', 0777, NULL, NULL, 0, long_target);
  want ("lib/abs", 'l', 0777, NULL, NULL, 0, "/usr/lib/one");
  want ("share", 'd', 0755, NULL, NULL, 0, NULL);
  want ("share/blob", '-', 0444, NULL, blob, BLOB_LEN, NULL);
  want ("secret", 'd', 0700, NULL, NULL, 0, NULL);
  want ("secret/key", '-', 0600, NULL, "k", 1, NULL);
  want ("-top", 'd', 0755, NULL, NULL, 0, NULL);
  want ("-top/!", '-', 0644, NULL, "!", 1, NULL);
  want ("many", 'd', 0755, NULL, NULL, 0, NULL);
  for (i = 0; i < NMANY; ++i) {
    many_names[i] = gbox_app_asprintf ("many/file-%04zu-with-a-longer-name-"
                                       "than-most", i);
    want (many_names[i], '-', 0644, NULL, many_names[i],
          strlen (many_names[i]), NULL);
  }
  many_names[NMANY] = gbox_app_asprintf ("many/%s", long_name);
  want (many_names[NMANY], '-', 0644, NULL, "x", 1, NULL);

  ok |= gbox_app_cpio_add_dir (cx, a, "usr", 0755);
  for (i = 0; i < nwants; ++i) {
    const struct want *w = &wants[i];
    char *name = gbox_app_asprintf ("usr/%s", w->name);
    if (w->type == 'd')
      ok |= gbox_app_cpio_add_dir (cx, a, name, w->mode);
    else if (w->type == 'l')
      ok |= gbox_app_cpio_add_symlink (cx, a, name, w->target);
    else if (w->host)
      ok |= gbox_app_cpio_add_file (cx, a, name, w->host, w->mode);
    else
      ok |= gbox_app_cpio_add_data (cx, a, name, w->data, w->len, w->mode);
    free (name);
  }
  /* Outside the prefix. */
  ok |= gbox_app_cpio_add_data (cx, a, "etc/passwd", "root:x:0:0\n", 11,
                                0644);
  ok |= gbox_app_cpio_add_data (cx, a, "usrx/file", "no", 2, 0644);
  ok |= gbox_app_cpio_add_data (cx, a, "us", "no", 2, 0644);
  ok |= gbox_app_cpio_add_dir (cx, a, "usr2/lib", 0755);
  ok |= gbox_app_cpio_add_symlink (cx, a, "bin", "usr/bin");
  ok |= gbox_app_cpio_add_file (cx, a, "init", one, 0755);
  CHECK (ok == 0, "the entry list is built (%s)", cx->err);
  return a;
}

static bool
same_bytes (const char *path, const struct want *w)
{
  struct gbox_app_ctx q = { 0 };
  char *got, *exp = NULL;
  size_t glen, elen;
  bool r;

  if (gbox_app_read_file (&q, path, 64 << 20, &got, &glen) == -1)
    return false;
  if (w->host) {
    if (gbox_app_read_file (&q, w->host, 64 << 20, &exp, &elen) == -1) {
      free (got);
      return false;
    }
  }
  else
    elen = w->len;
  r = glen == elen && memcmp (got, w->host ? exp : w->data, elen) == 0;
  free (got);
  free (exp);
  return r;
}

static size_t counted;

static int
count_entry (const char *path, const struct stat *st, int flag,
             struct FTW *ftw)
{
  (void) path;
  (void) st;
  (void) flag;
  (void) ftw;
  counted++;
  return 0;
}

/* The tree at TOP (an extraction or a mount): contents, symlinks, modes
 * (with the setuid bit, owner and time when FULL: fsck.erofs 1.5 drops
 * the setuid bit when it extracts, as it does for mkfs.erofs's images),
 * and nothing else.  Every name is looked up with lstat. */
static void
check_tree (const char *what, const char *top, bool full)
{
  size_t i, bad = 0;
  char *p;

  for (i = 0; i < nwants; ++i) {
    const struct want *w = &wants[i];
    struct stat st;
    bool ok;

    p = gbox_app_asprintf ("%s/%s", top, w->name);
    ok = lstat (p, &st) == 0;
    if (ok && w->type == 'd')
      ok = S_ISDIR (st.st_mode);
    else if (ok && w->type == 'l') {
      char t[4096];
      ssize_t n = readlink (p, t, sizeof t);
      ok = S_ISLNK (st.st_mode) && n == (ssize_t) strlen (w->target) &&
        memcmp (t, w->target, n) == 0;
    }
    else if (ok)
      ok = S_ISREG (st.st_mode) && same_bytes (p, w);
    if (ok && w->type != 'l')
      ok = (st.st_mode & (full ? 07777 : 0777)) ==
        (w->mode & (full ? 07777 : 0777));
    if (ok && full)
      ok = st.st_uid == 0 && st.st_gid == 0 && st.st_mtime == 0;
    if (!ok || i < nwants - NMANY - 1)
      CHECK (ok, "%s: /%s is there%s, mode%s", what, w->name,
             w->type == 'd' ? ", a directory" : w->type == 'l' ?
             ", right target" : ", right bytes",
             full ? " with setuid, owner, time" : " (0777 bits)");
    if (!ok)
      bad++;
    free (p);
  }
  CHECK (bad == 0, "%s: the %d files of /many have their bytes", what,
         NMANY + 1);
  counted = 0;
  nftw (top, count_entry, 16, FTW_PHYS);
  /* The top and the wanted entries: nothing else. */
  CHECK (counted == nwants + 1, "%s: %zu entries in all (want %zu)", what,
         counted, nwants + 1);
}

/* fsck.erofs IMAGE, extracting to EX when not NULL: its exit status. */
static int
fsck_erofs (const char *image, const char *ex)
{
  char *opt = ex ? gbox_app_asprintf ("--extract=%s", ex) : NULL;
  char *argv[] = { "fsck.erofs", opt ? opt : (char *) image,
                   opt ? "--preserve-perms" : NULL, (char *) image, NULL };
  char *out = NULL;
  int r;

  if (!opt)
    argv[2] = NULL;
  r = test_run (argv, NULL, &out);
  if (r != 0)
    printf ("fsck.erofs: %s\n", out ? out : "");
  free (out);
  free (opt);
  return r;
}

/* "dump.erofs ARG IMAGE"'s output. */
static char *
dump_erofs (const char *image, const char *arg)
{
  char *argv[] = { "dump.erofs", (char *) arg, (char *) image, NULL };
  char *out = NULL;

  if (!test_have ("dump.erofs") || test_run (argv, NULL, &out) != 0) {
    free (out);
    return NULL;
  }
  return out;
}

static void
check_image (const char *image)
{
  char *ex = gbox_app_asprintf ("%s/out", dir), *out;

  CHECK (fsck_erofs (image, NULL) == 0, "fsck.erofs exits 0");
  CHECK (fsck_erofs (image, ex) == 0, "fsck.erofs --extract exits 0");
  check_tree ("fsck.erofs --extract", ex, false);
  gbox_app_rmtree (ex);
  free (ex);

  out = dump_erofs (image, "-s");
  if (out) {
    CHECK (strstr (out, "Filesystem magic number:") &&
           strstr (out, "0xE0F5E1E2") &&
           strstr (out, "Filesystem inode metadata start block:        1\n")
           && strstr (out, "Filesystem root nid:                          0\n")
           && strstr (out, "Filesystem features:                          \n"),
           "dump.erofs -s: the magic, inodes from block 1, root nid 0, "
           "no features");
    if (getenv ("VERBOSE"))
      fputs (out, stdout);
    free (out);
  }
}

/* As root: mount IMAGE read-only through a loop device, run FN on the
 * mount point, and unmount. */
static void
with_mount (const char *image, void (*fn) (const char *mnt))
{
  char *mnt = gbox_app_asprintf ("%s/mnt", dir), *out = NULL;
  char *argv[] = { "losetup", "-f", "--show", "-r", (char *) image, NULL };
  char *dev;

  if (geteuid () != 0 || !test_have ("losetup") ||
      test_run (argv, NULL, &out) != 0 || out[0] != '/') {
    printf ("skip: no loop device for a read-only mount\n");
    free (out);
    free (mnt);
    return;
  }
  dev = strtok (out, "\n");
  mkdir (mnt, 0755);
  if (mount (dev, mnt, "erofs", MS_RDONLY, NULL) == 0) {
    fn (mnt);
    umount (mnt);
  }
  else
    printf ("skip: mount -t erofs %s: %s (no erofs in the host kernel, "
            "or modprobe erofs not possible here)\n", dev, strerror (errno));
  {
    char *dargv[] = { "losetup", "-d", dev, NULL };
    test_run (dargv, NULL, NULL);
  }
  rmdir (mnt);
  free (out);
  free (mnt);
}

static void
check_main_mount (const char *mnt)
{
  check_tree ("kernel erofs mount", mnt, true);
}

static void
check_wide_mount (const char *mnt)
{
  char name[300];
  struct stat st;
  int i, bad = 0;

  for (i = 0; i < NWIDE; ++i) {
    char *p;
    snprintf (name, sizeof name, "%04d%0251d", i, 0);
    p = gbox_app_asprintf ("%s/wide/%s", mnt, name);
    if (lstat (p, &st) == -1 || !S_ISREG (st.st_mode) || st.st_size != 0)
      bad++;
    free (p);
  }
  CHECK (bad == 0, "kernel erofs mount: all %d long names found by lookup "
         "(%d not)", NWIDE, bad);
  counted = 0;
  nftw (mnt, count_entry, 16, FTW_PHYS);
  CHECK (counted == NWIDE + 2, "kernel erofs mount: readdir lists them "
         "(%zu)", counted - 2);
}

static unsigned
rnd (unsigned *x)
{
  *x = *x * 1103515245u + 12345u;
  return (*x >> 8) & 0xffffff;
}

static double
now (void)
{
  struct timespec ts;

  clock_gettime (CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* The bench: DIR's files, in name order, up to MB megabytes. */
static struct gbox_app_cpio *bench_list;
static const char *bench_top;
static uint64_t bench_bytes, bench_max;
static size_t bench_files;

static int
bench_add (const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
  struct gbox_app_ctx cx = { 0 };
  char *name;
  char err[256];

  (void) ftw;
  cx.err = err;
  cx.errlen = sizeof err;
  name = gbox_app_asprintf ("usr/%s", path + strlen (bench_top));
  if (flag == FTW_F && S_ISREG (st->st_mode) &&
      bench_bytes + st->st_size <= bench_max &&
      access (path, R_OK) == 0) {
    if (gbox_app_cpio_add_file (&cx, bench_list, name, path,
                                st->st_mode & 07777) == 0) {
      bench_bytes += st->st_size;
      bench_files++;
    }
  }
  else if (flag == FTW_SL && bench_bytes < bench_max) {
    char t[4096];
    ssize_t n = readlink (path, t, sizeof t - 1);
    if (n > 0) {
      t[n] = '\0';
      gbox_app_cpio_add_symlink (&cx, bench_list, name, t);
    }
  }
  free (name);
  return 0;
}

static void
print_debug (void *opaque, const char *msg)
{
  (void) opaque;
  printf ("debug: %s\n", msg);
}

static int
bench (const char *top, const char *mb)
{
  char err[512];
  struct gbox_app_ctx cx = test_ctx (err, sizeof err);
  char *image = gbox_app_asprintf ("%s/bench.img", dir);
  char *cpio = gbox_app_asprintf ("%s/bench.cpio", dir);
  uint64_t bytes = 0;
  double t0, t1;
  int fd, r;

  cx.debug = print_debug;
  bench_list = gbox_app_cpio_new ();
  bench_top = top;
  bench_max = (mb ? strtoull (mb, NULL, 10) : 100) * 1024 * 1024;
  nftw (top, bench_add, 16, FTW_PHYS);
  printf ("bench: %zu files, %.1f MB from %s\n", bench_files,
          bench_bytes / 1e6, top);
  /* Read them once so the writers find them in the page cache. */
  fd = open (cpio, O_WRONLY | O_CREAT | O_EXCL, 0644);
  gbox_app_cpio_write (&cx, bench_list, fd, false, NULL);
  close (fd);
  unlink (cpio);

  t0 = now ();
  r = gbox_app_erofs_write (&cx, bench_list, "usr/", image, &bytes);
  t1 = now ();
  CHECK (r == 0, "bench: image written (%s)", err);
  printf ("bench: erofs image of %.1f MB in %.3f s (with its fsync)\n",
          bytes / 1e6, t1 - t0);
  if (test_have ("fsck.erofs"))
    CHECK (fsck_erofs (image, NULL) == 0, "bench: fsck.erofs exits 0");
  gbox_app_cpio_free (bench_list);
  free (image);
  free (cpio);
  return 0;
}

int
main (int argc, char *args[])
{
  char err[512];
  struct gbox_app_ctx cx = test_ctx (err, sizeof err);
  struct gbox_app_cpio *a;
  char *image, *image2, *image3;
  uint64_t bytes = 0, bytes2 = 0;
  double t0;
  int r;

  dir = test_tmpdir ();
  if (argc >= 3 && strcmp (args[1], "--bench") == 0) {
    bench (args[2], argc > 3 ? args[3] : NULL);
    gbox_app_rmtree (dir);
    return check_finish ("test-erofs --bench");
  }
  if (!test_have ("fsck.erofs")) {
    const char *req = getenv ("REQUIRE_APPLIANCE");
    gbox_app_rmtree (dir);
    if (req && strcmp (req, "1") == 0) {
      printf ("FAIL: fsck.erofs (erofs-utils) is needed and "
              "REQUIRE_APPLIANCE=1 is set\n");
      return EXIT_FAILURE;
    }
    printf ("SKIP: fsck.erofs (erofs-utils) is needed\n");
    return 77;
  }
  image = gbox_app_asprintf ("%s/usr.img", dir);
  image2 = gbox_app_asprintf ("%s/usr2.img", dir);
  image3 = gbox_app_asprintf ("%s/usr3.img", dir);
  {
    char *src = gbox_app_asprintf ("%s/src", dir);
    mkdir (src, 0755);
    free (src);
  }

  a = make_list (&cx);
  t0 = now ();
  r = gbox_app_erofs_write (&cx, a, "usr/", image, &bytes);
  CHECK (r == 0, "the image is written in %.3f s (%s)", now () - t0, err);
  {
    struct stat st;
    CHECK (stat (image, &st) == 0 && (uint64_t) st.st_size == bytes &&
           bytes % 4096 == 0 && bytes > 13 * 1024 * 1024 &&
           bytes < 32 * 1024 * 1024,
           "*BYTES is the image's size, a multiple of 4096 (%llu)",
           (unsigned long long) bytes);
  }
  check_image (image);
  with_mount (image, check_main_mount);

  /* The same image again, whatever the prefix's spelling. */
  CHECK (gbox_app_erofs_write (&cx, a, "/usr", image2, &bytes2) == 0 &&
         bytes2 == bytes, "written again with prefix \"/usr\" (%s)", err);
  {
    struct gbox_app_ctx q = { 0 };
    size_t l1 = 0, l2 = 0;
    char *d1 = NULL, *d2 = NULL;
    gbox_app_read_file (&q, image, 256 << 20, &d1, &l1);
    gbox_app_read_file (&q, image2, 256 << 20, &d2, &l2);
    CHECK (d1 && d2 && l1 == l2 && memcmp (d1, d2, l1) == 0,
           "the same bytes");
    free (d1);
    free (d2);
  }
  unlink (image2);
  CHECK (gbox_app_erofs_write (&cx, a, "usr", image2, &bytes2) == 0 &&
         bytes2 == bytes, "written again with prefix \"usr\" (%s)", err);

  /* An existing file is neither overwritten nor removed. */
  err[0] = '\0';
  CHECK (gbox_app_erofs_write (&cx, a, "usr/", image2, NULL) == -1 &&
         strstr (err, "exists") && access (image2, F_OK) == 0,
         "an existing output file is an error and is kept (%s)", err);

  /* The whole list under the empty prefix. */
  err[0] = '\0';
  CHECK (gbox_app_erofs_write (&cx, a, "", image3, NULL) == 0,
         "the whole list as an image (%s)", err);
  {
    char *ex = gbox_app_asprintf ("%s/whole", dir);
    char *p1 = gbox_app_asprintf ("%s/usr/lib/deep/er/est/data", ex);
    char *p2 = gbox_app_asprintf ("%s/etc/passwd", ex);
    char *d1 = NULL, *d2 = NULL;
    size_t l;
    struct gbox_app_ctx q = { 0 };
    CHECK (fsck_erofs (image3, ex) == 0, "it is clean");
    gbox_app_read_file (&q, p1, 1024, &d1, &l);
    gbox_app_read_file (&q, p2, 1024, &d2, &l);
    CHECK (d1 && strcmp (d1, "hello\n") == 0,
           "it holds /usr/lib/deep/er/est/data");
    CHECK (d2 && strcmp (d2, "root:x:0:0\n") == 0, "and /etc/passwd");
    gbox_app_rmtree (ex);
    free (ex);
    free (p1);
    free (p2);
    free (d1);
    free (d2);
  }
  unlink (image3);

  /* A prefix that is not a directory. */
  err[0] = '\0';
  CHECK (gbox_app_erofs_write (&cx, a, "init", image3, NULL) == -1 &&
         strstr (err, "not a directory") && access (image3, F_OK) == -1,
         "a prefix that is a file is an error (%s)", err);
  /* A prefix with nothing below: an empty filesystem. */
  err[0] = '\0';
  CHECK (gbox_app_erofs_write (&cx, a, "nothing", image3, NULL) == 0,
         "nothing below the prefix: an empty image (%s)", err);
  CHECK (fsck_erofs (image3, NULL) == 0, "it is clean");
  unlink (image3);

  /* A directory of 1500 names of 255 bytes: about 100 directory blocks,
   * looked up by binary search. */
  {
    struct gbox_app_cpio *b = gbox_app_cpio_new ();
    char name[300], *ex = gbox_app_asprintf ("%s/wide", dir);
    char *sub = gbox_app_asprintf ("%s/wide/wide", dir);
    int i, bad = 0;
    for (i = 0; i < NWIDE; ++i) {
      snprintf (name, sizeof name, "usr/wide/%04d%0251d", i, 0);
      bad |= gbox_app_cpio_add_data (&cx, b, name, "", 0, 0644);
    }
    err[0] = '\0';
    t0 = now ();
    r = gbox_app_erofs_write (&cx, b, "usr", image3, NULL);
    CHECK (bad == 0 && r == 0, "%d long names written in %.3f s (%s)",
           NWIDE, now () - t0, err);
    CHECK (fsck_erofs (image3, ex) == 0, "it is clean");
    counted = 0;
    nftw (sub, count_entry, 16, FTW_PHYS);
    CHECK (counted == NWIDE + 1, "all %d names are there (%zu)", NWIDE,
           counted - 1);
    with_mount (image3, check_wide_mount);
    gbox_app_rmtree (ex);
    unlink (image3);
    gbox_app_cpio_free (b);
    free (ex);
    free (sub);
  }

  /* Host files on another filesystem (tmpfs) than the image: there
   * copy_file_range fails with EXDEV and pread/pwrite take over. */
  {
    char *shm = strdup ("/dev/shm/gbox-test-XXXXXX");
    struct stat s1, s2;
    if (shm && mkdtemp (shm) && stat (shm, &s1) == 0 &&
        stat (dir, &s2) == 0 && s1.st_dev != s2.st_dev) {
      struct gbox_app_cpio *b = gbox_app_cpio_new ();
      char *f1 = gbox_app_asprintf ("%s/f1", shm);
      char *f2 = gbox_app_asprintf ("%s/f2", shm);
      char *buf = malloc (5 * 1024 * 1024 + 3);
      char *ex = gbox_app_asprintf ("%s/shm", dir);
      char *d1 = gbox_app_asprintf ("%s/f1", ex);
      char *d2 = gbox_app_asprintf ("%s/f2", ex);
      struct want w1 = { .data = buf, .len = 5 * 1024 * 1024 + 3 };
      struct want w2 = { .data = buf, .len = 4097 };
      fill (buf, w1.len, 10);
      test_write_file (f1, buf, w1.len);
      test_write_file (f2, buf, w2.len);
      gbox_app_cpio_add_file (&cx, b, "usr/f1", f1, 0644);
      gbox_app_cpio_add_file (&cx, b, "usr/f2", f2, 0644);
      err[0] = '\0';
      CHECK (gbox_app_erofs_write (&cx, b, "usr", image3, NULL) == 0,
             "host files on tmpfs: written (%s)", err);
      CHECK (fsck_erofs (image3, ex) == 0, "it is clean");
      CHECK (same_bytes (d1, &w1) && same_bytes (d2, &w2),
             "their bytes are right (copied with pread/pwrite)");
      gbox_app_rmtree (ex);
      unlink (image3);
      gbox_app_cpio_free (b);
      free (f1);
      free (f2);
      free (buf);
      free (ex);
      free (d1);
      free (d2);
    }
    else
      printf ("skip: no tmpfs at /dev/shm apart from %s\n", dir);
    if (shm)
      gbox_app_rmtree (shm);
    free (shm);
  }

  /* Random lists (names of 1 to 255 bytes of all sorts of bytes, sizes
   * near block edges, symlinks, up to 3 levels): fsck.erofs extracts
   * each image cleanly with every name. */
  {
    static char pool[2 * 1024 * 1024];
    static const char chars[] = "!#+-.0123456789=ABCZ_abcxyz~\x7f\x80\xe9\xff";
    unsigned seed, bad_write = 0, bad_fsck = 0, bad_count = 0;
    char *ex = gbox_app_asprintf ("%s/rnd", dir);
    fill (pool, sizeof pool, 9);
    for (seed = 1; seed <= 20; ++seed) {
      struct gbox_app_cpio *b = gbox_app_cpio_new ();
      unsigned x = seed, i, n, added = 0;
      char name[1200], dirs[4][300];
      size_t depth = 0;
      n = 20 + rnd (&x) % 300;
      strcpy (dirs[0], "usr");
      for (i = 0; i < n; ++i) {
        char base[256];
        size_t blen = rnd (&x) % 4 == 0 ? 255 : 20, k;
        int ok;
        blen = 1 + rnd (&x) % blen;
        for (k = 0; k < blen; ++k)
          base[k] = chars[rnd (&x) % (sizeof chars - 1)];
        base[blen] = '\0';
        if (strcmp (base, ".") == 0 || strcmp (base, "..") == 0)
          continue;
        snprintf (name, sizeof name, "%s/%s", dirs[depth], base);
        if (gbox_app_cpio_lookup (b, name) != -1)
          continue;
        switch (rnd (&x) % 6) {
        case 0:
          ok = gbox_app_cpio_add_dir (&cx, b, name, 0755);
          if (ok == 0 && depth < 3 && strlen (name) < sizeof dirs[0])
            strcpy (dirs[++depth], name);
          break;
        case 1:
          if (depth > 0)
            depth--;
          /* fall through */
        case 2: {
          char t[301];
          size_t tlen = 1 + rnd (&x) % 300;
          memset (t, 'l', tlen);
          t[tlen] = '\0';
          ok = gbox_app_cpio_add_symlink (&cx, b, name, t);
          break;
        }
        default: {
          size_t len = rnd (&x) % 4 == 0 ? rnd (&x) % sizeof pool
                       : (rnd (&x) % 20) * 4096;
          len = len + rnd (&x) % 3 - 1;     /* may wrap: then 0 */
          if (len > sizeof pool)
            len = 0;
          ok = gbox_app_cpio_add_data (&cx, b, name, pool, len, 0644);
        }
        }
        if (ok == 0)
          added++;
      }
      err[0] = '\0';
      if (gbox_app_erofs_write (&cx, b, "usr", image3, NULL) == -1) {
        printf ("seed %u: %s\n", seed, err);
        bad_write++;
      }
      else if (fsck_erofs (image3, ex) != 0)
        bad_fsck++;
      else {
        counted = 0;
        nftw (ex, count_entry, 16, FTW_PHYS);
        if (counted != added + 1) {
          printf ("seed %u: %zu extracted, %u added\n", seed, counted - 1,
                  added);
          bad_count++;
        }
      }
      gbox_app_rmtree (ex);
      unlink (image3);
      gbox_app_cpio_free (b);
    }
    CHECK (bad_write == 0 && bad_fsck == 0 && bad_count == 0,
           "20 random lists: written (%u failed), fsck.erofs clean (%u not), "
           "every name extracted (%u not)", bad_write, bad_fsck, bad_count);
    free (ex);
  }

  /* Host files whose size is not what was found: no image is left. */
  {
    static const char *const liars[] = {
      "/proc/self/status",      /* size 0, not empty: grows */
      "/sys/kernel/mm/transparent_hugepage/enabled",   /* 4096: shrinks */
    };
    size_t i;
    for (i = 0; i < sizeof liars / sizeof liars[0]; ++i) {
      struct gbox_app_cpio *b = gbox_app_cpio_new ();
      if (access (liars[i], R_OK) == -1) {
        printf ("skip: %s\n", liars[i]);
        gbox_app_cpio_free (b);
        continue;
      }
      gbox_app_cpio_add_data (&cx, b, "usr/a", "a", 1, 0644);
      gbox_app_cpio_add_file (&cx, b, "usr/liar", liars[i], 0644);
      err[0] = '\0';
      r = gbox_app_erofs_write (&cx, b, "usr", image3, NULL);
      CHECK (r == -1 && (strstr (err, "shrank") || strstr (err, "changed")) &&
             access (image3, F_OK) == -1,
             "%s: an error, no image (%s)", liars[i], err);
      gbox_app_cpio_free (b);
    }
  }
  /* A source that went away. */
  {
    struct gbox_app_cpio *b = gbox_app_cpio_new ();
    char *gone = gbox_app_asprintf ("%s/gone", dir);
    gbox_app_cpio_add_file (&cx, b, "usr/x", gone, 0644);
    err[0] = '\0';
    CHECK (gbox_app_erofs_write (&cx, b, "usr", image3, NULL) == -1 &&
           strstr (err, "gone") && access (image3, F_OK) == -1,
           "a missing source file is an error (%s)", err);
    gbox_app_cpio_free (b);
    free (gone);
  }

  gbox_app_cpio_free (a);
  gbox_app_rmtree (dir);
  free (dir);
  free (image);
  free (image2);
  free (image3);
  free (blob);
  for (r = 0; r <= NMANY; ++r)
    free (many_names[r]);
  return check_finish ("test-erofs");
}
