/* guestbox - the filesystem types.
 * Copyright (C) 2026 the guestbox authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

/**
 * The table of fstypes.def as an array of struct gbox_fstype, and the
 * lookup by name.  Header-only (a static table of a few dozen rows) so
 * that the daemon, which links nothing of libguestbox, the commands and
 * the appliance builder all read the same one.
 */

#ifndef GUESTBOX_FSTYPES_H
#define GUESTBOX_FSTYPES_H

#include <stddef.h>
#include <string.h>

#define GBOX_FS_MODULES_MAX 6

enum {
  GBOX_FS_TRIM = 1,             /* virt-sparsify trims it */
  GBOX_FS_FILL = 2,             /* virt-zerofree fills it */
  GBOX_FS_FUSE = 4,             /* mounted by a FUSE program */
  GBOX_FS_EXT = 8,              /* ext2, ext3, ext4 */
};

struct gbox_fstype {
  const char *name;
  const char *modules[GBOX_FS_MODULES_MAX]; /* NULL after the last */
  unsigned flags;
  const char *grow;             /* virt-resize's method, or NULL */
  const char *grow_program;     /* the program it runs */
};

static const struct gbox_fstype gbox_fstypes[] __attribute__((unused)) = {
#define MODS(...) { __VA_ARGS__ }
#define NOMODS { NULL }
#define FSTYPE(name, modules, flags, grow, program) \
  { name, modules, flags, grow, program },
#include "fstypes.def"
#undef FSTYPE
#undef NOMODS
#undef MODS
};

/* The row of NAME, or NULL. */
static inline const struct gbox_fstype *
gbox_fstype_find (const char *name)
{
  size_t i;

  for (i = 0; i < sizeof gbox_fstypes / sizeof gbox_fstypes[0]; ++i)
    if (strcmp (gbox_fstypes[i].name, name) == 0)
      return &gbox_fstypes[i];
  return NULL;
}

/* Whether NAME has all of FLAGS. */
static inline int
gbox_fstype_has (const char *name, unsigned flags)
{
  const struct gbox_fstype *t = gbox_fstype_find (name);

  return t != NULL && (t->flags & flags) == flags;
}

#endif /* GUESTBOX_FSTYPES_H */
