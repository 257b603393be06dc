/* guestbox - the qemu command line.
 * Copyright (C) 2026 the guestbox authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

/**
 * The qemu command line of a launch (gbox_int_build_cmdline): the same
 * machine for every launch, so that a booted appliance can be saved and
 * restored (see launch.c); the per-launch parts (sockets, RAM file,
 * -incoming, and no kernel, initrd or kernel command line for a
 * restore) come from struct gbox_machine.  Also whether qemu takes
 * -sandbox and the host TSC frequency handed to the guest.
 */

#include <config.h>

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/prctl.h>
#include <sys/types.h>
#include <sys/wait.h>

#include "guestbox-internal.h"
#include "cleanups.h"

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

static int
add_arg (gbox_h *h, struct gbox_argv *a, const char *s)
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

void
gbox_int_free_argv (struct gbox_argv *a)
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
/* With -runas qemu itself calls setgid/setuid once set up, after the
 * filter is in place: the set*id calls are allowed then (a process
 * that gave up root for good cannot get it back with them). */
#define SANDBOX_OPTS_RUNAS \
  "on,obsolete=deny,elevateprivileges=allow,spawn=deny,resourcecontrol=deny"

/* The user qemu runs as when we are root: GBOX_QEMU_USER, else
 * "guestbox" if the system has it, else "nobody"; NULL when not root
 * or the user does not exist ("" in GBOX_QEMU_USER: not dropped). */
static const char *
qemu_runas (void)
{
  const char *u;

  if (geteuid () != 0)
    return NULL;
  u = secure_getenv ("GBOX_QEMU_USER");
  if (u)
    return *u && getpwnam (u) ? u : NULL;
  if (getpwnam ("guestbox"))
    return "guestbox";
  return getpwnam ("nobody") ? "nobody" : NULL;
}

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
    const char *argv[] = { qemu, "-sandbox", SANDBOX_OPTS, "-version", NULL };
    struct gbox_cmd c = { .argv = argv, .timeout_ms = 30000 };

    result = gbox_int_cmd_run (&c) == 0 && gbox_int_cmd_ok (&c);
    gbox_int_cmd_free (&c);
    free (probed);
    probed = strdup (qemu);
  }
  r = result;
  pthread_mutex_unlock (&lock);
  return r;
}

int
gbox_int_build_cmdline (gbox_h *h, struct gbox_argv *a, const char *accel,
                        const char *kernel, const char *initrd,
                        const struct gbox_machine *m)
{
  unsigned long khz = host_tsc_khz ();
  CLEANUP_FREE char *append = NULL, *tmpdir = NULL, *ram = NULL;
  CLEANUP_FREE char *root = NULL;
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
  {
    const char *runas = qemu_runas ();

    if (m->assume_sandbox || qemu_has_sandbox (h->qemu)) {
      ADD ("-sandbox");
      ADD (runas ? SANDBOX_OPTS_RUNAS : SANDBOX_OPTS);
    }
    else
      gbox_int_debug (h, "warning: %s has no -sandbox (seccomp): qemu runs "
                      "without the sandbox", h->qemu);
    /* As root, qemu opens what it is given on its command line, then
     * runs as an unprivileged user; the disks reach it as descriptors. */
    if (runas) {
      ADD ("-runas");
      ADD (runas);
    }
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
  /* A restore takes the guest's memory from the snapshot: the kernel
   * and initrd would only be read into buffers that are never used
   * (the kernel alone, 65 MB, costs about 40 ms of qemu's start).  The
   * snapshot's key is made from the command line of its boot, which
   * has them. */
  if (m->mode != LAUNCH_RESTORE) {
    ADD ("-kernel");
    ADD (kernel);
    ADD ("-initrd");
    ADD (initrd);
  }

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
  if (m->mode != LAUNCH_RESTORE) {
    ADD ("-append");
    ADD (append);
  }

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

  /* The root disk: the appliance's /usr, an EROFS image beside the
   * initrd (appliance/), read-only.  A prebuilt appliance without one
   * has all of /usr in its initrd. */
  {
    const char *slash = strrchr (initrd, '/');
    CLEANUP_FREE char *path = gbox_int_asprintf
      (h, "%.*s/root", slash ? (int) (slash - initrd) : 1,
       slash ? initrd : ".");

    if (!path)
      return -1;
    if (access (path, R_OK) == 0) {
      root = opt_escape (h, path);
      if (!root)
        return -1;
      ADD ("-blockdev");
      ADDF ("driver=file,node-name=approot,filename=%s,read-only=on", root);
      ADD ("-device");
      ADD ("virtio-blk-device,drive=approot,serial=gbox-usr");
    }
  }

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

int
gbox_qemu_confinement (gbox_h *h, char *buf, size_t len)
{
  const char *runas = qemu_runas ();
  bool sandbox = h->qemu && *h->qemu && qemu_has_sandbox (h->qemu);

  snprintf (buf, len, "qemu sandbox: %s%s%s",
            sandbox ? "seccomp (-sandbox)" : "none (this qemu has no "
            "-sandbox: it runs without seccomp)",
            runas ? "; runs as user " : "", runas ? runas : "");
  return sandbox ? 1 : 0;
}
