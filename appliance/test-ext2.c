/* guestbox - the appliance builder.
 * Copyright (C) 2026 the guestbox authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

/** Test of the ext2 image writer: an entry list with nested directories,
 * host files of 0, 1, 4096 and 4097 bytes, 3 MiB and 9 MiB (indirect and
 * double indirect blocks), in-memory files, fast and slow symlinks, a
 * directory of 400 names (several directory blocks), modes 0700, 0755,
 * 0644, 04755 and entries outside the prefix is written as an image of
 * its "usr/" part.  e2fsck -fn must find it clean; debugfs extracts it
 * ("rdump") and lists its directories ("ls -l"): every file's bytes,
 * every mode (with the type) and symlink target must match, nothing
 * from outside the prefix may appear, every time is 0.  As root, when
 * a loop device can be had, the kernel mounts it read-only and the same
 * checks run on the mount.  Files of 12, 13, 1036 and 1037 blocks sit at
 * the edges of the block map.  Also: a directory of 1500 names of 255
 * bytes, 20 random lists, host files on tmpfs (copied without
 * copy_file_range), the same image for the same input,
 * the prefix's spellings, an existing output file, and host files that
 * change size while copied (files of /proc and /sys, whose sizes lie).
 *
 * "test-ext2 --bench DIR [MB]" writes an image of the regular files and
 * symlinks below DIR (in name order, up to MB megabytes, default 100)
 * and prints how long it took. */

#include <config.h>

#include <dirent.h>
#include <ftw.h>
#include <sys/mount.h>
#include <time.h>

#include "tests.h"

#define NMANY 400

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
/* Sizes at the edges of the block map: 12 blocks fill the inode's
 * direct addresses, 1036 the indirect block as well. */
static const size_t edges[] = { 12 * 4096, 12 * 4096 + 1, 1036 * 4096,
                                1036 * 4096 + 1 };
static char *edge_names[4];
static char *edge_data;
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
  want ("lib", 'd', 0755, NULL, NULL, 0, NULL);
  want ("lib/empty", '-', 0644, empty, NULL, 0, NULL);
  want ("lib/one", '-', 0644, one, NULL, 0, NULL);
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
  edge_data = malloc (1037 * 4096);
  fill (edge_data, 1037 * 4096, 8);
  want ("lib/edge", 'd', 0755, NULL, NULL, 0, NULL);
  for (i = 0; i < 4; ++i) {
    edge_names[i] = gbox_app_asprintf ("lib/edge/%zu", edges[i]);
    want (edge_names[i], '-', 0644, NULL, edge_data, edges[i], NULL);
  }
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

/* The tree at TOP (an extraction or a mount): contents, symlinks, and
 * nothing else; modes too when CHECK_MODES (rdump loses the setuid
 * bit). */
static void
check_tree (const char *what, const char *top, bool check_modes)
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
    if (ok && check_modes && w->type != 'l')
      ok = (st.st_mode & 07777) == w->mode && st.st_uid == 0 &&
        st.st_gid == 0 && st.st_mtime == 0;
    if (!ok || i < nwants - NMANY - 1)
      CHECK (ok, "%s: /%s is there%s%s", what, w->name,
             w->type == 'd' ? ", a directory" : w->type == 'l' ?
             ", right target" : ", right bytes",
             check_modes && w->type != 'l' ? ", mode, owner, time" : "");
    if (!ok)
      bad++;
    free (p);
  }
  CHECK (bad == 0, "%s: the %d files of /many have their bytes", what,
         NMANY + 1);
  counted = 0;
  nftw (top, count_entry, 16, FTW_PHYS);
  /* The top, lost+found and the wanted entries: nothing else. */
  CHECK (counted == nwants + 2, "%s: %zu entries in all (want %zu)", what,
         counted, nwants + 2);
  p = gbox_app_asprintf ("%s/lost+found", top);
  CHECK (access (p, F_OK) == 0, "%s: lost+found exists", what);
  free (p);
}

/* "debugfs -R CMD IMAGE"'s output. */
static char *
debugfs (const char *image, const char *cmd)
{
  char *argv[] = { "debugfs", "-R", (char *) cmd, (char *) image, NULL };
  char *out = NULL;

  if (test_run (argv, NULL, &out) != 0) {
    free (out);
    return NULL;
  }
  return out;
}

