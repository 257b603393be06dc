/* guestbox - libFuzzer harness: the daemon's request decoder.
 * Copyright (C) 2026 the guestbox authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

/**
 * The fuzzer's bytes are one call message as the daemon reads it after
 * the length word: header checks, procedure lookup, argument decoding
 * with the bounds of protocol.x, the embedded-NUL and trailing-data
 * checks (decode_call, shared with the daemon's main loop).  Nothing
 * is dispatched.
 */

#include <config.h>

#include <stdint.h>
#include <stdlib.h>

#include "daemon.h"

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  decode_call (data, size);
  return 0;
}
