/* guestbox - starting and stopping the appliance.
 * Copyright (C) 2026 the guestbox authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

/**
 * Builds the qemu command line, starts qemu, waits for the daemon and
 * hot-adds the user's disks; kills and reaps qemu on close, on error and
 * (through gbox_install_signal_handlers) on fatal signals.
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
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/un.h>
#include <sys/wait.h>

#include "guestbox-internal.h"
#include "cleanups.h"

static void close_fds_from (int first);

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

static void
register_child (gbox_h *h)
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

static void
unregister_child (pid_t pid, const char *tmpdir)
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

/* The host TSC frequency in kHz, or 0.  Passing it to the guest
 * (tsc_early_khz) avoids timer calibration, which can hang microvm on a
 * loaded host. */
static unsigned long
host_tsc_khz (void)
{
  CLEANUP_FCLOSE FILE *fp = NULL;
  char line[256];
  unsigned long khz = 0;

  fp = fopen ("/sys/devices/system/cpu/cpu0/tsc_freq_khz", "re");
  if (fp && fgets (line, sizeof line, fp))
    return strtoul (line, NULL, 10);
  if (fp) {
    fclose (fp);
    fp = NULL;
  }
  fp = fopen ("/proc/cpuinfo", "re");
  if (!fp)
    return 0;
  while (fgets (line, sizeof line, fp)) {
    double mhz;

    if (sscanf (line, "cpu MHz : %lf", &mhz) == 1 ||
        sscanf (line, "cpu MHz\t: %lf", &mhz) == 1) {
      khz = (unsigned long) (mhz * 1000.0 + 0.5);
      break;
    }
  }
  return khz;
}

/*----------------------------------------------------------------------
 * The command line.
 */

struct argv {
  char **v;
  size_t n, alloc;
};

static int
add_arg (gbox_h *h, struct argv *a, const char *s)
{
  if (a->n + 2 > a->alloc) {
    size_t na = a->alloc ? a->alloc * 2 : 64;
    char **nv = realloc (a->v, na * sizeof (char *));
    if (!nv) {
      gbox_int_perror (h, "realloc");
      return -1;
    }
    a->v = nv;
    a->alloc = na;
  }
  a->v[a->n] = s ? strdup (s) : NULL;
  if (s && !a->v[a->n]) {
    gbox_int_perror (h, "strdup");
    return -1;
  }
  a->n++;
  a->v[a->n] = NULL;
  return 0;
}

static void
free_argv (struct argv *a)
{
  size_t i;

  for (i = 0; i < a->n; ++i)
    free (a->v[i]);
  free (a->v);
  a->v = NULL;
  a->n = a->alloc = 0;
}

#define ADD(s) do { if (add_arg (h, a, (s)) == -1) return -1; } while (0)
#define ADDF(...) do {                                        \
    CLEANUP_FREE char *s_ = gbox_int_asprintf (h, __VA_ARGS__); \
    if (!s_ || add_arg (h, a, s_) == -1) return -1;            \
  } while (0)

/* How this launch uses the machine. */
enum launch_mode {
  LAUNCH_PLAIN,                 /* cold boot, anonymous RAM */
  LAUNCH_CREATE,                /* cold boot saved as a snapshot */
  LAUNCH_RESTORE,               /* restore a snapshot */
};

/* The per-launch parts of the command line.  The snapshot key is the
 * command line built with placeholders here. */
struct machine {
  enum launch_mode mode;
  const char *tmpdir;           /* sockets */
  const char *ram;              /* RAM file (CREATE, RESTORE) */
  const char *share;            /* "on" (CREATE) or "off" (RESTORE) */
};

/* S with every ',' doubled, for a qemu option value. */
static char *
opt_escape (gbox_h *h, const char *s)
{
  size_t n = strlen (s), i, j;
  char *r = malloc (2 * n + 1);

  if (!r) {
    gbox_int_perror (h, "malloc");
    return NULL;
  }
  for (i = j = 0; i < n; ++i) {
    r[j++] = s[i];
    if (s[i] == ',')
      r[j++] = ',';
  }
  r[j] = '\0';
  return r;
}

