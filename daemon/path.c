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
 *
 * NTFS (ntfs-3g, a FUSE filesystem here) and FAT keep names
 * case-insensitive for Windows but ntfs-3g looks them up exactly, so a
 * path that does not exist as given is looked up again one component
 * at a time, each missing component matched without regard to ASCII
 * letter case in its directory when that directory is on one of those
 * filesystems (as libguestfs's case_sensitive_path does): the last
 * component may be missing (a file to create).  Each step is again an
 * openat2(RESOLVE_IN_ROOT) of the path found so far, so it cannot
 * leave the tree either.
 */

#include <config.h>

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <dirent.h>
#include <sys/stat.h>
#include <sys/statfs.h>
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

/* openat2 (RESOLVE_IN_ROOT) of PATH exactly as given. */
static int
open_exact (int rootfd, const char *path, int flags, mode_t mode)
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

#define FUSE_SUPER_MAGIC 0x65735546
#define MSDOS_SUPER_MAGIC 0x4d44
#define EXFAT_SUPER_MAGIC 0x2011bab0

/* Is directory DIRFD on a filesystem whose names Windows treats
 * without regard to case (NTFS through ntfs-3g, FAT, exFAT)? */
static bool
caseless_dir (int dirfd)
{
  struct statfs sf;

  if (fstatfs (dirfd, &sf) == -1)
    return false;
  return sf.f_type == FUSE_SUPER_MAGIC || sf.f_type == MSDOS_SUPER_MAGIC ||
    sf.f_type == EXFAT_SUPER_MAGIC;
}

/* The entry of directory DIRFD (an O_PATH fd) whose name equals NAME
 * without regard to ASCII case, malloc'd, or NULL. */
static char *
find_caseless (int dirfd, const char *name)
{
  struct dirent *d;
  char *found = NULL;
  DIR *dir;
  int fd;

  fd = openat (dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd == -1)
    return NULL;
  dir = fdopendir (fd);
  if (dir == NULL) {
    close (fd);
    return NULL;
  }
  while ((d = readdir (dir)) != NULL)
    if (strcasecmp (d->d_name, name) == 0) {
      found = strdup (d->d_name);
      break;
    }
  closedir (dir);
  return found;
}

char *
caseless_path (int rootfd, const char *path)
{
  CLEANUP_FREE char *out = NULL;
  size_t outlen = 0;
  const char *p = path;
  bool changed = false;
  int dirfd;

  out = malloc (GBOX_PATH_MAX + 1);
  if (out == NULL)
    return NULL;
  out[outlen++] = '/';
  out[outlen] = '\0';
  dirfd = open_exact (rootfd, "/", O_PATH | O_DIRECTORY, 0);
  if (dirfd == -1)
    return NULL;
  for (;;) {
    CLEANUP_FREE char *match = NULL;
    char name[GBOX_NAME_MAX + 1];
    size_t len;
    const char *use;
    struct stat st;
    bool last;

    while (*p == '/')
      p++;
    if (*p == '\0')
      break;
    len = strcspn (p, "/");
    if (len > GBOX_NAME_MAX)
      break;
    memcpy (name, p, len);
    name[len] = '\0';
    p += len;
    last = p[strspn (p, "/")] == '\0';
    use = name;
    if (strcmp (name, ".") != 0 && strcmp (name, "..") != 0 &&
        fstatat (dirfd, name, &st, AT_SYMLINK_NOFOLLOW) == -1 &&
        errno == ENOENT && caseless_dir (dirfd) &&
        (match = find_caseless (dirfd, name)) != NULL) {
      use = match;
      changed = true;
    }
    len = strlen (use);
    if (outlen + len + 1 >= GBOX_PATH_MAX)
      break;
    if (out[outlen - 1] != '/')
      out[outlen++] = '/';
    memcpy (out + outlen, use, len);
    outlen += len;
    out[outlen] = '\0';
    if (last)
      break;
    close (dirfd);
    dirfd = open_exact (rootfd, out, O_PATH | O_DIRECTORY, 0);
    if (dirfd == -1)
      return NULL;
  }
  close (dirfd);
  if (!changed || *p != '\0')
    return NULL;
  /* Keep a trailing slash. */
  if (path[strlen (path) - 1] == '/' && out[outlen - 1] != '/' &&
      outlen + 1 < GBOX_PATH_MAX) {
    out[outlen++] = '/';
    out[outlen] = '\0';
  }
  return strdup (out);
}

int
open_in_root (int rootfd, const char *path, int flags, mode_t mode)
{
  CLEANUP_FREE char *found = NULL;
  int fd, err;

  fd = open_exact (rootfd, path, flags, mode);
  if (fd >= 0 || errno != ENOENT)
    return fd;
  err = errno;
  found = caseless_path (rootfd, path);
  if (found == NULL) {
    errno = err;
    return -1;
  }
  return open_exact (rootfd, found, flags, mode);
}

int
open_parent_in_root (int rootfd, const char *path,
                     char **copy, const char **last)
{
  char *p, *slash;
  size_t len;
  int fd;

  /* On NTFS and FAT the path may name an existing entry in another
   * letter case: use that entry's name. */
  fd = open_exact (rootfd, path, O_PATH | O_NOFOLLOW, 0);
  if (fd >= 0)
    close (fd);
  else if (errno == ENOENT)
    *copy = caseless_path (rootfd, path);
  else
    *copy = NULL;
  if (*copy == NULL)
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
