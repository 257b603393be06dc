/* guestbox - tar_out and tar_in: whole directories in and out.
 * Copyright (C) 2026 the guestbox authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

/**
 * tar_out (FileOut) packs a guest directory, tar_in (FileIn) unpacks a
 * tar into one; the directory is resolved in the guest's root (path.c)
 * first.  tar_out's archive is written by the daemon itself
 * (tar-write.c), except with ACLs or compression, asked by clients
 * that do not compress on the host: then, as tar_in always, bsdtar
 * (libarchive) runs in the appliance from inside the directory.
 * bsdtar never follows symlinks when packing, and when unpacking
 * (without -P) refuses names with "..", strips leading "/" and refuses
 * to write through a symlink, so a guest's "etc -> /etc" cannot send
 * files into the appliance's own tree.  The archive travels through a
 * pipe and the protocol's chunks: memory stays bounded whatever the
 * size.  Outwards its pages are spliced into the channel, never copied
 * by the (emulated) CPU, and bsdtar's page cache is kept small
 * (limit_page_cache).  bsdtar's own error, its first line, becomes the
 * procedure's error.
 */

#include <config.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "daemon.h"

#define TAR_ERR_MAX 2000

/* Wait for PID; its stderr (first line) into BUF.  Returns the exit
 * status, or 128+signal. */
static int
wait_tar (pid_t pid, int errfd, char *buf, size_t len)
{
  int status = command_wait (pid);
  ssize_t r;

  if (status == -1) {
    snprintf (buf, len, "waitpid: %s", strerror (errno));
    return -1;
  }
  r = pread (errfd, buf, len - 1, 0);
  buf[r > 0 ? r : 0] = '\0';
  /* Its first line, printable: it ends up on a terminal. */
  command_one_line (buf, true);
  return status;
}

/* The guest directory DIR, opened for fchdir; -1 with the error. */
static int
open_dir (const char *proc, const char *dir)
{
  int root, fd;

  if (check_path (dir) == -1)
    return -1;
  root = sysroot_fd ();
  if (root == -1) {
    reply_with_perror ("%s: sysroot %s", proc, sysroot);
    return -1;
  }
  fd = open_in_root (root, dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0);
  if (fd == -1)
    reply_with_perror ("%s: %s", proc, dir);
  return fd;
}

static const char *
compress_flag (const char *c)
{
  static const struct { const char *name, *flag; } t[] = {
    { "gzip", "-z" }, { "bzip2", "-j" }, { "xz", "-J" },
    { "lzop", "--lzop" }, { "compress", "-Z" },
  };
  size_t i;

  for (i = 0; i < sizeof t / sizeof t[0]; ++i)
    if (strcmp (c, t[i].name) == 0)
      return t[i].flag;
  return NULL;
}

/* Move up to a chunk of data from pipe IN into the empty pipe OUT
 * (which holds at least a chunk), adding the byte count to *LEN.
 * Stops early when OUT has no free slot (bsdtar wrote partial pages).
 * Returns 1 when the chunk is full or OUT is full, 0 at the end of IN
 * (*LEN may be non-zero), -1 on error (errno set). */
