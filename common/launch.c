/* guestbox - starting and stopping the appliance.
 * Copyright (C) 2026 the guestbox authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

/**
 * Chooses the accelerator, starts qemu with the command line of
 * cmdline.c, waits for the daemon (or restores a saved appliance, with
 * snapshot.c) and hot-adds the user's disks.  The qemu child is
 * registered with sigcleanup.c, which kills and reaps it on close, on
 * error and on fatal signals.
 *
 * The machine is the same for every launch (so a booted appliance can be
 * saved and restored later): microvm with ACPI (the Debian kernel finds
 * its virtio-mmio devices through ACPI; its virtio_mmio is a module built
 * without command-line devices), the uncompressed vmlinux entered through
 * PVH, one virtio-serial port for the protocol, one virtio-scsi
 * controller, no network, no disks.  User disks are hot-added as scsi-hd
 * over QMP after the daemon is ready.
 */

#include <config.h>

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/file.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/un.h>
#include <sys/wait.h>

#include "guestbox-internal.h"
#include "cleanups.h"

/*----------------------------------------------------------------------
 * Choosing the accelerator.
 */

/* KVM is usable when /dev/kvm opens read-write and we are not on a nested
 * PVM hypervisor, whose /dev/kvm cannot run a normal kernel (the guest
 * hangs silently or qemu aborts on an MSR). */
static bool
kvm_usable (gbox_h *h)
{
  int fd;

  if (access ("/sys/module/kvm_pvm", F_OK) == 0) {
    gbox_int_debug (h, "accel: /sys/module/kvm_pvm exists (nested PVM): "
                    "its /dev/kvm cannot run a normal kernel, using tcg");
    return false;
  }
  fd = open ("/dev/kvm", O_RDWR | O_CLOEXEC);
  if (fd == -1) {
    gbox_int_debug (h, "accel: /dev/kvm: %s, using tcg", strerror (errno));
    return false;
  }
  close (fd);
  return true;
}

static const char *
choose_accel (gbox_h *h)
{
  if (h->accel && strcmp (h->accel, "kvm") == 0)
    return "kvm";
  if (h->accel && strcmp (h->accel, "tcg") == 0)
    return "tcg";
  return kvm_usable (h) ? "kvm" : "tcg";
}


/*----------------------------------------------------------------------
 * Sockets.
 */

static int
listen_unix (gbox_h *h, const char *path)
{
  struct sockaddr_un addr;
  int fd;

  if (strlen (path) >= sizeof addr.sun_path) {
    gbox_int_error (h, "%s: socket path too long (set TMPDIR to a shorter "
                    "directory)", path);
    return -1;
  }
  fd = socket (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd == -1) {
    gbox_int_perror (h, "socket");
    return -1;
  }
  memset (&addr, 0, sizeof addr);
  addr.sun_family = AF_UNIX;
  strcpy (addr.sun_path, path);
  if (bind (fd, (struct sockaddr *) &addr, sizeof addr) == -1 ||
      listen (fd, 1) == -1) {
    gbox_int_perror (h, "%s", path);
    close (fd);
    return -1;
  }
  return fd;
}

/* Is qemu still running?  Reaps it if not and records why. */
static bool
qemu_alive (gbox_h *h, int *status)
{
  pid_t r;

  if (h->qemu_pid <= 0)
    return false;
  r = waitpid (h->qemu_pid, status, WNOHANG);
  if (r == 0)
    return true;
  gbox_int_unregister_child (h->qemu_pid, NULL);
  h->qemu_pid = 0;
  return false;
}

static void
describe_exit (int status, char *buf, size_t len)
{
  if (WIFEXITED (status))
    snprintf (buf, len, "qemu exited with status %d", WEXITSTATUS (status));
  else if (WIFSIGNALED (status))
    snprintf (buf, len, "qemu was killed by signal %d", WTERMSIG (status));
  else
    snprintf (buf, len, "qemu stopped");
}

/* Set the standard launch error: what failed, the console's last lines,
 * and how to see more. */
