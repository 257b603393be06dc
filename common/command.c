/* guestbox - running host programs.
 * Copyright (C) 2026 the guestbox authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

/**
 * The one place on the host side that forks: gbox_int_cmd_run runs a
 * program from an argv (never a shell) and waits for it, with stdin on
 * /dev/null, stdout and stderr captured up to a bound (or discarded),
 * optionally one descriptor of ours passed as its descriptor 3, or the
 * caller's own descriptors as its standard streams, in a directory,
 * stdout optionally handed over line by line (progress), and an
 * optional timeout after which the program is killed.
 * gbox_int_cmd_start / gbox_int_cmd_wait run one while the caller
 * works its pipes.  gbox_int_cmd_spawn starts a long-lived child (qemu)
 * with its output on a pipe.  Every child starts with default signals, an empty signal
 * mask and no descriptor of ours above 2, and dies with the thread that
 * started it.
 */

#include <config.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/prctl.h>
#include <sys/types.h>
#include <sys/wait.h>

#include "guestbox-internal.h"

/* In the child: OUT and ERR (-1: /dev/null) become 1 and 2, FD3 (> 2)
 * becomes 3, C's STDIO and DIR_FD (when C is set) apply, then exec.
 * Only async-signal-safe calls until exec. */
static void __attribute__((noreturn))
child (const char *const *argv, const char *const *envp, int out, int err,
       int fd3, bool new_pgrp, const struct gbox_cmd *c)
{
  sigset_t none;
  int null, in = -1, k;

  prctl (PR_SET_PDEATHSIG, SIGKILL);
  /* A terminal's ^C goes to our handler, which kills a qemu after
   * cleaning up: keep it out of the foreground process group. */
  if (new_pgrp)
    setpgid (0, 0);
  sigemptyset (&none);
  sigprocmask (SIG_SETMASK, &none, NULL);
  signal (SIGPIPE, SIG_DFL);
  null = open ("/dev/null", O_RDWR);
  if (c && c->dir_fd > 2 && fchdir (c->dir_fd) == -1)
    _exit (126);
  /* The caller's streams, moved above 2 first so that putting one in
   * place never overwrites another. */
  for (k = 0; c && k < 3; ++k)
    if (c->stdio_set & (1u << k)) {
      int d = fcntl (c->stdio[k], F_DUPFD, 10);
      if (k == 0)
        in = d;
      else if (k == 1)
        out = d;
      else
        err = d;
    }
  dup2 (in >= 0 ? in : null, 0);
  dup2 (out >= 0 ? out : null, 1);
  dup2 (err >= 0 ? err : null, 2);
  if (fd3 == 3)
    fcntl (3, F_SETFD, 0);      /* dup2 onto itself keeps close-on-exec */
  else if (fd3 > 2)
    dup2 (fd3, 3);
  gbox_int_close_fds_from (fd3 > 2 ? 4 : 3);
  if (envp)
    execvpe (argv[0], (char *const *) argv, (char *const *) envp);
  else
    execvp (argv[0], (char *const *) argv);
  {
    const char *msg = strerror (errno);

    if (c && c->program &&
        (write (2, c->program, strlen (c->program)) <= 0 ||
         write (2, ": error: ", 9) <= 0))
      _exit (127);
    if (write (2, argv[0], strlen (argv[0])) > 0 &&
        write (2, ": ", 2) > 0 && write (2, msg, strlen (msg)) > 0)
      (void) !write (2, "\n", 1);
  }
  _exit (127);
}

pid_t
gbox_int_cmd_spawn (const char *const *argv, const char *const *envp,
                    int *outfd)
{
  int pfd[2];
  pid_t pid;

  if (pipe2 (pfd, O_CLOEXEC) == -1)
    return -1;
  pid = fork ();
  if (pid == -1) {
    int e = errno;
    close (pfd[0]);
    close (pfd[1]);
    errno = e;
    return -1;
  }
  if (pid == 0)
    child (argv, envp, pfd[1], pfd[1], -1, true, NULL);
  close (pfd[1]);
  *outfd = pfd[0];
  return pid;
}

/* One captured stream. */
struct stream {
  int fd;                       /* read end, or -1 when closed */
  char **buf;                   /* where the text goes (NULL: drained) */
  size_t *len;
  size_t max;
  char line[256];               /* the partial line, for out_line */
  size_t llen;
};

static int
stream_open (struct stream *s, char **buf, size_t *len, size_t max,
             bool wanted, int *child_end)
{
  int pfd[2];

  s->fd = -1;
  s->buf = buf;
  s->len = len;
  s->max = max;
  s->llen = 0;
  *child_end = -1;
  if (!wanted)
    return 0;
  if (max > 0) {
    *buf = malloc (max + 1);
    if (*buf == NULL)
      return -1;
    (*buf)[0] = '\0';
  }
  if (pipe2 (pfd, O_CLOEXEC) == -1)
    return -1;
  s->fd = pfd[0];
  *child_end = pfd[1];
  return 0;
}

