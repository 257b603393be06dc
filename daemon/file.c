/* guestbox - file procedures.
 * Copyright (C) 2026 the guestbox authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

/**
 * exists, is_file, is_dir, lstat, stat, readlink, statvfs, download
 * (FileOut) and upload (FileIn).  Paths are resolved inside the sysroot
 * (path.c).  exists and stat follow symlinks; is_file, is_dir and lstat
 * do not.
 */

#include <config.h>

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>

#include "daemon.h"

/* The sysroot fd, or -1 with the error recorded. */
static int
root_or_error (void)
{
  int fd = sysroot_fd ();
  if (fd == -1)
    reply_with_perror ("sysroot %s", sysroot);
  return fd;
}

int
do_exists (void *argsv, void *retv)
{
  gbox_path_args *args = argsv;
  gbox_bool_ret *ret = retv;
  struct stat st;
  int root;

  if (check_path (args->path) == -1 || (root = root_or_error ()) == -1)
    return -1;
  if (stat_in_root (root, args->path, &st) == 0) {
    ret->value = 1;
    return 0;
  }
  if (errno == ENOENT || errno == ENOTDIR || errno == ELOOP ||
      errno == ENAMETOOLONG) {
    ret->value = 0;
    return 0;
  }
  reply_with_perror ("exists: %s", args->path);
  return -1;
}

static int
is_type (gbox_path_args *args, gbox_bool_ret *ret, mode_t type,
         const char *name)
{
  struct stat st;
  int root;

  if (check_path (args->path) == -1 || (root = root_or_error ()) == -1)
    return -1;
  if (lstat_in_root (root, args->path, &st) == 0) {
    ret->value = (st.st_mode & S_IFMT) == type;
    return 0;
  }
  if (errno == ENOENT || errno == ENOTDIR || errno == ELOOP) {
    ret->value = 0;
    return 0;
  }
  reply_with_perror ("%s: %s", name, args->path);
  return -1;
}

int
do_is_file (void *args, void *ret)
{
  return is_type (args, ret, S_IFREG, "is_file");
}

int
do_is_dir (void *args, void *ret)
{
  return is_type (args, ret, S_IFDIR, "is_dir");
}

/* lstat (FOLLOW false) or stat of a guest path. */
static int
stat_path (gbox_path_args *args, gbox_stat_ret *ret, bool follow)
{
  struct stat st;
  int root;

  if (check_path (args->path) == -1 || (root = root_or_error ()) == -1)
    return -1;
  if ((follow ? stat_in_root (root, args->path, &st)
       : lstat_in_root (root, args->path, &st)) == -1) {
    reply_with_perror ("%s: %s", follow ? "stat" : "lstat", args->path);
    return -1;
  }
  stat_to_gbox (&st, &ret->st);
  return 0;
}

int
do_lstat (void *args, void *ret)
{
  return stat_path (args, ret, false);
}

int
do_stat (void *args, void *ret)
{
  return stat_path (args, ret, true);
}

int
do_readlink (void *argsv, void *retv)
{
  gbox_path_args *args = argsv;
  gbox_readlink_ret *ret = retv;
  CLEANUP_FREE char *copy = NULL;
  CLEANUP_CLOSE int fd = -1;
  const char *last;
  char buf[GBOX_PATH_MAX];
  ssize_t r;
  int root;

  if (check_path (args->path) == -1 || (root = root_or_error ()) == -1)
    return -1;
  fd = open_parent_in_root (root, args->path, &copy, &last);
  if (fd == -1) {
    reply_with_perror ("readlink: %s", args->path);
    return -1;
  }
  r = readlinkat (fd, last, buf, sizeof buf);
  if (r == -1) {
    reply_with_perror ("readlink: %s", args->path);
    return -1;
  }
  if ((size_t) r >= sizeof buf) {
    reply_with_error_errno (ENAMETOOLONG, "readlink: %s: target too long",
                            args->path);
    return -1;
  }
  buf[r] = '\0';
  ret->target = strdup (buf);
  if (ret->target == NULL) {
    reply_with_perror ("strdup");
    return -1;
  }
  return 0;
}

