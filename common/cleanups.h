/* guestbox - scope-bound cleanup of locals.
 * Copyright (C) 2026 the guestbox authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

/**
 * The CLEANUP_* attributes, built on __attribute__((cleanup)).  Put one
 * in front of a local that is initialised to NULL / -1 / { 0 }; when the
 * local goes out of scope, what it holds is released.  Never use them on
 * a value that is returned (set the local back to NULL / -1 first), and
 * never in main() (exit skips them).
 *
 *   CLEANUP_FREE char *s = NULL;
 *   CLEANUP_FREE_STRING_LIST char **list = NULL;   (NULL-terminated)
 *   CLEANUP_CLOSE int fd = -1;
 *   CLEANUP_FCLOSE FILE *fp = NULL;
 *
 * rpcgen results: CLEANUP_XDR_FREE (TYPE) frees what xdr_TYPE allocated
 * inside a struct (the struct itself lives on the stack):
 *
 *   CLEANUP_XDR_FREE (gbox_list_devices_ret)
 *     struct gbox_list_devices_ret r = { 0 };
 *
 * Each TYPE used this way needs one GBOX_DEFINE_XDR_CLEANUP (TYPE) line;
 * the reply types of protocol.x are defined below.
 */

#ifndef GUESTBOX_CLEANUPS_H
#define GUESTBOX_CLEANUPS_H

#include <stdio.h>
#include <stdlib.h>
#include <errno.h>
#include <unistd.h>
#include <rpc/types.h>
#include <rpc/xdr.h>

#include "protocol.h"

static inline void
gbox_cleanup_free (void *ptr)
{
  free (*(void **) ptr);
}

static inline void
gbox_cleanup_free_string_list (void *ptr)
{
  char **list = *(char ***) ptr;
  size_t i;

  if (list == NULL)
    return;
  for (i = 0; list[i] != NULL; ++i)
    free (list[i]);
  free (list);
}

static inline void
gbox_cleanup_close (void *ptr)
{
  int fd = *(int *) ptr;
  int saved_errno = errno;

  if (fd >= 0)
    close (fd);
  errno = saved_errno;
}

static inline void
gbox_cleanup_fclose (void *ptr)
{
  FILE *fp = *(FILE **) ptr;
  int saved_errno = errno;

  if (fp != NULL)
    fclose (fp);
  errno = saved_errno;
}

#define CLEANUP_FREE __attribute__((cleanup (gbox_cleanup_free)))
#define CLEANUP_FREE_STRING_LIST \
  __attribute__((cleanup (gbox_cleanup_free_string_list)))
#define CLEANUP_CLOSE __attribute__((cleanup (gbox_cleanup_close)))
#define CLEANUP_FCLOSE __attribute__((cleanup (gbox_cleanup_fclose)))

/* Define the cleanup function for one rpcgen type. */
#define GBOX_DEFINE_XDR_CLEANUP(type)                                   \
  static inline void                                                    \
  gbox_cleanup_xdr_##type (struct type *p)                              \
  {                                                                     \
    xdr_free ((xdrproc_t) xdr_##type, (char *) p);                      \
  }

#define CLEANUP_XDR_FREE(type) \
  __attribute__((cleanup (gbox_cleanup_xdr_##type)))

GBOX_DEFINE_XDR_CLEANUP (gbox_version_ret)
GBOX_DEFINE_XDR_CLEANUP (gbox_list_devices_ret)
GBOX_DEFINE_XDR_CLEANUP (gbox_list_partitions_ret)
GBOX_DEFINE_XDR_CLEANUP (gbox_list_filesystems_ret)
GBOX_DEFINE_XDR_CLEANUP (gbox_inspect_full_ret)
GBOX_DEFINE_XDR_CLEANUP (gbox_inspect_mount_ret)
GBOX_DEFINE_XDR_CLEANUP (gbox_readlink_ret)
GBOX_DEFINE_XDR_CLEANUP (gbox_readdir_stat_ret)
GBOX_DEFINE_XDR_CLEANUP (gbox_message_error)
GBOX_DEFINE_XDR_CLEANUP (gbox_dirent)
GBOX_DEFINE_XDR_CLEANUP (gbox_filesystem)

#endif /* GUESTBOX_CLEANUPS_H */