static void
launch_error (gbox_h *h, const char *what)
{
  char tail[4096];
  const char *t;

  gbox_int_read_console (h);
  t = gbox_int_console_tail (h, 12, tail, sizeof tail);
  if (t && *t && !h->verbose)
    gbox_int_error (h, "launch failed: %s\nlast lines of the appliance "
                    "console:\n%s\n(run with -v or GBOX_DEBUG=1 for the full "
                    "log)", what, t);
  else
    gbox_int_error (h, "launch failed: %s%s", what,
                    h->verbose ? "" :
                    " (run with -v or GBOX_DEBUG=1 for the full log)");
}

/* Accept one connection on LFD while watching qemu and its console. */
static int
accept_from_qemu (gbox_h *h, int lfd, const char *what, uint64_t deadline)
{
  for (;;) {
    struct pollfd pfd[2];
    int status, r, timeout;
    uint64_t now = gbox_int_now_ms ();

    if (now >= deadline) {
      char msg[128];

      snprintf (msg, sizeof msg, "qemu did not connect within %u s "
                "(GBOX_LAUNCH_TIMEOUT)", h->launch_timeout);
      launch_error (h, msg);
      return -1;
    }
    timeout = deadline - now > 100 ? 100 : (int) (deadline - now);
    pfd[0].fd = lfd;
    pfd[0].events = POLLIN;
    pfd[1].fd = h->console_fd;
    pfd[1].events = POLLIN;
    r = poll (pfd, h->console_fd >= 0 ? 2 : 1, timeout);
    if (r == -1 && errno != EINTR) {
      gbox_int_perror (h, "poll");
      return -1;
    }
    if (h->console_fd >= 0 && r > 0 && pfd[1].revents)
      gbox_int_read_console (h);
    if (r > 0 && (pfd[0].revents & POLLIN)) {
      int fd = accept4 (lfd, NULL, NULL, SOCK_CLOEXEC);
      if (fd == -1) {
        gbox_int_perror (h, "accept %s", what);
        return -1;
      }
      return fd;
    }
    if (!qemu_alive (h, &status)) {
      char msg[128];
      describe_exit (status, msg, sizeof msg);
      launch_error (h, msg);
      return -1;
    }
  }
}


/* qemu's environment: ours, with glibc's malloc told to ask for
 * transparent huge pages (GLIBC_TUNABLES glibc.malloc.hugetlb=1, added
 * to any tunables already set).  A cold boot reads the 65 MB kernel
 * into malloc'd buffers; on a host where a first touch of a 4 KiB page
 * costs 11-13 us (nested virtualization), one fault per 2 MiB took
 * 150 ms off a cold boot.  Where THP is off, it changes nothing.  NULL
 * when out of memory (then qemu gets our environment as it is). */
static char **
qemu_environment (void)
{
  extern char **environ;
  const char *tunable = "glibc.malloc.hugetlb=1";
  const char *old = getenv ("GLIBC_TUNABLES");
  size_t n = 0, i, j = 0;
  char **env;

  while (environ[n])
    n++;
  env = calloc (n + 2, sizeof *env);
  if (!env)
    return NULL;
  for (i = 0; i < n; ++i)
    if (strncmp (environ[i], "GLIBC_TUNABLES=", 15) != 0)
      env[j++] = environ[i];
  if (old && strstr (old, "glibc.malloc.hugetlb="))
    tunable = "";               /* the caller's choice stands */
  if (asprintf (&env[j], "GLIBC_TUNABLES=%s%s%s", old ? old : "",
                old && *old && *tunable ? ":" : "", tunable) == -1) {
    free (env);
    return NULL;
  }
  return env;
}

/* Start qemu with stdout/stderr on a pipe (the console).  qemu gets
 * its disks over QMP (SCM_RIGHTS): nothing above 2 of ours, or of our
 * caller's, is inherited.  It dies with us, even on SIGKILL (it is
 * killed when the thread that started it exits, and every handle is
 * closed by then).  Returns 0 or -1. */
static int
spawn_qemu (gbox_h *h, struct gbox_argv *a)
{
  int fd;
  char **env = qemu_environment ();
  pid_t pid = gbox_int_cmd_spawn ((const char *const *) a->v,
                                  (const char *const *) env, &fd);

  if (env) {
    size_t n = 0;

    while (env[n])
      n++;
    free (env[n - 1]);          /* the one we made; the rest are environ's */
    free (env);
  }
  if (pid == -1) {
    gbox_int_perror (h, "fork");
    return -1;
  }
  fcntl (fd, F_SETFL, O_NONBLOCK);
  h->console_fd = fd;
  h->qemu_pid = pid;
  gbox_int_register_child (h);
  return 0;
}