/* The full mode of NAME as "debugfs ls -l" of its directory shows it. */
static long
listed_mode (const char *image, const char *name)
{
  const char *slash = strrchr (name, '/');
  char *cmd, *out, *line, *save = NULL;
  const char *base = slash ? slash + 1 : name;
  long mode = -1;

  cmd = slash ? gbox_app_asprintf ("ls -l /%.*s", (int) (slash - name), name)
              : gbox_app_asprintf ("ls -l /");
  out = debugfs (image, cmd);
  free (cmd);
  if (!out)
    return -1;
  for (line = strtok_r (out, "\n", &save); line;
       line = strtok_r (NULL, "\n", &save)) {
    char *f[10], *s2 = NULL, *tok;
    size_t n = 0;
    for (tok = strtok_r (line, " \t", &s2); tok && n < 10;
         tok = strtok_r (NULL, " \t", &s2))
      f[n++] = tok;
    if (n >= 9 && strcmp (f[8], base) == 0)
      mode = strtol (f[1], NULL, 8);
  }
  free (out);
  return mode;
}

static void
check_image (const char *image)
{
  char *out, *ex;
  size_t i;
  int r;

  {
    char *argv[] = { "e2fsck", "-fn", (char *) image, NULL };
    r = test_run (argv, NULL, &out);
    CHECK (r == 0, "e2fsck -fn exits 0 (%d)", r);
    if (r != 0)
      fputs (out, stdout);
    free (out);
  }

  ex = gbox_app_asprintf ("%s/out", dir);
  {
    char *cmd = gbox_app_asprintf ("rdump / %s", ex);
    mkdir (ex, 0755);
    out = debugfs (image, cmd);
    CHECK (out != NULL, "debugfs rdump exits 0");
    free (out);
    free (cmd);
  }
  check_tree ("debugfs rdump", ex, false);
  gbox_app_rmtree (ex);
  free (ex);

  for (i = 0; i < nwants - NMANY - 1; ++i) {
    const struct want *w = &wants[i];
    long want_mode = w->mode | (w->type == 'd' ? 040000
                                : w->type == 'l' ? 0120000 : 0100000);
    long got = listed_mode (image, w->name);
    CHECK (got == want_mode, "debugfs ls -l: /%s has mode %lo (got %lo)",
           w->name, want_mode, got);
  }
  CHECK (listed_mode (image, "lost+found") == 040700,
         "debugfs ls -l: /lost+found has mode 40700");

  out = debugfs (image, "ls -l /");
  CHECK (out && strstr (out, " .\n") && !strstr (out, "usr") &&
         !strstr (out, "etc") && !strstr (out, "init"),
         "the root holds the prefix's entries only");
  free (out);

  {
    static const char *const names[] = { "/", "/bin/big", "/lib/short",
                                         "/lib/long", "/lib/deep/er" };
    for (i = 0; i < sizeof names / sizeof names[0]; ++i) {
      char *cmd = gbox_app_asprintf ("stat %s", names[i]);
      out = debugfs (image, cmd);
      CHECK (out && strstr (out, "ctime: 0x00000000:00000000") &&
             strstr (out, "atime: 0x00000000:00000000") &&
             strstr (out, "mtime: 0x00000000:00000000") &&
             strstr (out, "crtime: 0x00000000:00000000") &&
             strstr (out, "User:     0   Group:     0"),
             "%s: owner 0, every time 0", names[i]);
      if (i == 1)
        CHECK (out && strstr (out, "(IND)") && strstr (out, "(DIND)"),
               "/bin/big has indirect and double indirect blocks");
      if (i == 2)
        CHECK (out && strstr (out, "Fast link dest: \"one\""),
               "/lib/short is a fast symlink");
      free (out);
      free (cmd);
    }
  }
  out = debugfs (image, "stats");
  CHECK (out && strstr (out, "Filesystem revision #:    1 (dynamic)") &&
         strstr (out, "Block size:               4096") &&
         strstr (out, "Inode size:\t          256") &&
         !strstr (out, "has_journal") && !strstr (out, "extent"),
         "revision 1, 4 KiB blocks, 256-byte inodes, no journal, block maps");
  free (out);
}