static int
fill_chunk_pipe (int in, int out, size_t *len)
{
  while (*len < GBOX_CHUNK_SIZE) {
    ssize_t r = splice (in, NULL, out, NULL, GBOX_CHUNK_SIZE - *len,
                        SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
    struct pollfd p;

    if (r > 0) {
      *len += r;
      continue;
    }
    if (r == 0)
      return 0;
    if (errno == EINTR)
      continue;
    if (errno != EAGAIN)
      return -1;
    /* Either OUT is full or IN is empty. */
    p.fd = out;
    p.events = POLLOUT;
    if (poll (&p, 1, 0) == 0 && *len > 0)
      return 1;
    p.fd = in;
    p.events = POLLIN;
    if (poll (&p, 1, -1) == -1 && errno != EINTR)
      return -1;
  }
  return 1;
}

/* In the appliance, a restored snapshot's RAM is mapped copy-on-write
 * from the cache, so the first touch of every guest page costs the
 * host a page fault and a copy: reading a 256 MiB tree into an
 * ever-growing page cache took 3 to 6 times longer than reading it
 * through a few recycled pages.  bsdtar therefore runs in a memory
 * cgroup whose page cache is kept small (memory.high): its pages are
 * reclaimed and reused instead of fresh ones being touched.  Best
 * effort: without cgroup2 or the memory controller, nothing changes. */
#define TRANSFER_CGROUP "/sys/fs/cgroup/transfer"
#define TRANSFER_MEMORY_HIGH "67108864"

static int
write_string (const char *path, const char *s)
{
  int fd = open (path, O_WRONLY | O_CLOEXEC);
  ssize_t r;

  if (fd == -1)
    return -1;
  r = write (fd, s, strlen (s));
  close (fd);
  return r == (ssize_t) strlen (s) ? 0 : -1;
}

static void
limit_page_cache (pid_t pid)
{
  static int ready;             /* 0 not tried, 1 ready, -1 unavailable */
  char buf[32];

  if (!appliance_mode)
    return;
  if (ready == 0) {
    ready = -1;
    if (access ("/sys/fs/cgroup/cgroup.controllers", F_OK) == -1 &&
        mount ("cgroup2", "/sys/fs/cgroup", "cgroup2",
               MS_NOSUID | MS_NODEV | MS_NOEXEC, "favordynmods") == -1 &&
        mount ("cgroup2", "/sys/fs/cgroup", "cgroup2",
               MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) == -1) {
      debug ("transfer cgroup: mount cgroup2: %m");
      return;
    }
    if (write_string ("/sys/fs/cgroup/cgroup.subtree_control",
                      "+memory") == -1 ||
        (mkdir (TRANSFER_CGROUP, 0755) == -1 && errno != EEXIST) ||
        write_string (TRANSFER_CGROUP "/memory.high",
                      TRANSFER_MEMORY_HIGH) == -1) {
      debug ("transfer cgroup: %m");
      return;
    }
    ready = 1;
  }
  if (ready != 1)
    return;
  snprintf (buf, sizeof buf, "%d", (int) pid);
  if (write_string (TRANSFER_CGROUP "/cgroup.procs", buf) == -1)
    debug ("transfer cgroup: move %d: %m", (int) pid);
}

/* The native writer's chunks go to the channel, the host's cancel
 * checked before each. */
struct tw_progress {
  uint64_t sent;
};

static int
tw_send_bytes (void *opaque, const void *buf, size_t len)
{
  struct tw_progress *p = opaque;

  if (check_cancel () != 0)
    return -1;
  if (send_file_chunk (buf, len) == -1) {
    reply_with_perror ("tar_out: send");
    return -1;
  }
  p->sent += len;
  notify_progress (p->sent, 0);
  return 0;
}

static int
tw_send_pipe (void *opaque, int pipe_r, size_t len)
{
  struct tw_progress *p = opaque;

  if (check_cancel () != 0)
    return -1;
  send_file_chunk_from_pipe (pipe_r, len);
  p->sent += len;
  notify_progress (p->sent, 0);
  return 0;
}

/* Read-ahead batch: files opened and their reads started at once. */
#ifndef TAR_PREFETCH
#define TAR_PREFETCH 64
#endif

/* The daemon's own writer (tar-write.c): no compression, no ACLs. */
static int
tar_out_native (gbox_tar_out_args *args, int dirfd)
{
  struct tw_progress p = { 0 };
  struct tw_sink sink = { tw_send_bytes, tw_send_pipe, &p };
  struct tw_options o = {
    .numeric_owner = args->numeric_owner,
    .xattrs = args->xattrs || args->selinux,
    .excludes = args->excludes.excludes_val,
    .nexcludes = args->excludes.excludes_len,
    .prefetch = TAR_PREFETCH,
  };

  if (send_fileout_reply () == -1)
    return -1;
  /* Not in the transfer cgroup: the dentries and inodes of a big tree
   * would be charged to it and the walk throttled (a 100 000-entry
   * directory took 10.0 s instead of 9.1, median of 8).  The writer
   * drops the pages of the big files it has sent instead. */
  if (tar_write_tree (dirfd, &o, &sink) == -1)
    return -1;
  if (send_file_end () == -1) {
    reply_with_perror ("tar_out: send");
    return -1;
  }
  return 0;
}

int
do_tar_out (void *argsv, void *retv)
{
  gbox_tar_out_args *args = argsv;
  static char buf[GBOX_CHUNK_SIZE];
  const char *argv[16 + 2 * GBOX_TAR_EXCLUDES_MAX];
  CLEANUP_CLOSE int dirfd = -1, errfd = -1;
  const char *cflag = NULL;
  char err[TAR_ERR_MAX];
  int pfd[2], cpfd[2] = { -1, -1 }, status;
  size_t n = 0, i;
  uint64_t sent = 0;
  pid_t pid;

  if (args->compress[0] && (cflag = compress_flag (args->compress)) == NULL) {
    reply_with_error_errno (EINVAL, "tar_out: unknown compression '%s'",
                            args->compress);
    return -1;
  }
  for (i = 0; i < args->excludes.excludes_len; ++i)
    if (args->excludes.excludes_val[i][0] == '\0') {
      reply_with_error_errno (EINVAL, "tar_out: empty exclude pattern");
      return -1;
    }
  dirfd = open_dir ("tar_out", args->dir);
  if (dirfd == -1)
    return -1;
  if (cflag == NULL && !args->acls)
    return tar_out_native (args, dirfd);

  argv[n++] = "bsdtar";
  argv[n++] = "-c";
  argv[n++] = "-f";
  argv[n++] = "-";
  /* Uncompressed: writes of 64 KiB (128 records) rather than 10 KiB.
   * (A compressed stream must not be padded to the block size.) */
  if (cflag)
    argv[n++] = cflag;
  else {
    argv[n++] = "-b";
    argv[n++] = "128";
  }
  if (args->numeric_owner)
    argv[n++] = "--numeric-owner";
  argv[n++] = args->xattrs || args->selinux ? "--xattrs" : "--no-xattrs";
  argv[n++] = args->acls ? "--acls" : "--no-acls";
  argv[n++] = "--no-fflags";
  for (i = 0; i < args->excludes.excludes_len; ++i) {
    argv[n++] = "--exclude";
    argv[n++] = args->excludes.excludes_val[i];
  }
  argv[n++] = "--";
  argv[n++] = ".";
  argv[n] = NULL;

  errfd = memfd_create ("tar-stderr", MFD_CLOEXEC);
  if (errfd == -1 || pipe2 (pfd, O_CLOEXEC) == -1) {
    reply_with_perror ("tar_out: pipe");
    return -1;
  }
  /* Fewer, bigger reads: a chunk's worth in the pipe. */
  fcntl (pfd[0], F_SETPIPE_SZ, GBOX_CHUNK_SIZE * 4);
  pid = command_spawn (argv, dirfd, -1, pfd[1], errfd);
  close (pfd[1]);
  if (pid == -1) {
    close (pfd[0]);
    reply_with_perror ("tar_out: fork");
    return -1;
  }
  limit_page_cache (pid);

  if (send_fileout_reply () == -1)
    goto kill;
  /* The archive's pages are moved (not copied) from bsdtar's pipe into
   * a chunk pipe of our own, and from there spliced into the channel:
   * the emulated CPU copies nothing.  A kernel that cannot splice the
   * pipe gives EINVAL on the first one: read and send instead. */
  if (pipe2 (cpfd, O_CLOEXEC) == 0) {
    fcntl (cpfd[1], F_SETPIPE_SZ, GBOX_CHUNK_SIZE * 2);
    for (;;) {
      size_t len = 0;
      int r = fill_chunk_pipe (pfd[0], cpfd[1], &len);

      if (r == -1 && errno == EINVAL && sent == 0 && len == 0)
        break;                  /* cannot splice: read below */
      if (r == -1) {
        reply_with_perror ("tar_out: splice");
        goto kill;
      }
      if (len > 0) {
        if (check_cancel () != 0)
          goto kill;
        send_file_chunk_from_pipe (cpfd[0], len);
        sent += len;
        notify_progress (sent, 0);
      }
      if (r == 0) {             /* bsdtar closed its end */
        close (cpfd[0]);
        close (cpfd[1]);
        cpfd[0] = cpfd[1] = -1;
        goto done;
      }
    }
    close (cpfd[0]);
    close (cpfd[1]);
    cpfd[0] = cpfd[1] = -1;
  }
  for (;;) {
    size_t len = 0;

    while (len < sizeof buf) {
      ssize_t r = read (pfd[0], buf + len, sizeof buf - len);
      if (r == -1 && errno == EINTR)
        continue;
      if (r == -1) {
        reply_with_perror ("tar_out: read");
        goto kill;
      }
      if (r == 0)
        break;
      len += r;
    }
    if (len == 0)
      break;
    if (check_cancel () != 0)
      goto kill;
    if (send_file_chunk (buf, len) == -1) {
      reply_with_perror ("tar_out: send");
      goto kill;
    }
    sent += len;
    notify_progress (sent, 0);
  }
 done:
  close (pfd[0]);
  status = wait_tar (pid, errfd, err, sizeof err);
  if (status != 0) {
    reply_with_error_errno (EIO, "tar_out: %s: %s", args->dir,
                            err[0] ? err : "bsdtar failed");
    return -1;
  }
  if (send_file_end () == -1) {
    reply_with_perror ("tar_out: send");
    return -1;
  }
  return 0;

 kill:
  close (pfd[0]);
  if (cpfd[0] >= 0) {
    close (cpfd[0]);
    close (cpfd[1]);
  }
  kill (pid, SIGKILL);
  wait_tar (pid, errfd, err, sizeof err);
  return -1;
}

struct tar_in_state {
  int fd;
  pid_t pid;
  int errfd;
  bool done;                    /* bsdtar has exited (status below) */
  int status;
  char err[TAR_ERR_MAX];
};

/* One chunk of the archive to bsdtar.  When bsdtar stops reading
 * (EPIPE) it has either failed (stop the transfer) or reached the end
 * of the archive (the rest, padding, is read and dropped). */
static int
tar_in_cb (void *opaque, const void *buf, size_t len)
{
  struct tar_in_state *s = opaque;
  const char *p = buf;

  while (len > 0 && !s->done) {
    ssize_t r = write (s->fd, p, len);
    if (r == -1 && errno == EINTR)
      continue;
    if (r == -1 && errno == EPIPE) {
      s->status = wait_tar (s->pid, s->errfd, s->err, sizeof s->err);
      s->done = true;
      return s->status == 0 ? 0 : -1;
    }
    if (r <= 0) {
      reply_with_perror ("tar_in: write to bsdtar");
      return -1;
    }
    p += r;
    len -= r;
  }
  return 0;
}

int
do_tar_in (void *argsv, void *retv)
{
  gbox_tar_in_args *args = argsv;
  const char *argv[16];
  CLEANUP_CLOSE int dirfd = -1, errfd = -1;
  struct tar_in_state s;
  int pfd[2], r;
  size_t n = 0;
  pid_t pid;

  dirfd = open_dir ("tar_in", args->dir);
  if (dirfd == -1) {
    cancel_receive ();
    return -1;
  }
  argv[n++] = "bsdtar";
  argv[n++] = "-x";
  argv[n++] = "-f";
  argv[n++] = "-";
  argv[n++] = "--numeric-owner";
  argv[n++] = "--same-owner";
  argv[n++] = "-p";
  argv[n++] = args->xattrs || args->selinux ? "--xattrs" : "--no-xattrs";
  argv[n++] = args->acls ? "--acls" : "--no-acls";
  argv[n++] = "--no-fflags";
  argv[n] = NULL;

  errfd = memfd_create ("tar-stderr", MFD_CLOEXEC);
  if (errfd == -1 || pipe2 (pfd, O_CLOEXEC) == -1) {
    reply_with_perror ("tar_in: pipe");
    cancel_receive ();
    return -1;
  }
  fcntl (pfd[1], F_SETPIPE_SZ, GBOX_CHUNK_SIZE * 4);
  pid = command_spawn (argv, dirfd, pfd[0], -1, errfd);
  close (pfd[0]);
  if (pid == -1) {
    close (pfd[1]);
    reply_with_perror ("tar_in: fork");
    cancel_receive ();
    return -1;
  }
  limit_page_cache (pid);
  s.fd = pfd[1];
  s.pid = pid;
  s.errfd = errfd;
  s.done = false;
  s.status = 0;
  s.err[0] = '\0';
  r = receive_file (tar_in_cb, &s);
  close (pfd[1]);
  if (!s.done) {
    if (r == -1)
      kill (pid, SIGKILL);
    s.status = wait_tar (pid, errfd, s.err, sizeof s.err);
  }
  sync ();
  if (s.status != 0) {
    /* Killed after a failed transfer: that failure is the error. */
    if (s.status != 128 + SIGKILL || r == 0)
      reply_with_error_errno (EIO, "tar_in: %s: %s", args->dir,
                              s.err[0] ? s.err : "bsdtar failed");
    return -1;
  }
  return r;
}
