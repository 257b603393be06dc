/* guestbox - the daemon's dispatch table.
 * Copyright (C) 2026 the guestbox authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

/**
 * One row per line of common/procs.def: the procedure's number, name,
 * the rpcgen routines and sizes of its arguments and reply, its do_NAME
 * handler and whether it carries a file (FileIn/FileOut).
 * test-dispatch.sh proves the table covers every procedure in
 * protocol.x.
 */

#include <config.h>

#include "daemon.h"

/* procs.def's ARGS and RET: the rpcgen routine and the size of the
 * struct, or none. */
#define T(type) (xdrproc_t) xdr_gbox_##type, sizeof (gbox_##type)
#define NONE NULL, 0
#define PROC(num, name, args_type, ret_type, kind, call, trace) \
  { GBOX_PROC_##num, #name, args_type, ret_type, do_##name, PROC_##kind },

const struct dispatch_entry dispatch_table[] = {
#include "procs.def"
};

#undef PROC
#undef T
#undef NONE

const size_t dispatch_table_len =
  sizeof dispatch_table / sizeof dispatch_table[0];

const struct dispatch_entry *
lookup_proc (int proc)
{
  size_t i;

  for (i = 0; i < dispatch_table_len; ++i)
    if (dispatch_table[i].proc == proc)
      return &dispatch_table[i];
  return NULL;
}
