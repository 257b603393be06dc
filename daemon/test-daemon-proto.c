/* guestbox - raw protocol test of guestboxd in host mode.
 * Copyright (C) 2026 the guestbox authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

/**
 * Starts ./guestboxd --channel fd:N --sysroot TMPDIR over a socketpair
 * and speaks XDR directly (the rpcgen routines, no libguestbox): calls,
 * errors, stat data against lstat(2), paths that try to escape the
 * sysroot, downloads and uploads of several sizes, cancellation in both
 * directions, and hostile input (oversize length, truncation, garbage,
 * random arguments).  Nothing is mounted.  With GBOX_BENCH=1 it also
 * prints the per-call latency and download throughput.
 */

#include <config.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "protocol.h"
#define CHECK_QUIET
#include "check.h"

static char tmpdir[] = "/tmp/gbox-test-proto-XXXXXX";

struct daemon {
  pid_t pid;
  int fd;
  unsigned serial;
};

static uint64_t
now_us (void)
{
  struct timespec ts;
  clock_gettime (CLOCK_MONOTONIC, &ts);
  return (uint64_t) ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static int
xwrite (int fd, const void *buf, size_t len)
{
  const char *p = buf;
  while (len > 0) {
    ssize_t r = write (fd, p, len);
    if (r == -1) {
      if (errno == EINTR)
        continue;
      return -1;
    }
    p += r;
    len -= r;
  }
  return 0;
}

static int
xread (int fd, void *buf, size_t len)
{
  char *p = buf;
  while (len > 0) {
    ssize_t r = read (fd, p, len);
    if (r == -1 && errno == EINTR)
      continue;
    if (r <= 0)
      return -1;
    p += r;
    len -= r;
  }
  return 0;
}

static int
read_word (int fd, uint32_t *w)
{
  uint32_t n;
  if (xread (fd, &n, 4) == -1)
    return -1;
  *w = ntohl (n);
  return 0;
}

static int
write_word (int fd, uint32_t w)
{
  uint32_t n = htonl (w);
  return xwrite (fd, &n, 4);
}

static void
start_daemon (struct daemon *d, const char *root)
{
  int sv[2];
  uint32_t w;

  if (socketpair (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == -1) {
    perror ("socketpair");
    exit (EXIT_FAILURE);
  }
  d->pid = fork ();
  if (d->pid == -1) {
    perror ("fork");
    exit (EXIT_FAILURE);
  }
  if (d->pid == 0) {
    char chan[32];
    int fd = dup (sv[1]);       /* without CLOEXEC */
    snprintf (chan, sizeof chan, "fd:%d", fd);
    execl ("./guestboxd", "guestboxd", "--channel", chan, "--sysroot", root,
           getenv ("GBOX_TEST_VERBOSE") ? "--verbose" : NULL, (char *) NULL);
    perror ("exec ./guestboxd");
    _exit (127);
  }
  close (sv[1]);
  d->fd = sv[0];
  d->serial = 1;
  if (read_word (d->fd, &w) == -1 || w != GBOX_LAUNCH_FLAG) {
    fprintf (stderr, "test: no launch flag from the daemon\n");
    exit (EXIT_FAILURE);
  }
}

/* Wait for the daemon to exit within TIMEOUT_MS; kill it otherwise.
 * Returns the wait status, or -1 if it had to be killed. */
static int
wait_daemon (struct daemon *d, int timeout_ms)
{
  int status, waited = 0;

  for (;;) {
    pid_t r = waitpid (d->pid, &status, WNOHANG);
    if (r == d->pid)
      break;
    if (waited >= timeout_ms) {
      kill (d->pid, SIGKILL);
      waitpid (d->pid, &status, 0);
      close (d->fd);
      return -1;
    }
    usleep (10000);
    waited += 10;
  }
  close (d->fd);
  return status;
}

static void
stop_daemon (struct daemon *d)
{
  int status;

  shutdown (d->fd, SHUT_WR);
  status = wait_daemon (d, 5000);
  CHECK (status != -1 && WIFEXITED (status) && WEXITSTATUS (status) == 0,
         "daemon exits 0 on EOF (status 0x%x)", status);
}

static int
send_call_vers (struct daemon *d, int proc, unsigned vers,
                xdrproc_t xdr_args, void *args)
{
  gbox_message_header hdr;
  char *buf;
  size_t len;
  XDR xdr;
  int r;

  memset (&hdr, 0, sizeof hdr);
  hdr.prog = GBOX_PROGRAM;
  hdr.vers = vers;
  hdr.proc = proc;
  hdr.direction = GBOX_CALL;
  hdr.serial = d->serial++;
  hdr.status = GBOX_STATUS_OK;
  len = xdr_sizeof ((xdrproc_t) xdr_gbox_message_header, &hdr);
  if (xdr_args)
    len += xdr_sizeof (xdr_args, args);
  buf = malloc (len + 4);
  *(uint32_t *) buf = htonl (len);
  xdrmem_create (&xdr, buf + 4, len, XDR_ENCODE);
  if (!xdr_gbox_message_header (&xdr, &hdr) ||
      (xdr_args && !xdr_args (&xdr, args))) {
    fprintf (stderr, "test: encode failed\n");
    exit (EXIT_FAILURE);
  }
  xdr_destroy (&xdr);
  r = xwrite (d->fd, buf, len + 4);
  free (buf);
  return r;
}

static int
send_call (struct daemon *d, int proc, xdrproc_t xdr_args, void *args)
{
  return send_call_vers (d, proc, GBOX_PROTOCOL_VERSION, xdr_args, args);
}

struct reply {
  gbox_message_header hdr;
  char errno_name[64];
  char message[GBOX_ERROR_MAX + 1];
  bool cancel_seen;             /* a CANCEL_FLAG word came first */
};

/* Read one reply; RET decoded when status is OK.  -1 on EOF. */
static int
read_reply (struct daemon *d, struct reply *rep, xdrproc_t xdr_ret, void *ret)
{
  uint32_t len;
  char *buf;
  XDR xdr;

  memset (rep, 0, sizeof *rep);
  for (;;) {
    if (read_word (d->fd, &len) == -1)
      return -1;
    if (len == GBOX_CANCEL_FLAG) {
      rep->cancel_seen = true;
      continue;
    }
    if (len == GBOX_PROGRESS_FLAG) {
      char p[24];
      if (xread (d->fd, p, 24) == -1)
        return -1;
      continue;
    }
    break;
  }
  if (len > GBOX_MESSAGE_MAX) {
    fprintf (stderr, "test: reply length %" PRIu32 " too large\n", len);
    return -1;
  }
  buf = malloc (len);
  if (xread (d->fd, buf, len) == -1) {
    free (buf);
    return -1;
  }
  xdrmem_create (&xdr, buf, len, XDR_DECODE);
  if (!xdr_gbox_message_header (&xdr, &rep->hdr)) {
    free (buf);
    return -1;
  }
  if (rep->hdr.status == GBOX_STATUS_ERROR) {
    gbox_message_error err;
    memset (&err, 0, sizeof err);
    if (xdr_gbox_message_error (&xdr, &err)) {
      snprintf (rep->errno_name, sizeof rep->errno_name, "%s",
                err.errno_name);
      snprintf (rep->message, sizeof rep->message, "%s", err.error_message);
      xdr_free ((xdrproc_t) xdr_gbox_message_error, (char *) &err);
    }
  }
  else if (xdr_ret && !xdr_ret (&xdr, ret)) {
    fprintf (stderr, "test: cannot decode reply body\n");
    free (buf);
    xdr_destroy (&xdr);
    return -1;
  }
  xdr_destroy (&xdr);
  free (buf);
  return 0;
}

/* A call with a reply; returns 0 OK, 1 error reply, -1 broken. */
static int
call (struct daemon *d, int proc, xdrproc_t xa, void *args,
      xdrproc_t xr, void *ret, struct reply *rep)
{
  struct reply local;
  if (rep == NULL)
    rep = &local;
  if (send_call (d, proc, xa, args) == -1)
    return -1;
  if (read_reply (d, rep, xr, ret) == -1)
    return -1;
  if (rep->hdr.proc != (gbox_procedure) proc ||
      rep->hdr.serial != d->serial - 1 || rep->hdr.direction != GBOX_REPLY) {
    printf ("FAIL: reply header mismatch (proc %d serial %u)\n",
            (int) rep->hdr.proc, rep->hdr.serial);
    check_failures++;
  }
  return rep->hdr.status == GBOX_STATUS_OK ? 0 : 1;
}

/* Read a chunk: returns data length, sets *cancel; -1 broken. */
static ssize_t
read_chunk (struct daemon *d, char *data, size_t max, int *cancel)
{
  uint32_t len;
  char *buf;
  gbox_chunk ch;
  XDR xdr;
  ssize_t ret = -1;

  do {
    if (read_word (d->fd, &len) == -1)
      return -1;
    if (len == GBOX_PROGRESS_FLAG) {
      char p[24];
      if (xread (d->fd, p, 24) == -1)
        return -1;
    }
  } while (len == GBOX_PROGRESS_FLAG);
  if (len > GBOX_CHUNK_SIZE + 8)
    return -1;
  buf = malloc (len);
  if (xread (d->fd, buf, len) == -1) {
    free (buf);
    return -1;
  }
  memset (&ch, 0, sizeof ch);
  ch.data.data_val = data;
  xdrmem_create (&xdr, buf, len, XDR_DECODE);
  if (max >= GBOX_CHUNK_SIZE && xdr_gbox_chunk (&xdr, &ch)) {
    *cancel = ch.cancel;
    ret = ch.data.data_len;
  }
  xdr_destroy (&xdr);
  free (buf);
  return ret;
}

static int
send_chunk (struct daemon *d, int cancel, const void *data, size_t len)
{
  gbox_chunk ch;
  char *buf = malloc (len + 16);
  XDR xdr;
  size_t n;
  int r;

  ch.cancel = cancel;
  ch.data.data_len = len;
  ch.data.data_val = (char *) data;
  xdrmem_create (&xdr, buf + 4, len + 12, XDR_ENCODE);
  if (!xdr_gbox_chunk (&xdr, &ch))
    abort ();
  n = xdr_getpos (&xdr);
  xdr_destroy (&xdr);
  *(uint32_t *) buf = htonl (n);
  r = xwrite (d->fd, buf, n + 4);
  free (buf);
  return r;
}

/* Helpers on the sysroot tree. */

static char *
rootpath (const char *rel)
{
  static char buf[4096];
  snprintf (buf, sizeof buf, "%s%s", tmpdir, rel);
  return buf;
}

static void
write_file (const char *rel, size_t size, unsigned seed)
{
  int fd = open (rootpath (rel), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  char buf[65536];
  size_t i, done = 0;

  if (fd == -1) {
    perror (rel);
    exit (EXIT_FAILURE);
  }
  while (done < size) {
    size_t n = size - done < sizeof buf ? size - done : sizeof buf;
    for (i = 0; i < n; ++i)
      buf[i] = (char) ((done + i) * 31 + seed);
    if (xwrite (fd, buf, n) == -1)
      abort ();
    done += n;
  }
  close (fd);
}

static char *
slurp (const char *path, size_t *len)
{
  int fd = open (path, O_RDONLY);
  struct stat st;
  char *buf;

  if (fd == -1 || fstat (fd, &st) == -1)
    return NULL;
  buf = malloc (st.st_size + 1);
  if (xread (fd, buf, st.st_size) == -1 && st.st_size > 0) {
    close (fd);
    free (buf);
    return NULL;
  }
  close (fd);
  *len = st.st_size;
  return buf;
}

static bool
stat_equal (const gbox_stat *g, const struct stat *st)
{
  return g->dev == (int64_t) st->st_dev && g->ino == (int64_t) st->st_ino &&
    g->mode == (int64_t) st->st_mode && g->nlink == (int64_t) st->st_nlink &&
    g->uid == (int64_t) st->st_uid && g->gid == (int64_t) st->st_gid &&
    g->rdev == (int64_t) st->st_rdev && g->size == (int64_t) st->st_size &&
    g->blksize == (int64_t) st->st_blksize &&
    g->blocks == (int64_t) st->st_blocks &&
    g->atime == st->st_atim.tv_sec && g->atime_nsec == st->st_atim.tv_nsec &&
    g->mtime == st->st_mtim.tv_sec && g->mtime_nsec == st->st_mtim.tv_nsec &&
    g->ctime == st->st_ctim.tv_sec && g->ctime_nsec == st->st_ctim.tv_nsec;
}

static void
make_tree (void)
{
  static char hardsrc[4096];

  if (mkdtemp (tmpdir) == NULL) {
    perror ("mkdtemp");
    exit (EXIT_FAILURE);
  }
  mkdir (rootpath ("/dir"), 0755);
  mkdir (rootpath ("/dir/sub"), 0700);
  mkdir (rootpath ("/etc"), 0755);
  mkdir (rootpath ("/dl"), 0755);
  write_file ("/regular", 1000, 1);
  write_file ("/empty", 0, 0);
  write_file ("/dir/inner", 10, 2);
  write_file ("/with space", 5, 3);
  write_file ("/new\nline", 6, 4);
  write_file ("/etc/passwd", 0, 0);
  {
    int fd = open (rootpath ("/etc/passwd"), O_WRONLY | O_TRUNC);
    if (fd == -1 || xwrite (fd, "SYSROOT-PASSWD\n", 15) == -1)
      abort ();
    close (fd);
  }
  snprintf (hardsrc, sizeof hardsrc, "%s/regular", tmpdir);
  if (symlink ("regular", rootpath ("/link")) == -1 ||
      symlink ("/etc/shadow", rootpath ("/shadowlink")) == -1 ||
      symlink ("/etc/passwd", rootpath ("/passwdlink")) == -1 ||
      symlink ("../../..", rootpath ("/uplink")) == -1 ||
      symlink ("nonexistent", rootpath ("/dangling")) == -1 ||
      symlink ("dir", rootpath ("/dirlink")) == -1 ||
      mkfifo (rootpath ("/fifo"), 0644) == -1 ||
      link (hardsrc, rootpath ("/hard")) == -1) {
    perror ("make_tree");
    exit (EXIT_FAILURE);
  }
  write_file ("/dl/0", 0, 0);
  write_file ("/dl/1", 1, 5);
  write_file ("/dl/chunk", GBOX_CHUNK_SIZE, 6);
  write_file ("/dl/3.5chunks", GBOX_CHUNK_SIZE * 7 / 2, 7);
  write_file ("/dl/big", 64 * 1024 * 1024, 8);
}

static void
test_version (struct daemon *d)
{
  gbox_version_ret ret;
  int r;

  memset (&ret, 0, sizeof ret);
  r = call (d, GBOX_PROC_VERSION, NULL, NULL,
            (xdrproc_t) xdr_gbox_version_ret, &ret, NULL);
  printf ("version: protocol %d, daemon %s\n", ret.protocol,
          r == 0 ? ret.daemon_version : "?");
  CHECK (r == 0, "version call succeeds");
  CHECK (ret.protocol == GBOX_PROTOCOL_VERSION, "protocol version");
  CHECK (r == 0 && strcmp (ret.daemon_version, PACKAGE_VERSION) == 0,
         "daemon version is %s", PACKAGE_VERSION);
  xdr_free ((xdrproc_t) xdr_gbox_version_ret, (char *) &ret);
}

static void
test_lstat_all (struct daemon *d)
{
  static const char *const names[] = {
    "/regular", "/empty", "/dir", "/dir/sub", "/dir/inner", "/with space",
    "/new\nline", "/link", "/shadowlink", "/uplink", "/dangling", "/fifo",
    "/hard", "/dirlink", "/", "/dir/", "/dir/..", "/dir/.", NULL
  };
  size_t i;

  for (i = 0; names[i]; ++i) {
    gbox_path_args a = { .path = (char *) names[i] };
    gbox_stat_ret ret;
    struct stat st;
    char host[4096];
    int r;

    /* The host view: resolve "..", "." ourselves (inside tmpdir). */
    snprintf (host, sizeof host, "%s%s", tmpdir, names[i]);
    if (strcmp (names[i], "/dir/..") == 0)
      snprintf (host, sizeof host, "%s", tmpdir);
    memset (&ret, 0, sizeof ret);
    r = call (d, GBOX_PROC_LSTAT, (xdrproc_t) xdr_gbox_path_args, &a,
              (xdrproc_t) xdr_gbox_stat_ret, &ret, NULL);
    CHECK (r == 0 && lstat (host, &st) == 0 && stat_equal (&ret.st, &st),
           "lstat %s matches lstat(2)", names[i]);
  }
  printf ("lstat: %zu paths checked against lstat(2)\n", i);
}

static void
test_readdir (struct daemon *d, const char *dir, const char *hostrel,
              size_t expect_min_pages)
{
  gbox_readdir_stat_args a;
  char hostdir[4096];
  DIR *dh;
  struct dirent *de;
  char **names = NULL;
  size_t n = 0, got = 0, pages = 0;
  bool ok = true;

  snprintf (hostdir, sizeof hostdir, "%s%s", tmpdir, hostrel);
  dh = opendir (hostdir);
  if (dh == NULL) {
    perror (hostdir);
    exit (EXIT_FAILURE);
  }
  while ((de = readdir (dh)) != NULL) {
    if (strcmp (de->d_name, ".") == 0 || strcmp (de->d_name, "..") == 0)
      continue;
    names = realloc (names, (n + 1) * sizeof (char *));
    names[n++] = strdup (de->d_name);
  }
  closedir (dh);
  /* Sort with strcmp (insertion sort keeps the test self-contained). */
  {
    size_t x, y;
    for (x = 1; x < n; ++x)
      for (y = x; y > 0 && strcmp (names[y - 1], names[y]) > 0; --y) {
        char *t = names[y];
        names[y] = names[y - 1];
        names[y - 1] = t;
      }
  }

  a.path = (char *) dir;
  a.start = 0;
  for (;;) {
    gbox_readdir_stat_ret ret;
    size_t i;
    int r;

    memset (&ret, 0, sizeof ret);
    r = call (d, GBOX_PROC_READDIR_STAT,
              (xdrproc_t) xdr_gbox_readdir_stat_args, &a,
              (xdrproc_t) xdr_gbox_readdir_stat_ret, &ret, NULL);
    if (r != 0) {
      ok = false;
      break;
    }
    pages++;
    for (i = 0; i < ret.entries.entries_len; ++i) {
      gbox_dirent *e = &ret.entries.entries_val[i];
      char host[8192], link[4096] = "";
      struct stat st;

      if (got + i >= n || strcmp (e->name, names[got + i]) != 0) {
        ok = false;
        continue;
      }
      snprintf (host, sizeof host, "%s/%s", hostdir, e->name);
      if (lstat (host, &st) == -1 || !stat_equal (&e->st, &st)) {
        printf ("readdir_stat %s: %s: stat differs\n", dir, e->name);
        ok = false;
      }
      if (S_ISLNK (st.st_mode)) {
        ssize_t l = readlink (host, link, sizeof link - 1);
        link[l < 0 ? 0 : l] = '\0';
      }
      if (strcmp (link, e->link) != 0) {
        printf ("readdir_stat %s: %s: link differs\n", dir, e->name);
        ok = false;
      }
    }
    got += ret.entries.entries_len;
    a.start = got;
    if (!ret.more) {
      xdr_free ((xdrproc_t) xdr_gbox_readdir_stat_ret, (char *) &ret);
      break;
    }
    if (ret.entries.entries_len == 0) {
      ok = false;
      xdr_free ((xdrproc_t) xdr_gbox_readdir_stat_ret, (char *) &ret);
      break;
    }
    xdr_free ((xdrproc_t) xdr_gbox_readdir_stat_ret, (char *) &ret);
  }
  printf ("readdir_stat %s: %zu entries in %zu page(s)\n", dir, got, pages);
  CHECK (ok && got == n, "readdir_stat %s: names, stat and links match "
         "the host (%zu of %zu)", dir, got, n);
  CHECK (pages >= expect_min_pages, "readdir_stat %s: paged (%zu >= %zu)",
         dir, pages, expect_min_pages);
  for (size_t i = 0; i < n; ++i)
    free (names[i]);
  free (names);
}

struct bool_case {
  int proc;
  const char *path;
  int expect;                   /* 0/1, or -1 = error reply */
};

static void
test_bools (struct daemon *d)
{
  static const struct bool_case cases[] = {
    { GBOX_PROC_EXISTS, "/regular", 1 },
    { GBOX_PROC_EXISTS, "/nonexistent", 0 },
    { GBOX_PROC_EXISTS, "/link", 1 },
    { GBOX_PROC_EXISTS, "/dangling", 0 },      /* follows */
    { GBOX_PROC_EXISTS, "/shadowlink", 0 },    /* /etc/shadow not in root */
    { GBOX_PROC_EXISTS, "/passwdlink", 1 },
    { GBOX_PROC_EXISTS, "/uplink/etc/passwd", 1 },
    { GBOX_PROC_EXISTS, "/../../../etc/shadow", 0 },
    { GBOX_PROC_EXISTS, "/regular/x", 0 },     /* ENOTDIR */
    { GBOX_PROC_EXISTS, "relative", -1 },
    { GBOX_PROC_IS_FILE, "/regular", 1 },
    { GBOX_PROC_IS_FILE, "/link", 0 },         /* does not follow */
    { GBOX_PROC_IS_FILE, "/dir", 0 },
    { GBOX_PROC_IS_FILE, "/fifo", 0 },
    { GBOX_PROC_IS_FILE, "/nonexistent", 0 },
    { GBOX_PROC_IS_FILE, "/new\nline", 1 },
    { GBOX_PROC_IS_DIR, "/dir", 1 },
    { GBOX_PROC_IS_DIR, "/dirlink", 0 },       /* does not follow */
    { GBOX_PROC_IS_DIR, "/dirlink/sub", 1 },
    { GBOX_PROC_IS_DIR, "/", 1 },
    { GBOX_PROC_IS_DIR, "/regular", 0 },
    { GBOX_PROC_IS_DIR, "", -1 },
  };
  size_t i;

  for (i = 0; i < sizeof cases / sizeof cases[0]; ++i) {
    gbox_path_args a = { .path = (char *) cases[i].path };
    gbox_bool_ret ret = { 0 };
    int r = call (d, cases[i].proc, (xdrproc_t) xdr_gbox_path_args, &a,
                  (xdrproc_t) xdr_gbox_bool_ret, &ret, NULL);
    int got = r == 0 ? (ret.value != 0) : r == 1 ? -1 : -2;
    CHECK (got == cases[i].expect, "proc %d %s: expected %d, got %d",
           cases[i].proc, cases[i].path, cases[i].expect, got);
  }
  printf ("exists/is_file/is_dir: %zu cases\n", i);
}

static void
test_misc_calls (struct daemon *d)
{
  struct reply rep;
  gbox_path_args a;
  gbox_readlink_ret rl;
  gbox_stat_ret sr;
  gbox_statvfs_ret sv;
  struct stat st;
  int r;

  /* readlink */
  a.path = "/uplink";
  memset (&rl, 0, sizeof rl);
  r = call (d, GBOX_PROC_READLINK, (xdrproc_t) xdr_gbox_path_args, &a,
            (xdrproc_t) xdr_gbox_readlink_ret, &rl, NULL);
  CHECK (r == 0 && strcmp (rl.target, "../../..") == 0, "readlink /uplink");
  xdr_free ((xdrproc_t) xdr_gbox_readlink_ret, (char *) &rl);
  a.path = "/regular";
  memset (&rl, 0, sizeof rl);
  r = call (d, GBOX_PROC_READLINK, (xdrproc_t) xdr_gbox_path_args, &a,
            (xdrproc_t) xdr_gbox_readlink_ret, &rl, &rep);
  CHECK (r == 1 && strcmp (rep.errno_name, "EINVAL") == 0,
         "readlink of a regular file: EINVAL (%s: %s)", rep.errno_name,
         rep.message);

  /* stat follows, inside the root. */
  a.path = "/passwdlink";
  memset (&sr, 0, sizeof sr);
  r = call (d, GBOX_PROC_STAT, (xdrproc_t) xdr_gbox_path_args, &a,
            (xdrproc_t) xdr_gbox_stat_ret, &sr, NULL);
  CHECK (r == 0 && stat (rootpath ("/etc/passwd"), &st) == 0 &&
         stat_equal (&sr.st, &st), "stat /passwdlink is the sysroot's file");
  a.path = "/shadowlink";
  r = call (d, GBOX_PROC_STAT, (xdrproc_t) xdr_gbox_path_args, &a,
            (xdrproc_t) xdr_gbox_stat_ret, &sr, &rep);
  CHECK (r == 1 && strcmp (rep.errno_name, "ENOENT") == 0,
         "stat /shadowlink (-> /etc/shadow): ENOENT inside the sysroot "
         "(%s: %s)", rep.errno_name, rep.message);
  a.path = "/uplink/uplink/uplink";
  r = call (d, GBOX_PROC_STAT, (xdrproc_t) xdr_gbox_path_args, &a,
            (xdrproc_t) xdr_gbox_stat_ret, &sr, NULL);
  CHECK (r == 0 && stat (tmpdir, &st) == 0 && stat_equal (&sr.st, &st),
         "stat /uplink/uplink/uplink is the sysroot itself");

  /* statvfs */
  a.path = "/";
  memset (&sv, 0, sizeof sv);
  r = call (d, GBOX_PROC_STATVFS, (xdrproc_t) xdr_gbox_path_args, &a,
            (xdrproc_t) xdr_gbox_statvfs_ret, &sv, NULL);
  CHECK (r == 0 && sv.st.bsize > 0 && sv.st.blocks > 0, "statvfs /");

  /* Device and mount procedures in host mode. */
  {
    gbox_list_devices_ret ld;
    gbox_list_filesystems_ret lf;
    gbox_mount_ro_args m = { .device = "/dev/sda1", .mountpoint = "/" };
    gbox_disks_ready_args dr = { .count = 1, .timeout_ms = 100 };
    gbox_refresh_args rf;

    memset (&ld, 0, sizeof ld);
    r = call (d, GBOX_PROC_LIST_DEVICES, NULL, NULL,
              (xdrproc_t) xdr_gbox_list_devices_ret, &ld, NULL);
    CHECK (r == 0 && ld.devices.gbox_str_list_len == 0,
           "list_devices in host mode: empty");
    xdr_free ((xdrproc_t) xdr_gbox_list_devices_ret, (char *) &ld);
    memset (&lf, 0, sizeof lf);
    r = call (d, GBOX_PROC_LIST_FILESYSTEMS, NULL, NULL,
              (xdrproc_t) xdr_gbox_list_filesystems_ret, &lf, NULL);
    CHECK (r == 0 && lf.filesystems.filesystems_len == 0,
           "list_filesystems in host mode: empty");
    xdr_free ((xdrproc_t) xdr_gbox_list_filesystems_ret, (char *) &lf);
    r = call (d, GBOX_PROC_MOUNT_RO, (xdrproc_t) xdr_gbox_mount_ro_args, &m,
              NULL, NULL, &rep);
    CHECK (r == 1 && strstr (rep.message, "host mode"),
           "mount_ro refused in host mode (%s)", rep.message);
    r = call (d, GBOX_PROC_INSPECT_FULL, NULL, NULL, NULL, NULL, &rep);
    CHECK (r == 1, "inspect_full refused in host mode (%s)", rep.message);
    r = call (d, GBOX_PROC_DISKS_READY,
              (xdrproc_t) xdr_gbox_disks_ready_args, &dr, NULL, NULL, &rep);
    CHECK (r == 1, "disks_ready(1) fails in host mode (%s)", rep.message);
    memset (&rf, 0, sizeof rf);
    rf.sec = 1;
    r = call (d, GBOX_PROC_REFRESH, (xdrproc_t) xdr_gbox_refresh_args, &rf,
              NULL, NULL, &rep);
    CHECK (r == 1 && strcmp (rep.errno_name, "EPERM") == 0,
           "refresh refused in host mode (%s)", rep.message);
    r = call (d, GBOX_PROC_UMOUNT_ALL, NULL, NULL, NULL, NULL, NULL);
    CHECK (r == 0, "umount_all with nothing mounted");
    r = call (d, GBOX_PROC_SYNC, NULL, NULL, NULL, NULL, NULL);
    CHECK (r == 0, "sync");
  }
}

/* Download PATH fully; returns malloc'd data or NULL (error reply). */
static char *
download (struct daemon *d, const char *path, size_t *len, struct reply *rep)
{
  gbox_download_args a = { .path = (char *) path };
  static char chunk[GBOX_CHUNK_SIZE];
  char *data = NULL;
  size_t n = 0;

  if (call (d, GBOX_PROC_DOWNLOAD, (xdrproc_t) xdr_gbox_download_args, &a,
            NULL, NULL, rep) != 0)
    return NULL;
  for (;;) {
    int cancel = 0;
    ssize_t r = read_chunk (d, chunk, sizeof chunk, &cancel);
    if (r < 0 || cancel) {
      free (data);
      return NULL;
    }
    if (r == 0)
      break;
    data = realloc (data, n + r);
    memcpy (data + n, chunk, r);
    n += r;
  }
  *len = n;
  return data ? data : calloc (1, 1);
}

static void
test_downloads (struct daemon *d)
{
  static const char *const files[] = {
    "/dl/0", "/dl/1", "/dl/chunk", "/dl/3.5chunks", "/link", NULL
  };
  struct reply rep;
  size_t i, len, hlen;

  for (i = 0; files[i]; ++i) {
    char *got = download (d, files[i], &len, &rep);
    char *want = slurp (rootpath (files[i]), &hlen);
    CHECK (got && want && len == hlen && memcmp (got, want, len) == 0,
           "download %s (%zu bytes)", files[i], hlen);
    free (got);
    free (want);
  }

  /* Escapes stay inside: these are the sysroot's /etc/passwd. */
  {
    static const char *const esc[] = {
      "/../../etc/passwd", "/passwdlink", "/uplink/etc/passwd",
      "/dir/../../../../etc/passwd", NULL
    };
    for (i = 0; esc[i]; ++i) {
      char *got = download (d, esc[i], &len, &rep);
      CHECK (got && len == 15 && memcmp (got, "SYSROOT-PASSWD\n", 15) == 0,
             "download %s stays in the sysroot", esc[i]);
      free (got);
    }
  }
  {
    char *got = download (d, "/shadowlink", &len, &rep);
    CHECK (got == NULL && strcmp (rep.errno_name, "ENOENT") == 0,
           "download /shadowlink: ENOENT (%s)", rep.message);
    free (got);
    got = download (d, "/fifo", &len, &rep);
    CHECK (got == NULL && strstr (rep.message, "not a regular file"),
           "download /fifo refused without blocking (%s)", rep.message);
    free (got);
    got = download (d, "/dir", &len, &rep);
    CHECK (got == NULL && strcmp (rep.errno_name, "EISDIR") == 0,
           "download /dir: EISDIR (%s)", rep.message);
    free (got);
  }
  printf ("download: sizes 0, 1, one chunk, 3.5 chunks; escapes; errors\n");
}

static void
test_download_cancel (struct daemon *d)
{
  gbox_download_args a = { .path = "/dl/big" };
  static char chunk[GBOX_CHUNK_SIZE];
  struct reply rep;
  size_t chunks = 0;
  int cancel = 0, r;

  r = call (d, GBOX_PROC_DOWNLOAD, (xdrproc_t) xdr_gbox_download_args, &a,
            NULL, NULL, &rep);
  CHECK (r == 0, "download /dl/big starts");
  if (r != 0)
    return;
  if (read_chunk (d, chunk, sizeof chunk, &cancel) <= 0)
    abort ();
  chunks++;
  write_word (d->fd, GBOX_CANCEL_FLAG);
  for (;;) {
    ssize_t n = read_chunk (d, chunk, sizeof chunk, &cancel);
    if (n < 0 || cancel || n == 0)
      break;
    chunks++;
  }
  CHECK (cancel == 1, "cancel chunk received after %zu chunks", chunks);
  CHECK (chunks < 64 * 4, "download stopped early (%zu of 256 chunks)",
         chunks);
  r = read_reply (d, &rep, NULL, NULL);
  CHECK (r == 0 && rep.hdr.status == GBOX_STATUS_ERROR &&
         strcmp (rep.errno_name, "ECANCELED") == 0 &&
         rep.hdr.serial == d->serial - 1,
         "error reply after cancel: %s: %s", rep.errno_name, rep.message);
  printf ("download cancel: stopped after %zu chunks\n", chunks);
  test_version (d);             /* still in sync */
}

/* Upload DATA to PATH.  If HONOUR_CANCEL, stop at a CANCEL_FLAG word
 * with a cancel chunk.  Returns the reply status (0 ok, 1 error). */
static int
upload (struct daemon *d, const char *path, int mode, const char *data,
        size_t len, bool honour_cancel, struct reply *rep)
{
  gbox_upload_args a = { .path = (char *) path, .mode = mode };
  size_t off = 0;
  bool cancelled = false;

  send_call (d, GBOX_PROC_UPLOAD, (xdrproc_t) xdr_gbox_upload_args, &a);
  while (off < len) {
    size_t n = len - off < GBOX_CHUNK_SIZE ? len - off : GBOX_CHUNK_SIZE;
    if (honour_cancel) {
      struct pollfd pfd = { .fd = d->fd, .events = POLLIN };
      if (poll (&pfd, 1, off == 0 ? 200 : 0) == 1) {
        uint32_t w;
        if (read_word (d->fd, &w) == 0 && w == GBOX_CANCEL_FLAG) {
          send_chunk (d, 1, "", 0);
          cancelled = true;
          break;
        }
      }
    }
    send_chunk (d, 0, data + off, n);
    off += n;
  }
  if (!cancelled)
    send_chunk (d, 0, "", 0);
  if (read_reply (d, rep, NULL, NULL) == -1)
    return -1;
  if (cancelled)
    rep->cancel_seen = true;
  return rep->hdr.status == GBOX_STATUS_OK ? 0 : 1;
}

static void
test_uploads (struct daemon *d)
{
  static const size_t sizes[] = { 0, 1, GBOX_CHUNK_SIZE * 5 + 12345 };
  char *data = malloc (sizes[2]);
  struct reply rep;
  struct stat st;
  size_t i, len;
  int r;

  for (i = 0; i < sizes[2]; ++i)
    data[i] = (char) (i * 7 + 3);
  for (i = 0; i < 3; ++i) {
    char path[64], *got;
    snprintf (path, sizeof path, "/up%zu", i);
    r = upload (d, path, -1, data, sizes[i], false, &rep);
    got = slurp (rootpath (path), &len);
    CHECK (r == 0 && got && len == sizes[i] && memcmp (got, data, len) == 0,
           "upload %zu bytes (%s)", sizes[i], rep.message);
    CHECK (stat (rootpath (path), &st) == 0 && (st.st_mode & 07777) == 0644,
           "upload default mode 0644");
    free (got);
  }
  /* Explicit mode; then -1 keeps it. */
  r = upload (d, "/up1", 0600, "abc", 3, false, &rep);
  CHECK (r == 0 && stat (rootpath ("/up1"), &st) == 0 &&
         (st.st_mode & 07777) == 0600 && st.st_size == 3, "upload mode 0600");
  r = upload (d, "/up1", -1, "x", 1, false, &rep);
  CHECK (r == 0 && stat (rootpath ("/up1"), &st) == 0 &&
         (st.st_mode & 07777) == 0600 && st.st_size == 1,
         "upload mode -1 keeps the mode, truncates");
  /* Through a symlink that points outside: lands inside the sysroot. */
  r = upload (d, "/uplink/etc/up-escape", -1, "in", 2, false, &rep);
  CHECK (r == 0 && stat (rootpath ("/etc/up-escape"), &st) == 0,
         "upload through ../../.. stays in the sysroot");

  /* Failure before receiving: the daemon sends CANCEL_FLAG. */
  r = upload (d, "/nonexistent-dir/file", -1, data, sizes[2], true, &rep);
  CHECK (r == 1 && rep.cancel_seen && strcmp (rep.errno_name, "ENOENT") == 0,
         "upload into a missing directory: cancel flag, then %s: %s",
         rep.errno_name, rep.message);
  /* Same, but a library that sends everything before looking. */
  r = upload (d, "/nonexistent-dir/file", -1, data, sizes[2], false, &rep);
  CHECK (r == 1 && rep.cancel_seen && strcmp (rep.errno_name, "ENOENT") == 0,
         "upload into a missing directory, all chunks sent: %s",
         rep.message);
  r = upload (d, "/fifo", -1, "x", 1, true, &rep);
  CHECK (r == 1, "upload onto a fifo refused (%s)", rep.message);
  /* The library cancels an upload itself. */
  {
    gbox_upload_args a = { .path = "/up-cancelled", .mode = -1 };
    send_call (d, GBOX_PROC_UPLOAD, (xdrproc_t) xdr_gbox_upload_args, &a);
    send_chunk (d, 0, "partial", 7);
    send_chunk (d, 1, "", 0);
    r = read_reply (d, &rep, NULL, NULL);
    CHECK (r == 0 && rep.hdr.status == GBOX_STATUS_ERROR &&
           strcmp (rep.errno_name, "ECANCELED") == 0,
           "upload cancelled by the library: %s", rep.message);
  }
  free (data);
  printf ("upload: sizes 0, 1, 5.05 chunks; modes; errors; cancel\n");
  test_version (d);
}

static void
test_bad_calls (struct daemon *d)
{
  struct reply rep;
  int r;

  r = call (d, 999, NULL, NULL, NULL, NULL, &rep);
  CHECK (r == 1 && strstr (rep.message, "unknown procedure 999"),
         "unknown procedure: %s", rep.message);
  test_version (d);

  send_call_vers (d, GBOX_PROC_VERSION, 2, NULL, NULL);
  r = read_reply (d, &rep, NULL, NULL);
  CHECK (r == 0 && rep.hdr.status == GBOX_STATUS_ERROR &&
         strstr (rep.message, "protocol version mismatch: daemon 1, library 2"),
         "wrong version: %s", rep.message);
  test_version (d);

  /* Embedded NUL: "/regular\0x" sent as an XDR string. */
  {
    char raw[] = "/regular\0x";
    char *p = raw;
    u_int plen = sizeof raw - 1;
    gbox_message_header hdr;
    char buf[256];
    XDR xdr;
    size_t len;

    memset (&hdr, 0, sizeof hdr);
    hdr.prog = GBOX_PROGRAM;
    hdr.vers = GBOX_PROTOCOL_VERSION;
    hdr.proc = GBOX_PROC_LSTAT;
    hdr.serial = d->serial++;
    xdrmem_create (&xdr, buf + 4, sizeof buf - 4, XDR_ENCODE);
    xdr_gbox_message_header (&xdr, &hdr);
    xdr_bytes (&xdr, &p, &plen, 100);
    len = xdr_getpos (&xdr);
    xdr_destroy (&xdr);
    *(uint32_t *) buf = htonl (len);
    xwrite (d->fd, buf, len + 4);
    r = read_reply (d, &rep, NULL, NULL);
    CHECK (r == 0 && rep.hdr.status == GBOX_STATUS_ERROR &&
           strstr (rep.message, "embedded NUL"),
           "embedded NUL in a path refused: %s", rep.message);
  }
  /* Undecodable arguments: a path length larger than the message. */
  {
    gbox_message_header hdr;
    char buf[64];
    XDR xdr;
    u_int big = 1000;
    size_t len;

    memset (&hdr, 0, sizeof hdr);
    hdr.prog = GBOX_PROGRAM;
    hdr.vers = GBOX_PROTOCOL_VERSION;
    hdr.proc = GBOX_PROC_STAT;
    hdr.serial = d->serial++;
    xdrmem_create (&xdr, buf + 4, sizeof buf - 4, XDR_ENCODE);
    xdr_gbox_message_header (&xdr, &hdr);
    xdr_u_int (&xdr, &big);
    len = xdr_getpos (&xdr);
    xdr_destroy (&xdr);
    *(uint32_t *) buf = htonl (len);
    xwrite (d->fd, buf, len + 4);
    r = read_reply (d, &rep, NULL, NULL);
    CHECK (r == 0 && rep.hdr.status == GBOX_STATUS_ERROR &&
           strstr (rep.message, "cannot decode"),
           "undecodable arguments: %s", rep.message);
  }
  test_version (d);
}

/* Random argument bodies for the plain procedures: the daemon replies
 * (ok or error) to each and stays in sync. */
static void
test_random_args (struct daemon *d)
{
  static const int procs[] = {
    GBOX_PROC_VERSION, GBOX_PROC_SYNC, GBOX_PROC_DISKS_READY,
    GBOX_PROC_REFRESH, GBOX_PROC_LIST_DEVICES, GBOX_PROC_LIST_PARTITIONS,
    GBOX_PROC_LIST_FILESYSTEMS, GBOX_PROC_MOUNT, GBOX_PROC_MOUNT_RO,
    GBOX_PROC_UMOUNT_ALL, GBOX_PROC_INSPECT_FULL, GBOX_PROC_EXISTS,
    GBOX_PROC_IS_FILE, GBOX_PROC_IS_DIR, GBOX_PROC_LSTAT, GBOX_PROC_STAT,
    GBOX_PROC_READLINK, GBOX_PROC_READDIR_STAT, GBOX_PROC_STATVFS,
  };
  unsigned seed = 12345;
  size_t i, replies = 0, n = 0;

  for (i = 0; i < 2000; ++i) {
    gbox_message_header hdr;
    char buf[512];
    XDR xdr;
    size_t len, body, j;
    struct reply rep;

    memset (&hdr, 0, sizeof hdr);
    hdr.prog = GBOX_PROGRAM;
    hdr.vers = GBOX_PROTOCOL_VERSION;
    hdr.proc = procs[rand_r (&seed) % (sizeof procs / sizeof procs[0])];
    hdr.serial = d->serial++;
    xdrmem_create (&xdr, buf + 4, sizeof buf - 4, XDR_ENCODE);
    xdr_gbox_message_header (&xdr, &hdr);
    len = xdr_getpos (&xdr);
    xdr_destroy (&xdr);
    body = rand_r (&seed) % 200;
    for (j = 0; j < body; ++j) {
      /* Small length words now and then so strings may decode. */
      if (j % 4 == 0 && rand_r (&seed) % 2)
        buf[4 + len + j] = 0;
      else
        buf[4 + len + j] = rand_r (&seed);
    }
    /* Keep disks_ready from waiting long: timeout word is random. */
    if (hdr.proc == GBOX_PROC_DISKS_READY && body >= 8)
      memset (buf + 4 + len + 4, 0, 4);
    len += body;
    *(uint32_t *) buf = htonl (len);
    xwrite (d->fd, buf, len + 4);
    n++;
    if (read_reply (d, &rep, NULL, NULL) == 0 &&
        rep.hdr.serial == hdr.serial)
      replies++;
    else
      break;
  }
  CHECK (replies == n, "random arguments: %zu replies to %zu calls",
         replies, n);
  test_version (d);
}

/* Hostile streams, each on its own daemon. */
static void
test_hostile (void)
{
  struct daemon d;
  int status;
  uint64_t t0;
  unsigned seed = 777;
  int i, bad = 0;

  /* Oversize length word: exits at once, without allocating. */
  start_daemon (&d, tmpdir);
  t0 = now_us ();
  write_word (d.fd, 0x7fffffff);
  status = wait_daemon (&d, 2000);
  CHECK (status != -1 && WIFEXITED (status) && WEXITSTATUS (status) == 1,
         "oversize length: normal exit 1 in %" PRIu64 " ms (status 0x%x)",
         (now_us () - t0) / 1000, status);

  /* A flag word the library never sends where a length is expected. */
  start_daemon (&d, tmpdir);
  write_word (d.fd, GBOX_PROGRESS_FLAG);
  status = wait_daemon (&d, 2000);
  CHECK (status != -1 && WIFEXITED (status), "progress flag from the "
         "library: clean exit (status 0x%x)", status);

  /* Truncated message. */
  start_daemon (&d, tmpdir);
  write_word (d.fd, 100);
  xwrite (d.fd, "0123456789", 10);
  shutdown (d.fd, SHUT_WR);
  status = wait_daemon (&d, 2000);
  CHECK (status != -1 && WIFEXITED (status) && WEXITSTATUS (status) == 1,
         "truncated message: normal exit 1 (status 0x%x)", status);

  /* Truncated length word. */
  start_daemon (&d, tmpdir);
  xwrite (d.fd, "\0\0", 2);
  shutdown (d.fd, SHUT_WR);
  status = wait_daemon (&d, 2000);
  CHECK (status != -1 && WIFEXITED (status), "truncated length word: "
         "clean exit (status 0x%x)", status);

  /* Random garbage, with plausible length words half of the time. */
  for (i = 0; i < 30; ++i) {
    char buf[4096];
    size_t j, len = 8 + rand_r (&seed) % (sizeof buf - 8);

    for (j = 0; j < len; ++j)
      buf[j] = rand_r (&seed);
    if (i % 2) {
      uint32_t w = htonl (len - 4);
      memcpy (buf, &w, 4);
    }
    start_daemon (&d, tmpdir);
    xwrite (d.fd, buf, len);
    shutdown (d.fd, SHUT_WR);
    status = wait_daemon (&d, 3000);
    if (status == -1 || !WIFEXITED (status)) {
      bad++;
      printf ("garbage run %d: status 0x%x\n", i, status);
    }
  }
  CHECK (bad == 0, "random garbage: 30 runs, all clean exits (%d bad)", bad);

  /* Shutdown in host mode: reply, then exit 0. */
  start_daemon (&d, tmpdir);
  {
    int r = call (&d, GBOX_PROC_SHUTDOWN, NULL, NULL, NULL, NULL, NULL);
    CHECK (r == 0, "shutdown replies OK");
  }
  status = wait_daemon (&d, 2000);
  CHECK (status != -1 && WIFEXITED (status) && WEXITSTATUS (status) == 0,
         "shutdown: exit 0 (status 0x%x)", status);
}

static void
bench (struct daemon *d)
{
  gbox_path_args a = { .path = "/dir/inner" };
  gbox_stat_ret ret;
  uint64_t t0, t;
  size_t i, len;
  char *data;
  struct reply rep;

  t0 = now_us ();
  for (i = 0; i < 10000; ++i)
    call (d, GBOX_PROC_LSTAT, (xdrproc_t) xdr_gbox_path_args, &a,
          (xdrproc_t) xdr_gbox_stat_ret, &ret, NULL);
  t = now_us () - t0;
  printf ("bench: 10000 lstat calls in %" PRIu64 " ms: %.1f us/call\n",
          t / 1000, t / 10000.0);
  t0 = now_us ();
  for (i = 0; i < 4; ++i) {
    data = download (d, "/dl/big", &len, &rep);
    free (data);
  }
  t = now_us () - t0;
  printf ("bench: download 4 x 64 MiB with %d KiB chunks: %.0f MiB/s\n",
          GBOX_CHUNK_SIZE / 1024, 256.0 / (t / 1e6));
}

static void
rmtree (const char *dir)
{
  char cmd[4200];
  snprintf (cmd, sizeof cmd, "rm -rf '%s'", dir);
  if (system (cmd) != 0)
    fprintf (stderr, "warning: could not remove %s\n", dir);
}

int
main (void)
{
  struct daemon d;
  size_t i;

  signal (SIGPIPE, SIG_IGN);
  setvbuf (stdout, NULL, _IOLBF, 0);
  if (access ("./guestboxd", X_OK) == -1) {
    fprintf (stderr, "test: ./guestboxd not built\n");
    return EXIT_FAILURE;
  }
  make_tree ();
  /* A directory whose listing needs several replies. */
  mkdir (rootpath ("/many"), 0755);
  for (i = 0; i < 20000; ++i) {
    char name[300];
    int fd;
    snprintf (name, sizeof name, "/many/%05zu-%0200d", i, 0);
    fd = open (rootpath (name), O_WRONLY | O_CREAT, 0644);
    if (fd >= 0)
      close (fd);
  }

  start_daemon (&d, tmpdir);
  test_version (&d);
  test_lstat_all (&d);
  test_readdir (&d, "/", "/", 1);
  test_readdir (&d, "/uplink/dir", "/dir", 1);
  test_readdir (&d, "/many", "/many", 2);
  test_bools (&d);
  test_misc_calls (&d);
  test_downloads (&d);
  test_download_cancel (&d);
  test_uploads (&d);
  test_bad_calls (&d);
  test_random_args (&d);
  if (getenv ("GBOX_BENCH"))
    bench (&d);
  stop_daemon (&d);

  test_hostile ();

  rmtree (tmpdir);
  return check_finish ("test-daemon-proto");
}