/* Fail early, in one line, when the qemu binary cannot be run. */
static int
check_qemu (gbox_h *h)
{
  const char *q = h->qemu, *path;
  char cand[PATH_MAX];

  if (!q || !*q) {
    gbox_int_error (h, "no qemu binary set (set GBOX_QEMU)");
    return -1;
  }
  if (strchr (q, '/')) {
    if (access (q, X_OK) == 0)
      return 0;
    gbox_int_perror (h, "cannot run qemu '%s' (set GBOX_QEMU to the qemu "
                     "binary)", q);
    return -1;
  }
  path = getenv ("PATH");
  while (path && *path) {
    size_t len = strcspn (path, ":");
    snprintf (cand, sizeof cand, "%.*s/%s", (int) len, path, q);
    if (access (cand, X_OK) == 0)
      return 0;
    path += len;
    if (*path == ':')
      path++;
  }
  gbox_int_error (h, "cannot find qemu '%s' in $PATH (install "
                  "qemu-system-x86, or set GBOX_QEMU)", q);
  return -1;
}

static int
make_tmpdir (gbox_h *h)
{
  const char *tmp = gbox_int_env_tmpdir ();
  char *dir;

  if (!tmp || !*tmp)
    tmp = "/tmp";
  dir = gbox_int_asprintf (h, "%s/gbox-XXXXXX", tmp);
  if (!dir)
    return -1;
  if (mkdtemp (dir) == NULL) {
    gbox_int_perror (h, "cannot create a temporary directory in %s", tmp);
    free (dir);
    return -1;
  }
  h->tmpdir = dir;
  return 0;
}

/* Everything in the temp dir is opened by qemu (or unused) once the
 * launch is done: remove it now, so that nothing is left behind even if
 * the process is killed later. */
static void
remove_tmpdir (gbox_h *h)
{
  if (h->tmpdir) {
    gbox_int_unregister_child (0, h->tmpdir);
    gbox_int_rmtree (h->tmpdir);
    free (h->tmpdir);
    h->tmpdir = NULL;
    if (h->qemu_pid > 0)
      gbox_int_register_child (h);
  }
}

/* Restore phase bound: a restore takes well under a second; past this
 * something is wrong and a cold boot is better. */
#define RESTORE_TIMEOUT_S 20

/* What launch_once, try_restore and launch_with_snapshot return. */
enum launch_result {
  LAUNCH_OK = 0,                /* launched */
  LAUNCH_ERROR = -1,            /* a real error: stop (why is on h) */
  LAUNCH_SNAPSHOT_FAILED = -2,  /* restore failed: cold boot instead */
  LAUNCH_DISKS_FAILED = -3,     /* restored, but the disks never became
                                   ready: cold boot, keep the snapshot */
  LAUNCH_NOT_SAVED = 1,         /* CREATE: launched, but not saved */
  LAUNCH_COLD_BOOT = 2,         /* not launched: do a plain cold boot */
};

/* Restore: load the state, then refresh the daemon before any user
 * work; while the daemon refreshes, the disks are attached (their
 * block nodes checked and their devices added, so that the guest
 * kernel scans them meanwhile).  -1: "cold boot instead"; -2: a disk
 * could not be attached (a real error, on the handle). */
static int
restore_phase (gbox_h *h, struct gbox_snapshot *snap, const char *greeting,
               uint64_t deadline)
{
  CLEANUP_FREE char *postkey = gbox_int_snapshot_postkey (h, greeting);
  unsigned saved_timeout = h->call_timeout;
  struct gbox_pending_call p;
  uint64_t now;
  int r;

  if (!postkey)
    return -1;
  if (strcmp (postkey, snap->postkey) != 0) {
    gbox_int_error (h, "the running qemu differs from the snapshot's "
                    "(saved: %s; now: %s)", snap->postkey, postkey);
    return -1;
  }
  if (gbox_int_snapshot_load (h, snap, deadline) == -1)
    return -1;
  h->state = GBOX_STATE_READY;
  now = gbox_int_now_ms ();
  h->call_timeout = now < deadline ? (deadline - now + 999) / 1000 : 1;
  r = gbox_int_snapshot_refresh (h, &p);
  if (r == 0 && gbox_int_attach_drives (h) == -1)
    r = -2;
  if (r == 0)
    r = gbox_int_call_recv (h, &p, NULL, NULL);
  h->call_timeout = saved_timeout;
  if (r < 0)
    h->state = GBOX_STATE_CONFIG;
  return r;
}

