/* guestbox - the CHECK macro of the C unit tests.
 * Copyright (C) 2026 the guestbox authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

/**
 * One CHECK for every C unit test of the tree.  It is header-only so
 * that the tests of the daemon and of the appliance builder, which do
 * not link libguestbox, include it as well as those of common/.
 *
 * CHECK (COND, FORMAT, ...) prints "ok: WHAT" or "FAIL: WHAT
 * (file:line)" and counts the checks and the failures (thread-safe).
 * A test that runs thousands of generated cases defines CHECK_QUIET
 * before including this header: then only the failures are printed.
 * check_finish (NAME) prints the summary and returns the test's exit
 * status.
 */

#ifndef GUESTBOX_CHECK_H
#define GUESTBOX_CHECK_H

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>

static unsigned check_count, check_failures;

static bool check_report (bool ok, const char *file, int line,
                          const char *fs, ...)
  __attribute__((format (printf, 4, 5), unused));

static bool
check_report (bool ok, const char *file, int line, const char *fs, ...)
{
  va_list args;
#ifdef CHECK_QUIET
  const bool quiet = true;
#else
  const bool quiet = false;
#endif

  __atomic_add_fetch (&check_count, 1, __ATOMIC_SEQ_CST);
  if (!ok)
    __atomic_add_fetch (&check_failures, 1, __ATOMIC_SEQ_CST);
  if (ok && quiet)
    return ok;
  flockfile (stdout);
  printf ("%s: ", ok ? "ok" : "FAIL");
  va_start (args, fs);
  vprintf (fs, args);
  va_end (args);
  if (!ok)
    printf (" (%s:%d)", file, line);
  putchar ('\n');
  fflush (stdout);
  funlockfile (stdout);
  return ok;
}

#define CHECK(cond, ...) \
  check_report (!!(cond), __FILE__, __LINE__, __VA_ARGS__)

/* Print the summary; the exit status of the test. */
static int check_finish (const char *name) __attribute__((unused));

static int
check_finish (const char *name)
{
  if (check_failures > 0) {
    printf ("%s: %u of %u checks FAILED\n", name, check_failures,
            check_count);
    return EXIT_FAILURE;
  }
  printf ("%s: all %u checks passed\n", name, check_count);
  return EXIT_SUCCESS;
}

#endif /* GUESTBOX_CHECK_H */
