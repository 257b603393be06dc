/* guestbox - the appliance builder.
 * Copyright (C) 2026 the guestbox authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

/** Test of the newc cpio writer: an archive with directories, files of 0
 * bytes, 1 byte and 1 MiB, in-memory files and symlinks is listed with
 * both "bsdtar -tvf" and "cpio -itv" and extracted with bsdtar; names,
 * types, sizes, link targets, order and contents must match.  Also:
 * determinism, duplicates, bad names, and the gzip mode. */

#include <config.h>

#include "tests.h"

struct want {
  const char *name;
  char type;                    /* 'd', '-', 'l' */
  long size;                    /* -1: do not check (directories) */
  const char *target;           /* symlinks */
};

static const struct want wants[] = {
  { "a", 'd', -1, NULL },
  { "a/b", 'd', -1, NULL },
  { "a/big", '-', 1024 * 1024, NULL },
  { "a/empty", '-', 0, NULL },
  { "a/link", 'l', 3, "one" },
  { "a/one", '-', 1, NULL },
  { "abs", 'l', 6, "/a/big" },
  { "deep", 'd', -1, NULL },
  { "deep/er", 'd', -1, NULL },
  { "deep/er/data", '-', 6, NULL },
  { "tmp", 'd', -1, NULL },
};
#define NWANTS (sizeof wants / sizeof wants[0])

/* Parse "ls -l"-style listing lines (both tools print that shape):
 * MODE NLINK OWNER GROUP SIZE MON DAY YEAR NAME [-> TARGET]. */
static void
check_listing (const char *tool, char *text)
{
  char *line, *save = NULL;
  size_t seen = 0, i;

  for (line = strtok_r (text, "\n", &save); line;
       line = strtok_r (NULL, "\n", &save)) {
    char *f[12], *s2 = NULL, *tok;
    size_t n = 0;
    for (tok = strtok_r (line, " \t", &s2); tok && n < 12;
         tok = strtok_r (NULL, " \t", &s2))
      f[n++] = tok;
    if (n < 9)
      continue;
    if (strcmp (f[8], ".") == 0)
      continue;
    for (i = 0; i < NWANTS; ++i)
      if (strcmp (wants[i].name, f[8]) == 0)
        break;
    if (i == NWANTS) {
      CHECK (false, "%s: unexpected entry %s", tool, f[8]);
      continue;
    }
    CHECK (seen == i, "%s: %s listed in position %zu (want %zu)",
           tool, f[8], seen, i);
    seen++;
    CHECK (f[0][0] == wants[i].type, "%s: %s has type %c", tool,
           wants[i].name, wants[i].type);
    if (wants[i].size >= 0)
      CHECK (atol (f[4]) == wants[i].size, "%s: %s has size %ld (got %s)",
             tool, wants[i].name, wants[i].size, f[4]);
    if (wants[i].target)
      CHECK (n >= 11 && strcmp (f[9], "->") == 0 &&
             strcmp (f[10], wants[i].target) == 0,
             "%s: %s -> %s", tool, wants[i].name, wants[i].target);
    if (strcmp (wants[i].name, "tmp") == 0)
      CHECK (strcmp (f[0], "drwxrwxrwt") == 0, "%s: tmp has mode 1777 (%s)",
             tool, f[0]);
  }
  CHECK (seen == NWANTS, "%s: %zu entries listed (want %zu)", tool, seen,
         NWANTS);
}

static bool
same_file (const char *a, const char *b)
{
  struct gbox_app_ctx cx = { 0 };
  char *da, *db;
  size_t la, lb;
  bool r;

  if (gbox_app_read_file (&cx, a, 16 << 20, &da, &la) == -1)
    return false;
  if (gbox_app_read_file (&cx, b, 16 << 20, &db, &lb) == -1) {
    free (da);
    return false;
  }
  r = la == lb && memcmp (da, db, la) == 0;
  free (da);
  free (db);
  return r;
}