/* Make the snapshot of the appliance that just booted: save, stop qemu,
 * publish.  0: published (qemu gone); -1: not saved (qemu may still be
 * running the appliance). */
static int
create_phase (gbox_h *h, struct gbox_snapshot *snap, const char *greeting,
              uint64_t deadline)
{
  CLEANUP_FREE char *postkey = gbox_int_snapshot_postkey (h, greeting);

  if (!postkey || gbox_int_snapshot_save (h, snap, deadline) == -1)
    return -1;
  /* The guest is paused for good: its RAM file must not change. */
  gbox_int_qmp (h, "{\"execute\":\"quit\"}", NULL);
  gbox_int_kill_qemu (h);
  h->state = GBOX_STATE_CONFIG;
  if (gbox_int_snapshot_publish (h, snap, postkey) == -1)
    return -2;
  return 0;
}

static enum launch_result
launch_once (gbox_h *h, const char *accel, const char *kernel,
             const char *initrd, enum gbox_launch_mode mode,
             struct gbox_snapshot *snap, bool *retry_tcg)
{
  static const char *const names[] = { "cold boot", "cold boot (saved)",
                                       "restore" };
  struct gbox_argv argv = { 0 };
  struct gbox_machine m = { .mode = mode };
  CLEANUP_FREE char *chpath = NULL, *qmppath = NULL, *greeting = NULL;
  CLEANUP_CLOSE int chl = -1, qmpl = -1;
  uint64_t t0 = gbox_int_now_ms (), deadline;
  enum launch_result ret = LAUNCH_ERROR;
  size_t i;

  *retry_tcg = false;
  deadline = t0 + (uint64_t) h->launch_timeout * 1000;
  if (mode == LAUNCH_RESTORE && h->launch_timeout > RESTORE_TIMEOUT_S)
    deadline = t0 + RESTORE_TIMEOUT_S * 1000;

  if (make_tmpdir (h) == -1)
    return LAUNCH_ERROR;
  chpath = gbox_int_asprintf (h, "%s/channel.sock", h->tmpdir);
  qmppath = gbox_int_asprintf (h, "%s/qmp.sock", h->tmpdir);
  if (!chpath || !qmppath)
    goto error;
  chl = listen_unix (h, chpath);
  if (chl == -1)
    goto error;
  qmpl = listen_unix (h, qmppath);
  if (qmpl == -1)
    goto error;

  m.tmpdir = h->tmpdir;
  if (mode == LAUNCH_CREATE) {
    m.ram = snap->newram;
    m.share = "on";
  }
  else if (mode == LAUNCH_RESTORE) {
    m.ram = snap->ram;
    m.share = "off";
    m.assume_sandbox = snap->assume_sandbox;
  }
  if (gbox_int_build_cmdline (h, &argv, accel, kernel, initrd, &m) == -1)
    goto error;
  if (h->verbose) {
    char line[8192];
    size_t pos = 0;

    line[0] = '\0';
    for (i = 0; i < argv.n && pos < sizeof line - 1; ++i)
      pos += snprintf (line + pos, sizeof line - pos, "%s%s",
                       i ? " " : "", argv.v[i]);
    gbox_int_debug (h, "%s", line);
  }
  if (spawn_qemu (h, &argv) == -1)
    goto error;
  gbox_int_free_argv (&argv);

  /* While qemu boots, make the overlays of read-only drives (a launch
   * that is saved attaches none: the restore after it does). */
  if (mode != LAUNCH_CREATE) {
    uint64_t tp = gbox_int_now_ms ();

    if (gbox_int_prepare_drives (h) == -1)
      goto error;
    /* One overlay for each disk: the time they took (long for many
     * disks on a loaded host) is not the boot's, whose deadline must
     * not depend on the number of disks. */
    deadline += gbox_int_now_ms () - tp;
  }

  /* From here on, a failed restore means "cold boot instead". */
  if (mode == LAUNCH_RESTORE)
    ret = LAUNCH_SNAPSHOT_FAILED;