int
do_statvfs (void *argsv, void *retv)
{
  gbox_path_args *args = argsv;
  gbox_statvfs_ret *ret = retv;
  CLEANUP_CLOSE int fd = -1;
  struct statvfs sv;
  int root;

  if (check_path (args->path) == -1 || (root = root_or_error ()) == -1)
    return -1;
  fd = open_in_root (root, args->path, O_PATH, 0);
  if (fd == -1 || fstatvfs (fd, &sv) == -1) {
    reply_with_perror ("statvfs: %s", args->path);
    return -1;
  }
  ret->st.bsize = sv.f_bsize;
  ret->st.frsize = sv.f_frsize;
  ret->st.blocks = sv.f_blocks;
  ret->st.bfree = sv.f_bfree;
  ret->st.bavail = sv.f_bavail;
  ret->st.files = sv.f_files;
  ret->st.ffree = sv.f_ffree;
  ret->st.favail = sv.f_favail;
  ret->st.fsid = sv.f_fsid;
  ret->st.flag = sv.f_flag;
  ret->st.namemax = sv.f_namemax;
  return 0;
}

/* Open a regular file for reading.  The type is checked on an O_PATH
 * fd before the real open, so a guest's fifo cannot block us and a
 * guest's device node is never opened. */
static int
open_regular_for_read (int root, const char *path, struct stat *st)
{
  CLEANUP_CLOSE int pfd = -1;
  char proc[64];
  int fd;

  pfd = open_in_root (root, path, O_PATH, 0);
  if (pfd == -1)
    return -1;
  if (fstat (pfd, st) == -1)
    return -1;
  if (S_ISDIR (st->st_mode)) {
    errno = EISDIR;
    return -1;
  }
  if (!S_ISREG (st->st_mode)) {
    errno = EINVAL;
    return -1;
  }
  snprintf (proc, sizeof proc, "/proc/self/fd/%d", pfd);
  fd = open (proc, O_RDONLY | O_CLOEXEC | O_NOCTTY);
  return fd;
}

int
do_download (void *argsv, void *retv)
{
  gbox_download_args *args = argsv;
  CLEANUP_CLOSE int fd = -1;
  static char buf[GBOX_CHUNK_SIZE];
  struct stat st;
  uint64_t sent = 0;
  int root, pfds[2];

  if (check_path (args->path) == -1 || (root = root_or_error ()) == -1)
    return -1;
  fd = open_regular_for_read (root, args->path, &st);
  if (fd == -1) {
    if (errno == EINVAL)
      reply_with_error_errno (EINVAL, "download: %s: not a regular file",
                              args->path);
    else
      reply_with_perror ("download: %s", args->path);
    return -1;
  }
  posix_fadvise (fd, 0, 0, POSIX_FADV_SEQUENTIAL);

  if (send_fileout_reply () == -1)
    return -1;

  /* The fast way: pages from the file into a pipe, from the pipe into
   * the channel (no copy by the guest CPU).  If the filesystem cannot
   * splice, the first splice says so before anything was sent, and the
   * file is read instead. */
  if (pipe2 (pfds, O_CLOEXEC) == 0) {
    int r = 0;

    fcntl (pfds[1], F_SETPIPE_SZ, GBOX_CHUNK_SIZE);
    for (;;) {
      size_t len = 0;
      ssize_t n = 0;

      while (len < GBOX_CHUNK_SIZE) {
        n = splice (fd, NULL, pfds[1], NULL, GBOX_CHUNK_SIZE - len,
                    SPLICE_F_MOVE);
        if (n == -1 && errno == EINTR)
          continue;
        if (n <= 0)
          break;
        len += n;
      }
      if (n == -1 && sent == 0 && len == 0 &&
          (errno == EINVAL || errno == ENOSYS || errno == EOPNOTSUPP)) {
        r = 1;                  /* cannot splice: read instead */
        break;
      }
      if (n == -1) {
        reply_with_perror ("download: %s: read", args->path);
        r = -1;
        break;
      }
      if (len == 0)
        break;
      if (check_cancel () != 0) {
        r = -1;
        break;
      }
      send_file_chunk_from_pipe (pfds[0], len);
      sent += len;
      notify_progress (sent, st.st_size > 0 ? (uint64_t) st.st_size : sent);
      if (n == 0)
        break;
    }
    close (pfds[0]);
    close (pfds[1]);
    if (r == -1)
      return -1;
    if (r == 0)
      goto end;
  }

  for (;;) {
    size_t len = 0;
    int c;

    /* Fill a whole chunk (short reads are possible). */
    while (len < sizeof buf) {
      ssize_t r = read (fd, buf + len, sizeof buf - len);
      if (r == -1) {
        if (errno == EINTR)
          continue;
        reply_with_perror ("download: %s: read", args->path);
        return -1;
      }
      if (r == 0)
        break;
      len += r;
    }
    if (len == 0)
      break;
    c = check_cancel ();
    if (c != 0)
      return -1;
    if (send_file_chunk (buf, len) == -1) {
      reply_with_perror ("download: %s: send", args->path);
      return -1;
    }
    sent += len;
    notify_progress (sent, st.st_size > 0 ? (uint64_t) st.st_size : sent);
    if (len < sizeof buf)
      break;
  }
 end:
  notify_progress (sent, sent);
  if (send_file_end () == -1) {
    reply_with_perror ("download: %s: send", args->path);
    return -1;
  }
  return 0;
}

