/* guestbox - tests of the progress bar (common/progress.c).
 * Copyright (C) 2026 the guestbox authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

/**
 * Table-driven checks of gbox_progress_bar_format (the text of one
 * bar), and of the drawing: nothing when disabled, "\r" redraws and one
 * final newline when forced.
 */

#include <config.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "progress.h"
#include "check.h"

static void
check (const char *what, const char *expected, const char *actual)
{
  if (!CHECK (strcmp (expected, actual) == 0, "%s: '%s'", what, actual))
    printf ("  expected '%s'\n", expected);
}

int
main (void)
{
  static const struct {
    const char *what;
    int width;
    const char *label;
    uint64_t pos, total, elapsed;
    const char *expected;
  } t[] = {
    { "start", 40, NULL, 0, 100, 0,
      "  0% [...........................] --:--" },
    { "half, 10 s in", 40, NULL, 50, 100, 10000,
      " 50% [#############..............] 00:10" },
    { "done", 40, NULL, 100, 100, 5000,
      "100% [###########################] 00:00" },
    { "pos beyond total", 40, NULL, 200, 100, 5000,
      "100% [###########################] 00:00" },
    { "total 0", 40, NULL, 5, 0, 5000,
      "  0% [...........................] --:--" },
    { "label", 40, "/dev/sda1", 25, 100, 3000,
      "/dev/sda1  25% [####.............] 00:09" },
    { "long label cut, no room for a bar", 30, "/dev/mapper/a-very-long-name",
      1, 4, 1000, "/dev/mapper/a-  25% 00:03" },
    { "narrow: no bar", 12, NULL, 1, 4, 1000, " 25% 00:03" },
    { "hours", 40, NULL, 1, 1000, 10000,
      "  0% [.........................] 2:46:30" },
    { "huge sizes", 40, NULL, UINT64_MAX / 2, UINT64_MAX, 60000,
      " 50% [#############..............] 01:00" },
  };
  char buf[256];
  size_t i;
  struct gbox_progress_bar *bar;

  for (i = 0; i < sizeof t / sizeof t[0]; ++i) {
    gbox_progress_bar_format (buf, sizeof buf, t[i].width, t[i].label,
                              t[i].pos, t[i].total, t[i].elapsed);
    check (t[i].what, t[i].expected, buf);
  }

  /* A tiny buffer is never overrun. */
  gbox_progress_bar_format (buf, 8, 40, "label", 1, 2, 1000);
  check ("tiny buffer", "label  ", buf);

  /* Drawing: disabled bars print nothing; forced ones redraw with "\r"
   * and end with one newline. */
  {
    char *out = NULL;
    size_t len = 0;
    FILE *fp = open_memstream (&out, &len);
    FILE *saved = stderr;

    stderr = fp;
    bar = gbox_progress_bar_new (0);
    gbox_progress_bar_update (bar, 1, 2);
    gbox_progress_bar_free (bar);
    fflush (fp);
    check ("disabled bar prints nothing", "", out ? out : "");

    setenv ("COLUMNS", "40", 1);
    bar = gbox_progress_bar_new (GBOX_PROGRESS_FORCE);
    gbox_progress_bar_update (bar, 0, 2);
    gbox_progress_bar_update (bar, 2, 2);
    gbox_progress_bar_update (bar, 2, 2);   /* not drawn twice */
    gbox_progress_bar_free (bar);
    fflush (fp);
    stderr = saved;
    check ("forced bar",
           "\r  0% [..........................] --:--"
           "\r100% [##########################] 00:00\n",
           out ? out : "");
    fclose (fp);
    free (out);
  }

  return check_finish ("test-progress");
}