/* qemu's seccomp filter: no obsolete system calls, no setuid/setgid,
 * no fork/exec, no scheduler or CPU-affinity changes.  The snapshot
 * code migrates to and from file descriptors passed over QMP, never
 * through "exec:", so spawn=deny costs nothing. */
#define SANDBOX_OPTS \
  "on,obsolete=deny,elevateprivileges=deny,spawn=deny,resourcecontrol=deny"

/* Does this qemu take -sandbox (built with seccomp)?  Asked once per
 * process and qemu binary: "QEMU -sandbox OPTS -version" fails when it
 * does not. */
static bool
qemu_has_sandbox (const char *qemu)
{
  static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
  static char *probed;
  static bool result;
  bool r;

  pthread_mutex_lock (&lock);
  if (!probed || strcmp (probed, qemu) != 0) {
    pid_t pid;
    int status = 0;

    result = false;
    pid = fork ();
    if (pid == 0) {
      int nullfd = open ("/dev/null", O_RDWR);

      prctl (PR_SET_PDEATHSIG, SIGKILL);
      if (nullfd >= 0) {
        dup2 (nullfd, 0);
        dup2 (nullfd, 1);
        dup2 (nullfd, 2);
      }
      close_fds_from (3);
      execlp (qemu, qemu, "-sandbox", SANDBOX_OPTS, "-version",
              (char *) NULL);
      _exit (127);
    }
    if (pid > 0) {
      while (waitpid (pid, &status, 0) == -1 && errno == EINTR)
        ;
      result = WIFEXITED (status) && WEXITSTATUS (status) == 0;
    }
    free (probed);
    probed = strdup (qemu);
  }
  r = result;
  pthread_mutex_unlock (&lock);
  return r;
}

static int
build_cmdline (gbox_h *h, struct argv *a, const char *accel,
               const char *kernel, const char *initrd,
               const struct machine *m)
{
  unsigned long khz = host_tsc_khz ();
  CLEANUP_FREE char *append = NULL, *tmpdir = NULL, *ram = NULL;
  bool snap = m->mode != LAUNCH_PLAIN;
  char tsc[64] = "";

  tmpdir = opt_escape (h, m->tmpdir);
  if (!tmpdir)
    return -1;

  ADD (h->qemu);
  ADD ("-no-user-config");
  ADD ("-nodefaults");
  ADD ("-display");
  ADD ("none");
  ADD ("-no-reboot");
  if (qemu_has_sandbox (h->qemu)) {
    ADD ("-sandbox");
    ADD (SANDBOX_OPTS);
  }
  if (snap) {
    /* The RAM in a file: shared while the snapshot is made, mapped
     * privately (copy-on-write) by every restore. */
    ram = opt_escape (h, m->ram);
    if (!ram)
      return -1;
    ADD ("-object");
    ADDF ("memory-backend-file,id=mem,size=%dM,mem-path=%s,share=%s",
          h->memsize, ram, m->share);
  }
  ADD ("-M");
  ADDF ("microvm,acpi=on,pit=on,pic=on,rtc=on,isa-serial=on%s",
        snap ? ",memory-backend=mem" : "");
  ADD ("-accel");
  if (strcmp (accel, "kvm") == 0)
    ADD ("kvm");
  else
    ADD ("tcg,tb-size=256");
  ADD ("-cpu");
  ADD (strcmp (accel, "kvm") == 0 ? "host" : "qemu64");
  ADD ("-smp");
  ADD ("1");
  ADD ("-m");
  ADDF ("%d", h->memsize);
  ADD ("-kernel");
  ADD (kernel);
  ADD ("-initrd");
  ADD (initrd);

  if (khz)
    snprintf (tsc, sizeof tsc, " tsc_early_khz=%lu", khz);
  append = gbox_int_asprintf
    (h, "console=ttyS0 %s panic=-1 reboot=t cryptomgr.notests "
     "8250.nr_uarts=1 i8042.noaux i8042.nokbd i8042.nopnp "
     "random.trust_cpu=on tsc=reliable%s%s%s%s",
     h->verbose ? "loglevel=7 guestbox.verbose=1" : "quiet loglevel=3",
     tsc, snap ? " guestbox.snapshot=1" : "",
     h->append ? " " : "", h->append ? h->append : "");
  if (!append)
    return -1;
  ADD ("-append");
  ADD (append);

  /* Console: ttyS0 -> qemu's stdout, read by the library. */
  ADD ("-serial");
  ADD ("stdio");

  /* The protocol channel and the QMP monitor: qemu connects to the
   * sockets we listen on.  Their paths are not part of a migration
   * stream, so a restored appliance uses fresh ones. */
  ADD ("-chardev");
  ADDF ("socket,id=channel,path=%s/channel.sock", tmpdir);
  ADD ("-device");
  ADD ("virtio-serial-device");
  ADD ("-device");
  ADD ("virtserialport,chardev=channel,name=org.guestbox.channel.0");
  ADD ("-chardev");
  ADDF ("socket,id=qmp,path=%s/qmp.sock", tmpdir);
  ADD ("-mon");
  ADD ("chardev=qmp,mode=control");

  /* The controller user disks are hot-added to. */
  ADD ("-device");
  ADD ("virtio-scsi-device,id=scsi0");

  /* Entropy for the guest (mkfs/mkswap UUIDs). */
  ADD ("-object");
  ADD ("rng-random,id=rng0,filename=/dev/urandom");
  ADD ("-device");
  ADD ("virtio-rng-device,rng=rng0");

  if (m->mode == LAUNCH_RESTORE) {
    ADD ("-incoming");
    ADD ("defer");
  }
  return 0;
}

