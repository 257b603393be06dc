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
  int pipefd[2];
  pid_t pid;
  int status;
  char *err = NULL;
  size_t len = 0;

  if (errp)
    *errp = NULL;
  if (pipe2 (pipefd, O_CLOEXEC) == -1)
    return -1;
  pid = fork ();
  if (pid == -1) {
    close (pipefd[0]);
    close (pipefd[1]);
    return -1;
  }
  if (pid == 0) {
    int null = open ("/dev/null", O_RDWR);
    if (null >= 0) {
      dup2 (infd >= 0 ? infd : null, 0);
      dup2 (null, 1);
    }
    dup2 (pipefd[1], 2);
    execvp (argv[0], (char *const *) argv);
    fprintf (stderr, "%s: %s", argv[0], strerror (errno));
    _exit (127);
  }
  close (pipefd[1]);
  err = malloc (ERR_MAX + 1);
  for (;;) {
    char buf[1024];
    ssize_t r = read (pipefd[0], buf, sizeof buf);
    if (r == -1 && errno == EINTR)
      continue;
    if (r <= 0)
      break;
    if (err && len < ERR_MAX) {
      size_t n = (size_t) r < ERR_MAX - len ? (size_t) r : ERR_MAX - len;
      memcpy (err + len, buf, n);
      len += n;
    }
  }
  close (pipefd[0]);
  while (waitpid (pid, &status, 0) == -1)
    if (errno != EINTR) {
      free (err);
      return -1;
    }
  if (err) {
    size_t i;
    err[len] = '\0';
    /* One line: newlines become "; ", trailing space trimmed. */
    while (len > 0 && (err[len - 1] == '\n' || err[len - 1] == ' '))
      err[--len] = '\0';
    for (i = 0; i < len; ++i)
      if (err[i] == '\n')
        err[i] = ' ';
  }
  if (errp)
    *errp = err;
  else
    free (err);
  if (WIFEXITED (status))
    return WEXITSTATUS (status);
  return 128 + (WIFSIGNALED (status) ? WTERMSIG (status) : 0);
}
