/* guestbox - cleaning up after qemu children.
 * Copyright (C) 2026 the guestbox authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

/**
 * The one process-wide table of the library: the qemu children and temp
 * dirs of live handles, and the commands' own temp paths, so that a
 * fatal signal (whose handler cannot reach the handles) kills and
 * removes them (gbox_install_signal_handlers).  Also killing and
 * reaping one handle's qemu (gbox_int_kill_qemu), which keeps the table
 * up to date.  Below launch.c and proto.c: it calls neither.
 */

#include <config.h>

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/types.h>
#include <sys/wait.h>

#include "guestbox-internal.h"

/*----------------------------------------------------------------------
 * Cleanup on fatal signals.  This is the one process-wide table in the
 * library: the qemu children and temp dirs of live handles, so that a
 * signal handler (which cannot reach the handles) can kill and remove
 * them.  Fixed size, no allocation, async-signal-safe to read.
 */

#define MAX_CHILDREN 256

struct child_slot {
  volatile pid_t pid;
  char tmpdir[PATH_MAX];
  volatile sig_atomic_t used;
};

static struct child_slot children[MAX_CHILDREN];
static pthread_mutex_t children_lock = PTHREAD_MUTEX_INITIALIZER;

void
gbox_int_register_child (gbox_h *h)
{
  size_t i;

  pthread_mutex_lock (&children_lock);
  for (i = 0; i < MAX_CHILDREN; ++i) {
    if (!children[i].used) {
      children[i].pid = h->qemu_pid;
      snprintf (children[i].tmpdir, sizeof children[i].tmpdir, "%s",
                h->tmpdir ? h->tmpdir : "");
      children[i].used = 1;
      break;
    }
  }
  pthread_mutex_unlock (&children_lock);
}

void
gbox_int_unregister_child (pid_t pid, const char *tmpdir)
{
  size_t i;

  pthread_mutex_lock (&children_lock);
  for (i = 0; i < MAX_CHILDREN; ++i) {
    if (children[i].used &&
        ((pid > 0 && children[i].pid == pid) ||
         (tmpdir && strcmp (children[i].tmpdir, tmpdir) == 0))) {
      children[i].used = 0;
      children[i].pid = 0;
      children[i].tmpdir[0] = '\0';
    }
  }
  pthread_mutex_unlock (&children_lock);
}

/* Remove the (flat) temp dir: only async-signal-safe calls. */
static void
remove_flat_dir (const char *dir)
{
  static const char *const names[] = {
    "channel.sock", "qmp.sock", NULL
  };
  char path[PATH_MAX + 32];
  size_t i, n;

  n = strlen (dir);
  if (n == 0 || n >= PATH_MAX)
    return;
  for (i = 0; names[i]; ++i) {
    memcpy (path, dir, n);
    path[n] = '/';
    strcpy (path + n + 1, names[i]);
    unlink (path);
  }
  for (i = 0; i < GBOX_MAX_DRIVES; ++i) {
    memcpy (path, dir, n);
    memcpy (path + n, "/overlay", 8);
    path[n + 8] = '0' + i / 100;
    path[n + 9] = '0' + i / 10 % 10;
    path[n + 10] = '0' + i % 10;
    strcpy (path + n + 11, ".qcow2");
    unlink (path);
  }
  rmdir (dir);
}

/* The commands' own temp files and directories (gbox_register_temp_path),
 * removed in reverse order on a fatal signal. */
#define MAX_TEMP_PATHS 16
static struct {
  volatile sig_atomic_t used;
  char path[PATH_MAX];
} temp_paths[MAX_TEMP_PATHS];

int
gbox_register_temp_path (const char *path)
{
  size_t i, n = strlen (path);
  int r = -1;

  if (n == 0 || n >= PATH_MAX)
    return -1;
  pthread_mutex_lock (&children_lock);
  for (i = 0; i < MAX_TEMP_PATHS; ++i)
    if (!temp_paths[i].used) {
      memcpy (temp_paths[i].path, path, n + 1);
      temp_paths[i].used = 1;
      r = 0;
      break;
    }
  pthread_mutex_unlock (&children_lock);
  return r;
}

void
gbox_unregister_temp_path (const char *path)
{
  size_t i;

  pthread_mutex_lock (&children_lock);
  for (i = 0; i < MAX_TEMP_PATHS; ++i)
    if (temp_paths[i].used && strcmp (temp_paths[i].path, path) == 0)
      temp_paths[i].used = 0;
  pthread_mutex_unlock (&children_lock);
}

static void
fatal_signal (int sig)
{
  size_t i;
  int saved_errno = errno;

  for (i = MAX_TEMP_PATHS; i-- > 0; )
    if (temp_paths[i].used) {
      if (unlink (temp_paths[i].path) == -1)
        rmdir (temp_paths[i].path);
    }

  for (i = 0; i < MAX_CHILDREN; ++i) {
    if (children[i].used) {
      if (children[i].pid > 0)
        kill (children[i].pid, SIGKILL);
      remove_flat_dir (children[i].tmpdir);
    }
  }
  errno = saved_errno;
  signal (sig, SIG_DFL);
  raise (sig);
}

void
gbox_install_signal_handlers (void)
{
  static const int sigs[] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT };
  struct sigaction sa;
  size_t i;

  memset (&sa, 0, sizeof sa);
  sa.sa_handler = fatal_signal;
  sigemptyset (&sa.sa_mask);
  for (i = 0; i < sizeof sigs / sizeof sigs[0]; ++i) {
    struct sigaction old;

    /* Keep a signal the caller ignores ignored (nohup). */
    if (sigaction (sigs[i], NULL, &old) == 0 && old.sa_handler == SIG_IGN)
      continue;
    sigaction (sigs[i], &sa, NULL);
  }
}

/* Kill and reap qemu; close our ends; remove the temp dir.  After an
 * orderly shutdown qemu exits by itself (the guest reboots and qemu runs
 * with -no-reboot): give it a moment, then insist. */
void
gbox_int_kill_qemu (gbox_h *h)
{
  if (h->qemu_pid > 0) {
    pid_t pid = h->qemu_pid;
    int status, i;
    pid_t r = 0;

    /* Closing the channel makes a healthy daemon exit at once. */
    if (h->fd >= 0) {
      close (h->fd);
      h->fd = -1;
    }
    for (i = 0; i < 50; ++i) {
      r = waitpid (pid, &status, WNOHANG);
      if (r != 0)
        break;
      if (i == 20)
        kill (pid, SIGTERM);
      gbox_int_read_console (h);
      usleep (10000);
    }
    if (r == 0) {
      kill (pid, SIGKILL);
      while (waitpid (pid, &status, 0) == -1 && errno == EINTR)
        ;
    }
    gbox_int_unregister_child (pid, NULL);
    h->qemu_pid = 0;
  }
  if (h->qmp_fd >= 0) {
    close (h->qmp_fd);
    h->qmp_fd = -1;
  }
  if (h->console_fd >= 0) {
    gbox_int_read_console (h);
    close (h->console_fd);
    h->console_fd = -1;
  }
  if (h->tmpdir) {
    gbox_int_unregister_child (0, h->tmpdir);
    gbox_int_rmtree (h->tmpdir);
    free (h->tmpdir);
    h->tmpdir = NULL;
  }
}