  h->qmp_fd = accept_from_qemu (h, qmpl, "qmp", deadline);
  if (h->qmp_fd == -1)
    goto fail_early;
  h->fd = accept_from_qemu (h, chl, "channel", deadline);
  if (h->fd == -1)
    goto fail_early;
  if (gbox_int_qmp_handshake (h, deadline - gbox_int_now_ms (),
                              &greeting) == -1)
    goto error;

  if (mode == LAUNCH_RESTORE) {
    int r = restore_phase (h, snap, greeting, deadline);

    if (r == -2)
      ret = LAUNCH_ERROR;
    if (r < 0)
      goto error;
    h->restored = true;
    ret = LAUNCH_ERROR;
  }
  else {
    uint64_t now = gbox_int_now_ms ();
    if (gbox_int_wait_launch_flag (h, now < deadline ? deadline - now : 1)
        == -1)
      goto error;
    h->state = GBOX_STATE_READY;
  }
  gbox_int_debug (h, "daemon ready %" PRIu64 " ms after qemu started "
                  "(%s, %s)", gbox_int_now_ms () - t0, names[mode], accel);

  if (mode == LAUNCH_CREATE) {
    int r = create_phase (h, snap, greeting, deadline);

    if (r == 0) {
      remove_tmpdir (h);
      return LAUNCH_OK;
    }
    if (r == -2)                /* qemu is gone */
      goto error;
    /* Not saved, but the appliance runs: use it. */
    gbox_int_debug (h, "snapshot: not saved: %s", gbox_last_error (h));
    gbox_int_qmp (h, "{\"execute\":\"cont\"}", NULL);
    if (gbox_int_prepare_drives (h) == -1)
      goto error;
    ret = LAUNCH_NOT_SAVED;
  }

  {
    /* A restore attached the disks already. */
    int r = h->restored ? gbox_int_drives_ready (h)
      : gbox_int_hotadd_drives (h);

    /* The disks were added but the restored guest did not announce
     * them: a cold boot instead (the snapshot itself is kept). */
    if (r == -2 && h->restored) {
      ret = LAUNCH_DISKS_FAILED;
      goto error;
    }
    if (r < 0)
      goto error;
  }

  remove_tmpdir (h);
  gbox_int_debug (h, "launch done in %" PRIu64 " ms",
                  gbox_int_now_ms () - t0);
  return ret == LAUNCH_NOT_SAVED ? LAUNCH_NOT_SAVED : LAUNCH_OK;

 fail_early:
  /* qemu refused KVM at start-up: try again under TCG (auto only). */
  if (strcmp (accel, "kvm") == 0 &&
      (!h->accel || strcmp (h->accel, "auto") == 0) &&
      h->qemu_pid == 0 && gbox_int_now_ms () - t0 < 10000)
    *retry_tcg = true;
 error:
  gbox_int_free_argv (&argv);
  gbox_int_kill_qemu (h);
  h->state = GBOX_STATE_CONFIG;
  h->restored = false;
  return ret == LAUNCH_SNAPSHOT_FAILED || ret == LAUNCH_DISKS_FAILED ?
    ret : LAUNCH_ERROR;
}

/* Restore S (found by lookup).  LAUNCH_OK, LAUNCH_ERROR (stop),
 * LAUNCH_SNAPSHOT_FAILED (why is on the handle), or LAUNCH_COLD_BOOT
 * (restored, but the disks never became ready: a plain cold boot,
 * keeping the snapshot). */
static enum launch_result
try_restore (gbox_h *h, const char *accel, const char *kernel,
             const char *initrd, struct gbox_snapshot *s)
{
  uint64_t t0 = gbox_int_now_ms ();
  bool retry;
  enum launch_result r;

  gbox_int_debug (h, "snapshot: restoring %s", s->found);
  r = launch_once (h, accel, kernel, initrd, LAUNCH_RESTORE, s, &retry);
  if (r == LAUNCH_OK)
    gbox_int_debug (h, "snapshot: restored in %" PRIu64 " ms",
                    gbox_int_now_ms () - t0);
  if (r == LAUNCH_DISKS_FAILED) {
    gbox_int_debug (h, "snapshot: restored, but the disks never became "
                    "ready (%s): cold boot", gbox_last_error (h));
    return LAUNCH_COLD_BOOT;
  }
  return r;
}