#undef ADD
#undef ADDF

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
  unregister_child (h->qemu_pid, NULL);
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

/* Close every descriptor from FIRST up, in a child before exec:
 * close_range where the kernel has it, else one by one. */
static void
close_fds_from (int first)
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

/* Start qemu with stdout/stderr on a pipe.  Returns 0 or -1. */
static int
spawn_qemu (gbox_h *h, struct argv *a)
{
  int pfd[2];
  pid_t pid;

  if (pipe2 (pfd, O_CLOEXEC) == -1) {
    gbox_int_perror (h, "pipe");
    return -1;
  }
  pid = fork ();
  if (pid == -1) {
    gbox_int_perror (h, "fork");
    close (pfd[0]);
    close (pfd[1]);
    return -1;
  }
  if (pid == 0) {
    int nullfd;
    sigset_t all;

    /* qemu dies with us, even on SIGKILL (it is killed when the thread
     * that started it exits, and every handle is closed by then). */
    prctl (PR_SET_PDEATHSIG, SIGKILL);
    /* A terminal's ^C goes to our handler, which kills qemu after
     * cleaning up: keep qemu out of the foreground process group's
     * signals. */
    setpgid (0, 0);
    sigemptyset (&all);
    sigprocmask (SIG_SETMASK, &all, NULL);
    signal (SIGPIPE, SIG_DFL);
    nullfd = open ("/dev/null", O_RDONLY);
    if (nullfd >= 0) {
      dup2 (nullfd, 0);
      close (nullfd);
    }
    dup2 (pfd[1], 1);
    dup2 (pfd[1], 2);
    /* qemu gets its disks over QMP (SCM_RIGHTS): nothing above 2 of
     * ours, or of our caller's, is inherited. */
    close_fds_from (3);
    execvp (a->v[0], a->v);
    fprintf (stderr, "%s: %s\n", a->v[0], strerror (errno));
    _exit (127);
  }
  close (pfd[1]);
  fcntl (pfd[0], F_SETFL, O_NONBLOCK);
  h->console_fd = pfd[0];
  h->qemu_pid = pid;
  register_child (h);
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
    unregister_child (0, h->tmpdir);
    gbox_int_rmtree (h->tmpdir);
    free (h->tmpdir);
    h->tmpdir = NULL;
    if (h->qemu_pid > 0)
      register_child (h);
  }
}

/* Restore phase bound: a restore takes well under a second; past this
 * something is wrong and a cold boot is better. */
#define RESTORE_TIMEOUT_S 20

