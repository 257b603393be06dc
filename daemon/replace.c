/* guestbox - replace a file by a new version, keeping its attributes.
 * Copyright (C) 2026 the guestbox authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

/**
 * replace_file, the last step of virt-edit: the new contents were
 * uploaded (mode 0600) to a temporary name in the same directory; here
 * that file gets the original's owner, group, mode and SELinux label,
 * the original is optionally kept as a backup (a hard link), and the new
 * file is renamed over the original, so the file is never missing, never
 * half-written and never readable by anyone the original was not.  All
 * three names are resolved inside the guest root and must share one
 * directory.
 */

#include <config.h>

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/xattr.h>

#include "daemon.h"

/* Extended attributes copied from the original. */
static const char *const copied_xattrs[] = { "security.selinux", NULL };

static int
copy_xattrs (int from, int to, const char *path)
{
  size_t i;

  for (i = 0; copied_xattrs[i]; ++i) {
    char val[4096];
    ssize_t n = fgetxattr (from, copied_xattrs[i], val, sizeof val);

    if (n == -1) {
      if (errno == ENODATA || errno == ENOTSUP)
        continue;
      reply_with_perror ("replace_file: %s: getxattr %s", path,
                         copied_xattrs[i]);
      return -1;
    }
    if (fsetxattr (to, copied_xattrs[i], val, n, 0) == -1) {
      reply_with_perror ("replace_file: %s: setxattr %s", path,
                         copied_xattrs[i]);
      return -1;
    }
  }
  return 0;
}

/* The parent of PATH, which must be DIRST's directory. */
static int
open_sibling (int root, const char *path, const struct stat *dirst,
              const char *what, char **copy, const char **last)
{
  struct stat st;
  int fd;

  if (check_path (path) == -1)
    return -1;
  fd = open_parent_in_root (root, path, copy, last);
  if (fd == -1) {
    reply_with_perror ("replace_file: %s", path);
    return -1;
  }
  if ((*last)[0] == '\0' || fstat (fd, &st) == -1 ||
      (dirst && (st.st_dev != dirst->st_dev || st.st_ino != dirst->st_ino))) {
    reply_with_error_errno (EINVAL, "replace_file: %s: the %s must be in "
                            "the same directory as the file", path, what);
    close (fd);
    return -1;
  }
  return fd;
}

int
do_replace_file (void *argsv, void *retv)
{
  gbox_replace_file_args *args = argsv;
  CLEANUP_FREE char *pcopy = NULL, *tcopy = NULL, *bcopy = NULL;
  const char *plast, *tlast, *blast = NULL;
  CLEANUP_CLOSE int dfd = -1, tdfd = -1, bdfd = -1;
  CLEANUP_CLOSE int ofd = -1, nfd = -1;
  struct stat dst, ost, nst;
  int root;

  root = sysroot_fd ();
  if (root == -1) {
    reply_with_perror ("sysroot %s", sysroot);
    return -1;
  }
  dfd = open_sibling (root, args->path, NULL, "file", &pcopy, &plast);
  if (dfd == -1)
    return -1;
  if (fstat (dfd, &dst) == -1) {
    reply_with_perror ("replace_file: %s", args->path);
    return -1;
  }
  tdfd = open_sibling (root, args->tmp, &dst, "new file", &tcopy, &tlast);
  if (tdfd == -1)
    return -1;
  if (args->backup[0]) {
    bdfd = open_sibling (root, args->backup, &dst, "backup", &bcopy, &blast);
    if (bdfd == -1)
      return -1;
  }

  ofd = openat (dfd, plast, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY |
                O_CLOEXEC);
  if (ofd == -1 || fstat (ofd, &ost) == -1) {
    reply_with_perror ("replace_file: %s", args->path);
    return -1;
  }
  if (!S_ISREG (ost.st_mode)) {
    reply_with_error_errno (EINVAL, "replace_file: %s: not a regular file",
                            args->path);
    return -1;
  }
  nfd = openat (dfd, tlast, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY |
                O_CLOEXEC);
  if (nfd == -1 || fstat (nfd, &nst) == -1) {
    reply_with_perror ("replace_file: %s", args->tmp);
    return -1;
  }
  if (!S_ISREG (nst.st_mode) || nst.st_nlink != 1) {
    reply_with_error_errno (EINVAL, "replace_file: %s: not a new regular file",
                            args->tmp);
    return -1;
  }

  /* Owner first: chown clears the set-id bits that chmod then sets. */
  if (fchown (nfd, ost.st_uid, ost.st_gid) == -1) {
    reply_with_perror ("replace_file: %s: chown", args->tmp);
    return -1;
  }
  if (fchmod (nfd, ost.st_mode & 07777) == -1) {
    reply_with_perror ("replace_file: %s: chmod", args->tmp);
    return -1;
  }
  if (copy_xattrs (ofd, nfd, args->path) == -1)
    return -1;
  if (fsync (nfd) == -1) {
    reply_with_perror ("replace_file: %s: fsync", args->tmp);
    return -1;
  }

  if (blast) {
    if (unlinkat (dfd, blast, 0) == -1 && errno != ENOENT) {
      reply_with_perror ("replace_file: %s", args->backup);
      return -1;
    }
    if (linkat (dfd, plast, dfd, blast, 0) == -1) {
      reply_with_perror ("replace_file: backup %s", args->backup);
      return -1;
    }
  }
  if (renameat (dfd, tlast, dfd, plast) == -1) {
    reply_with_perror ("replace_file: rename %s to %s", args->tmp, args->path);
    return -1;
  }
  return 0;
}
