/* guestbox - the daemon's one way of running a program.
 * Copyright (C) 2026 the guestbox authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

/**
 * Every program the daemon runs (lvm, e2fsck, resize2fs, mkswap,
 * bsdtar, ...) goes through here: fork, the child's standard streams
 * set up (/dev/null where nothing is given), execvp with no shell, and
 * on the parent's side its stdout and stderr read together with poll
 * (each kept up to a bound, the rest read and dropped, so the child
 * never blocks on a full pipe), an optional time limit after which the
 * child and its process group are killed, and its exit status (128 + N
 * when killed by signal N, 127 when it could not be run).
 */

#include <config.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>
#include <sys/wait.h>

#include "daemon.h"

pid_t
command_spawn (const char *const *argv, int dirfd, int in, int out, int err)
{
  pid_t pid = fork ();
  int null;

  if (pid != 0)
    return pid;
  /* Its own process group: a time limit kills what it started too. */
  setpgid (0, 0);
  null = open ("/dev/null", O_RDWR);
  signal (SIGPIPE, SIG_DFL);
  if (dirfd >= 0 && fchdir (dirfd) == -1) {
    dprintf (err >= 0 ? err : 2, "%s\n", strerror (errno));
    _exit (2);
  }
  dup2 (in >= 0 ? in : null, 0);
  dup2 (out >= 0 ? out : null, 1);
  dup2 (err >= 0 ? err : null, 2);
  execvp (argv[0], (char *const *) argv);
  fprintf (stderr, "%s: %s\n", argv[0], strerror (errno));
  _exit (127);
}

int
command_wait (pid_t pid)
{
  int status;

  while (waitpid (pid, &status, 0) == -1)
    if (errno != EINTR)
      return -1;
  if (WIFEXITED (status))
    return WEXITSTATUS (status);
  return 128 + (WIFSIGNALED (status) ? WTERMSIG (status) : 0);
}

/* One captured stream: its pipe and what is kept of it. */
struct capture {
  int fd;
  char *buf;
  size_t len, max;
};

static void
capture_read (struct capture *c)
{
  char b[4096];
  ssize_t r = read (c->fd, b, sizeof b);

  if (r == -1 && errno == EINTR)
    return;
  if (r <= 0) {
    close (c->fd);
    c->fd = -1;
    return;
  }
  if (c->len < c->max) {
    size_t n = (size_t) r < c->max - c->len ? (size_t) r : c->max - c->len;
    memcpy (c->buf + c->len, b, n);
    c->len += n;
  }
}

int
command_run (struct command *cmd)
{
  struct capture cap[2] = { { -1, NULL, 0, cmd->out_max },
                            { -1, NULL, 0, cmd->err_max } };
  int pfd[2][2] = { { -1, -1 }, { -1, -1 } };
  uint64_t deadline = cmd->timeout_ms ? now_ms () + cmd->timeout_ms : 0;
  bool killed = false;
  pid_t pid;
  size_t i;
  int r;

  cmd->out = cmd->err = NULL;
  cmd->timed_out = false;
  for (i = 0; i < 2; ++i) {
    if (cap[i].max == 0 || (i == 1 && cmd->err_to_out))
      continue;
    cap[i].buf = malloc (cap[i].max + 1);
    if (cap[i].buf == NULL || pipe2 (pfd[i], O_CLOEXEC) == -1)
      goto fail;
    cap[i].fd = pfd[i][0];
  }
  pid = command_spawn (cmd->argv, cmd->dirfd, cmd->in, pfd[0][1],
                       cmd->err_to_out ? pfd[0][1] : pfd[1][1]);
  for (i = 0; i < 2; ++i)
    if (pfd[i][1] >= 0) {
      close (pfd[i][1]);
      pfd[i][1] = -1;
    }
  if (pid == -1)
    goto fail;

  while (cap[0].fd >= 0 || cap[1].fd >= 0) {
    struct pollfd p[2];
    nfds_t n = 0;
    int wait_ms = -1;

    if (deadline) {
      uint64_t t = now_ms ();
      if (t >= deadline) {
        if (!killed)
          kill (-pid, SIGKILL);
        killed = true;
        /* The pipes close when the child (and whatever it started
         * and left holding them) is gone. */
        wait_ms = 100;
      }
      else
        wait_ms = deadline - t;
    }
    for (i = 0; i < 2; ++i)
      if (cap[i].fd >= 0) {
        p[n].fd = cap[i].fd;
        p[n].events = POLLIN;
        ++n;
      }
    r = poll (p, n, wait_ms);
    if (r == -1 && errno != EINTR)
      break;
    if (r == 0 && killed)
      break;                    /* a grandchild keeps the pipe open */
    for (i = 0; i < 2; ++i)
      if (cap[i].fd >= 0) {
        size_t k;
        for (k = 0; k < n; ++k)
          if (p[k].fd == cap[i].fd && p[k].revents)
            capture_read (&cap[i]);
      }
  }
  for (i = 0; i < 2; ++i)
    if (cap[i].fd >= 0)
      close (cap[i].fd);
  if (deadline && !killed) {
    /* The pipes closed early: the time limit holds for the exit too. */
    int status;
    while ((r = waitpid (pid, &status, WNOHANG)) == 0 && now_ms () < deadline)
      usleep (10000);
    if (r == 0) {
      kill (-pid, SIGKILL);
      killed = true;
    }
    else if (r == pid) {
      r = WIFEXITED (status) ? WEXITSTATUS (status)
        : 128 + (WIFSIGNALED (status) ? WTERMSIG (status) : 0);
      goto done;
    }
  }
  if (killed)
    kill (-pid, SIGKILL);
  r = command_wait (pid);
 done:
  cmd->timed_out = killed;
  for (i = 0; i < 2; ++i)
    if (cap[i].buf)
      cap[i].buf[cap[i].len] = '\0';
  cmd->out = cap[0].buf;
  cmd->err = cap[1].buf;
  return r;

 fail:
  for (i = 0; i < 2; ++i) {
    if (pfd[i][0] >= 0)
      close (pfd[i][0]);
    if (pfd[i][1] >= 0)
      close (pfd[i][1]);
    free (cap[i].buf);
  }
  return -1;
}

void
command_one_line (char *s, bool first_line)
{
  size_t len, i;

  if (s == NULL)
    return;
  if (first_line)
    s[strcspn (s, "\n")] = '\0';
  len = strlen (s);
  while (len > 0 && (s[len - 1] == '\n' || s[len - 1] == ' '))
    s[--len] = '\0';
  for (i = 0; i < len; ++i)
    if (s[i] == '\n' || s[i] == '\t')
      s[i] = ' ';
    else if ((unsigned char) s[i] < 0x20 || s[i] == 0x7f)
      s[i] = '?';
}