/* As root with a loop device: the kernel's view of the image. */
static void
check_mount (const char *image)
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
  if (mount (dev, mnt, "ext2", MS_RDONLY, NULL) == 0) {
    check_tree ("kernel ext2 mount", mnt, true);
    umount (mnt);
  }
  else
    printf ("skip: mount -t ext2 %s: %s\n", dev, strerror (errno));
  {
    char *dargv[] = { "losetup", "-d", dev, NULL };
    test_run (dargv, NULL, NULL);
  }
  rmdir (mnt);
  free (out);
  free (mnt);
}

/* The image with the superblock's write time cleared. */
static char *
read_image (const char *path, size_t *len)
{
  struct gbox_app_ctx q = { 0 };
  char *data;

  if (gbox_app_read_file (&q, path, 256 << 20, &data, len) == -1)
    return NULL;
  if (*len >= 1024 + 52)
    memset (data + 1024 + 48, 0, 4);    /* s_wtime */
  return data;
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
  double t0, t1, t2;
  int fd, r;

  cx.debug = print_debug;
  bench_list = gbox_app_cpio_new ();
  bench_top = top;
  bench_max = (mb ? strtoull (mb, NULL, 10) : 100) * 1024 * 1024;
  nftw (top, bench_add, 16, FTW_PHYS);
  printf ("bench: %zu files, %.1f MB from %s\n", bench_files,
          bench_bytes / 1e6, top);
  /* Read them once so both writers find them in the page cache. */
  fd = open (cpio, O_WRONLY | O_CREAT | O_EXCL, 0644);
  gbox_app_cpio_write (&cx, bench_list, fd, false, NULL);
  close (fd);
  unlink (cpio);

  t0 = now ();
  r = gbox_app_ext2_write (&cx, bench_list, "usr/", image, &bytes);
  t1 = now ();
  CHECK (r == 0, "bench: image written (%s)", err);
  printf ("bench: ext2 image of %.1f MB in %.3f s (with its fsync)\n",
          bytes / 1e6, t1 - t0);
  fd = open (cpio, O_WRONLY | O_CREAT | O_EXCL, 0644);
  t1 = now ();
  gbox_app_cpio_write (&cx, bench_list, fd, false, &bytes);
  fsync (fd);
  t2 = now ();
  close (fd);
  printf ("bench: cpio of %.1f MB in %.3f s (with its fsync), for "
          "comparison\n", bytes / 1e6, t2 - t1);
  {
    char *argv[] = { "e2fsck", "-fn", image, NULL };
    CHECK (test_run (argv, NULL, NULL) == 0, "bench: e2fsck -fn exits 0");
  }
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
    return check_finish ("test-ext2 --bench");
  }
  if (!test_have ("e2fsck") || !test_have ("debugfs")) {
    printf ("skip: e2fsck and debugfs (e2fsprogs) are needed\n");
    gbox_app_rmtree (dir);
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
  r = gbox_app_ext2_write (&cx, a, "usr/", image, &bytes);
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
  check_mount (image);

  /* The same image again, whatever the prefix's spelling. */
  CHECK (gbox_app_ext2_write (&cx, a, "/usr", image2, &bytes2) == 0 &&
         bytes2 == bytes, "written again with prefix \"/usr\" (%s)", err);
  {
    size_t l1 = 0, l2 = 0;
    char *d1 = read_image (image, &l1), *d2 = read_image (image2, &l2);
    CHECK (d1 && d2 && l1 == l2 && memcmp (d1, d2, l1) == 0,
           "the same bytes but for the write time");
    free (d1);
    free (d2);
  }

  /* An existing file is neither overwritten nor removed. */
  err[0] = '\0';
  CHECK (gbox_app_ext2_write (&cx, a, "usr/", image2, NULL) == -1 &&
         strstr (err, "exists") && access (image2, F_OK) == 0,
         "an existing output file is an error and is kept (%s)", err);

  /* The whole list under the empty prefix. */
  err[0] = '\0';
  CHECK (gbox_app_ext2_write (&cx, a, "", image3, NULL) == 0,
         "the whole list as an image (%s)", err);
  {
    char *argv[] = { "e2fsck", "-fn", image3, NULL };
    char *out = debugfs (image3, "cat /usr/lib/deep/er/est/data");
    CHECK (test_run (argv, NULL, NULL) == 0 && out &&
           strcmp (out, "hello\n") == 0,
           "it is clean and holds /usr/lib/deep/er/est/data");
    free (out);
    out = debugfs (image3, "cat /etc/passwd");
    CHECK (out && strcmp (out, "root:x:0:0\n") == 0,
           "and /etc/passwd");
    free (out);
  }
  unlink (image3);

  /* A prefix that is not a directory. */
  err[0] = '\0';
  CHECK (gbox_app_ext2_write (&cx, a, "init", image3, NULL) == -1 &&
         strstr (err, "not a directory") && access (image3, F_OK) == -1,
         "a prefix that is a file is an error (%s)", err);
  /* A prefix with nothing below: an empty filesystem. */
  err[0] = '\0';
  CHECK (gbox_app_ext2_write (&cx, a, "nothing", image3, NULL) == 0,
         "nothing below the prefix: an empty image (%s)", err);
  {
    char *argv[] = { "e2fsck", "-fn", image3, NULL };
    CHECK (test_run (argv, NULL, NULL) == 0, "it is clean");
  }
  unlink (image3);

  /* A directory of 1500 names of 255 bytes and nothing else: about 100
   * directory blocks (an indirect block too) and no data blocks, where
   * the size bound is tightest. */
  {
    struct gbox_app_cpio *b = gbox_app_cpio_new ();
    char name[300], *ex = gbox_app_asprintf ("%s/wide", dir);
    char *cmd = gbox_app_asprintf ("rdump /wide %s", dir);
    char *out;
    int i, bad = 0;
    for (i = 0; i < 1500; ++i) {
      snprintf (name, sizeof name, "usr/wide/%04d%0251d", i, 0);
      bad |= gbox_app_cpio_add_data (&cx, b, name, "", 0, 0644);
    }
    err[0] = '\0';
    t0 = now ();
    r = gbox_app_ext2_write (&cx, b, "usr", image3, NULL);
    CHECK (bad == 0 && r == 0, "1500 long names written in %.3f s (%s)",
           now () - t0, err);
    {
      char *argv[] = { "e2fsck", "-fn", image3, NULL };
      CHECK (test_run (argv, NULL, NULL) == 0, "it is clean");
    }
    out = debugfs (image3, "stat /wide");
    CHECK (out && strstr (out, "(IND)"), "/wide has an indirect block");
    free (out);
    out = debugfs (image3, cmd);
    free (out);
    counted = 0;
    nftw (ex, count_entry, 16, FTW_PHYS);
    CHECK (counted == 1501, "all 1500 names are there (%zu)", counted - 1);
    gbox_app_rmtree (ex);
    unlink (image3);
    gbox_app_cpio_free (b);
    free (ex);
    free (cmd);
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
      char *d1 = gbox_app_asprintf ("%s/d1", dir);
      char *d2 = gbox_app_asprintf ("%s/d2", dir);
      char *c1 = gbox_app_asprintf ("dump /f1 %s", d1);
      char *c2 = gbox_app_asprintf ("dump /f2 %s", d2);
      struct want w1 = { .data = buf, .len = 5 * 1024 * 1024 + 3 };
      struct want w2 = { .data = buf, .len = 4097 };
      char *out;
      fill (buf, w1.len, 10);
      test_write_file (f1, buf, w1.len);
      test_write_file (f2, buf, w2.len);
      gbox_app_cpio_add_file (&cx, b, "usr/f1", f1, 0644);
      gbox_app_cpio_add_file (&cx, b, "usr/f2", f2, 0644);
      err[0] = '\0';
      CHECK (gbox_app_ext2_write (&cx, b, "usr", image3, NULL) == 0,
             "host files on tmpfs: written (%s)", err);
      free (debugfs (image3, c1));
      free (debugfs (image3, c2));
      CHECK (same_bytes (d1, &w1) && same_bytes (d2, &w2),
             "their bytes are right (copied with pread/pwrite)");
      {
        char *argv[] = { "e2fsck", "-fn", image3, NULL };
        CHECK (test_run (argv, NULL, &out) == 0, "it is clean");
        free (out);
      }
      unlink (image3);
      gbox_app_cpio_free (b);
      free (f1);
      free (f2);
      free (buf);
      free (d1);
      free (d2);
      free (c1);
      free (c2);
    }
    else
      printf ("skip: no tmpfs at /dev/shm apart from %s\n", dir);
    if (shm)
      gbox_app_rmtree (shm);
    free (shm);
  }

  /* Random lists (names of 1 to 255 bytes, sizes near block and block
   * map edges, symlinks near the inode's 60 bytes, up to 3 levels): the
   * size bound always holds and e2fsck finds each image clean. */
  {
    static char pool[2 * 1024 * 1024];
    unsigned seed, bad_write = 0, bad_fsck = 0;
    fill (pool, sizeof pool, 9);
    for (seed = 1; seed <= 20; ++seed) {
      struct gbox_app_cpio *b = gbox_app_cpio_new ();
      unsigned x = seed, i, n;
      char name[1200], dirs[4][300];
      size_t depth = 0;
      n = 20 + rnd (&x) % 300;
      strcpy (dirs[0], "usr");
      for (i = 0; i < n; ++i) {
        char base[256];
        size_t blen = rnd (&x) % 4 == 0 ? 255 : 20, k;
        blen = 1 + rnd (&x) % blen;
        for (k = 0; k < blen; ++k)
          base[k] = 'a' + rnd (&x) % 26;
        base[blen] = '\0';
        snprintf (name, sizeof name, "%s/%s", dirs[depth], base);
        switch (rnd (&x) % 6) {
        case 0:
          gbox_app_cpio_add_dir (&cx, b, name, 0755);
          if (depth < 3 && strlen (name) < sizeof dirs[0])
            strcpy (dirs[++depth], name);
          break;
        case 1:
          if (depth > 0)
            depth--;
          /* fall through */
        case 2: {
          char t[301];
          size_t tlen = 50 + rnd (&x) % 20;
          if (rnd (&x) % 4 == 0)
            tlen = 1 + rnd (&x) % 300;
          memset (t, 'l', tlen);
          t[tlen] = '\0';
          gbox_app_cpio_add_symlink (&cx, b, name, t);
          break;
        }
        default: {
          size_t len = rnd (&x) % 4 == 0 ? rnd (&x) % sizeof pool
                       : (rnd (&x) % 20) * 4096;
          len = len + rnd (&x) % 3 - 1;     /* may wrap: then 0 */
          if (len > sizeof pool)
            len = 0;
          if (rnd (&x) % 50 == 0)
            len = 1036 * 4096 - 1 + rnd (&x) % 3;
          if (len > sizeof pool)
            len = sizeof pool;
          gbox_app_cpio_add_data (&cx, b, name, pool, len, 0644);
        }
        }
      }
      err[0] = '\0';
      if (gbox_app_ext2_write (&cx, b, "usr", image3, NULL) == -1) {
        printf ("seed %u: %s\n", seed, err);
        bad_write++;
      }
      else {
        char *argv[] = { "e2fsck", "-fn", image3, NULL };
        if (test_run (argv, NULL, NULL) != 0)
          bad_fsck++;
      }
      unlink (image3);
      gbox_app_cpio_free (b);
    }
    CHECK (bad_write == 0 && bad_fsck == 0,
           "20 random lists: written (%u failed), e2fsck clean (%u not)",
           bad_write, bad_fsck);
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
      r = gbox_app_ext2_write (&cx, b, "usr", image3, NULL);
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
    CHECK (gbox_app_ext2_write (&cx, b, "usr", image3, NULL) == -1 &&
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
  free (edge_data);
  for (r = 0; r < 4; ++r)
    free (edge_names[r]);
  for (r = 0; r <= NMANY; ++r)
    free (many_names[r]);
  return check_finish ("test-ext2");
}
