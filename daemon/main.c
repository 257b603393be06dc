/* guestbox - guestboxd, the daemon inside the appliance.
 * Copyright (C) 2026 the guestbox authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

/**
 * Option parsing, opening the channel and the main loop.  Inside the
 * appliance init starts us as "guestboxd --appliance --channel
 * /dev/vportNpM"; tests run us on the host as "guestboxd --channel fd:N
 * --sysroot DIR", where nothing is ever mounted.  With
 * "guestbox.snapshot=1" on the kernel command line (a boot that the
 * library saves as a snapshot) every module is loaded before the
 * daemon says it is ready.
 */

#include <config.h>

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include "daemon.h"

static void __attribute__((noreturn))
usage (int status)
{
  if (status != EXIT_SUCCESS)
    fprintf (stderr, "Try 'guestboxd --help' for more information.\n");
  else
    printf ("guestboxd: the guestbox daemon (runs inside the appliance)\n"
            "Usage:\n"
            "  guestboxd --channel fd:N|PATH [--sysroot DIR] [--verbose]\n"
            "Options:\n"
            "  --channel fd:N    talk to the library on file descriptor N\n"
            "  --channel PATH    open a character device (virtio-serial port)\n"
            "                    or connect to a unix socket\n"
            "  --sysroot DIR     root of the guest tree (default /sysroot)\n"
            "  --appliance       running as init's child in the appliance\n"
            "                    (allows mounting; refused otherwise)\n"
            "  -v, --verbose     debug messages on stderr\n"
            "  --list-procedures print the dispatch table and exit\n"
            "  -V, --version     print the version and exit\n");
  exit (status);
}

static int
open_channel (const char *channel)
{
  struct stat st;
  int fd;

  if (strncmp (channel, "fd:", 3) == 0) {
    char *end;
    long n;

    errno = 0;
    n = strtol (channel + 3, &end, 10);
    if (errno || end == channel + 3 || *end || n < 0 || n > INT_MAX) {
      fprintf (stderr, "guestboxd: error: --channel %s: invalid fd\n",
               channel);
      return -1;
    }
    if (fcntl (n, F_GETFD) == -1) {
      fprintf (stderr, "guestboxd: error: --channel %s: %s\n",
               channel, strerror (errno));
      return -1;
    }
    return n;
  }
  if (stat (channel, &st) == -1) {
    fprintf (stderr, "guestboxd: error: --channel %s: %s\n",
             channel, strerror (errno));
    return -1;
  }
  if (S_ISSOCK (st.st_mode)) {
    struct sockaddr_un addr = { .sun_family = AF_UNIX };

    if (strlen (channel) >= sizeof addr.sun_path) {
      fprintf (stderr, "guestboxd: error: --channel %s: path too long\n",
               channel);
      return -1;
    }
    strcpy (addr.sun_path, channel);
    fd = socket (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd == -1 ||
        connect (fd, (struct sockaddr *) &addr, sizeof addr) == -1) {
      fprintf (stderr, "guestboxd: error: --channel %s: connect: %s\n",
               channel, strerror (errno));
      return -1;
    }
    return fd;
  }
  fd = open (channel, O_RDWR | O_CLOEXEC | O_NOCTTY);
  if (fd == -1) {
    fprintf (stderr, "guestboxd: error: --channel %s: %s\n",
             channel, strerror (errno));
    return -1;
  }
  return fd;
}

/* Is WORD one of the words of the kernel command line? */
static bool
kernel_cmdline_has (const char *word)
{
  char buf[4096], *p, *save = NULL;
  ssize_t n;
  int fd;

  fd = open ("/proc/cmdline", O_RDONLY | O_CLOEXEC);
  if (fd == -1)
    return false;
  n = read (fd, buf, sizeof buf - 1);
  close (fd);
  if (n <= 0)
    return false;
  buf[n] = '\0';
  for (p = strtok_r (buf, " \t\n", &save); p;
       p = strtok_r (NULL, " \t\n", &save))
    if (strcmp (p, word) == 0)
      return true;
  return false;
}