static void
stream_read (struct stream *s, struct gbox_cmd *c, bool lines)
{
  char buf[4096];
  ssize_t r = read (s->fd, buf, sizeof buf);
  ssize_t i;

  if (r == -1 && (errno == EINTR || errno == EAGAIN))
    return;
  if (r <= 0) {
    close (s->fd);
    s->fd = -1;
    return;
  }
  if (s->max > 0 && *s->len < s->max) {
    size_t n = (size_t) r < s->max - *s->len ? (size_t) r
      : s->max - *s->len;

    memcpy (*s->buf + *s->len, buf, n);
    *s->len += n;
    (*s->buf)[*s->len] = '\0';
  }
  if (!lines)
    return;
  for (i = 0; i < r; ++i) {
    if (buf[i] == '\r' || buf[i] == '\n') {
      s->line[s->llen] = '\0';
      c->out_line (c->opaque, s->line);
      s->llen = 0;
    }
    else if (s->llen < sizeof s->line - 1)
      s->line[s->llen++] = buf[i];
  }
}

int
gbox_int_cmd_run (struct gbox_cmd *c)
{
  struct stream out = { .fd = -1 }, err = { .fd = -1 };
  int out_w = -1, err_w = -1, e;
  uint64_t deadline = 0;
  pid_t pid;

  c->out = c->err = NULL;
  c->out_len = c->err_len = 0;
  c->status = 0;
  c->timed_out = false;
  if (stream_open (&out, &c->out, &c->out_len, c->out_max,
                   c->out_max > 0 || c->out_line, &out_w) == -1 ||
      stream_open (&err, &c->err, &c->err_len, c->err_max,
                   c->err_max > 0, &err_w) == -1)
    goto fail;

  pid = fork ();
  if (pid == -1)
    goto fail;
  if (pid == 0)
    child (c->argv, NULL, out_w, err_w, c->fd3, false, c);
  if (c->child)
    *c->child = pid;
  if (out_w >= 0)
    close (out_w);
  if (err_w >= 0)
    close (err_w);
  out_w = err_w = -1;
  if (c->timeout_ms)
    deadline = gbox_int_now_ms () + c->timeout_ms;

  while (out.fd >= 0 || err.fd >= 0) {
    struct pollfd p[2];
    int timeout = -1, r;

    if (deadline) {
      uint64_t now = gbox_int_now_ms ();

      if (now >= deadline) {
        kill (pid, SIGKILL);
        c->timed_out = true;
        break;
      }
      timeout = (int) (deadline - now);
    }
    p[0].fd = out.fd;
    p[0].events = POLLIN;
    p[1].fd = err.fd;
    p[1].events = POLLIN;
    r = poll (p, 2, timeout);
    if (r == -1 && errno != EINTR) {
      kill (pid, SIGKILL);
      break;
    }
    if (r <= 0)
      continue;
    if (out.fd >= 0 && p[0].revents)
      stream_read (&out, c, c->out_line != NULL);
    if (err.fd >= 0 && p[1].revents)
      stream_read (&err, c, false);
  }
  if (out.fd >= 0)
    close (out.fd);
  if (err.fd >= 0)
    close (err.fd);

  /* Output closed early (or the timeout): the wait is bounded too. */
  for (;;) {
    pid_t r = waitpid (pid, &c->status, deadline ? WNOHANG : 0);

    if (r == pid)
      break;
    if (r == -1 && errno != EINTR) {
      c->status = -1;           /* not "exited with 0" */
      break;
    }
    if (r == 0) {
      if (gbox_int_now_ms () >= deadline) {
        kill (pid, SIGKILL);
        c->timed_out = true;
        deadline = 0;           /* now wait for good */
      }
      else
        usleep (10000);
    }
  }
  if (c->child)
    *c->child = 0;
  return 0;

 fail:
  e = errno;
  if (out_w >= 0)
    close (out_w);
  if (err_w >= 0)
    close (err_w);
  if (out.fd >= 0)
    close (out.fd);
  if (err.fd >= 0)
    close (err.fd);
  gbox_int_cmd_free (c);
  errno = e;
  return -1;
}

pid_t
gbox_int_cmd_start (struct gbox_cmd *c)
{
  pid_t pid;

  c->out = c->err = NULL;
  c->out_len = c->err_len = 0;
  c->status = 0;
  c->timed_out = false;
  pid = fork ();
  if (pid == 0)
    child (c->argv, NULL, -1, -1, c->fd3, false, c);
  if (pid > 0 && c->child)
    *c->child = pid;
  return pid;
}

int
gbox_int_cmd_wait (struct gbox_cmd *c, pid_t pid)
{
  int r;

  while ((r = waitpid (pid, &c->status, 0)) == -1 && errno == EINTR)
    ;
  if (r == -1)
    c->status = -1;
  if (c->child)
    *c->child = 0;
  return r == -1 ? -1 : 0;
}

bool
gbox_int_cmd_ok (const struct gbox_cmd *c)
{
  return !c->timed_out && WIFEXITED (c->status) &&
    WEXITSTATUS (c->status) == 0;
}

void
gbox_int_cmd_free (struct gbox_cmd *c)
{
  free (c->out);
  free (c->err);
  c->out = c->err = NULL;
  c->out_len = c->err_len = 0;
}
