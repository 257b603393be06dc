/* guestbox - the procedures' names and their trace lines.
 * Copyright (C) 2026 the guestbox authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

/**
 * The library's side of procs.def: the name of every procedure
 * (gbox_int_proc_name, used in messages) and the line that GBOX_TRACE
 * shows for a call (gbox_int_proc_args), with one formatter per shape
 * of arguments (trace_TRACE, named by the .def).  Below proto.c: it
 * calls nothing of the library.
 */

#include <config.h>

#include <stdio.h>
#include <stdint.h>
#include <inttypes.h>

#include "guestbox-internal.h"

/* "NAME ...": arguments not shown. */
static void
trace_dots (const char *name, const void *args, char *buf, size_t len)
{
  (void) args;
  snprintf (buf, len, "%s ...", name);
}

static void
trace_path (const char *name, const void *args, char *buf, size_t len)
{
  const struct gbox_path_args *a = args;

  snprintf (buf, len, "%s \"%s\"", name, a->path);
}

static void
trace_disks_ready (const char *name, const void *args, char *buf, size_t len)
{
  const struct gbox_disks_ready_args *a = args;

  snprintf (buf, len, "%s %u %u", name, a->count, a->timeout_ms);
}

static void
trace_refresh (const char *name, const void *args, char *buf, size_t len)
{
  const struct gbox_refresh_args *a = args;

  snprintf (buf, len, "%s %" PRId64 ".%09u <%u bytes of seed>", name,
            (int64_t) a->sec, a->nsec, a->seed.seed_len);
}

static void
trace_mount (const char *name, const void *args, char *buf, size_t len)
{
  const struct gbox_mount_args *a = args;

  snprintf (buf, len, "%s \"%s\" \"%s\" \"%s\" \"%s\"", name,
            a->device, a->mountpoint, a->options, a->fstype);
}

static void
trace_mount_ro (const char *name, const void *args, char *buf, size_t len)
{
  const struct gbox_mount_ro_args *a = args;

  snprintf (buf, len, "%s \"%s\" \"%s\"", name, a->device, a->mountpoint);
}

static void
trace_readdir_stat (const char *name, const void *args, char *buf, size_t len)
{
  const struct gbox_readdir_stat_args *a = args;

  snprintf (buf, len, "%s \"%s\" %" PRIu64, name, a->path,
            (uint64_t) a->start);
}

static void
trace_upload (const char *name, const void *args, char *buf, size_t len)
{
  const struct gbox_upload_args *a = args;

  snprintf (buf, len, "%s \"%s\" %d", name, a->path, a->mode);
}

static void
trace_download (const char *name, const void *args, char *buf, size_t len)
{
  const struct gbox_download_args *a = args;

  snprintf (buf, len, "%s \"%s\"", name, a->path);
}

/* Never the key. */
static void
trace_luks_open (const char *name, const void *args, char *buf, size_t len)
{
  const struct gbox_luks_open_args *a = args;

  snprintf (buf, len, "%s \"%s\" <key hidden> \"%s\" %s", name,
            a->device, a->mapname, a->readonly ? "ro" : "rw");
}

#define PROC(num, name, args, ret, kind, call, trace) \
  { GBOX_PROC_##num, #name, trace_##trace },
const struct gbox_int_proc gbox_int_procs[] = {
#include "procs.def"
};
#undef PROC
const size_t gbox_int_nr_procs =
  sizeof gbox_int_procs / sizeof gbox_int_procs[0];

static const struct gbox_int_proc *
lookup (int proc)
{
  size_t i;

  for (i = 0; i < gbox_int_nr_procs; ++i)
    if (gbox_int_procs[i].proc == proc)
      return &gbox_int_procs[i];
  return NULL;
}

const char *
gbox_int_proc_name (int proc)
{
  const struct gbox_int_proc *p = lookup (proc);

  return p ? p->name : "unknown_procedure";
}

void
gbox_int_proc_args (int proc, const void *args, char *buf, size_t len)
{
  const struct gbox_int_proc *p = lookup (proc);

  if (p == NULL)
    snprintf (buf, len, "unknown_procedure%s", args ? " ..." : "");
  else if (args == NULL)
    snprintf (buf, len, "%s", p->name);
  else
    p->trace (p->name, args, buf, len);
}