int
main (int argc, char *argv[])
{
  enum {
    CHANNEL_OPTION = CHAR_MAX + 1, SYSROOT_OPTION, APPLIANCE_OPTION,
    LIST_PROCS_OPTION, HELP_OPTION,
  };
  static const struct option long_options[] = {
    { "channel", required_argument, NULL, CHANNEL_OPTION },
    { "sysroot", required_argument, NULL, SYSROOT_OPTION },
    { "appliance", no_argument, NULL, APPLIANCE_OPTION },
    { "list-procedures", no_argument, NULL, LIST_PROCS_OPTION },
    { "verbose", no_argument, NULL, 'v' },
    { "version", no_argument, NULL, 'V' },
    { "help", no_argument, NULL, HELP_OPTION },
    { NULL, 0, NULL, 0 }
  };
  const char *channel = NULL;
  bool appliance = false;
  struct stat st;
  int c;
  size_t i;

  while ((c = getopt_long (argc, argv, "vV", long_options, NULL)) != -1) {
    switch (c) {
    case CHANNEL_OPTION: channel = optarg; break;
    case SYSROOT_OPTION: sysroot = optarg; break;
    case APPLIANCE_OPTION: appliance = true; break;
    case 'v': verbose = 1; break;
    case 'V':
      printf ("guestboxd %s (protocol %d)\n", PACKAGE_VERSION,
              GBOX_PROTOCOL_VERSION);
      exit (EXIT_SUCCESS);
    case LIST_PROCS_OPTION:
      for (i = 0; i < dispatch_table_len; ++i)
        printf ("%d %s\n", dispatch_table[i].proc, dispatch_table[i].name);
      exit (EXIT_SUCCESS);
    case HELP_OPTION: usage (EXIT_SUCCESS);
    default: usage (EXIT_FAILURE);
    }
  }
  if (optind != argc || channel == NULL) {
    fprintf (stderr, "guestboxd: error: %s\n",
             channel == NULL ? "--channel is required" : "extra arguments");
    usage (EXIT_FAILURE);
  }

  /* Mounting, the clock and the RNG are only touched in the appliance:
   * as init's child there, never on a host. */
  appliance_mode = appliance && getppid () == 1;
  if (appliance && !appliance_mode)
    fprintf (stderr, "guestboxd: warning: --appliance ignored: "
             "not started by init (PID 1); running in host mode\n");

  setvbuf (stderr, NULL, _IOLBF, 0);
  signal (SIGPIPE, SIG_IGN);
  umask (022);

  if (appliance_mode && mkdir (sysroot, 0755) == -1 && errno != EEXIST)
    fprintf (stderr, "guestboxd: warning: mkdir %s: %s\n", sysroot,
             strerror (errno));
  if (stat (sysroot, &st) == -1) {
    fprintf (stderr, "guestboxd: error: sysroot %s: %s\n", sysroot,
             strerror (errno));
    exit (EXIT_FAILURE);
  }
  if (!S_ISDIR (st.st_mode)) {
    fprintf (stderr, "guestboxd: error: sysroot %s: not a directory\n",
             sysroot);
    exit (EXIT_FAILURE);
  }

  if (appliance_mode)
    devices_uevent_open ();

  chan_fd = open_channel (channel);
  if (chan_fd == -1)
    exit (EXIT_FAILURE);

  debug ("started (%s mode, sysroot %s, channel %s)",
         appliance_mode ? "appliance" : "host", sysroot, channel);
  /* The library saves this appliance as a snapshot once we are ready:
   * every module must be in it. */
  if (appliance_mode && kernel_cmdline_has ("guestbox.snapshot=1"))
    load_all_modules ();
  if (send_launch_flag () == -1) {
    fprintf (stderr, "guestboxd: error: channel: write: %s\n",
             strerror (errno));
    exit (EXIT_FAILURE);
  }
  load_disk_modules ();
  main_loop ();
}
