/* guestbox - unit test of the filesystem module lists and of exact
 * lookups on case-sensitive filesystems (no VM).
 * Copyright (C) 2026 the guestbox authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

/**
 * fs_modules (modules.c, from common/fstypes.def): every module a
 * filesystem type needs is listed (FAT's codepage and charsets
 * included: the 5th and 6th entries of a list were once never loaded,
 * so vfat with iocharset=iso8859-1 failed on a cold boot); every type
 * of the table gives its own modules, at most GBOX_FS_MODULES_MAX.  open_in_root on a case-sensitive directory tree: a
 * name in another letter case is not found (case is only ignored on
 * NTFS and FAT).
 */

#include <config.h>

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>

#include "daemon.h"
#include "check.h"
#include "fstypes.h"

static bool
has (const char **names, size_t n, const char *name)
{
  size_t i;

  for (i = 0; i < n; ++i)
    if (strcmp (names[i], name) == 0)
      return true;
  return false;
}

int
main (void)
{
  static const struct {
    const char *fstype;
    size_t n;
    const char *last;
  } tests[] = {
    { "vfat", 5, "nls_iso8859_1" },
    { "msdos", 4, "nls_iso8859_1" },
    { "ext4", 1, "ext4" },
    { "ntfs", 1, "fuse" },
    { "f2fs", 1, "f2fs" },
    { "vxfs", 1, "freevxfs" },
    { "zonefs", 1, "zonefs" },  /* not in the table: its own name */
  };
  const char *names[6];
  char tmpl[] = "/tmp/gbox-test-mount-XXXXXX", path[256];
  size_t i, n;
  int root, fd;

  for (i = 0; i < sizeof tests / sizeof tests[0]; ++i) {
    n = fs_modules (tests[i].fstype, names);
    CHECK (n == tests[i].n && strcmp (names[n - 1], tests[i].last) == 0,
           "%s: %zu modules, the last %s", tests[i].fstype, n,
           n ? names[n - 1] : "-");
  }
  for (i = 0; i < sizeof gbox_fstypes / sizeof gbox_fstypes[0]; ++i) {
    const struct gbox_fstype *t = &gbox_fstypes[i];
    size_t want = 0;
    while (want < GBOX_FS_MODULES_MAX && t->modules[want])
      ++want;
    n = fs_modules (t->name, names);
    /* By content: the same name may be another copy of the literal
     * (sanitizer builds do not merge string constants). */
    CHECK (want == 0 ? n == 1 && strcmp (names[0], t->name) == 0 :
           n == want && strcmp (names[0], t->modules[0]) == 0 &&
           strcmp (names[n - 1], t->modules[n - 1]) == 0 &&
           gbox_fstype_find (t->name) == t,
           "table: %s: %zu modules", t->name, n);
  }
  n = fs_modules ("vfat", names);
  CHECK (has (names, n, "vfat") && has (names, n, "nls_cp437") &&
         has (names, n, "nls_ascii") && has (names, n, "nls_utf8") &&
         has (names, n, "nls_iso8859_1"),
         "vfat: its module, codepage 437 and the ascii, utf8 and "
         "iso8859-1 charsets");

  if (mkdtemp (tmpl) == NULL) {
    perror ("mkdtemp");
    return 1;
  }
  snprintf (path, sizeof path, "%s/Dir", tmpl);
  mkdir (path, 0755);
  snprintf (path, sizeof path, "%s/Dir/File", tmpl);
  close (open (path, O_WRONLY | O_CREAT, 0644));
  root = open (tmpl, O_PATH | O_DIRECTORY);
  fd = open_in_root (root, "/Dir/File", O_PATH, 0);
  CHECK (fd >= 0, "exact name found");
  if (fd >= 0)
    close (fd);
  errno = 0;
  fd = open_in_root (root, "/dir/FILE", O_PATH, 0);
  CHECK (fd == -1 && errno == ENOENT,
         "another letter case: not found on a case-sensitive tree");
  CHECK (caseless_path (root, "/dir/FILE") == NULL,
         "caseless_path: nothing replaced on a case-sensitive tree");
  close (root);
  unlink (path);
  snprintf (path, sizeof path, "%s/Dir", tmpl);
  rmdir (path);
  rmdir (tmpl);
  return check_finish ("test-mount");
}