/* Launch results besides 0 and -1. */
#define LAUNCH_SNAPSHOT_FAILED (-2) /* restore failed: cold boot instead */
#define LAUNCH_NOT_SAVED 1          /* CREATE: launched, but not saved */
#define LAUNCH_DISKS_FAILED (-3)    /* restored, but the disks never became
                                       ready: cold boot, keep the snapshot */

/* Restore: load the state, then refresh the daemon before any user
 * work.  Any failure here means "cold boot instead". */
static int
restore_phase (gbox_h *h, struct gbox_snapshot *snap, const char *greeting,
               uint64_t deadline)
{
  CLEANUP_FREE char *postkey = gbox_int_snapshot_postkey (h, greeting);
  unsigned saved_timeout = h->call_timeout;
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
  r = gbox_int_snapshot_refresh (h);
  h->call_timeout = saved_timeout;
  if (r == -1)
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

static int
launch_once (gbox_h *h, const char *accel, const char *kernel,
             const char *initrd, enum launch_mode mode,
             struct gbox_snapshot *snap, bool *retry_tcg)
{
  static const char *const names[] = { "cold boot", "cold boot (saved)",
                                       "restore" };
  struct argv argv = { 0 };
  struct machine m = { .mode = mode };
  CLEANUP_FREE char *chpath = NULL, *qmppath = NULL, *greeting = NULL;
  CLEANUP_CLOSE int chl = -1, qmpl = -1;
  uint64_t t0 = gbox_int_now_ms (), deadline;
  int ret = -1;
  size_t i;

  *retry_tcg = false;
  deadline = t0 + (uint64_t) h->launch_timeout * 1000;
  if (mode == LAUNCH_RESTORE && h->launch_timeout > RESTORE_TIMEOUT_S)
    deadline = t0 + RESTORE_TIMEOUT_S * 1000;

  if (make_tmpdir (h) == -1)
    return -1;
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
  }
  if (build_cmdline (h, &argv, accel, kernel, initrd, &m) == -1)
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
  free_argv (&argv);

  /* While qemu boots, make the overlays of read-only drives (a launch
   * that is saved attaches none: the restore after it does). */
  if (mode != LAUNCH_CREATE && gbox_int_prepare_drives (h) == -1)
    goto error;

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
    if (restore_phase (h, snap, greeting, deadline) == -1)
      goto error;
    h->restored = true;
    ret = -1;
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
      return 0;
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
    int r = gbox_int_hotadd_drives (h);

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
  return ret == LAUNCH_NOT_SAVED ? LAUNCH_NOT_SAVED : 0;

 fail_early:
  /* qemu refused KVM at start-up: try again under TCG (auto only). */
  if (strcmp (accel, "kvm") == 0 &&
      (!h->accel || strcmp (h->accel, "auto") == 0) &&
      h->qemu_pid == 0 && gbox_int_now_ms () - t0 < 10000)
    *retry_tcg = true;
 error:
  free_argv (&argv);
  gbox_int_kill_qemu (h);
  h->state = GBOX_STATE_CONFIG;
  h->restored = false;
  return ret == LAUNCH_SNAPSHOT_FAILED || ret == LAUNCH_DISKS_FAILED ?
    ret : -1;
}

/* Restore S (found by lookup).  0, -1 (a real error: stop),
 * LAUNCH_SNAPSHOT_FAILED (why is on the handle), or 1 (restored, but the
 * disks never became ready: a plain cold boot, keeping the snapshot). */
static int
try_restore (gbox_h *h, const char *accel, const char *kernel,
             const char *initrd, struct gbox_snapshot *s)
{
  uint64_t t0 = gbox_int_now_ms ();
  bool retry;
  int r;

  gbox_int_debug (h, "snapshot: restoring %s", s->found);
  r = launch_once (h, accel, kernel, initrd, LAUNCH_RESTORE, s, &retry);
  if (r == 0)
    gbox_int_debug (h, "snapshot: restored in %" PRIu64 " ms",
                    gbox_int_now_ms () - t0);
  if (r == LAUNCH_DISKS_FAILED) {
    gbox_int_debug (h, "snapshot: restored, but the disks never became "
                    "ready (%s): cold boot", gbox_last_error (h));
    return 1;
  }
  return r;
}

