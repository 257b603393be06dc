/* guestbox - libFuzzer harness: the appliance builder's ELF reader.
 * Copyright (C) 2026 the guestbox authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

/**
 * The fuzzer's bytes are a host program or library: program headers,
 * PT_INTERP, the dynamic section, DT_NEEDED/RPATH/RUNPATH strings.
 */

#include <config.h>

#include "appliance-internal.h"
#include "fuzz-file.h"

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  char err[512];
  struct gbox_app_ctx cx = { .err = err, .errlen = sizeof err };
  struct gbox_app_elf e;

  if (gbox_app_elf_read (&cx, fuzz_file (data, size), &e) == 0)
    gbox_app_elf_free (&e);
  return 0;
}