/* Whether another process holds the snapshot lock of S (is making
 * one). */
static bool
snapshot_locked (struct gbox_snapshot *s)
{
  char path[PATH_MAX];
  int fd, r;

  snprintf (path, sizeof path, "%s/lock", s->dir);
  fd = open (path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  if (fd == -1)
    return false;
  r = flock (fd, LOCK_SH | LOCK_NB);
  close (fd);
  return r == -1 && errno == EWOULDBLOCK;
}

/* The snapshot paths: LAUNCH_OK, LAUNCH_ERROR, or LAUNCH_COLD_BOOT (not
 * launched, do a plain cold boot). */
static enum launch_result
launch_with_snapshot (gbox_h *h, const char *accel, const char *kernel,
                      const char *initrd, const char *cachedir)
{
  struct gbox_snapshot s;
  struct gbox_argv canon = { 0 };
  struct gbox_machine m = {
    .mode = LAUNCH_CREATE, .tmpdir = "@TMPDIR@", .ram = "@RAM@",
    .share = "@SHARE@"
  };
  CLEANUP_FREE char *why = NULL;
  bool replace = false, retry;
  enum launch_result ret = LAUNCH_COLD_BOOT;
  int r;
  uint64_t t0;

  if (!h->snapshot) {
    gbox_int_debug (h, "snapshot: disabled (GBOX_SNAPSHOT=0): cold boot");
    return LAUNCH_COLD_BOOT;
  }
  if (!cachedir) {
    gbox_int_debug (h, "snapshot: not used with a prebuilt appliance "
                    "(GBOX_PATH): cold boot");
    return LAUNCH_COLD_BOOT;
  }
  /* Looked up first without asking qemu whether it takes -sandbox
   * (that costs a qemu start): a snapshot made with -sandbox by this
   * very qemu binary (its identity is in the key) is the answer. */
  gbox_int_snapshot_init (&s);
  m.assume_sandbox = true;
  for (;;) {
    if (gbox_int_build_cmdline (h, &canon, accel, kernel, initrd, &m) == -1 ||
        gbox_int_snapshot_setup (h, &s, cachedir,
                                 (const char *const *) canon.v,
                                 kernel, initrd) == -1) {
      gbox_int_debug (h, "snapshot: %s: cold boot", gbox_last_error (h));
      goto out;
    }
    s.assume_sandbox = m.assume_sandbox;
    r = gbox_int_snapshot_lookup (h, &s, &why);
    if (r == 1 || !m.assume_sandbox)
      break;
    /* Not found: the key as qemu's answer makes it. */
    m.assume_sandbox = false;
    gbox_int_free_argv (&canon);
    gbox_int_snapshot_free (&s);
    free (why);
    why = NULL;
  }
  if (r == 1) {
    r = try_restore (h, accel, kernel, initrd, &s);
    if (r != LAUNCH_SNAPSHOT_FAILED) {
      ret = r;
      goto out;
    }
    gbox_int_debug (h, "snapshot: restore failed (%s): cold boot, "
                    "replacing the snapshot after this command",
                    gbox_last_error (h));
    replace = true;
  }
  else
    gbox_int_debug (h, "snapshot: %s: cold boot, making one after this "
                    "command", why ? why : "none");

  /* The command does not wait for the snapshot: a plain cold boot
   * (modules loaded on demand) serves it, and gbox_close starts the
   * boot that is saved, detached (gbox_int_snapshot_detach), unless
   * another process is making one already. */
  if (!h->private_cache && !snapshot_locked (&s)) {
    h->snapshot_wanted = replace ? 2 : 1;
    goto out;
  }

  r = gbox_int_snapshot_begin (h, &s);
  if (r == 0) {
    gbox_int_debug (h, "snapshot: another process is making one: "
                    "cold boot without it");
    goto out;
  }
  if (r == -1) {
    gbox_int_debug (h, "snapshot: cannot make one: %s: cold boot",
                    gbox_last_error (h));
    goto out;
  }
  /* Made by another process since we looked? */
  if (!replace) {
    free (why);
    why = NULL;
    if (gbox_int_snapshot_lookup (h, &s, &why) == 1) {
      gbox_int_snapshot_end (h, &s);
      r = try_restore (h, accel, kernel, initrd, &s);
      if (r != LAUNCH_SNAPSHOT_FAILED) {
        ret = r;
        goto out;
      }
      gbox_int_debug (h, "snapshot: restore failed (%s): cold boot",
                      gbox_last_error (h));
      goto out;
    }
  }

  t0 = gbox_int_now_ms ();
  r = launch_once (h, accel, kernel, initrd, LAUNCH_CREATE, &s, &retry);
  gbox_int_snapshot_end (h, &s);
  if (r == LAUNCH_NOT_SAVED) {
    ret = LAUNCH_OK;
    goto out;
  }
  if (r == LAUNCH_ERROR) {
    /* The snapshot set-up may be what failed: a plain cold boot, unless
     * this one took long (a timeout would double). */
    gbox_int_debug (h, "snapshot: boot failed (%s)", gbox_last_error (h));
    ret = gbox_int_now_ms () - t0 < 10000 ? LAUNCH_COLD_BOOT : LAUNCH_ERROR;
    goto out;
  }
  gbox_int_debug (h, "snapshot: made in %" PRIu64 " ms; restoring it",
                  gbox_int_now_ms () - t0);
  free (why);
  why = NULL;
  if (gbox_int_snapshot_lookup (h, &s, &why) != 1) {
    gbox_int_debug (h, "snapshot: the new snapshot: %s: cold boot",
                    why ? why : "not found");
    goto out;
  }
  r = try_restore (h, accel, kernel, initrd, &s);
  if (r != LAUNCH_SNAPSHOT_FAILED) {
    ret = r;
    goto out;
  }
  gbox_int_debug (h, "snapshot: restoring the new snapshot failed (%s): "
                  "cold boot", gbox_last_error (h));

 out:
  gbox_int_free_argv (&canon);
  gbox_int_snapshot_free (&s);
  return ret;
}

/* Make the snapshot wanted by this handle's launch: take the lock and
 * the new directory here, then boot and save in a grandchild that
 * belongs to no terminal and holds the lock until it has published
 * (or given up), so that concurrent commands neither wait for it nor
 * make a second one.  Its messages (with -v, the debug ones) go to
 * CACHEDIR/snapshot/maker.log. */
void
gbox_int_snapshot_detach (gbox_h *h)
{
  CLEANUP_FREE char *kernel = NULL, *initrd = NULL, *cachedir = NULL;
  CLEANUP_FREE char *why = NULL, *log = NULL;
  struct gbox_snapshot s;
  struct gbox_argv canon = { 0 };
  struct gbox_machine m = {
    .mode = LAUNCH_CREATE, .tmpdir = "@TMPDIR@", .ram = "@RAM@",
    .share = "@SHARE@"
  };
  const char *accel;
  int wanted = h->snapshot_wanted;
  pid_t pid;

  h->snapshot_wanted = 0;
  if (!wanted || h->private_cache || h->nr_drives > 0 ||
      h->qemu_pid > 0 || h->fd >= 0)
    return;
  h->state = GBOX_STATE_CONFIG;
  gbox_int_snapshot_init (&s);
  if (gbox_int_find_appliance (h, &kernel, &initrd, &cachedir) == -1 ||
      cachedir == NULL)
    goto out;
  accel = choose_accel (h);
  if (gbox_int_build_cmdline (h, &canon, accel, kernel, initrd, &m) == -1 ||
      gbox_int_snapshot_setup (h, &s, cachedir,
                               (const char *const *) canon.v,
                               kernel, initrd) == -1 ||
      gbox_int_snapshot_begin (h, &s) != 1)
    goto out;
  /* Made by another process meanwhile? */
  if (wanted == 1 && gbox_int_snapshot_lookup (h, &s, &why) == 1) {
    gbox_int_snapshot_end (h, &s);
    goto out;
  }
  log = gbox_int_asprintf (h, "%s/maker.log", s.dir);
  if (log == NULL) {
    gbox_int_snapshot_end (h, &s);
    goto out;
  }
  gbox_int_debug (h, "snapshot: making one in the background (log: %s)",
                  log);

  pid = fork ();
  if (pid == 0) {
    enum launch_result r;
    bool retry;
    int fd;

    setsid ();
    if (fork () != 0)
      _exit (0);
    /* The grandchild: no terminal, no descriptor of the command's
     * (its pipes must see EOF) but the lock. */
    fd = open ("/dev/null", O_RDONLY | O_CLOEXEC);
    if (fd >= 0)
      dup2 (fd, 0);
    fd = open (log, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC,
               0600);
    if (fd >= 0) {
      dup2 (fd, 1);
      dup2 (fd, 2);
    }
    else {
      fd = open ("/dev/null", O_WRONLY | O_CLOEXEC);
      if (fd >= 0) {
        dup2 (fd, 1);
        dup2 (fd, 2);
      }
    }
    if (dup2 (s.lock_fd, 3) == -1)
      _exit (1);
    s.lock_fd = 3;
    gbox_int_close_fds_from (4);
    h->event_cb = NULL;
    h->progress_cb = NULL;
    h->trace = 0;
    r = launch_once (h, accel, kernel, initrd, LAUNCH_CREATE, &s, &retry);
    gbox_int_kill_qemu (h);
    remove_tmpdir (h);
    gbox_int_snapshot_end (h, &s);
    if (r == LAUNCH_OK)
      gbox_int_debug (h, "snapshot: made");
    else
      fprintf (stderr, "%s: snapshot: not made: %s\n",
               h->program ? h->program : "guestbox", gbox_last_error (h));
    _exit (r == LAUNCH_OK ? 0 : 1);
  }
  if (pid > 0)
    while (waitpid (pid, NULL, 0) == -1 && errno == EINTR)
      ;
  /* The lock and the new directory are the grandchild's now (or, if
   * fork failed, nobody's). */
  if (pid > 0) {
    close (s.lock_fd);
    s.lock_fd = -1;
    free (s.newdir);
    free (s.newram);
    s.newdir = s.newram = NULL;
  }
  gbox_int_snapshot_end (h, &s);
 out:
  gbox_int_free_argv (&canon);
  gbox_int_snapshot_free (&s);
}

int
gbox_launch (gbox_h *h)
{
  CLEANUP_FREE char *kernel = NULL, *initrd = NULL, *cachedir = NULL;
  const char *accel;
  bool retry_tcg;
  enum launch_result r;

  if (h->state != GBOX_STATE_CONFIG || h->fd >= 0 || h->qemu_pid > 0) {
    gbox_int_error (h, "launch: the appliance is already launched");
    return -1;
  }
  h->failed_drive = -1;
  if (check_qemu (h) == -1)
    return -1;
  if (gbox_int_find_appliance (h, &kernel, &initrd, &cachedir) == -1)
    return -1;

  accel = choose_accel (h);
  r = launch_with_snapshot (h, accel, kernel, initrd, cachedir);
  if (r != LAUNCH_COLD_BOOT)
    return r == LAUNCH_OK ? 0 : -1;
  r = launch_once (h, accel, kernel, initrd, LAUNCH_PLAIN, NULL, &retry_tcg);
  if (r == LAUNCH_ERROR && retry_tcg) {
    gbox_int_debug (h, "KVM failed to start (%s); retrying with tcg",
                    gbox_last_error (h));
    r = launch_once (h, "tcg", kernel, initrd, LAUNCH_PLAIN, NULL,
                     &retry_tcg);
  }
  return r == LAUNCH_OK ? 0 : -1;
}

/* After the daemon's shutdown reply (its filesystems unmounted, its
 * writes synced), qemu is told to quit: it flushes and closes the disks
 * at once instead of running the guest's reboot first. */
void
gbox_int_quit_qemu (gbox_h *h)
{
  if (h->qemu_pid > 0 && h->qmp_fd >= 0)
    gbox_int_qmp (h, "{\"execute\":\"quit\"}", NULL);
}

int
gbox_launch_failed_drive (gbox_h *h)
{
  return h->state == GBOX_STATE_CONFIG ? (int) h->failed_drive : -1;
}

int
gbox_is_alive (gbox_h *h)
{
  return h->state == GBOX_STATE_READY && h->fd >= 0;
}

int
gbox_shutdown (gbox_h *h)
{
  int r = 0;

  if (h->state == GBOX_STATE_READY && h->fd >= 0) {
    if (gbox_internal_shutdown (h) == -1)
      r = -1;
    else
      gbox_int_quit_qemu (h);
  }
  gbox_int_kill_qemu (h);
  h->state = GBOX_STATE_CONFIG;
  return r;
}
