/* guestbox - guest paths resolved inside a root directory.
 * Copyright (C) 2026 the guestbox authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

/**
 * Every path the daemon receives is a guest path.  It is resolved by
 * the kernel with openat2(RESOLVE_IN_ROOT) on a directory fd of the
 * sysroot (or of a filesystem being inspected), so neither ".." nor a
 * symlink (absolute or relative) can lead outside that tree.  Operations
 * on the last component that must not follow it (lstat, readlink,
 * is_file, is_dir) open the parent that way and use *at(2) calls with
 * AT_SYMLINK_NOFOLLOW.
 */

#include <config.h>

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <linux/openat2.h>

#include "daemon.h"

const char *sysroot = "/sysroot";
static int sysroot_cached_fd = -1;

int
sysroot_fd (void)
{
  if (sysroot_cached_fd == -1)
    sysroot_cached_fd = open (sysroot, O_PATH | O_DIRECTORY | O_CLOEXEC);
  return sysroot_cached_fd;
}

void
sysroot_invalidate (void)
{
  if (sysroot_cached_fd >= 0)
    close (sysroot_cached_fd);
  sysroot_cached_fd = -1;
}

int
check_path (const char *path)
{
  if (path == NULL || path[0] != '/') {
    reply_with_error_errno (EINVAL, "%s: path must be absolute",
                            path ? path : "(null)");
    return -1;
  }
  if (strlen (path) >= GBOX_PATH_MAX) {
    reply_with_error_errno (ENAMETOOLONG, "path too long");
    return -1;
  }
  return 0;
}

int
open_in_root (int rootfd, const char *path, int flags, mode_t mode)
{
  struct open_how how;

  memset (&how, 0, sizeof how);
  how.flags = flags | O_CLOEXEC;
  if (flags & (O_CREAT | O_TMPFILE))
    how.mode = mode;
  how.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS;
  /* An empty path means the root itself. */
  if (path[0] == '\0')
    path = "/";
  for (;;) {
    long r = syscall (SYS_openat2, rootfd, path, &how, sizeof how);
    if (r >= 0)
      return r;
    /* EAGAIN: a concurrent rename raced the lookup; just retry. */
    if (errno != EAGAIN && errno != EINTR)
      return -1;
  }
}

int
open_parent_in_root (int rootfd, const char *path,
                     char **copy, const char **last)
{
  char *p, *slash;
  size_t len;
  int fd;

  *copy = strdup (path);
  if (*copy == NULL)
    return -1;
  p = *copy;
  /* Strip trailing slashes (but keep a lone "/"). */
  len = strlen (p);
  while (len > 1 && p[len - 1] == '/')
    p[--len] = '\0';

  slash = strrchr (p, '/');
  if (slash == NULL || strcmp (slash + 1, ".") == 0 ||
      strcmp (slash + 1, "..") == 0 || slash[1] == '\0') {
    /* "/" or ".../." or ".../..": not a symlink, open it whole. */
    *last = "";
    return open_in_root (rootfd, p, O_PATH, 0);
  }
  *last = slash + 1;
  if (slash == p)
    fd = open_in_root (rootfd, "/", O_PATH | O_DIRECTORY, 0);
  else {
    *slash = '\0';
    fd = open_in_root (rootfd, p, O_PATH | O_DIRECTORY, 0);
    *slash = '/';
  }
  return fd;
}

int
lstat_in_root (int rootfd, const char *path, struct stat *st)
{
  CLEANUP_FREE char *copy = NULL;
  const char *last;
  CLEANUP_CLOSE int fd = -1;

  fd = open_parent_in_root (rootfd, path, &copy, &last);
  if (fd == -1)
    return -1;
  if (last[0] == '\0')
    return fstat (fd, st);
  return fstatat (fd, last, st, AT_SYMLINK_NOFOLLOW);
}

int
stat_in_root (int rootfd, const char *path, struct stat *st)
{
  CLEANUP_CLOSE int fd = -1;

  fd = open_in_root (rootfd, path, O_PATH, 0);
  if (fd == -1)
    return -1;
  return fstat (fd, st);
}

char *
read_file_in_root (int rootfd, const char *path, size_t max, size_t *lenp)
{
  CLEANUP_CLOSE int pfd = -1;
  CLEANUP_CLOSE int fd = -1;
  struct stat st;
  char proc[64];
  char *buf;
  size_t len = 0;

  /* Check the type on an O_PATH fd first: opening a fifo or a device
   * node of the guest for reading could block or touch the appliance's
   * own devices. */
  pfd = open_in_root (rootfd, path, O_PATH, 0);
  if (pfd == -1)
    return NULL;
  if (fstat (pfd, &st) == -1)
    return NULL;
  if (!S_ISREG (st.st_mode)) {
    errno = S_ISDIR (st.st_mode) ? EISDIR : EINVAL;
    return NULL;
  }
  if ((uint64_t) st.st_size > max) {
    errno = EFBIG;
    return NULL;
  }
  snprintf (proc, sizeof proc, "/proc/self/fd/%d", pfd);
  fd = open (proc, O_RDONLY | O_CLOEXEC | O_NOCTTY);
  if (fd == -1)
    return NULL;
  buf = malloc (max + 1);
  if (buf == NULL)
    return NULL;
  for (;;) {
    ssize_t r = read (fd, buf + len, max + 1 - len);
    if (r == -1) {
      if (errno == EINTR)
        continue;
      free (buf);
      return NULL;
    }
    if (r == 0)
      break;
    len += r;
    if (len > max) {
      free (buf);
      errno = EFBIG;
      return NULL;
    }
  }
  buf[len] = '\0';
  if (lenp)
    *lenp = len;
  return buf;
}

void
stat_to_gbox (const struct stat *st, gbox_stat *g)
{
  g->dev = st->st_dev;
  g->ino = st->st_ino;
  g->mode = st->st_mode;
  g->nlink = st->st_nlink;
  g->uid = st->st_uid;
  g->gid = st->st_gid;
  g->rdev = st->st_rdev;
  g->size = st->st_size;
  g->blksize = st->st_blksize;
  g->blocks = st->st_blocks;
  g->atime = st->st_atim.tv_sec;
  g->atime_nsec = st->st_atim.tv_nsec;
  g->mtime = st->st_mtim.tv_sec;
  g->mtime_nsec = st->st_mtim.tv_nsec;
  g->ctime = st->st_ctim.tv_sec;
  g->ctime_nsec = st->st_ctim.tv_nsec;
}
