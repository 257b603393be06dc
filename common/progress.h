/* guestbox - progress bars for long operations.
 * Copyright (C) 2026 the guestbox authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

/**
 * A one-line progress bar on stderr, fed by the daemon's progress
 * messages (through gbox_set_progress_callback) or by the command
 * itself.  It draws only when enabled and stderr is a terminal (or
 * when forced), at most a few times a second, and ends its line when
 * done, so that errors and summaries start on a fresh line.
 *
 *   bar = gbox_progress_bar_new (!quiet);
 *   gbox_set_progress_callback (h, gbox_progress_bar_callback, bar);
 *   gbox_progress_bar_set_label (bar, "/dev/sda1");
 *   ... long call ...
 *   gbox_progress_bar_done (bar);
 *   gbox_progress_bar_free (bar);
 */

#ifndef GUESTBOX_PROGRESS_H
#define GUESTBOX_PROGRESS_H

#include <stddef.h>
#include <stdint.h>

#include "guestbox.h"

struct gbox_progress_bar;

/* ENABLE: 0 never draws; 1 draws when stderr is a terminal;
 * GBOX_PROGRESS_FORCE draws on any stderr (tests). */
#define GBOX_PROGRESS_FORCE 2
extern struct gbox_progress_bar *gbox_progress_bar_new (int enable);
extern void gbox_progress_bar_free (struct gbox_progress_bar *bar);
/* Whether the bar draws at all. */
extern int gbox_progress_bar_enabled (const struct gbox_progress_bar *bar);
/* A short label shown before the bar (copied; NULL for none).  Starts
 * a new bar: the clock for the time estimate restarts. */
extern void gbox_progress_bar_set_label (struct gbox_progress_bar *bar,
                                         const char *label);
/* Redraw with POS of TOTAL done (rate-limited; the final position is
 * always drawn). */
extern void gbox_progress_bar_update (struct gbox_progress_bar *bar,
                                      uint64_t pos, uint64_t total);
/* End the line if anything was drawn. */
extern void gbox_progress_bar_done (struct gbox_progress_bar *bar);
/* A gbox_progress_cb: OPAQUE is the bar. */
extern void gbox_progress_bar_callback (gbox_h *h, void *opaque, int proc,
                                        uint64_t pos, uint64_t total);

/* The text of one bar (pure, unit-tested): "LABEL  45% [####......]
 * 00:12" fitting in WIDTH columns.  ELAPSED_MS since the bar started
 * gives the estimate of the time left ("--:--" while unknown). */
extern void gbox_progress_bar_format (char *buf, size_t len, int width,
                                      const char *label,
                                      uint64_t pos, uint64_t total,
                                      uint64_t elapsed_ms);

#endif /* GUESTBOX_PROGRESS_H */
