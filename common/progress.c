/* guestbox - progress bars for long operations.
 * Copyright (C) 2026 the guestbox authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

/**
 * The progress bar of progress.h: formatting (pure) and drawing on
 * stderr with "\r", rate-limited to five redraws a second.
 */

#include <config.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/ioctl.h>

#include "progress.h"

struct gbox_progress_bar {
  int enabled;
  char *label;
  uint64_t start_ms;
  uint64_t last_draw_ms;
  int last_percent;
  int drawn;                    /* a line is open on stderr */
};

static uint64_t
mono_ms (void)
{
  struct timespec ts;

  clock_gettime (CLOCK_MONOTONIC, &ts);
  return (uint64_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

struct gbox_progress_bar *
gbox_progress_bar_new (int enable)
{
  struct gbox_progress_bar *bar = calloc (1, sizeof *bar);

  if (bar == NULL)
    return NULL;
  if (enable == GBOX_PROGRESS_FORCE)
    bar->enabled = 1;
  else
    bar->enabled = enable && isatty (STDERR_FILENO);
  bar->start_ms = mono_ms ();
  bar->last_percent = -1;
  return bar;
}

void
gbox_progress_bar_free (struct gbox_progress_bar *bar)
{
  if (bar == NULL)
    return;
  gbox_progress_bar_done (bar);
  free (bar->label);
  free (bar);
}

int
gbox_progress_bar_enabled (const struct gbox_progress_bar *bar)
{
  return bar != NULL && bar->enabled;
}

void
gbox_progress_bar_set_label (struct gbox_progress_bar *bar, const char *label)
{
  if (bar == NULL)
    return;
  gbox_progress_bar_done (bar);
  free (bar->label);
  bar->label = label ? strdup (label) : NULL;
  bar->start_ms = mono_ms ();
  bar->last_draw_ms = 0;
  bar->last_percent = -1;
}

void
gbox_progress_bar_format (char *buf, size_t len, int width, const char *label,
                          uint64_t pos, uint64_t total, uint64_t elapsed_ms)
{
  char left[32], eta[16];
  int percent, barw, fill, i, n;
  size_t used;

  if (len == 0)
    return;
  if (total == 0) {
    total = 1;
    pos = 0;
  }
  if (pos > total)
    pos = total;
  /* Integer arithmetic without overflow for any 64-bit sizes. */
  percent = total > UINT64_MAX / 100 ? (int) (pos / (total / 100))
    : (int) (pos * 100 / total);
  if (percent > 100)
    percent = 100;

  if (pos == total)
    snprintf (eta, sizeof eta, "00:00");
  else if (pos == 0 || elapsed_ms < 1000)
    snprintf (eta, sizeof eta, "--:--");
  else {
    double rem = (double) elapsed_ms / 1000.0 * (double) (total - pos)
      / (double) pos;
    if (rem >= 100 * 3600.0)
      snprintf (eta, sizeof eta, "--:--");
    else if (rem >= 3600.0)
      snprintf (eta, sizeof eta, "%d:%02d:%02d", (int) rem / 3600,
                (int) rem / 60 % 60, (int) rem % 60);
    else
      snprintf (eta, sizeof eta, "%02d:%02d", (int) rem / 60, (int) rem % 60);
  }
  snprintf (left, sizeof left, "%3d%% ", percent);

  buf[0] = '\0';
  used = 0;
  if (label && *label) {
    /* The label gets at most half the width. */
    int maxl = width / 2;
    n = snprintf (buf, len, "%.*s ", maxl > 1 ? maxl - 1 : 0, label);
    used = n < 0 ? 0 : (size_t) n >= len ? len - 1 : (size_t) n;
  }
  /* "NNN% [" + bar + "] " + eta */
  barw = width - (int) used - (int) strlen (left) - 3 - (int) strlen (eta);
  if (barw > 60)
    barw = 60;
  n = snprintf (buf + used, len - used, "%s", left);
  used += n < 0 ? 0 : (size_t) n >= len - used ? len - used - 1 : (size_t) n;
  if (barw >= 4 && used + barw + 3 < len) {
    fill = (int) ((int64_t) barw * percent / 100);
    buf[used++] = '[';
    for (i = 0; i < barw; ++i)
      buf[used++] = i < fill ? '#' : '.';
    buf[used++] = ']';
    buf[used++] = ' ';
    buf[used] = '\0';
  }
  snprintf (buf + used, len - used, "%s", eta);
}

static int
term_width (void)
{
  struct winsize ws;
  const char *c;

  if (ioctl (STDERR_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col >= 20)
    return ws.ws_col;
  c = getenv ("COLUMNS");
  if (c && atoi (c) >= 20 && atoi (c) <= 1000)
    return atoi (c);
  return 80;
}

void
gbox_progress_bar_update (struct gbox_progress_bar *bar,
                          uint64_t pos, uint64_t total)
{
  char line[1100];
  uint64_t now;
  int width, percent;

  if (bar == NULL || !bar->enabled)
    return;
  now = mono_ms ();
  percent = total == 0 ? 0 : pos >= total ? 100
    : (int) ((double) pos * 100.0 / (double) total);
  /* The final position always; otherwise five redraws a second. */
  if (percent != 100 && bar->drawn && now - bar->last_draw_ms < 200)
    return;
  if (percent == 100 && bar->last_percent == 100)
    return;
  bar->last_draw_ms = now;
  bar->last_percent = percent;
  width = term_width () - 1;
  if (width > (int) sizeof line - 1)
    width = sizeof line - 1;
  gbox_progress_bar_format (line, sizeof line, width, bar->label,
                            pos, total, now - bar->start_ms);
  fprintf (stderr, "\r%-*s", width, line);
  fflush (stderr);
  bar->drawn = 1;
}

void
gbox_progress_bar_done (struct gbox_progress_bar *bar)
{
  if (bar == NULL || !bar->drawn)
    return;
  fputc ('\n', stderr);
  fflush (stderr);
  bar->drawn = 0;
}

void
gbox_progress_bar_callback (gbox_h *h, void *opaque, int proc,
                            uint64_t pos, uint64_t total)
{
  (void) h;
  (void) proc;
  gbox_progress_bar_update (opaque, pos, total);
}
