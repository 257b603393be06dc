/* guestbox - libFuzzer harness: the appliance builder's kernel readers.
 * Copyright (C) 2026 the guestbox authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

/**
 * The fuzzer's bytes are a kernel image: the bzImage version string
 * and the PVH entry note of an ELF vmlinux.
 */

#include <config.h>

#include "appliance-internal.h"
#include "fuzz-file.h"

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  char err[512];
  struct gbox_app_ctx cx = { .err = err, .errlen = sizeof err };
  const char *path = fuzz_file (data, size);
  char *version = NULL;

  if (gbox_app_kernel_version (&cx, path, &version) == 0)
    free (version);
  gbox_app_kernel_check_pvh (&cx, path);
  return 0;
}
