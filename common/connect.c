/* guestbox - driving a daemon that is already running.
 * Copyright (C) 2026 the guestbox authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

/**
 * gbox_connect_fd: use a daemon on the other end of a file descriptor
 * (the daemon in host mode, "guestboxd --channel fd:N --sysroot DIR")
 * instead of launching the appliance.  Used by the protocol tests.
 */

#include <config.h>

#include <errno.h>

#include "guestbox-internal.h"

int
gbox_connect_fd (gbox_h *h, int fd)
{
  if (h->state != GBOX_STATE_CONFIG || h->fd >= 0) {
    gbox_int_error (h, "connect_fd: the handle is already launched");
    h->last_errno = EINVAL;
    return -1;
  }
  if (fd < 0) {
    gbox_int_error (h, "connect_fd: invalid file descriptor %d", fd);
    h->last_errno = EBADF;
    return -1;
  }

  /* The handle owns FD from now on, even on failure. */
  h->fd = fd;
  if (gbox_int_wait_launch_flag (h, h->launch_timeout * 1000) == -1)
    return -1;
  h->state = GBOX_STATE_READY;
  return 0;
}
