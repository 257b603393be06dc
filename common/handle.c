/* guestbox - creating and closing a handle, its settings.
 * Copyright (C) 2026 the guestbox authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

/**
 * gbox_create (defaults, then the GBOX_* environment variables),
 * gbox_close (orderly shutdown of the appliance, then everything the
 * handle owns is released), and the settings' setters and getters.
 * All state lives in the handle.
 */

#include <config.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <signal.h>
#include <time.h>
#include <unistd.h>
#include <sys/types.h>
#include <sys/wait.h>

#include "guestbox-internal.h"

#define DEFAULT_MEMSIZE 512
#define DEFAULT_LAUNCH_TIMEOUT 120
#define DEFAULT_CALL_TIMEOUT 600
#define DEFAULT_CALL_DEADLINE (12 * 3600)
#define DEFAULT_MEMORY_BUDGET_MB 512

/* The first of the environment variables NAMES that is set and
 * non-empty, or NULL. */
static const char *
getenv_first (const char *name1, const char *name2)
{
  const char *s = secure_getenv (name1);

  if ((s == NULL || *s == '\0') && name2)
    s = secure_getenv (name2);
  return s && *s ? s : NULL;
}

/* Parse a positive integer setting from the environment; DEF when
 * unset or invalid. */
static long
getenv_long (const char *name, long min, long max, long def)
{
  const char *s = secure_getenv (name);
  char *end;
  long v;

  if (s == NULL || *s == '\0')
    return def;
  errno = 0;
  v = strtol (s, &end, 10);
  if (errno != 0 || *end != '\0' || v < min || v > max)
    return def;
  return v;
}

static bool
getenv_bool (const char *name, bool def)
{
  const char *s = secure_getenv (name);

  if (s == NULL || *s == '\0')
    return def;
  if (strcmp (s, "1") == 0 || strcmp (s, "yes") == 0 ||
      strcmp (s, "true") == 0)
    return true;
  if (strcmp (s, "0") == 0 || strcmp (s, "no") == 0 ||
      strcmp (s, "false") == 0)
    return false;
  return def;
}

/* The libguestfs environment variables that mean something here (see
 * guestbox(1), ENVIRONMENT).  The GBOX_* names win over them. */

/* LIBGUESTFS_BACKEND_SETTINGS: a colon-separated list; force_tcg and
 * force_kvm choose the accelerator, the rest concerns libguestfs's
 * backends only.  NULL when neither is there. */
static const char *
backend_settings_accel (void)
{
  const char *s = getenv ("LIBGUESTFS_BACKEND_SETTINGS");
  const char *accel = NULL;
  size_t len;

  while (s && *s) {
    len = strcspn (s, ":");
    if (len == 9 && strncmp (s, "force_tcg", 9) == 0)
      accel = "tcg";
    else if (len == 9 && strncmp (s, "force_kvm", 9) == 0)
      accel = "kvm";
    s += len;
    if (*s == ':')
      s++;
  }
  return accel;
}

/* GBOX_MEMSIZE, or LIBGUESTFS_MEMSIZE: MiB.  A value that is not a
 * number in range is said once per process, and the default used. */
static long
env_memsize (void)
{
  static const char *const names[] = { "GBOX_MEMSIZE", "LIBGUESTFS_MEMSIZE" };
  static bool warned;
  size_t i;

  for (i = 0; i < 2; ++i) {
    const char *s = getenv (names[i]);
    long v = getenv_long (names[i], 128, 1024 * 1024, -1);

    if (s == NULL || *s == '\0')
      continue;
    if (v != -1)
      return v;
    if (!warned) {
      warned = true;
      fprintf (stderr, "%s: warning: %s=%s: not a size in MiB from 128 to "
               "1048576; using %d\n", program_invocation_short_name,
               names[i], s, DEFAULT_MEMSIZE);
    }
    return DEFAULT_MEMSIZE;
  }
  return DEFAULT_MEMSIZE;
}

const char *
gbox_int_env_tmpdir (void)
{
  const char *s = getenv ("LIBGUESTFS_TMPDIR");

  if (s == NULL || *s == '\0')
    s = getenv ("TMPDIR");
  return s && *s ? s : NULL;
}

char *
gbox_int_env_cachedir (void)
{
  const char *s = getenv ("LIBGUESTFS_CACHEDIR");
  char *r;

  if (s == NULL || *s == '\0')
    return NULL;
  if (asprintf (&r, "%s/guestbox-%ju", s, (uintmax_t) geteuid ()) == -1)
    return NULL;
  return r;
}

