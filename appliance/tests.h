/* guestbox - the appliance builder.
 * Copyright (C) 2026 the guestbox authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

/** Helpers shared by the appliance unit tests: CHECK (common/check.h),
 * temporary directories, running a host tool with argv
 * (no shell) and capturing its output, and small file helpers. */

#ifndef GBOX_APPLIANCE_TESTS_H
#define GBOX_APPLIANCE_TESTS_H

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "appliance-internal.h"
#include "check.h"


static inline struct gbox_app_ctx
test_ctx (char *err, size_t errlen)
{
  struct gbox_app_ctx cx = { .err = err, .errlen = errlen };
  err[0] = '\0';
  return cx;
}

static inline char *
test_tmpdir (void)
{
  const char *t = getenv ("TMPDIR");
  char *d;

  if (!t || !*t)
    t = "/tmp";
  d = gbox_app_asprintf ("%s/gbox-test-XXXXXX", t);
  if (!d || !mkdtemp (d)) {
    perror ("mkdtemp");
    exit (EXIT_FAILURE);
  }
  return d;
}

static inline bool
test_have (const char *prog)
{
  char *p = gbox_app_find_program (prog);
  bool r = p != NULL;

  free (p);
  return r;
}

/* Run ARGV (searched in PATH) with stdin from IN_PATH (or /dev/null),
 * return its exit status and its stdout in *OUT (malloc'd). */
static inline int
test_run (char *const argv[], const char *in_path, char **out)
{
  int pfd[2], status;
  pid_t pid;
  char *buf = NULL;
  size_t len = 0, cap = 0;

  if (pipe (pfd) == -1)
    return -1;
  pid = fork ();
  if (pid == -1)
    return -1;
  if (pid == 0) {
    int in = open (in_path ? in_path : "/dev/null", O_RDONLY);
    int null = open ("/dev/null", O_WRONLY);
    if (in >= 0)
      dup2 (in, 0);
    dup2 (pfd[1], 1);
    if (null >= 0)
      dup2 (null, 2);
    close (pfd[0]);
    execvp (argv[0], argv);
    _exit (127);
  }
  close (pfd[1]);
  for (;;) {
    ssize_t r;
    if (len + 4096 + 1 > cap) {
      cap = cap ? cap * 2 : 65536;
      buf = realloc (buf, cap);
      if (!buf)
        abort ();
    }
    r = read (pfd[0], buf + len, cap - len - 1);
    if (r == -1 && errno == EINTR)
      continue;
    if (r <= 0)
      break;
    len += r;
  }
  close (pfd[0]);
  if (!buf)
    buf = calloc (1, 1);
  buf[len] = '\0';
  if (waitpid (pid, &status, 0) == -1)
    return -1;
  if (out)
    *out = buf;
  else
    free (buf);
  return WIFEXITED (status) ? WEXITSTATUS (status) : -1;
}

static inline int
test_write_file (const char *path, const void *data, size_t len)
{
  int fd = open (path, O_WRONLY | O_CREAT | O_TRUNC, 0644);

  if (fd == -1)
    return -1;
  if (gbox_app_write_all (fd, data, len) == -1) {
    close (fd);
    return -1;
  }
  return close (fd);
}

/* Copy at most MAX bytes of SRC to DST. */
static inline int
test_copy_prefix (const char *src, const char *dst, size_t max)
{
  struct gbox_app_ctx cx = { 0 };
  char *data;
  size_t len;
  int r;

  if (gbox_app_read_file (&cx, src, 512 * 1024 * 1024, &data, &len) == -1)
    return -1;
  r = test_write_file (dst, data, len < max ? len : max);
  free (data);
  return r;
}

#endif /* GBOX_APPLIANCE_TESTS_H */