int
main (void)
{
  char err[512];
  struct gbox_app_ctx cx = test_ctx (err, sizeof err);
  struct gbox_app_cpio *a;
  char *dir, *empty, *one, *big, *arch, *arch2, *archgz, *ex, *out = NULL;
  char *p, *p2;
  unsigned char *bigdata;
  uint64_t bytes = 0, bytes2 = 0;
  size_t i;
  int fd, r;

  if (!test_have ("bsdtar") || !test_have ("cpio")) {
    printf ("test-cpio: bsdtar (libarchive-tools) or cpio not installed: "
            "skipped\n");
    return 77;
  }
  dir = test_tmpdir ();
  empty = gbox_app_asprintf ("%s/empty", dir);
  one = gbox_app_asprintf ("%s/one", dir);
  big = gbox_app_asprintf ("%s/big", dir);
  arch = gbox_app_asprintf ("%s/out.cpio", dir);
  arch2 = gbox_app_asprintf ("%s/out2.cpio", dir);
  archgz = gbox_app_asprintf ("%s/out.cpio.gz", dir);
  ex = gbox_app_asprintf ("%s/ex", dir);
  bigdata = malloc (1024 * 1024);
  for (i = 0; i < 1024 * 1024; ++i)
    bigdata[i] = (i * 2654435761u) >> 13;
  if (test_write_file (empty, "", 0) == -1 ||
      test_write_file (one, "x", 1) == -1 ||
      test_write_file (big, bigdata, 1024 * 1024) == -1) {
    perror ("write");
    return EXIT_FAILURE;
  }

  a = gbox_app_cpio_new ();
  CHECK (gbox_app_cpio_add_dir (&cx, a, "/a/b", 0755) == 0, "add /a/b");
  CHECK (gbox_app_cpio_add_file (&cx, a, "/a/empty", empty, 0644) == 0,
         "add a 0-byte file");
  CHECK (gbox_app_cpio_add_file (&cx, a, "a//one", one, 0644) == 0,
         "add a 1-byte file (name with //)");
  CHECK (gbox_app_cpio_add_file (&cx, a, "/a/big", big, 0755) == 0,
         "add a 1 MiB file");
  CHECK (gbox_app_cpio_add_symlink (&cx, a, "/a/link", "one") == 0,
         "add a relative symlink");
  CHECK (gbox_app_cpio_add_symlink (&cx, a, "/abs", "/a/big") == 0,
         "add an absolute symlink");
  CHECK (gbox_app_cpio_add_data (&cx, a, "/deep/er/data", "hello\n", 6,
                                 0600) == 0,
         "add an in-memory file with implicit parents");
  CHECK (gbox_app_cpio_add_dir (&cx, a, "/tmp", 01777) == 0, "add /tmp 1777");

  /* Duplicates and conflicts. */
  CHECK (gbox_app_cpio_add_file (&cx, a, "/a/one", one, 0644) == 0,
         "adding the same file twice is a no-op");
  CHECK (gbox_app_cpio_add_dir (&cx, a, "/a", 0755) == 0,
         "adding an existing directory is a no-op");
  CHECK (gbox_app_cpio_add_file (&cx, a, "/a/one", big, 0644) == -1,
         "a different file at a used name is refused (%s)", err);
  CHECK (gbox_app_cpio_add_symlink (&cx, a, "/a/one", "x") == -1,
         "a symlink over a file is refused");
  CHECK (gbox_app_cpio_add_file (&cx, a, "/a/one/x", one, 0644) == -1,
         "a file below a file is refused (%s)", err);
  CHECK (gbox_app_cpio_add_file (&cx, a, "/abs/x", one, 0644) == -1,
         "a file below a symlink is refused");
  {
    static const char *const bad[] = { "", "/", "../x", "a/./b", "a/../b",
                                       "a/..", NULL };
    for (i = 0; bad[i]; ++i)
      CHECK (gbox_app_cpio_add_data (&cx, a, bad[i], "", 0, 0644) == -1,
             "bad name \"%s\" is refused", bad[i]);
  }
  CHECK (gbox_app_cpio_count (a) == NWANTS, "%zu entries (want %zu)",
         gbox_app_cpio_count (a), NWANTS);
  CHECK (gbox_app_cpio_lookup (a, "/a/link") == GBOX_APP_CPIO_SYMLINK &&
         gbox_app_cpio_lookup (a, "deep/er") == GBOX_APP_CPIO_DIR &&
         gbox_app_cpio_lookup (a, "/nope") == -1, "lookup");

  fd = open (arch, O_WRONLY | O_CREAT | O_EXCL, 0644);
  CHECK (gbox_app_cpio_write (&cx, a, fd, false, &bytes) == 0,
         "write the archive (%s)", err);
  close (fd);
  fd = open (arch2, O_WRONLY | O_CREAT | O_EXCL, 0644);
  CHECK (gbox_app_cpio_write (&cx, a, fd, false, &bytes2) == 0,
         "write it again");
  close (fd);
  CHECK (bytes > 1024 * 1024 && bytes % 4 == 0,
         "archive size %llu is a multiple of 4", (unsigned long long) bytes);
  CHECK (bytes == bytes2 && same_file (arch, arch2),
         "the output is deterministic");
  {
    struct gbox_app_ctx q = { 0 };
    char *data;
    size_t len;
    if (gbox_app_read_file (&q, arch, 16 << 20, &data, &len) == 0) {
      CHECK (len >= 6 && memcmp (data, "070701", 6) == 0,
             "starts with the newc magic");
      CHECK (memmem (data, len, "TRAILER!!!", 11) != NULL,
             "has the TRAILER!!! entry");
      /* mtime field (offset 46) of the first header is 0. */
      CHECK (len > 54 && memcmp (data + 46, "00000000", 8) == 0,
             "mtime is fixed at 0");
      free (data);
    }
  }

  {
    char *argv[] = { "bsdtar", "-tvf", arch, NULL };
    r = test_run (argv, NULL, &out);
    CHECK (r == 0, "bsdtar -tvf exits 0");
    check_listing ("bsdtar", out);
    free (out);
  }
  {
    char *argv[] = { "cpio", "-itv", "--quiet", NULL };
    r = test_run (argv, arch, &out);
    CHECK (r == 0, "cpio -itv exits 0");
    check_listing ("cpio", out);
    free (out);
  }

  mkdir (ex, 0755);
  {
    char *argv[] = { "bsdtar", "-xf", arch, "-C", ex, NULL };
    char target[64];
    ssize_t n;
    CHECK (test_run (argv, NULL, NULL) == 0, "bsdtar -xf exits 0");
    p = gbox_app_asprintf ("%s/a/big", ex);
    CHECK (same_file (p, big), "extracted 1 MiB file has the same bytes");
    free (p);
    p = gbox_app_asprintf ("%s/a/one", ex);
    CHECK (same_file (p, one), "extracted 1-byte file has the same bytes");
    free (p);
    p = gbox_app_asprintf ("%s/a/empty", ex);
    CHECK (same_file (p, empty), "extracted 0-byte file is empty");
    free (p);
    p = gbox_app_asprintf ("%s/deep/er/data", ex);
    p2 = gbox_app_asprintf ("%s/data", dir);
    test_write_file (p2, "hello\n", 6);
    CHECK (same_file (p, p2), "extracted in-memory file has its contents");
    free (p);
    free (p2);
    p = gbox_app_asprintf ("%s/a/link", ex);
    n = readlink (p, target, sizeof target - 1);
    CHECK (n == 3 && memcmp (target, "one", 3) == 0,
           "extracted symlink points to \"one\"");
    free (p);
  }

  /* gzip mode. */
  fd = open (archgz, O_WRONLY | O_CREAT | O_EXCL, 0644);
  CHECK (gbox_app_cpio_write (&cx, a, fd, true, &bytes2) == 0,
         "write the gzip archive");
  close (fd);
  CHECK (bytes2 > 0 && bytes2 < bytes, "gzip archive is smaller (%llu < %llu)",
         (unsigned long long) bytes2, (unsigned long long) bytes);
  {
    char *argv[] = { "bsdtar", "-tvf", archgz, NULL };
    unsigned char m[2] = { 0 };
    fd = open (archgz, O_RDONLY);
    if (fd >= 0) {
      CHECK (read (fd, m, 2) == 2 && m[0] == 0x1f && m[1] == 0x8b,
             "gzip magic");
      close (fd);
    }
    r = test_run (argv, NULL, &out);
    CHECK (r == 0, "bsdtar -tvf reads the gzip archive");
    check_listing ("bsdtar (gzip)", out);
    free (out);
  }

  /* A source file that disappeared gives an error, not a bad archive. */
  {
    struct gbox_app_cpio *b = gbox_app_cpio_new ();
    char *gone = gbox_app_asprintf ("%s/gone", dir);
    char *o = gbox_app_asprintf ("%s/gone.cpio", dir);
    gbox_app_cpio_add_file (&cx, b, "/x", gone, 0644);
    fd = open (o, O_WRONLY | O_CREAT | O_EXCL, 0644);
    CHECK (gbox_app_cpio_write (&cx, b, fd, false, NULL) == -1 &&
           strstr (err, "gone") != NULL,
           "missing source file is an error (%s)", err);
    close (fd);
    gbox_app_cpio_free (b);
    free (gone);
    free (o);
  }

  gbox_app_cpio_free (a);
  gbox_app_rmtree (dir);
  free (dir);
  free (empty);
  free (one);
  free (big);
  free (arch);
  free (arch2);
  free (archgz);
  free (ex);
  free (bigdata);
  return check_finish ("test-cpio");
}
