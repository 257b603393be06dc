/* guestbox - the order in which a guest's filesystems are mounted.
 * Copyright (C) 2026 the guestbox authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

/** One rule, shared by the library (which plans the mounts) and the
 * daemon (whose inspect_mount the library checks against its plan):
 * parents before children, that is the shortest mountpoint first ("/"
 * first); equal lengths by name, then by device, so that the order is
 * stable and readable. */

#ifndef GUESTBOX_MOUNT_ORDER_H
#define GUESTBOX_MOUNT_ORDER_H

#include <string.h>

static inline int
gbox_mount_order (const char *mp1, const char *dev1,
                  const char *mp2, const char *dev2)
{
  size_t l1 = strlen (mp1), l2 = strlen (mp2);
  int c;

  if (l1 != l2)
    return l1 < l2 ? -1 : 1;
  c = strcmp (mp1, mp2);
  return c ? c : strcmp (dev1, dev2);
}

#endif /* GUESTBOX_MOUNT_ORDER_H */
