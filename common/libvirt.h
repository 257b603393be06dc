/* guestbox - libvirt guests: their disks, by name or all of them.
 * Copyright (C) 2026 the guestbox authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

/**
 * The libvirt side of -d/--domain and -c/--connect, and of virt-df's
 * audit of every guest of a connection: a domain's disks read from its
 * XML description (files, block devices, NBD network disks), whether
 * it is running, its UUID.  Everything comes through libvirt's C API
 * (a read-only connection); nothing here touches a handle.
 */

#ifndef GUESTBOX_LIBVIRT_H
#define GUESTBOX_LIBVIRT_H

#include <stdbool.h>
#include <stddef.h>

struct gbox_libvirt_disk {
  char *source;                 /* file, device, or nbd:// URI */
  char *format;                 /* <driver type=...>, NULL = probe */
  bool readonly;                /* <readonly/> */
};

struct gbox_libvirt_domain {
  char *name;
  char *uuid;                   /* "xxxxxxxx-xxxx-..." */
  bool active;                  /* running (or paused) */
  struct gbox_libvirt_disk *disks;
  size_t nr_disks;
};

/* The domain called NAME (or whose UUID is NAME) on URI (NULL: libvirt's
 * default).  Returns 0, or -1 with a malloc'd message in *ERR. */
extern int gbox_libvirt_get_domain (const char *uri, const char *name,
                                    struct gbox_libvirt_domain *dom,
                                    char **err);

/* Every domain of URI, running or not, sorted by name (as libguestfs's
 * virt-df lists them).  A domain whose disks cannot be read has no
 * disks and its reason in *ERRS[i] (NULL otherwise).  Returns 0, or -1
 * with a malloc'd message in *ERR. */
extern int gbox_libvirt_list_domains (const char *uri,
                                      struct gbox_libvirt_domain **doms,
                                      char ***errs, size_t *n, char **err);

extern void gbox_libvirt_free_domain (struct gbox_libvirt_domain *dom);

/* The disks of a domain's XML DESC (exposed for the unit test).
 * Returns 0, or -1 with a malloc'd message in *ERR. */
extern int gbox_libvirt_parse_disks (const char *desc,
                                     struct gbox_libvirt_domain *dom,
                                     char **err);

#endif /* GUESTBOX_LIBVIRT_H */
