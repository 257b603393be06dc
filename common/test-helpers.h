/* guestbox - helpers shared by the tests of common/.
 * Copyright (C) 2026 the guestbox authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

/**
 * CHECK (check.h), temporary directories, and a
 * host-mode daemon (guestboxd --channel fd:N --sysroot DIR) connected
 * to a handle over a socketpair.
 */

#ifndef GUESTBOX_TEST_HELPERS_H
#define GUESTBOX_TEST_HELPERS_H

#include <stdbool.h>
#include <stdint.h>
#include <inttypes.h>
#include <sys/types.h>

#include "guestbox-internal.h"
#include "check.h"

/* A fresh temporary directory (exits on failure). */
extern char *test_mkdtemp (void);

/* The daemon binary from $GBOX_DAEMON; exits with failure (not a skip)
 * when it is missing. */
extern const char *test_daemon_path (void);

/* A handle driving a new host-mode daemon on SYSROOT (exits on
 * failure).  gbox_close reaps the daemon. */
extern gbox_h *test_connect_daemon (const char *sysroot);

/* Write a file of SIZE pseudo-random bytes from SEED. */
extern void test_make_file (const char *path, uint64_t size, uint32_t seed);
/* The byte at OFFSET of that stream. */
extern void test_fill (unsigned char *buf, size_t n, uint64_t offset,
                       uint32_t seed);

/* Does S contain SUB? */
extern bool test_contains (const char *s, const char *sub);

extern double test_now (void);  /* seconds, monotonic */

#endif /* GUESTBOX_TEST_HELPERS_H */
