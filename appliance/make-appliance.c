/* guestbox - the appliance builder.
 * Copyright (C) 2026 the guestbox authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

/** guestbox-make-appliance: build (or find in the cache) the appliance and
 * print the kernel and initrd paths; for benchmarks and debugging. */

#include <config.h>

#include <getopt.h>
#include <stdbool.h>
#include <stdint.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "appliance.h"

static const char *progname = "guestbox-make-appliance";

static void __attribute__((noreturn))
usage (int status)
{
  if (status != EXIT_SUCCESS)
    fprintf (stderr, "Try '%s --help' for more information.\n", progname);
  else
    printf ("%s: build or find the cached guestbox appliance\n"
            "Usage:\n"
            "  %s --daemon PATH --init PATH [--cachedir DIR] [--kernel PATH]\n"
            "     [--gzip] [-v]\n"
            "Prints the kernel and initrd paths, one a line.\n",
            progname, progname);
  exit (status);
}

static void
debug (void *opaque, const char *msg)
{
  fprintf (stderr, "%s: debug: %s\n", progname, msg);
}

int
main (int argc, char *argv[])
{
  enum { DAEMON_OPTION = CHAR_MAX + 1, INIT_OPTION, CACHEDIR_OPTION,
         KERNEL_OPTION, GZIP_OPTION };
  static const struct option long_options[] = {
    { "cachedir", required_argument, NULL, CACHEDIR_OPTION },
    { "daemon", required_argument, NULL, DAEMON_OPTION },
    { "gzip", no_argument, NULL, GZIP_OPTION },
    { "help", no_argument, NULL, 'h' },
    { "init", required_argument, NULL, INIT_OPTION },
    { "kernel", required_argument, NULL, KERNEL_OPTION },
    { "verbose", no_argument, NULL, 'v' },
    { NULL, 0, NULL, 0 }
  };
  struct gbox_appliance_spec spec;
  struct gbox_appliance app;
  char err[1024];
  bool verbose = false;
  struct timespec t0, t1;
  struct stat st;
  size_t i;
  int c;

  memset (&spec, 0, sizeof spec);
  while ((c = getopt_long (argc, argv, "hv", long_options, NULL)) != -1) {
    switch (c) {
    case DAEMON_OPTION: spec.daemon = optarg; break;
    case INIT_OPTION: spec.init = optarg; break;
    case CACHEDIR_OPTION: spec.cachedir = optarg; break;
    case KERNEL_OPTION: spec.kernel = optarg; break;
    case GZIP_OPTION: spec.gzip = 1; break;
    case 'v': verbose = true; break;
    case 'h': usage (EXIT_SUCCESS);
    default: usage (EXIT_FAILURE);
    }
  }
  if (optind != argc || !spec.daemon || !spec.init) {
    fprintf (stderr, "%s: error: --daemon and --init are required\n",
             progname);
    usage (EXIT_FAILURE);
  }
  if (verbose)
    spec.debug = debug;

  clock_gettime (CLOCK_MONOTONIC, &t0);
  if (gbox_appliance_get (&spec, &app, err, sizeof err) == -1) {
    fprintf (stderr, "%s: error: %s\n", progname, err);
    exit (EXIT_FAILURE);
  }
  clock_gettime (CLOCK_MONOTONIC, &t1);

  printf ("%s\n%s\n", app.kernel, app.initrd);
  if (verbose) {
    double secs = (t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9;
    fprintf (stderr, "%s: %s in %.3f s\n", progname,
             app.built ? "built" : "cache hit", secs);
    fprintf (stderr, "%s: key %s, kernel version %s\n", progname, app.key,
             app.kernel_version);
    if (stat (app.kernel, &st) == 0)
      fprintf (stderr, "%s: vmlinux %jd bytes\n", progname,
               (intmax_t) st.st_size);
    if (stat (app.initrd, &st) == 0)
      fprintf (stderr, "%s: initrd %jd bytes\n", progname,
               (intmax_t) st.st_size);
    fprintf (stderr, "%s: programs:", progname);
    for (i = 0; app.programs[i]; ++i)
      fprintf (stderr, " %s", app.programs[i]);
    fprintf (stderr, "\n");
  }
  gbox_appliance_free (&app);
  exit (EXIT_SUCCESS);
}
