/* guestbox - test the library against the real daemon on the host.
 * Copyright (C) 2026 the guestbox authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

/**
 * Runs guestboxd --channel fd:N --sysroot DIR over a socketpair on a
 * temporary tree and checks: version; lstat, stat and readdir_stat_all
 * of entries of every type (and of a directory large enough to need
 * several pages); downloads of 0, 1, GBOX_CHUNK_SIZE, +1 and 20 MiB to
 * a pipe; uploads from pipes of unknown size; cancellation from the
 * library (output fd fails) and from the daemon (upload into a missing
 * directory), each followed by calls that must still work; error
 * replies.  Then measures small calls per second and download speed.
 */

#include <config.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/un.h>

#include "guestbox-internal.h"
#include "cleanups.h"
#include "test-helpers.h"

#define BIG_SIZE (20 * 1024 * 1024 + 123)
#define MANY_FILES 30000

static char *sysroot;

static char *
host_path (const char *guest)
{
  char *p;

  if (asprintf (&p, "%s%s", sysroot, guest) == -1)
    abort ();
  return p;
}

/* Build the tree the tests look at. */
static bool have_devices;

static void
make_tree (void)
{
  CLEANUP_FREE char *dir = host_path ("/dir");
  char path[4096];
  struct sockaddr_un sun = { .sun_family = AF_UNIX };
  int s, i;

  mkdir (dir, 0755);
  snprintf (path, sizeof path, "%s/file", dir);
  test_make_file (path, 5, 1);
  snprintf (path, sizeof path, "%s/subdir", dir);
  mkdir (path, 0700);
  snprintf (path, sizeof path, "%s/link", dir);
  symlink ("file", path);
  snprintf (path, sizeof path, "%s/fifo", dir);
  mkfifo (path, 0600);
  snprintf (path, sizeof path, "%s/sock", dir);
  if (strlen (path) < sizeof sun.sun_path) {
    strcpy (sun.sun_path, path);
    s = socket (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    bind (s, (struct sockaddr *) &sun, sizeof sun);
    close (s);
  }
  snprintf (path, sizeof path, "%s/chr", dir);
  have_devices = mknod (path, S_IFCHR | 0600, makedev (1, 3)) == 0;
  snprintf (path, sizeof path, "%s/blk", dir);
  have_devices = have_devices &&
    mknod (path, S_IFBLK | 0600, makedev (7, 0)) == 0;

  snprintf (path, sizeof path, "%s/zero", sysroot);
  test_make_file (path, 0, 2);
  snprintf (path, sizeof path, "%s/one", sysroot);
  test_make_file (path, 1, 3);
  snprintf (path, sizeof path, "%s/chunk", sysroot);
  test_make_file (path, GBOX_CHUNK_SIZE, 4);
  snprintf (path, sizeof path, "%s/chunk1", sysroot);
  test_make_file (path, GBOX_CHUNK_SIZE + 1, 5);
  snprintf (path, sizeof path, "%s/big", sysroot);
  test_make_file (path, BIG_SIZE, 6);

  /* Long names so that the listing needs several replies. */
  snprintf (path, sizeof path, "%s/many", sysroot);
  mkdir (path, 0755);
  for (i = 0; i < MANY_FILES; ++i) {
    int fd;

    snprintf (path, sizeof path, "%s/many/%06d-%0200d", sysroot, i, 0);
    fd = open (path, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
    if (fd == -1) {
      perror (path);
      exit (EXIT_FAILURE);
    }
    close (fd);
  }
}

/*----------------------------------------------------------------------
 * Pipes fed or drained by threads.
 */

/* Drain a pipe, comparing with the test_fill stream of SEED. */
struct checker {
  int fd;
  uint32_t seed;
  uint64_t total;
  bool match;
};

static void *
checker_thread (void *arg)
{
  struct checker *c = arg;
  unsigned char *buf = malloc (65536), *want = malloc (65536);
  ssize_t r;

  c->match = true;
  while ((r = read (c->fd, buf, 65536)) > 0) {
    test_fill (want, r, c->total, c->seed);
    if (memcmp (buf, want, r) != 0)
      c->match = false;
    c->total += r;
  }
  close (c->fd);
  free (buf);
  free (want);
  return NULL;
}

/* Feed a pipe with SIZE bytes of the test_fill stream, in odd pieces. */
struct feeder {
  int fd;
  uint32_t seed;
  uint64_t size;
};

static void *
feeder_thread (void *arg)
{
  struct feeder *f = arg;
  unsigned char *buf = malloc (100000);
  uint64_t off = 0;
  sigset_t set;

  /* The library stops reading when an upload fails: this thread (not
   * the library's) gets EPIPE, and no signal. */
  sigemptyset (&set);
  sigaddset (&set, SIGPIPE);
  pthread_sigmask (SIG_BLOCK, &set, NULL);

  while (off < f->size) {
    size_t n = f->size - off < 99991 ? f->size - off : 99991;

    test_fill (buf, n, off, f->seed);
    if (write (f->fd, buf, n) != (ssize_t) n)
      break;
    off += n;
  }
  close (f->fd);
  free (buf);
  return NULL;
}

/* Does the host file hold SIZE bytes of the stream SEED? */
static bool
file_matches (const char *path, uint64_t size, uint32_t seed)
{
  unsigned char *buf = malloc (65536), *want = malloc (65536);
  uint64_t off = 0;
  bool ok = true;
  ssize_t r;
  int fd = open (path, O_RDONLY | O_CLOEXEC);

  if (fd == -1)
    ok = false;
  while (ok && (r = read (fd, buf, 65536)) > 0) {
    test_fill (want, r, off, seed);
    if (memcmp (buf, want, r) != 0)
      ok = false;
    off += r;
  }
  if (fd >= 0)
    close (fd);
  free (buf);
  free (want);
  return ok && off == size;
}

/*----------------------------------------------------------------------
 * The checks.
 */

static void
check_version (gbox_h *h)
{
  CLEANUP_XDR_FREE (gbox_version_ret) struct gbox_version_ret v;
  int r = gbox_version (h, &v);

  CHECK (r == 0 && v.protocol == GBOX_PROTOCOL_VERSION &&
         v.daemon_version[0] != '\0',
         "version: protocol %d, daemon \"%s\"", r == 0 ? v.protocol : -1,
         r == 0 ? v.daemon_version : gbox_last_error (h));
}

static void
check_types (gbox_h *h)
{
  const struct {
    const char *name;
    mode_t type;
    bool device;
  } entries[] = {
    { "file", S_IFREG, false }, { "subdir", S_IFDIR, false },
    { "link", S_IFLNK, false },
    { "fifo", S_IFIFO, false }, { "sock", S_IFSOCK, false },
    { "chr", S_IFCHR, true }, { "blk", S_IFBLK, true },
  };
  struct gbox_dirent *ents = NULL;
  size_t n = 0, i, j, expected = 0;
  int r;

  for (i = 0; i < sizeof entries / sizeof entries[0]; ++i) {
    char guest[256];
    CLEANUP_FREE char *host = NULL;
    struct gbox_stat gst;
    struct stat st;

    if (entries[i].device && !have_devices)
      continue;
    expected++;
    snprintf (guest, sizeof guest, "/dir/%s", entries[i].name);
    host = host_path (guest);
    lstat (host, &st);
    r = gbox_lstat (h, guest, &gst);
    CHECK (r == 0 && (gst.mode & S_IFMT) == entries[i].type &&
           (uint64_t) gst.ino == st.st_ino &&
           gst.size == st.st_size && gst.mtime == st.st_mtime &&
           (gst.mode & 07777) == (st.st_mode & 07777),
           "lstat %s: type 0%o, matches the host: %s", guest,
           (unsigned) entries[i].type, r == 0 ? "yes" : gbox_last_error (h));
  }

  r = gbox_readdir_stat_all (h, "/dir", &ents, &n);
  CHECK (r == 0 && n == expected, "readdir_stat_all /dir: %zu entries "
         "(expected %zu) %s", n, expected, r == 0 ? "" : gbox_last_error (h));
  for (i = 0; r == 0 && i < n; ++i) {
    for (j = 0; j < sizeof entries / sizeof entries[0]; ++j)
      if (strcmp (ents[i].name, entries[j].name) == 0)
        break;
    CHECK (j < sizeof entries / sizeof entries[0] &&
           (ents[i].st.mode & S_IFMT) == entries[j].type,
           "readdir_stat_all: %s has the right type", ents[i].name);
    if (i > 0)
      CHECK (strcmp (ents[i - 1].name, ents[i].name) < 0,
             "readdir_stat_all: %s sorted after %s", ents[i].name,
             ents[i - 1].name);
    if (strcmp (ents[i].name, "link") == 0)
      CHECK (strcmp (ents[i].link, "file") == 0,
             "readdir_stat_all: link target \"%s\"", ents[i].link);
    else
      CHECK (strcmp (ents[i].link, "") == 0,
             "readdir_stat_all: %s has no link target", ents[i].name);
  }
  gbox_free_dirents (ents, n);

  {
    CLEANUP_FREE char *target = gbox_readlink (h, "/dir/link");
    struct gbox_stat gst;
    struct gbox_statvfs sv;

    CHECK (target && strcmp (target, "file") == 0, "readlink /dir/link");
    r = gbox_stat_path (h, "/dir/link", &gst);
    CHECK (r == 0 && S_ISREG (gst.mode) && gst.size == 5,
           "stat follows the link");
    CHECK (gbox_exists (h, "/dir/file") == 1 &&
           gbox_exists (h, "/dir/nothing") == 0, "exists");
    CHECK (gbox_is_file (h, "/dir/file") == 1 &&
           gbox_is_file (h, "/dir/subdir") == 0, "is_file");
    CHECK (gbox_is_dir (h, "/dir/subdir") == 1 &&
           gbox_is_dir (h, "/dir/file") == 0, "is_dir");
    r = gbox_statvfs_path (h, "/", &sv);
    CHECK (r == 0 && sv.bsize > 0 && sv.blocks > 0, "statvfs /");
  }
}

static void
check_many (gbox_h *h)
{
  struct gbox_readdir_stat_ret page;
  struct gbox_dirent *ents = NULL;
  size_t n = 0, i;
  bool sorted = true;
  int r;

  r = gbox_readdir_stat (h, "/many", 0, &page);
  CHECK (r == 0 && page.more && page.entries.entries_len < MANY_FILES,
         "readdir_stat /many: first page has %u entries, more to come",
         r == 0 ? page.entries.entries_len : 0);
  if (r == 0)
    xdr_free ((xdrproc_t) xdr_gbox_readdir_stat_ret, (char *) &page);

  r = gbox_readdir_stat_all (h, "/many", &ents, &n);
  for (i = 1; r == 0 && i < n; ++i)
    if (strcmp (ents[i - 1].name, ents[i].name) >= 0)
      sorted = false;
  CHECK (r == 0 && n == MANY_FILES && sorted,
         "readdir_stat_all /many: %zu entries, sorted, no duplicates", n);
  gbox_free_dirents (ents, n);
}

static int
download_to_pipe (gbox_h *h, const char *path, uint32_t seed,
                  struct checker *c)
{
  pthread_t t;
  int p[2], r;

  if (pipe2 (p, O_CLOEXEC) == -1)
    abort ();
  c->fd = p[0];
  c->seed = seed;
  c->total = 0;
  pthread_create (&t, NULL, checker_thread, c);
  r = gbox_download (h, path, p[1]);
  close (p[1]);
  pthread_join (t, NULL);
  return r;
}

static void
check_downloads (gbox_h *h)
{
  const struct {
    const char *path;
    uint64_t size;
    uint32_t seed;
  } files[] = {
    { "/zero", 0, 2 }, { "/one", 1, 3 }, { "/chunk", GBOX_CHUNK_SIZE, 4 },
    { "/chunk1", GBOX_CHUNK_SIZE + 1, 5 }, { "/big", BIG_SIZE, 6 },
  };
  size_t i;

  for (i = 0; i < sizeof files / sizeof files[0]; ++i) {
    struct checker c;
    int r = download_to_pipe (h, files[i].path, files[i].seed, &c);

    CHECK (r == 0 && c.total == files[i].size && c.match,
           "download %s to a pipe: %" PRIu64 " bytes, content equal %s",
           files[i].path, c.total, r == 0 ? "" : gbox_last_error (h));
  }
}

static int
upload_from_pipe (gbox_h *h, const char *path, uint64_t size, uint32_t seed,
                  int mode)
{
  struct feeder f = { .seed = seed, .size = size };
  pthread_t t;
  int p[2], r;

  if (pipe2 (p, O_CLOEXEC) == -1)
    abort ();
  f.fd = p[1];
  pthread_create (&t, NULL, feeder_thread, &f);
  r = gbox_upload (h, p[0], path, mode);
  close (p[0]);
  pthread_join (t, NULL);
  return r;
}

static void
check_uploads (gbox_h *h)
{
  const struct {
    const char *path;
    uint64_t size;
    int mode;
    mode_t expect_mode;
  } ups[] = {
    { "/up-empty", 0, -1, 0644 },
    { "/up-3.5", 3 * GBOX_CHUNK_SIZE + GBOX_CHUNK_SIZE / 2, -1, 0644 },
    { "/dir/up-mode", 12345, 0600, 0600 },
    { "/up-big", BIG_SIZE, -1, 0644 },
  };
  size_t i;

  for (i = 0; i < sizeof ups / sizeof ups[0]; ++i) {
    CLEANUP_FREE char *host = host_path (ups[i].path);
    struct stat st;
    int r = upload_from_pipe (h, ups[i].path, ups[i].size, 10 + i,
                              ups[i].mode);

    CHECK (r == 0 && file_matches (host, ups[i].size, 10 + i),
           "upload %s from a pipe: %" PRIu64 " bytes arrived intact %s",
           ups[i].path, ups[i].size, r == 0 ? "" : gbox_last_error (h));
    CHECK (stat (host, &st) == 0 && (st.st_mode & 07777) == ups[i].expect_mode,
           "upload %s: mode 0%o", ups[i].path, (unsigned) ups[i].expect_mode);
  }
}

/* After a failure the handle must still work: a call and a small
 * download whose content is checked. */
static void
check_still_works (gbox_h *h, const char *after)
{
  struct gbox_stat st;
  struct checker c;
  int r;

  r = gbox_lstat (h, "/dir/file", &st);
  CHECK (r == 0 && st.size == 5, "after %s: lstat works %s", after,
         r == 0 ? "" : gbox_last_error (h));
  r = download_to_pipe (h, "/chunk1", 5, &c);
  CHECK (r == 0 && c.match && c.total == GBOX_CHUNK_SIZE + 1,
         "after %s: a download works %s", after,
         r == 0 ? "" : gbox_last_error (h));
}

static void
check_library_cancel (gbox_h *h)
{
  const struct {
    const char *what;
    int err;
  } outs[] = {
    { "a pipe whose reader closed", EPIPE },
    { "a read-only fd", EBADF },
    { "/dev/full", ENOSPC },
  };
  size_t i;

  for (i = 0; i < sizeof outs / sizeof outs[0]; ++i) {
    int fd = -1, p[2], r;
    double t;

    switch (i) {
    case 0:
      if (pipe2 (p, O_CLOEXEC) == -1)
        abort ();
      close (p[0]);
      fd = p[1];
      break;
    case 1:
      fd = open ("/dev/null", O_RDONLY | O_CLOEXEC);
      break;
    case 2:
      fd = open ("/dev/full", O_WRONLY | O_CLOEXEC);
      break;
    }
    t = test_now ();
    r = gbox_download (h, "/big", fd);
    t = test_now () - t;
    CHECK (r == -1 && gbox_last_errno (h) == outs[i].err &&
           test_contains (gbox_last_error (h), strerror (outs[i].err)),
           "download to %s fails clearly: %s", outs[i].what,
           gbox_last_error (h));
    CHECK (t < 5, "download to %s gave up in %.2f s", outs[i].what, t);
    close (fd);
    check_still_works (h, outs[i].what);
  }

  /* FileIn cancelled by the library: the input cannot be read. */
  {
    int in = open ("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    int r = gbox_upload (h, in, "/up-fail", -1);

    CHECK (r == -1 && gbox_last_errno (h) == EISDIR &&
           test_contains (gbox_last_error (h), "Is a directory"),
           "upload from an unreadable fd: %s", gbox_last_error (h));
    {
      CLEANUP_FREE char *host = host_path ("/up-fail");
      struct stat hst;

      CHECK (lstat (host, &hst) == -1 && errno == ENOENT,
             "a failed upload leaves no partial file behind");
    }
    close (in);
    check_still_works (h, "an unreadable upload input");
  }
}

static void
check_daemon_cancel (gbox_h *h)
{
  int r;

  r = upload_from_pipe (h, "/nodir/x", 3 * 1024 * 1024, 20, -1);
  CHECK (r == -1 && gbox_last_errno (h) == ENOENT &&
         test_contains (gbox_last_error (h), "No such file or directory"),
         "upload into a missing directory: %s", gbox_last_error (h));
  check_still_works (h, "an upload the daemon cancelled");
  r = upload_from_pipe (h, "/after-cancel", 100000, 21, -1);
  {
    CLEANUP_FREE char *host = host_path ("/after-cancel");
    CHECK (r == 0 && file_matches (host, 100000, 21),
           "an upload after the cancelled one arrives intact");
  }
}

static void
check_errors (gbox_h *h)
{
  struct gbox_stat st;
  int out = open ("/dev/null", O_WRONLY | O_CLOEXEC);
  int r;

  r = gbox_lstat (h, "/missing", &st);
  CHECK (r == -1 && gbox_last_errno (h) == ENOENT &&
         test_contains (gbox_last_error (h), "No such file or directory"),
         "lstat of a missing file: %s", gbox_last_error (h));
  r = gbox_download (h, "/missing", out);
  CHECK (r == -1 && gbox_last_errno (h) == ENOENT &&
         test_contains (gbox_last_error (h), "No such file or directory"),
         "download of a missing file: %s", gbox_last_error (h));
  r = gbox_download (h, "/dir", out);
  CHECK (r == -1, "download of a directory fails: %s", gbox_last_error (h));
  close (out);
  check_still_works (h, "error replies");
}

/* Small calls per second and download MB/s (printed for the record). */
static void
measure (gbox_h *h)
{
  CLEANUP_FREE char *host = host_path ("/bench");
  struct gbox_stat st;
  double t0, t = 0;
  unsigned calls = 0;
  int fd, r, i;

  t0 = test_now ();
  do {
    if (gbox_lstat (h, "/dir/file", &st) == -1)
      break;
    calls++;
  } while ((t = test_now () - t0) < 1.0);
  CHECK (calls > 100, "measure: %.0f lstat calls per second", calls / t);

  fd = open (host, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
  if (fd == -1 || ftruncate (fd, 200 * 1024 * 1024) == -1)
    abort ();
  close (fd);
  /* The first run reads the (sparse) file into the page cache. */
  for (i = 0; i < 3; ++i) {
    fd = open ("/dev/null", O_WRONLY | O_CLOEXEC);
    t0 = test_now ();
    r = gbox_download (h, "/bench", fd);
    t = test_now () - t0;
    close (fd);
    CHECK (r == 0, "measure: download of 200 MiB to /dev/null at %.0f MB/s "
           "(%.2f s, %s)", 200 * 1.048576 / t, t, i == 0 ? "cold" : "warm");
  }
  unlink (host);
}

int
main (int argc, char *argv[])
{
  gbox_h *h;

  test_daemon_path ();
  sysroot = test_mkdtemp ();
  make_tree ();
  if (!have_devices)
    printf ("note: cannot create device nodes here; not listing them\n");

  h = test_connect_daemon (sysroot);
  check_version (h);
  check_types (h);
  check_many (h);
  check_downloads (h);
  check_uploads (h);
  check_library_cancel (h);
  check_daemon_cancel (h);
  check_errors (h);
  measure (h);
  gbox_close (h);

  gbox_int_rmtree (sysroot);
  free (sysroot);
  return check_finish ("test-proto-daemon");
}