/* Replace a string setting; S may be NULL. */
static int
set_string (gbox_h *h, char **field, const char *s)
{
  char *copy = NULL;

  if (s != NULL) {
    copy = gbox_int_strdup (h, s);
    if (copy == NULL)
      return -1;
  }
  free (*field);
  *field = copy;
  return 0;
}

gbox_h *
gbox_create (void)
{
  gbox_h *h = calloc (1, sizeof *h);
  const char *s;

  if (h == NULL)
    return NULL;

  h->fd = h->qmp_fd = h->console_fd = -1;
  h->failed_drive = -1;
  h->state = GBOX_STATE_CONFIG;
  h->serial = 1;

  h->program = strdup (program_invocation_short_name);
  h->accel = strdup (getenv_first ("GBOX_ACCEL", NULL) ? :
                     backend_settings_accel () ? : "auto");
  h->qemu = strdup (getenv_first ("GBOX_QEMU", "LIBGUESTFS_QEMU") ? :
                    getenv_first ("LIBGUESTFS_HV", NULL) ? : QEMU);
  if (h->program == NULL || h->accel == NULL || h->qemu == NULL)
    goto nomem;
  if ((s = getenv_first ("GBOX_APPEND", "LIBGUESTFS_APPEND")) != NULL &&
      (h->append = strdup (s)) == NULL)
    goto nomem;
  if ((s = getenv_first ("GBOX_PATH", "LIBGUESTFS_PATH")) != NULL &&
      (h->path = strdup (s)) == NULL)
    goto nomem;

  h->memsize = env_memsize ();
  h->verbose = getenv_bool ("GBOX_DEBUG",
                            getenv_bool ("LIBGUESTFS_DEBUG", false));
  h->trace = getenv_bool ("GBOX_TRACE",
                          getenv_bool ("LIBGUESTFS_TRACE", false));
  h->snapshot = getenv_bool ("GBOX_SNAPSHOT", true);
  h->launch_timeout = getenv_long ("GBOX_LAUNCH_TIMEOUT", 1, INT_MAX / 1000,
                                   DEFAULT_LAUNCH_TIMEOUT);
  h->call_timeout = getenv_long ("GBOX_CALL_TIMEOUT", 1, INT_MAX / 1000,
                                 DEFAULT_CALL_TIMEOUT);
  h->call_deadline = getenv_long ("GBOX_CALL_DEADLINE", 1, INT_MAX / 1000,
                                  DEFAULT_CALL_DEADLINE);
  h->memory_budget = (uint64_t) getenv_long ("GBOX_MEMORY_BUDGET", 1,
                                             1024 * 1024,
                                             DEFAULT_MEMORY_BUDGET_MB) << 20;
  return h;

 nomem:
  free (h->program);
  free (h->accel);
  free (h->qemu);
  free (h->append);
  free (h->path);
  free (h);
  errno = ENOMEM;
  return NULL;
}

/* Reap the host-mode daemon: it exits when its channel closes; give
 * it a few seconds, then kill it. */
static void
reap_daemon (gbox_h *h)
{
  uint64_t deadline = gbox_int_now_ms () + 5000;
  int status;
  pid_t r;

  for (;;) {
    r = waitpid (h->daemon_pid, &status, WNOHANG);
    if (r == h->daemon_pid || (r == -1 && errno != EINTR))
      break;
    if (r == 0 && gbox_int_now_ms () >= deadline) {
      gbox_int_debug (h, "killing daemon process %d", (int) h->daemon_pid);
      kill (h->daemon_pid, SIGKILL);
      while (waitpid (h->daemon_pid, &status, 0) == -1 && errno == EINTR)
        ;
      break;
    }
    if (r == 0) {
      struct timespec ts = { 0, 10 * 1000 * 1000 };
      nanosleep (&ts, NULL);
    }
  }
  h->daemon_pid = 0;
}

/* Whether anything the appliance does can reach a disk image: a drive
 * opened read-write, or one whose overlay gbox_make_writable committed.
 * Without one, every write went to a throw-away overlay (or was
 * refused), and there is nothing to unmount or sync at the end. */
static bool
any_drive_writable (gbox_h *h)
{
  size_t i;

  for (i = 0; i < h->nr_drives; ++i) {
    const struct gbox_drive *d = &h->drives[i];

    if (!d->readonly && (!d->write_later || d->writable))
      return true;
  }
  return false;
}

