/* guestbox - helpers shared by the tests of common/.
 * Copyright (C) 2026 the guestbox authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

/**
 * Implementation of test-helpers.h.
 */

#include <config.h>

#include <stdio.h>
#include <stdlib.h>
#include <stdarg.h>
#include <string.h>
#include <errno.h>
#include <fcntl.h>
#include <time.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include "test-helpers.h"

char *
test_mkdtemp (void)
{
  const char *tmp = getenv ("TMPDIR");
  char *dir;

  if (asprintf (&dir, "%s/gbtestXXXXXX", tmp && *tmp ? tmp : "/tmp") == -1 ||
      mkdtemp (dir) == NULL) {
    perror ("mkdtemp");
    exit (EXIT_FAILURE);
  }
  return dir;
}

const char *
test_daemon_path (void)
{
  const char *daemon = getenv ("GBOX_DAEMON");

  if (daemon == NULL || *daemon == '\0') {
    fprintf (stderr, "FAIL: GBOX_DAEMON is not set (run through make check)\n");
    exit (EXIT_FAILURE);
  }
  if (access (daemon, X_OK) == -1) {
    fprintf (stderr, "FAIL: the daemon %s is missing: %s "
             "(build it: make -C daemon)\n", daemon, strerror (errno));
    exit (EXIT_FAILURE);
  }
  return daemon;
}

gbox_h *
test_connect_daemon (const char *sysroot)
{
  const char *daemon = test_daemon_path ();
  char fdarg[32];
  int sv[2];
  pid_t pid;
  gbox_h *h;

  if (socketpair (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == -1) {
    perror ("socketpair");
    exit (EXIT_FAILURE);
  }
  snprintf (fdarg, sizeof fdarg, "fd:%d", sv[1]);

  pid = fork ();
  if (pid == -1) {
    perror ("fork");
    exit (EXIT_FAILURE);
  }
  if (pid == 0) {
    /* Only async-signal-safe calls here: the tests are threaded. */
    int flags = fcntl (sv[1], F_GETFD);

    fcntl (sv[1], F_SETFD, flags & ~FD_CLOEXEC);
    if (getenv ("GBOX_TEST_DAEMON_VERBOSE"))
      execl (daemon, daemon, "--channel", fdarg, "--sysroot", sysroot,
             "--verbose", (char *) NULL);
    else
      execl (daemon, daemon, "--channel", fdarg, "--sysroot", sysroot,
             (char *) NULL);
    _exit (127);
  }
  close (sv[1]);

  h = gbox_create ();
  if (h == NULL) {
    perror ("gbox_create");
    exit (EXIT_FAILURE);
  }
  h->daemon_pid = pid;
  gbox_set_launch_timeout (h, 10);
  if (gbox_connect_fd (h, sv[0]) == -1) {
    fprintf (stderr, "FAIL: connecting to %s: %s\n", daemon,
             gbox_last_error (h));
    gbox_close (h);
    exit (EXIT_FAILURE);
  }
  return h;
}

/* xorshift32: a cheap, reproducible byte stream. */
void
test_fill (unsigned char *buf, size_t n, uint64_t offset, uint32_t seed)
{
  size_t i;

  for (i = 0; i < n; ++i) {
    uint64_t pos = offset + i;
    uint32_t x = (uint32_t) (pos >> 2) * 2654435761u ^ seed;

    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    buf[i] = x >> (8 * (pos & 3));
  }
}

void
test_make_file (const char *path, uint64_t size, uint32_t seed)
{
  unsigned char buf[65536];
  uint64_t off = 0;
  int fd = open (path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

  if (fd == -1) {
    perror (path);
    exit (EXIT_FAILURE);
  }
  while (off < size) {
    size_t n = size - off < sizeof buf ? size - off : sizeof buf;

    test_fill (buf, n, off, seed);
    if (write (fd, buf, n) != (ssize_t) n) {
      perror (path);
      exit (EXIT_FAILURE);
    }
    off += n;
  }
  close (fd);
}

bool
test_contains (const char *s, const char *sub)
{
  return s != NULL && strstr (s, sub) != NULL;
}

double
test_now (void)
{
  struct timespec ts;

  clock_gettime (CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}
