/* guestbox - kernel module loader shared by init and the daemon.
 * Copyright (C) 2026 the guestbox authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#ifndef GUESTBOX_MODLOAD_H
#define GUESTBOX_MODLOAD_H

#include <stddef.h>

struct modload;

/* Read MODDIR/modules.dep (and modules.builtin if present).  MODDIR
 * NULL means /lib/modules/$(uname -r).  Returns NULL with errno set. */
extern struct modload *modload_open (const char *moddir);
extern void modload_close (struct modload *m);

/* The files (relative to MODDIR) to load for module NAME, dependencies
 * first, NULL-terminated, malloc'd (free each and the array).  An empty
 * list for a built-in module.  NULL with errno = ENOENT if unknown. */
extern char **modload_closure (struct modload *m, const char *name);

/* Load NAME and its dependencies with finit_module (already loaded is
 * fine).  On error returns -1 and writes a one-line message to ERR. */
extern int modload_load (struct modload *m, const char *name,
                         char *err, size_t errlen);

/* Load every module of modules.dep (a snapshot carries them all, so
 * that a restored appliance never loads one).  Goes on after a failure;
 * returns -1 with the first message in ERR if any failed.  *LOADED
 * counts the modules now loaded. */
extern int modload_load_all (struct modload *m, unsigned *loaded,
                             char *err, size_t errlen);

#endif /* GUESTBOX_MODLOAD_H */
