/* guestbox - the libguestfs environment variables.
 * Copyright (C) 2026 the guestbox authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

/**
 * Table-driven checks that gbox_create honours the LIBGUESTFS_*
 * variables that mean something here (MEMSIZE, BACKEND_SETTINGS
 * force_tcg/force_kvm, HV, DEBUG, TRACE, TMPDIR, CACHEDIR), that the
 * GBOX_* names win over them, and that an out-of-range memory size
 * falls back to the default.  No appliance.
 */

#include <config.h>

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "guestbox-internal.h"

static int failures;

static void __attribute__((format (printf, 2, 3)))
check (int ok, const char *fs, ...)
{
  va_list args;

  if (!ok)
    failures++;
  printf ("%s: ", ok ? "ok" : "FAIL");
  va_start (args, fs);
  vprintf (fs, args);
  va_end (args);
  putchar ('\n');
}

static const char *const vars[] = {
  "GBOX_MEMSIZE", "LIBGUESTFS_MEMSIZE", "GBOX_ACCEL",
  "LIBGUESTFS_BACKEND_SETTINGS", "GBOX_QEMU", "LIBGUESTFS_QEMU",
  "LIBGUESTFS_HV", "GBOX_DEBUG", "LIBGUESTFS_DEBUG", "GBOX_TRACE",
  "LIBGUESTFS_TRACE", "LIBGUESTFS_TMPDIR", "TMPDIR", "LIBGUESTFS_CACHEDIR",
  NULL
};

/* Environment "NAME=VALUE" pairs, then what the handle must have. */
static const struct {
  const char *env[4];
  int memsize;
  const char *accel;
  const char *qemu;             /* NULL: not checked */
  int verbose, trace;
} tests[] = {
  { { NULL }, 512, "auto", NULL, 0, 0 },
  { { "LIBGUESTFS_MEMSIZE=1024" }, 1024, "auto", NULL, 0, 0 },
  { { "LIBGUESTFS_MEMSIZE=1024", "GBOX_MEMSIZE=768" }, 768, "auto", NULL,
    0, 0 },
  { { "GBOX_MEMSIZE=64" }, 512, "auto", NULL, 0, 0 },
  { { "LIBGUESTFS_MEMSIZE=lots" }, 512, "auto", NULL, 0, 0 },
  { { "LIBGUESTFS_BACKEND_SETTINGS=force_tcg" }, 512, "tcg", NULL, 0, 0 },
  { { "LIBGUESTFS_BACKEND_SETTINGS=network_bridge=br0:force_kvm" }, 512,
    "kvm", NULL, 0, 0 },
  { { "LIBGUESTFS_BACKEND_SETTINGS=force_tcg", "GBOX_ACCEL=kvm" }, 512,
    "kvm", NULL, 0, 0 },
  { { "LIBGUESTFS_BACKEND_SETTINGS=force_tcgx" }, 512, "auto", NULL, 0, 0 },
  { { "LIBGUESTFS_HV=/opt/qemu" }, 512, "auto", "/opt/qemu", 0, 0 },
  { { "LIBGUESTFS_HV=/opt/qemu", "LIBGUESTFS_QEMU=/opt/wrapper" }, 512,
    "auto", "/opt/wrapper", 0, 0 },
  { { "LIBGUESTFS_DEBUG=1", "LIBGUESTFS_TRACE=1" }, 512, "auto", NULL, 1, 1 },
  { { "LIBGUESTFS_DEBUG=1", "GBOX_DEBUG=0" }, 512, "auto", NULL, 0, 0 },
};

int
main (void)
{
  size_t i, j;
  char *c;

  for (i = 0; i < sizeof tests / sizeof tests[0]; ++i) {
    char desc[256] = "";
    gbox_h *h;

    for (j = 0; vars[j]; ++j)
      unsetenv (vars[j]);
    for (j = 0; j < 4 && tests[i].env[j]; ++j) {
      char *e = strdup (tests[i].env[j]), *eq = strchr (e, '=');
      *eq = '\0';
      setenv (e, eq + 1, 1);
      strncat (desc, tests[i].env[j], sizeof desc - strlen (desc) - 2);
      strcat (desc, " ");
      free (e);
    }
    h = gbox_create ();
    if (h == NULL) {
      check (0, "%s: gbox_create", desc);
      continue;
    }
    check (h->memsize == tests[i].memsize, "%s: memsize %d (expected %d)",
           desc, h->memsize, tests[i].memsize);
    check (strcmp (h->accel, tests[i].accel) == 0, "%s: accel %s (expected %s)",
           desc, h->accel, tests[i].accel);
    if (tests[i].qemu)
      check (strcmp (h->qemu, tests[i].qemu) == 0, "%s: qemu %s (expected %s)",
             desc, h->qemu, tests[i].qemu);
    check ((h->verbose != 0) == tests[i].verbose &&
           (h->trace != 0) == tests[i].trace, "%s: verbose %d, trace %d",
           desc, h->verbose, h->trace);
    gbox_close (h);
  }

  for (j = 0; vars[j]; ++j)
    unsetenv (vars[j]);
  check (gbox_int_env_tmpdir () == NULL, "no TMPDIR");
  setenv ("TMPDIR", "/t1", 1);
  check (strcmp (gbox_int_env_tmpdir (), "/t1") == 0, "TMPDIR");
  setenv ("LIBGUESTFS_TMPDIR", "/t2", 1);
  check (strcmp (gbox_int_env_tmpdir (), "/t2") == 0,
         "LIBGUESTFS_TMPDIR wins over TMPDIR");
  check (gbox_int_env_cachedir () == NULL, "no LIBGUESTFS_CACHEDIR");
  setenv ("LIBGUESTFS_CACHEDIR", "/c", 1);
  c = gbox_int_env_cachedir ();
  {
    char expected[64];
    snprintf (expected, sizeof expected, "/c/guestbox-%ju",
              (uintmax_t) geteuid ());
    check (c && strcmp (c, expected) == 0, "LIBGUESTFS_CACHEDIR: %s",
           c ? c : "(null)");
  }
  free (c);

  if (failures) {
    printf ("test-env: %d check(s) FAILED\n", failures);
    return EXIT_FAILURE;
  }
  return EXIT_SUCCESS;
}
