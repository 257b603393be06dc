/* guestbox - the appliance console.
 * Copyright (C) 2026 the guestbox authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

/**
 * qemu's stdout/stderr (the appliance's serial console) on
 * h->console_fd: drained without blocking from every poll loop
 * (gbox_int_read_console), delivered line by line as GBOX_EVENT_LOG
 * events, and kept in a ring of the last GBOX_CONSOLE_TAIL bytes for
 * error messages (gbox_int_console_tail).
 */

#include <config.h>

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "guestbox-internal.h"

static void
console_flush_line (gbox_h *h)
{
  size_t len = h->console_line_len;

  if (len > 0 && h->console_line[len - 1] == '\r')
    len--;
  gbox_int_event (h, GBOX_EVENT_LOG, h->console_line, len);
  h->console_line_len = 0;
}

static void
console_add (gbox_h *h, const char *buf, size_t n)
{
  size_t i;

  for (i = 0; i < n; ++i) {
    char c = buf[i];

    h->console_tail[h->console_pos % GBOX_CONSOLE_TAIL] = c;
    h->console_pos++;
    if (c == '\n')
      console_flush_line (h);
    else {
      h->console_line[h->console_line_len++] = c;
      if (h->console_line_len == sizeof h->console_line)
        console_flush_line (h);
    }
  }
}

void
gbox_int_read_console (gbox_h *h)
{
  char buf[4096];
  unsigned rounds;

  /* Bounded, so a chatty console cannot starve the caller. */
  for (rounds = 0; rounds < 64 && h->console_fd >= 0; ++rounds) {
    struct pollfd p = { .fd = h->console_fd, .events = POLLIN };
    ssize_t n;
    int r;

    r = poll (&p, 1, 0);
    if (r == -1 && errno == EINTR)
      continue;
    if (r <= 0)
      return;
    n = read (h->console_fd, buf, sizeof buf);
    if (n == -1 && errno == EINTR)
      continue;
    if (n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK))
      return;
    if (n <= 0) {
      /* qemu has gone (or closed its output): stop watching. */
      if (h->console_line_len > 0)
        console_flush_line (h);
      close (h->console_fd);
      h->console_fd = -1;
      return;
    }
    console_add (h, buf, n);
  }
}

const char *
gbox_int_console_tail (gbox_h *h, size_t maxlines, char *buf, size_t buflen)
{
  size_t avail = h->console_pos < GBOX_CONSOLE_TAIL ?
    h->console_pos : GBOX_CONSOLE_TAIL;
  size_t end = h->console_pos;  /* one past the last byte */
  size_t start, lines = 0, i, j;

  if (buflen == 0)
    return buf;

  /* Ignore trailing newlines, then walk back MAXLINES lines. */
  while (end > h->console_pos - avail &&
         (h->console_tail[(end - 1) % GBOX_CONSOLE_TAIL] == '\n' ||
          h->console_tail[(end - 1) % GBOX_CONSOLE_TAIL] == '\r'))
    end--;
  start = end;
  while (start > h->console_pos - avail) {
    if (h->console_tail[(start - 1) % GBOX_CONSOLE_TAIL] == '\n') {
      if (++lines == maxlines)
        break;
    }
    start--;
  }
  if (end - start > buflen - 1)
    start = end - (buflen - 1);

  for (i = start, j = 0; i < end; ++i) {
    unsigned char c = h->console_tail[i % GBOX_CONSOLE_TAIL];

    if (c == '\r')
      continue;
    if ((c < 0x20 && c != '\n' && c != '\t') || c == 0x7f)
      c = '?';
    buf[j++] = c;
  }
  buf[j] = '\0';
  return buf;
}