struct upload_state {
  int fd;
  const char *path;
};

static int
upload_cb (void *opaque, const void *buf, size_t len)
{
  struct upload_state *u = opaque;
  const char *p = buf;

  while (len > 0) {
    ssize_t r = write (u->fd, p, len);
    if (r == -1) {
      if (errno == EINTR)
        continue;
      reply_with_perror ("upload: %s: write", u->path);
      return -1;
    }
    p += r;
    len -= r;
  }
  return 0;
}

/* Remove PATH, which a failed upload created (errors ignored: the
 * upload's own error is the one reported). */
static void
remove_created (int root, const char *path)
{
  CLEANUP_FREE char *copy = NULL;
  const char *last;
  int pfd = open_parent_in_root (root, path, &copy, &last);

  if (pfd == -1)
    return;
  if (*last)
    unlinkat (pfd, last, 0);
  close (pfd);
}

int
do_upload (void *argsv, void *retv)
{
  gbox_upload_args *args = argsv;
  CLEANUP_CLOSE int fd = -1;
  struct upload_state u;
  struct stat st;
  int root;
  int fl;
  bool created;

  if (check_path (args->path) == -1 || (root = root_or_error ()) == -1)
    return -1;
  if (args->mode < -1 || args->mode > 07777) {
    reply_with_error_errno (EINVAL, "upload: %s: invalid mode %d",
                            args->path, args->mode);
    return -1;
  }
  /* Nothing at all at the path (not even a dangling symlink): a failed
   * upload removes the file it created, so no partial file is left. */
  created = lstat_in_root (root, args->path, &st) == -1 && errno == ENOENT;
  /* Refuse to write into anything but a regular file: opening a guest's
   * fifo would block, a device node is an appliance device. */
  if (stat_in_root (root, args->path, &st) == 0 && !S_ISREG (st.st_mode)) {
    reply_with_error_errno (S_ISDIR (st.st_mode) ? EISDIR : EINVAL,
                            "upload: %s: not a regular file", args->path);
    return -1;
  }
  fd = open_in_root (root, args->path,
                     O_WRONLY | O_CREAT | O_NONBLOCK | O_NOCTTY,
                     args->mode == -1 ? 0644 : args->mode);
  if (fd == -1) {
    reply_with_perror ("upload: %s", args->path);
    return -1;
  }
  if (fstat (fd, &st) == -1 || !S_ISREG (st.st_mode)) {
    reply_with_error_errno (EINVAL, "upload: %s: not a regular file",
                            args->path);
    return -1;
  }
  fl = fcntl (fd, F_GETFL);
  if (fl == -1 || fcntl (fd, F_SETFL, fl & ~O_NONBLOCK) == -1 ||
      ftruncate (fd, 0) == -1) {
    reply_with_perror ("upload: %s", args->path);
    return -1;
  }
  if (args->mode != -1 && fchmod (fd, args->mode) == -1) {
    reply_with_perror ("upload: %s: chmod", args->path);
    return -1;
  }

  u.fd = fd;
  u.path = args->path;
  if (receive_file (upload_cb, &u) == -1) {
    if (created)
      remove_created (root, args->path);
    return -1;
  }
  if (close (fd) == -1) {
    fd = -1;
    reply_with_perror ("upload: %s: close", args->path);
    if (created)
      remove_created (root, args->path);
    return -1;
  }
  fd = -1;
  return 0;
}