void
gbox_close (gbox_h *h)
{
  if (h == NULL)
    return;

  /* A session that could not write skips the daemon's shutdown (its
   * unmounts cost a second after a walk of 100 000 inodes): qemu is
   * told to quit at once. */
  if (h->state == GBOX_STATE_READY && h->fd >= 0 && h->qemu_pid > 0 &&
      !any_drive_writable (h)) {
    gbox_int_debug (h, "no disk was writable: quitting without the "
                    "daemon's shutdown");
    gbox_int_quit_qemu (h);
  }
  else if (h->state == GBOX_STATE_READY && h->fd >= 0) {
    /* Bounded: the daemon answers at once or is given up on. */
    if (h->call_timeout > 30)
      h->call_timeout = 30;
    if (gbox_internal_shutdown (h) == -1)
      gbox_int_debug (h, "shutdown: %s", gbox_last_error (h));
    else
      gbox_int_quit_qemu (h);
  }

  gbox_int_kill_qemu (h);

  if (h->console_fd >= 0) {
    close (h->console_fd);
    h->console_fd = -1;
  }
  if (h->qmp_fd >= 0) {
    close (h->qmp_fd);
    h->qmp_fd = -1;
  }
  if (h->fd >= 0) {
    close (h->fd);
    h->fd = -1;
  }
  if (h->daemon_pid > 0)
    reap_daemon (h);

  gbox_int_free_drives (h);
  gbox_int_snapshot_detach (h);
  gbox_int_remove_private_cache (h);

  free (h->program);
  free (h->qemu);
  free (h->append);
  free (h->accel);
  free (h->path);
  free (h->tmpdir);
  free (h->last_error);
  free (h);
}

void
gbox_set_program (gbox_h *h, const char *program)
{
  char *copy = strdup (program ? program : "guestbox");

  if (copy) {
    free (h->program);
    h->program = copy;
  }
}

void
gbox_set_verbose (gbox_h *h, int verbose)
{
  h->verbose = verbose != 0;
}

int
gbox_get_verbose (gbox_h *h)
{
  return h->verbose;
}

void
gbox_set_trace (gbox_h *h, int trace)
{
  h->trace = trace != 0;
}

int
gbox_get_trace (gbox_h *h)
{
  return h->trace;
}

int
gbox_set_qemu (gbox_h *h, const char *qemu)
{
  return set_string (h, &h->qemu, qemu ? qemu : QEMU);
}

int
gbox_set_append (gbox_h *h, const char *append)
{
  return set_string (h, &h->append, append);
}

int
gbox_set_memsize (gbox_h *h, int megabytes)
{
  if (megabytes < 128 || megabytes > 1024 * 1024) {
    gbox_int_error (h, "memsize: %d MB is out of range (128 to 1048576)",
                    megabytes);
    h->last_errno = EINVAL;
    return -1;
  }
  h->memsize = megabytes;
  return 0;
}

int
gbox_set_accel (gbox_h *h, const char *accel)
{
  if (accel == NULL || (strcmp (accel, "auto") != 0 &&
                        strcmp (accel, "kvm") != 0 &&
                        strcmp (accel, "tcg") != 0)) {
    gbox_int_error (h, "accel: '%s' is not one of auto, kvm, tcg",
                    accel ? accel : "(null)");
    h->last_errno = EINVAL;
    return -1;
  }
  return set_string (h, &h->accel, accel);
}

int
gbox_set_path (gbox_h *h, const char *path)
{
  return set_string (h, &h->path, path && *path ? path : NULL);
}

void
gbox_set_launch_timeout (gbox_h *h, unsigned seconds)
{
  h->launch_timeout = seconds > 0 && seconds <= INT_MAX / 1000 ?
    seconds : DEFAULT_LAUNCH_TIMEOUT;
}

void
gbox_set_call_timeout (gbox_h *h, unsigned seconds)
{
  h->call_timeout = seconds > 0 && seconds <= INT_MAX / 1000 ?
    seconds : DEFAULT_CALL_TIMEOUT;
}

void
gbox_set_call_deadline (gbox_h *h, unsigned seconds)
{
  h->call_deadline = seconds > 0 && seconds <= INT_MAX / 1000 ?
    seconds : DEFAULT_CALL_DEADLINE;
}

void
gbox_set_memory_budget (gbox_h *h, uint64_t bytes)
{
  h->memory_budget = bytes > 0 ? bytes :
    (uint64_t) DEFAULT_MEMORY_BUDGET_MB << 20;
}

void
gbox_set_event_callback (gbox_h *h, gbox_event_cb cb, void *opaque)
{
  h->event_cb = cb;
  h->event_opaque = opaque;
}

void
gbox_set_progress_callback (gbox_h *h, gbox_progress_cb cb, void *opaque)
{
  h->progress_cb = cb;
  h->progress_opaque = opaque;
}
