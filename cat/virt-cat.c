/* guestbox - virt-cat: print files from a disk image.
 * Copyright (C) 2026 the guestbox authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

/**
 * virt-cat -a disk.img FILE...: boots the appliance with the disks
 * read-only, mounts the operating system found by inspection (or the
 * -m list), and streams each FILE to stdout with one FileOut transfer.
 * A file that cannot be read is reported and skipped; the exit status
 * is then 1.  A reader that goes away (virt-cat ... | head -c1) stops
 * the transfer: the appliance is shut down, then virt-cat dies of the
 * SIGPIPE it had put off (as cat(1) and the libguestfs tool do), so the
 * shell sees status 141.
 */

#include <config.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <unistd.h>

#include "guestbox.h"
#include "cleanups.h"
#include "options.h"

static const char program[] = "virt-cat";

static void __attribute__((noreturn))
usage (int status)
{
  if (status != EXIT_SUCCESS)
    fprintf (stderr, "Try '%s --help' for more information.\n", program);
  else
    printf ("%s: display files in a virtual machine disk image\n"
            "Usage:\n"
            "  %s [--options] -a disk.img [-a disk.img ...] file [file ...]\n"
            "Options:\n"
            "  -a|--add image       Add image\n"
            "  -c|--connect uri     Specify libvirt URI for -d option\n"
            "  -d|--domain guest    Add disks from libvirt guest\n"
            "  --echo-keys          Show keys typed on the terminal\n"
            "  --format[=raw|..]    Force disk format for -a option\n"
            "  --help               Display brief help\n"
            "  -i|--inspector       Mount the filesystems of the operating\n"
            "                       system found by inspection (default)\n"
            "  -m|--mount dev[:mnt[:opts[:fstype]]]\n"
            "                       Mount dev on mnt (if omitted, /)\n"
            "  --key ID:key:KEY     Key of a LUKS device (or ID:file:FILE)\n"
            "  --keys-from-stdin    Read LUKS keys from stdin\n"
            "  -v|--verbose         Verbose messages\n"
            "  -V|--version         Display version and exit\n"
            "  -x                   Trace each call to the appliance\n"
            "For more information, see the manpage %s(1).\n",
            program, program, program);
  exit (status);
}

/* Has the reader of stdout gone away?  (EPIPE alone could also come
 * from the channel to a dead appliance.) */
static bool
stdout_broken (void)
{
  struct pollfd pfd = { .fd = STDOUT_FILENO, .events = POLLOUT };

  return poll (&pfd, 1, 0) == 1 && (pfd.revents & POLLERR) != 0;
}

/* Stream each file to stdout.  Returns 0 if all were printed, -1 on
 * errors, -2 when the reader went away. */
static int
do_cat (gbox_h *h, struct gbox_opts *o, int nr_files, char *files[])
{
  int i, errors = 0;

  for (i = 0; i < nr_files; ++i) {
    CLEANUP_FREE char *path = gbox_opts_guest_path (h, o, files[i]);

    if (path != NULL && gbox_download (h, path, STDOUT_FILENO) == 0)
      continue;
    /* The reader closed the pipe: nobody wants the rest. */
    if (gbox_last_errno (h) == EPIPE && stdout_broken ())
      return -2;
    gbox_opts_print_error (o, h);
    errors++;
  }
  return errors == 0 ? 0 : -1;
}

int
main (int argc, char *argv[])
{
  static const char short_options[] = GBOX_OPTS_SHORT;
  static const struct option long_options[] = {
    GBOX_OPTS_LONG,
    { NULL, 0, NULL, 0 }
  };
  struct gbox_opts o;
  gbox_h *h;
  int c, r;

  gbox_opts_init (&o, program, short_options, long_options, true);
  gbox_opts_set_argv (&o, argc, argv);

  while ((c = getopt_long (argc, argv, short_options, long_options,
                           NULL)) != -1) {
    r = gbox_opts_handle (&o, c, optarg);
    if (r == 1)
      continue;
    if (r == -1)
      usage (EXIT_FAILURE);
    switch (c) {
    case GBOX_OPT_HELP:
      usage (EXIT_SUCCESS);
    default:
      usage (EXIT_FAILURE);
    }
  }

  if (gbox_opts_old_style (&o) == -1 || gbox_opts_check (&o) == -1)
    usage (EXIT_FAILURE);
  if (optind >= argc) {
    fprintf (stderr, "%s: error: no file name given\n", program);
    usage (EXIT_FAILURE);
  }

  /* Write errors on stdout come back as EPIPE instead of killing us
   * in the middle of a transfer, so the appliance is shut down. */
  signal (SIGPIPE, SIG_IGN);
  /* ^C, kill, hang-up: no qemu or temp dir is left behind. */
  gbox_install_signal_handlers ();

  h = gbox_opts_new_handle (&o);

  if (gbox_opts_add_drives (h, &o, 1) == -1 ||
      gbox_launch (h) == -1 ||
      gbox_opts_mount (h, &o) == -1) {
    gbox_opts_print_error (&o, h);
    gbox_close (h);
    gbox_opts_free (&o);
    exit (EXIT_FAILURE);
  }

  r = do_cat (h, &o, argc - optind, &argv[optind]);

  gbox_close (h);
  gbox_opts_free (&o);
  if (r == -2) {
    /* The appliance is gone: now die of the broken pipe. */
    signal (SIGPIPE, SIG_DFL);
    raise (SIGPIPE);
  }
  exit (r == 0 ? EXIT_SUCCESS : EXIT_FAILURE);
}
