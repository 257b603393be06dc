/* guestbox - small utilities of the library.
 * Copyright (C) 2026 the guestbox authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

/**
 * Allocation that reports on the handle (gbox_int_strdup,
 * gbox_int_asprintf), removing a private directory tree without a shell
 * (gbox_int_rmtree), a monotonic clock (gbox_int_now_ms) and closing
 * inherited descriptors before exec (gbox_int_close_fds_from).
 */

#include <config.h>

#include <stdio.h>
#include <stdlib.h>
#include <stdarg.h>
#include <stdint.h>
#include <string.h>
#include <errno.h>
#include <fcntl.h>
#include <dirent.h>
#include <time.h>
#include <unistd.h>
#include <sys/stat.h>


#include "guestbox-internal.h"

char *
gbox_int_strdup (gbox_h *h, const char *s)
{
  char *r = strdup (s);

  if (r == NULL)
    gbox_int_perror (h, "strdup");
  return r;
}

char *
gbox_int_asprintf (gbox_h *h, const char *fs, ...)
{
  va_list args;
  char *r;
  int len;

  va_start (args, fs);
  len = vasprintf (&r, fs, args);
  va_end (args);
  if (len == -1) {
    gbox_int_perror (h, "asprintf");
    return NULL;
  }
  return r;
}

/* Remove everything inside the directory open as DIRFD; closes DIRFD.
 * DEPTH bounds the recursion. */
static int
rmtree_fd (int dirfd, unsigned depth)
{
  DIR *dir;
  struct dirent *d;
  int r = 0;

  if (depth > 64) {
    close (dirfd);
    errno = ELOOP;
    return -1;
  }

  dir = fdopendir (dirfd);
  if (dir == NULL) {
    close (dirfd);
    return -1;
  }

  for (;;) {
    errno = 0;
    d = readdir (dir);
    if (d == NULL) {
      if (errno != 0)
        r = -1;
      break;
    }
    if (strcmp (d->d_name, ".") == 0 || strcmp (d->d_name, "..") == 0)
      continue;

    if (unlinkat (dirfd, d->d_name, 0) == 0)
      continue;
    if (errno == EISDIR || errno == EPERM) {
      int sub = openat (dirfd, d->d_name,
                        O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
      if (sub == -1 || rmtree_fd (sub, depth + 1) == -1 ||
          unlinkat (dirfd, d->d_name, AT_REMOVEDIR) == -1)
        r = -1;
    }
    else if (errno != ENOENT)
      r = -1;
  }

  closedir (dir);
  return r;
}

int
gbox_int_rmtree (const char *dir)
{
  int fd = open (dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);

  if (fd == -1)
    return errno == ENOENT ? 0 : -1;
  if (rmtree_fd (fd, 0) == -1)
    return -1;
  return rmdir (dir);
}

uint64_t
gbox_int_now_ms (void)
{
  struct timespec ts;

  clock_gettime (CLOCK_MONOTONIC, &ts);
  return (uint64_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Close every descriptor from FIRST up, in a child before exec:
 * close_range where the kernel has it, else one by one. */
void
gbox_int_close_fds_from (int first)
{
  long max, fd;

  if (close_range ((unsigned) first, ~0U, 0) == 0)
    return;
  max = sysconf (_SC_OPEN_MAX);
  if (max < 0 || max > 1024 * 1024)
    max = 1024 * 1024;
  for (fd = first; fd < max; ++fd)
    close ((int) fd);
}
