/* guestbox - the appliance builder.
 * Copyright (C) 2026 the guestbox authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

/** The public API of libgbappliance.a: find or build the cached appliance
 * (an uncompressed ELF kernel "vmlinux" bootable through the PVH entry, an
 * uncompressed newc cpio "initrd", and "root", an EROFS image of /usr that
 * init mounts read-only from a virtio-blk disk) made from the host at run
 * time.
 *
 * Layout of the appliance's files (what the daemon and init can rely
 * on); the initrd holds everything outside /usr, plus the module indexes
 * and the boot modules' files (init loads them before it mounts /usr):
 *   /init                                the init binary (spec->init),
 *                                        statically linked
 *   /usr/sbin/guestboxd                  the daemon (spec->daemon)
 *   /usr/lib/modules/VERSION/...         the .ko files, at the same relative
 *                                        paths as on the host (uncompressed)
 *   /usr/lib/modules/VERSION/modules.dep filtered to the included modules,
 *                                        same format as depmod's; "pre:" soft
 *                                        dependencies (e.g. ext4 needs the
 *                                        crc32c algorithm) are appended to a
 *                                        module's dependency list, so loading
 *                                        the closure is enough
 *   /usr/lib/modules/VERSION/modules.builtin  copied from the host
 *   /etc/guestbox/modules.boot           module names to load at boot, one a
 *                                        line, dependencies first
 *   /etc/guestbox/programs               the optional programs included, one
 *                                        name a line
 *   host programs and their shared libraries at their real host paths, with
 *   the host's symlinks (/bin -> usr/bin ...) replicated.
 */

#ifndef GBOX_APPLIANCE_H
#define GBOX_APPLIANCE_H

#include <stddef.h>

struct gbox_appliance_spec {
  const char *kernel;        /* NULL: $GBOX_KERNEL, else newest readable /boot/vmlinuz-* (version sort) */
  const char *daemon;        /* host path of guestboxd  -> /usr/sbin/guestboxd in the initrd */
  const char *init;          /* host path of guestbox-init -> /init */
  const char *cachedir;      /* NULL: $XDG_CACHE_HOME/guestbox, else /var/tmp/guestbox-UID */
  void (*debug) (void *opaque, const char *msg);  /* may be NULL */
  void *opaque;
  /* Added fields (zero-initialise the struct). */
  int gzip;                  /* 1: gzip the initrd (benchmarks only; part of the key) */
};

struct gbox_appliance {
  char *dir;                 /* the published cache entry directory */
  char *kernel;              /* DIR/vmlinux */
  char *initrd;              /* DIR/initrd */
  char *key;                 /* hex cache key */
  char *kernel_version;      /* e.g. "6.1.0-56-amd64" */
  char **programs;           /* NULL-terminated: programs actually included */
  /* Added fields. */
  int built;                 /* 1 if this call built the entry, 0 on a cache hit */
};

/* 0 on success; -1 with a one-line message in err (what failed + how to fix). */
extern int gbox_appliance_get (const struct gbox_appliance_spec *spec,
                               struct gbox_appliance *app,
                               char *err, size_t errlen);
extern void gbox_appliance_free (struct gbox_appliance *app);

extern const char *const gbox_appliance_boot_modules[];  /* loaded by init at boot, in this order */
extern const char *const gbox_appliance_disk_modules[];  /* loaded by the daemon once it is ready */
extern const char *const gbox_appliance_modules[];       /* included, loaded on demand by the daemon */
extern const char *const gbox_appliance_programs[];      /* host programs to include when present */

#endif /* GBOX_APPLIANCE_H */