/* The snapshot paths.  0: launched; -1: error; 1: not launched, do a
 * plain cold boot. */
static int
launch_with_snapshot (gbox_h *h, const char *accel, const char *kernel,
                      const char *initrd, const char *cachedir)
{
  struct gbox_snapshot s;
  struct argv canon = { 0 };
  struct machine m = {
    .mode = LAUNCH_CREATE, .tmpdir = "@TMPDIR@", .ram = "@RAM@",
    .share = "@SHARE@"
  };
  CLEANUP_FREE char *why = NULL;
  bool replace = false, retry;
  int r, ret = 1;
  uint64_t t0;

  if (!h->snapshot) {
    gbox_int_debug (h, "snapshot: disabled (GBOX_SNAPSHOT=0): cold boot");
    return 1;
  }
  if (!cachedir) {
    gbox_int_debug (h, "snapshot: not used with a prebuilt appliance "
                    "(GBOX_PATH): cold boot");
    return 1;
  }
  gbox_int_snapshot_init (&s);
  if (build_cmdline (h, &canon, accel, kernel, initrd, &m) == -1 ||
      gbox_int_snapshot_setup (h, &s, cachedir,
                               (const char *const *) canon.v,
                               kernel, initrd) == -1) {
    gbox_int_debug (h, "snapshot: %s: cold boot", gbox_last_error (h));
    goto out;
  }

  r = gbox_int_snapshot_lookup (h, &s, &why);
  if (r == 1) {
    r = try_restore (h, accel, kernel, initrd, &s);
    if (r != LAUNCH_SNAPSHOT_FAILED) {
      ret = r;
      goto out;
    }
    gbox_int_debug (h, "snapshot: restore failed (%s): cold boot, "
                    "replacing the snapshot", gbox_last_error (h));
    replace = true;
  }
  else
    gbox_int_debug (h, "snapshot: %s: cold boot, making one",
                    why ? why : "none");

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
    ret = 0;
    goto out;
  }
  if (r == -1) {
    /* The snapshot set-up may be what failed: a plain cold boot, unless
     * this one took long (a timeout would double). */
    gbox_int_debug (h, "snapshot: boot failed (%s)", gbox_last_error (h));
    ret = gbox_int_now_ms () - t0 < 10000 ? 1 : -1;
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
  free_argv (&canon);
  gbox_int_snapshot_free (&s);
  return ret;
}

int
gbox_launch (gbox_h *h)
{
  CLEANUP_FREE char *kernel = NULL, *initrd = NULL, *cachedir = NULL;
  const char *accel;
  bool retry_tcg;
  int r;

  if (h->state != GBOX_STATE_CONFIG || h->fd >= 0 || h->qemu_pid > 0) {
    gbox_int_error (h, "launch: the appliance is already launched");
    return -1;
  }
  if (check_qemu (h) == -1)
    return -1;
  if (gbox_int_find_appliance (h, &kernel, &initrd, &cachedir) == -1)
    return -1;

  accel = choose_accel (h);
  r = launch_with_snapshot (h, accel, kernel, initrd, cachedir);
  if (r != 1)
    return r;
  r = launch_once (h, accel, kernel, initrd, LAUNCH_PLAIN, NULL, &retry_tcg);
  if (r == -1 && retry_tcg) {
    gbox_int_debug (h, "KVM failed to start (%s); retrying with tcg",
                    gbox_last_error (h));
    r = launch_once (h, "tcg", kernel, initrd, LAUNCH_PLAIN, NULL,
                     &retry_tcg);
  }
  return r;
}

int
gbox_shutdown (gbox_h *h)
{
  int r = 0;

  if (h->state == GBOX_STATE_READY && h->fd >= 0) {
    if (gbox_internal_shutdown (h) == -1)
      r = -1;
  }
  gbox_int_kill_qemu (h);
  h->state = GBOX_STATE_CONFIG;
  return r;
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
    unregister_child (pid, NULL);
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
    unregister_child (0, h->tmpdir);
    gbox_int_rmtree (h->tmpdir);
    free (h->tmpdir);
    h->tmpdir = NULL;
  }
}
