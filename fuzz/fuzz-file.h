/* guestbox - the fuzzer's bytes as a host file, for readers taking a path.
 * Copyright (C) 2026 the guestbox authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

/**
 * One memfd reused by every run; its /proc/self/fd path is what the
 * readers open.
 */

#ifndef GUESTBOX_FUZZ_FILE_H
#define GUESTBOX_FUZZ_FILE_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <sys/mman.h>

static inline const char *
fuzz_file (const uint8_t *data, size_t size)
{
  static int fd = -1;
  static char path[64];

  if (fd == -1) {
    fd = memfd_create ("fuzz", MFD_CLOEXEC);
    if (fd == -1)
      abort ();
    snprintf (path, sizeof path, "/proc/self/fd/%d", fd);
  }
  if (ftruncate (fd, 0) == -1 ||
      (size > 0 && pwrite (fd, data, size, 0) != (ssize_t) size))
    abort ();
  return path;
}

#endif /* GUESTBOX_FUZZ_FILE_H */
