/* guestbox - small helpers of the daemon.
 * Copyright (C) 2026 the guestbox authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

/**
 * Cleanup functions, string lists, running a program (argv, never a
 * shell) with its stderr captured, and the clock.
 */

#include <config.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <string.h>
#include <time.h>
#include <sys/wait.h>

#include "daemon.h"

void
gbd_cleanup_free (void *ptr)
{
  free (*(void **) ptr);
}

void
gbd_cleanup_free_string_list (void *ptr)
{
  free_strings (*(char ***) ptr);
}

void
gbd_cleanup_close (void *ptr)
{
  int fd = *(int *) ptr;
  if (fd >= 0)
    close (fd);
}

void
gbd_cleanup_fclose (void *ptr)
{
  FILE *fp = *(FILE **) ptr;
  if (fp)
    fclose (fp);
}

int
compare_strings (const void *a, const void *b)
{
  return strcmp (*(char *const *) a, *(char *const *) b);
}

size_t
count_strings (char *const *argv)
{
  size_t n = 0;
  while (argv && argv[n])
    n++;
  return n;
}

void
free_strings (char **argv)
{
  size_t i;
  if (argv == NULL)
    return;
  for (i = 0; argv[i]; ++i)
    free (argv[i]);
  free (argv);
}

/* Append S (taking ownership) to a NULL-terminated list of *N items. */
int
add_string_nodup (char ***list, size_t *n, char *s)
{
  char **l = realloc (*list, (*n + 2) * sizeof (char *));
  if (l == NULL) {
    free (s);
    return -1;
  }
  l[*n] = s;
  l[*n + 1] = NULL;
  (*n)++;
  *list = l;
  return 0;
}

int
add_string (char ***list, size_t *n, const char *s)
{
  char *copy = strdup (s);
  if (copy == NULL)
    return -1;
  return add_string_nodup (list, n, copy);
}

uint64_t
now_ms (void)
{
  struct timespec ts;
  clock_gettime (CLOCK_MONOTONIC, &ts);
  return (uint64_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* At most this much of a program's stderr is kept for the error. */
#define ERR_MAX 4000

int
run_command (char **errp, const char *const *argv)
{
  return run_command_stdin (errp, argv, -1);
}

int
run_command_stdin (char **errp, const char *const *argv, int infd)
{
  struct command c = COMMAND_INIT (argv);
  int r;

  if (errp)
    *errp = NULL;
  c.in = infd;
  c.err_max = ERR_MAX;
  r = command_run (&c);
  if (r == -1)
    return -1;
  /* One line: newlines become spaces, trailing space trimmed. */
  command_one_line (c.err, false);
  if (errp)
    *errp = c.err;
  else
    free (c.err);
  return r;
}

int
run_reply (const char *what, const char *const *argv, int okmax)
{
  CLEANUP_FREE char *err = NULL;
  int r = run_command (&err, argv);

  if (r < 0 || r > okmax) {
    if (r < 0)
      reply_with_perror ("%s: %s", what, argv[0]);
    else
      reply_with_error ("%s: %s failed (status %d): %s", what, argv[0], r,
                        err && err[0] ? err : "no message");
    return -1;
  }
  return 0;
}
