/* guestbox - guestbox-init, PID 1 of the appliance.
 * Copyright (C) 2026 the guestbox authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

/**
 * Mounts /proc, /sys, /dev, /tmp and /run, loads the boot modules
 * (/etc/guestbox/modules.boot, with modules.dep for paths and
 * dependencies), mounts the root disk (the virtio-blk disk whose serial
 * is gbox-usr, EROFS, read-only) on /usr when there is one (the
 * initramfs holds only what comes before), waits for the virtio-serial
 * port named
 * org.guestbox.channel.0, starts guestboxd on it, reaps every child and,
 * when the daemon exits, syncs and reboots (qemu runs with -no-reboot,
 * so that ends qemu).  No shell, no udev.  A fatal problem prints one
 * line on the console and reboots.  Refuses to run unless it is PID 1.
 */

#include <config.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "modload.h"

#define CHANNEL_NAME "org.guestbox.channel.0"
#define MODULES_BOOT "/etc/guestbox/modules.boot"
#define DAEMON "/usr/sbin/guestboxd"
#define PORT_WAIT_MS 10000
#define USR_SERIAL "gbox-usr"
#define PRELOAD "/etc/guestbox/preload"

static bool verbose;

static unsigned long
uptime_ms (void)
{
  struct timespec ts;
  clock_gettime (CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1000UL + ts.tv_nsec / 1000000;
}

static void __attribute__((noreturn))
finish (void)
{
  sync ();
  reboot (RB_AUTOBOOT);
  /* PID 1 must never exit. */
  for (;;)
    pause ();
}

static void __attribute__((noreturn, format (printf, 1, 2)))
fatal (const char *fs, ...)
{
  va_list args;

  fprintf (stderr, "guestbox-init: error: ");
  va_start (args, fs);
  vfprintf (stderr, fs, args);
  va_end (args);
  fprintf (stderr, "\n");
  finish ();
}

static void
mount_fs (const char *source, const char *target, const char *type,
          unsigned long flags, const char *data)
{
  if (mkdir (target, 0755) == -1 && errno != EEXIST)
    fatal ("mkdir %s: %s", target, strerror (errno));
  if (mount (source, target, type, flags, data) == -1 && errno != EBUSY)
    fatal ("mount %s on %s: %s", type, target, strerror (errno));
}

static void
setup_console (void)
{
  int fd;

  if (fcntl (2, F_GETFD) != -1)
    return;
  fd = open ("/dev/console", O_RDWR | O_NOCTTY);
  if (fd == -1)
    return;
  dup2 (fd, 0);
  dup2 (fd, 1);
  dup2 (fd, 2);
  if (fd > 2)
    close (fd);
}

static void
read_cmdline (void)
{
  char buf[4096];
  ssize_t r;
  int fd = open ("/proc/cmdline", O_RDONLY | O_CLOEXEC);
  char *p, *save = NULL;

  if (fd == -1)
    return;
  r = read (fd, buf, sizeof buf - 1);
  close (fd);
  if (r <= 0)
    return;
  buf[r] = '\0';
  for (p = strtok_r (buf, " \t\n", &save); p;
       p = strtok_r (NULL, " \t\n", &save))
    if (strcmp (p, "guestbox.verbose=1") == 0)
      verbose = true;
}

static void mount_usr (void);

static void
load_boot_modules (void)
{
  struct modload *m;
  FILE *fp;
  char line[256], err[512];
  unsigned long t0 = uptime_ms ();
  unsigned n = 0;

  fp = fopen (MODULES_BOOT, "re");
  if (fp == NULL) {
    if (errno != ENOENT)
      fprintf (stderr, "guestbox-init: warning: %s: %s\n", MODULES_BOOT,
               strerror (errno));
    return;
  }
  m = modload_open (NULL);
  if (m == NULL) {
    fprintf (stderr, "guestbox-init: warning: modules.dep: %s\n",
             strerror (errno));
    fclose (fp);
    return;
  }
  while (fgets (line, sizeof line, fp)) {
    line[strcspn (line, " \t\r\n")] = '\0';
    if (line[0] == '\0' || line[0] == '#')
      continue;
    if (modload_load (m, line, err, sizeof err) == -1)
      fprintf (stderr, "guestbox-init: warning: %s\n", err);
    n++;
    /* /usr as soon as it can be mounted: its reads then overlap with
     * the loading of the modules after erofs. */
    if (strcmp (line, "erofs") == 0)
      mount_usr ();
  }
  fclose (fp);
  modload_close (m);
  if (verbose)
    fprintf (stderr, "guestbox-init: %u boot modules loaded in %lu ms\n",
             n, uptime_ms () - t0);
}

/* The /dev path of the entry of sysfs directory DIR whose name starts
 * with PREFIX and whose attribute file ATTR holds WANT (one line), if
 * its device node has type TYPE (S_IFBLK, S_IFCHR); false if none. */
static bool
find_dev (const char *dir, const char *prefix, const char *attr,
          const char *want, mode_t type, char *dev, size_t len)
{
  DIR *d = opendir (dir);
  struct dirent *de;
  bool found = false;

  if (d == NULL)
    return false;
  while (!found && (de = readdir (d)) != NULL) {
    char path[512], value[128];
    struct stat st;
    ssize_t r;
    int fd;

    if (strncmp (de->d_name, prefix, strlen (prefix)) != 0)
      continue;
    snprintf (path, sizeof path, "%s/%s/%s", dir, de->d_name, attr);
    fd = open (path, O_RDONLY | O_CLOEXEC);
    if (fd == -1)
      continue;
    r = read (fd, value, sizeof value - 1);
    close (fd);
    if (r <= 0)
      continue;
    value[r] = '\0';
    value[strcspn (value, "\n")] = '\0';
    if (strcmp (value, want) != 0)
      continue;
    snprintf (dev, len, "/dev/%s", de->d_name);
    found = stat (dev, &st) == 0 && (st.st_mode & S_IFMT) == type;
  }
  closedir (d);
  return found;
}

/* The virtio-blk disk whose serial is USR_SERIAL. */
static bool
find_usr_disk (char *dev, size_t len)
{
  return find_dev ("/sys/block", "vd", "serial", USR_SERIAL, S_IFBLK,
                   dev, len);
}

/* Start reading the files PRELOAD names (the daemon and its
 * libraries) into the page cache: readahead(2) returns once the reads
 * are queued, and qemu serves them while we go on. */
static void
preload (void)
{
  FILE *fp = fopen (PRELOAD, "re");
  char line[4096];
  unsigned n = 0;

  if (fp == NULL)
    return;
  while (fgets (line, sizeof line, fp)) {
    struct stat st;
    int fd;

    line[strcspn (line, "\n")] = '\0';
    fd = open (line, O_RDONLY | O_CLOEXEC);
    if (fd == -1)
      continue;
    if (fstat (fd, &st) == 0 && S_ISREG (st.st_mode) &&
        readahead (fd, 0, st.st_size) == 0)
      n++;
    close (fd);
  }
  fclose (fp);
  if (verbose)
    fprintf (stderr, "guestbox-init: %u files read ahead\n", n);
}

/* /usr from the root disk, when the appliance has one: an initramfs
 * without /usr/sbin/guestboxd must have it.  Once only. */
static void
mount_usr (void)
{
  static bool done;
  char dev[300];
  unsigned long t0 = uptime_ms (), deadline = t0 + PORT_WAIT_MS;
  bool need;

  if (done)
    return;
  done = true;
  need = access (DAEMON, X_OK) != 0;

  while (!find_usr_disk (dev, sizeof dev)) {
    struct timespec ts = { 0, 2 * 1000000 };

    if (!need)
      return;
    if (uptime_ms () >= deadline)
      fatal ("no root disk (virtio-blk, serial %s) after %d s (is "
             "virtio_blk loaded and the disk on the qemu command line?)",
             USR_SERIAL, PORT_WAIT_MS / 1000);
    nanosleep (&ts, NULL);
  }
  if (mount (dev, "/usr", "erofs", MS_RDONLY | MS_NODEV, "") == -1)
    fatal ("mount %s on /usr: %s", dev, strerror (errno));
  if (verbose)
    fprintf (stderr, "guestbox-init: %s mounted on /usr in %lu ms\n", dev,
             uptime_ms () - t0);
  preload ();
}

/* The virtio-serial port named CHANNEL_NAME. */
static bool
find_port (char *dev, size_t len)
{
  return find_dev ("/sys/class/virtio-ports", "vport", "name", CHANNEL_NAME,
                   S_IFCHR, dev, len);
}

int
main (int argc, char *argv[])
{
  char port[300];
  unsigned long deadline;
  pid_t daemon_pid;
  int fd;

  if (getpid () != 1) {
    fprintf (stderr, "guestbox-init: error: must run as PID 1 inside the "
             "guestbox appliance (refusing to mount filesystems here)\n");
    exit (EXIT_FAILURE);
  }

  mount_fs ("devtmpfs", "/dev", "devtmpfs", MS_NOSUID, "mode=0755");
  setup_console ();
  mount_fs ("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, "");
  mount_fs ("sysfs", "/sys", "sysfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, "");
  mount_fs ("tmpfs", "/tmp", "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777");
  mount_fs ("tmpfs", "/run", "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755");
  read_cmdline ();
  if (verbose)
    fprintf (stderr, "guestbox-init: started at %lu ms\n", uptime_ms ());

  load_boot_modules ();
  mount_usr ();

  deadline = uptime_ms () + PORT_WAIT_MS;
  while (!find_port (port, sizeof port)) {
    struct timespec ts = { 0, 10 * 1000000 };
    if (uptime_ms () >= deadline)
      fatal ("no virtio-serial port named %s after %d s (is virtio_console "
             "loaded and the port on the qemu command line?)",
             CHANNEL_NAME, PORT_WAIT_MS / 1000);
    nanosleep (&ts, NULL);
  }
  /* Check it opens; the daemon opens it again (one opener at a time). */
  fd = open (port, O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (fd == -1)
    fatal ("open %s: %s", port, strerror (errno));
  close (fd);

  setenv ("PATH", "/usr/sbin:/usr/bin:/sbin:/bin", 1);
  setenv ("HOME", "/", 1);
  setenv ("LC_ALL", "C", 1);
  if (verbose)
    fprintf (stderr, "guestbox-init: starting the daemon on %s at %lu ms\n",
             port, uptime_ms ());

  daemon_pid = fork ();
  if (daemon_pid == -1)
    fatal ("fork: %s", strerror (errno));
  if (daemon_pid == 0) {
    const char *dargv[] = {
      DAEMON, "--appliance", "--channel", port,
      verbose ? "--verbose" : NULL, NULL
    };
    execv (DAEMON, (char **) dargv);
    fprintf (stderr, "guestbox-init: error: exec %s: %s\n", DAEMON,
             strerror (errno));
    _exit (127);
  }

  /* Reap everything (orphans of the daemon's programs too) until the
   * daemon itself exits. */
  for (;;) {
    int status;
    pid_t pid = wait (&status);

    if (pid == -1) {
      if (errno == EINTR)
        continue;
      fatal ("wait: %s", strerror (errno));
    }
    if (pid != daemon_pid)
      continue;
    if (WIFEXITED (status) && WEXITSTATUS (status) == 0) {
      if (verbose)
        fprintf (stderr, "guestbox-init: daemon exited, rebooting\n");
    }
    else if (WIFEXITED (status))
      fprintf (stderr, "guestbox-init: error: the daemon exited with "
               "status %d\n", WEXITSTATUS (status));
    else if (WIFSIGNALED (status))
      fprintf (stderr, "guestbox-init: error: the daemon was killed by "
               "signal %d\n", WTERMSIG (status));
    break;
  }
  finish ();
}
