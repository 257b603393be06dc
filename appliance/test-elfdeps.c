/* guestbox - the appliance builder.
 * Copyright (C) 2026 the guestbox authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

/** Test of the ELF dependency walker: the closure of /bin/ls (libc and
 * the interpreter), copying a program with its symlinks into an archive,
 * scripts, and hostile ELF files: synthetic ones with bad offsets, sizes
 * and string tables, truncated copies of /bin/ls, and garbage. */

#include <config.h>

#include <limits.h>

#include "tests.h"

/* A synthetic ELF64 x86-64 shared object: ELF header, PT_LOAD over the
 * whole file, PT_DYNAMIC, dynamic entries, string table. */
struct synth {
  const char *what;
  const char *needed;           /* a DT_NEEDED name */
  unsigned char class;          /* 2 = ELFCLASS64 */
  uint64_t phoff;               /* 0: normal */
  unsigned phnum;               /* 0: normal */
  uint64_t dyn_off;             /* 0: normal */
  uint64_t strtab_addr;         /* 0: normal */
  uint64_t strsz;               /* 0: normal */
  uint64_t needed_off;          /* UINT64_MAX: normal */
  int want_read;                /* expected gbox_app_elf_read result */
  int want_closure;             /* expected gbox_app_elf_closure result */
  const char *want_err;         /* substring of the error */
};

static const struct synth synths[] = {
  { "valid, needs libc.so.6", "libc.so.6", 2, 0, 0, 0, 0, 0, UINT64_MAX,
    0, 0, NULL },
  { "needs a missing library", "libdoesnotexist.so.42", 2, 0, 0, 0, 0, 0,
    UINT64_MAX, 0, -1, "libdoesnotexist.so.42 not found" },
  { "ELFCLASS32", "libc.so.6", 1, 0, 0, 0, 0, 0, UINT64_MAX, -1, -1,
    "x86-64" },
  { "program headers past the end", "libc.so.6", 2, 1ULL << 40, 0, 0, 0, 0,
    UINT64_MAX, -1, -1, "program headers" },
  { "60000 program headers", "libc.so.6", 2, 0, 60000, 0, 0, 0, UINT64_MAX,
    -1, -1, "program headers" },
  { "PT_DYNAMIC past the end", "libc.so.6", 2, 0, 0, 1ULL << 33, 0, 0,
    UINT64_MAX, -1, -1, "PT_DYNAMIC" },
  { "string table not in any PT_LOAD", "libc.so.6", 2, 0, 0, 0, 0x7000000,
    0, UINT64_MAX, -1, -1, "string table" },
  { "huge DT_STRSZ", "libc.so.6", 2, 0, 0, 0, 0, 1ULL << 30, UINT64_MAX, -1,
    -1, "string table" },
  { "DT_STRSZ past the end", "libc.so.6", 2, 0, 0, 0, 0, 100000, UINT64_MAX,
    -1, -1, "string table" },
  { "DT_NEEDED offset outside the table", "libc.so.6", 2, 0, 0, 0, 0, 0,
    5000, -1, -1, "DT_NEEDED" },
  { "DT_NEEDED string without its NUL", "libc.so.6", 2, 0, 0, 0, 0, 5, 1,
    -1, -1, "DT_NEEDED" },
};

static void
put16 (unsigned char *p, uint16_t v)
{
  p[0] = v;
  p[1] = v >> 8;
}

static void
put32 (unsigned char *p, uint32_t v)
{
  put16 (p, v);
  put16 (p + 2, v >> 16);
}

static void
put64 (unsigned char *p, uint64_t v)
{
  put32 (p, v);
  put32 (p + 4, v >> 32);
}

static bool
same_strv (const struct gbox_app_strv *a, const struct gbox_app_strv *b)
{
  size_t i;

  if (a->n != b->n)
    return false;
  for (i = 0; i < a->n; ++i)
    if (strcmp (a->v[i], b->v[i]) != 0)
      return false;
  return true;
}

/* Write the synthetic ELF for S to PATH. */
static void
write_synth (const struct synth *s, const char *path)
{
  unsigned char f[512];
  const size_t dyn = 176, str = 240;
  size_t len = str + 1 + strlen (s->needed) + 1, total = 512;

  memset (f, 0, sizeof f);
  memcpy (f, "\177ELF", 4);
  f[4] = s->class;
  f[5] = 1;
  f[6] = 1;
  put16 (f + 16, 3);            /* ET_DYN */
  put16 (f + 18, 62);           /* EM_X86_64 */
  put32 (f + 20, 1);
  put64 (f + 32, s->phoff ? s->phoff : 64);
  put16 (f + 52, 64);
  put16 (f + 54, 56);
  put16 (f + 56, s->phnum ? s->phnum : 2);
  /* PT_LOAD */
  put32 (f + 64, 1);
  put64 (f + 64 + 8, 0);
  put64 (f + 64 + 16, 0);
  put64 (f + 64 + 32, total);
  put64 (f + 64 + 40, total);
  /* PT_DYNAMIC */
  put32 (f + 120, 2);
  put64 (f + 120 + 8, s->dyn_off ? s->dyn_off : dyn);
  put64 (f + 120 + 16, dyn);
  put64 (f + 120 + 32, 64);
  /* Dynamic entries. */
  put64 (f + dyn, 1);           /* DT_NEEDED */
  put64 (f + dyn + 8, s->needed_off != UINT64_MAX ? s->needed_off : 1);
  put64 (f + dyn + 16, 5);      /* DT_STRTAB */
  put64 (f + dyn + 24, s->strtab_addr ? s->strtab_addr : str);
  put64 (f + dyn + 32, 10);     /* DT_STRSZ */
  put64 (f + dyn + 40, s->strsz ? s->strsz : len - str);
  /* DT_NULL is the zeroes that follow. */
  strcpy ((char *) f + str + 1, s->needed);
  test_write_file (path, f, total);
}

static void
test_synthetic (const char *dir)
{
  char err[512];
  struct gbox_app_ctx cx = test_ctx (err, sizeof err);
  char *path = gbox_app_asprintf ("%s/synth.so", dir);
  size_t i, j;

  for (i = 0; i < sizeof synths / sizeof synths[0]; ++i) {
    const struct synth *s = &synths[i];
    struct gbox_app_elf e;
    struct gbox_app_strv libs = { 0 };
    int r;

    unlink (path);
    write_synth (s, path);
    err[0] = '\0';
    r = gbox_app_elf_read (&cx, path, &e);
    CHECK (r == s->want_read, "%s: read gives %d (%s)", s->what,
           s->want_read, err);
    if (r == 0) {
      CHECK (e.needed.n == 1 && strcmp (e.needed.v[0], s->needed) == 0,
             "%s: DT_NEEDED is %s", s->what, s->needed);
      gbox_app_elf_free (&e);
    }
    err[0] = '\0';
    r = gbox_app_elf_closure (&cx, path, &libs);
    CHECK (r == s->want_closure, "%s: closure gives %d (%s)", s->what,
           s->want_closure, err);
    if (s->want_err)
      CHECK (strstr (err, s->want_err) != NULL, "%s: error mentions \"%s\"",
             s->what, s->want_err);
    if (r == 0) {
      bool libc = false;
      for (j = 0; j < libs.n; ++j)
        if (strstr (libs.v[j], "/libc.so.6"))
          libc = true;
      CHECK (libc, "%s: closure has libc.so.6", s->what);
    }
    gbox_app_strv_free (&libs);
  }
  free (path);
}

static void
test_ls (const char *dir)
{
  char err[512];
  struct gbox_app_ctx cx = test_ctx (err, sizeof err);
  struct gbox_app_elf e;
  struct gbox_app_strv libs = { 0 };
  struct gbox_app_cpio *a;
  char *ls = gbox_app_find_program ("ls");
  char *real, *interp_real = NULL;
  bool libc = false, interp = false;
  size_t i;

  CHECK (ls != NULL, "ls is found in the bin directories (%s)",
         ls ? ls : "none");
  if (!ls)
    return;
  CHECK (gbox_app_elf_read (&cx, ls, &e) == 0, "read %s (%s)", ls, err);
  CHECK (e.interp != NULL && e.interp[0] == '/', "%s has an interpreter "
         "(%s)", ls, e.interp ? e.interp : "none");
  CHECK (gbox_app_strv_contains (&e.needed, "libc.so.6"),
         "%s needs libc.so.6", ls);
  CHECK (gbox_app_elf_closure (&cx, ls, &libs) == 0, "closure of %s (%s)",
         ls, err);
  for (i = 0; i < libs.n; ++i) {
    printf ("  %s\n", libs.v[i]);
    if (strstr (libs.v[i], "/libc.so.6"))
      libc = true;
    if (e.interp && strcmp (libs.v[i], e.interp) == 0)
      interp = true;
  }
  CHECK (libc, "the closure includes libc.so.6");
  CHECK (interp, "the closure includes the interpreter %s", e.interp);

  /* Into an archive: the program, its libraries, the host's symlinks. */
  a = gbox_app_cpio_new ();
  CHECK (gbox_app_add_program (&cx, a, ls, NULL) == 0, "add %s (%s)", ls,
         err);
  real = realpath (ls, NULL);
  CHECK (gbox_app_cpio_lookup (a, real) == GBOX_APP_CPIO_FILE,
         "%s is a file in the archive", real);
  if (e.interp) {
    struct stat st;
    interp_real = realpath (e.interp, NULL);
    CHECK (interp_real && gbox_app_cpio_lookup (a, interp_real) ==
           GBOX_APP_CPIO_FILE, "interpreter %s is a file in the archive",
           interp_real);
    if (lstat (e.interp, &st) == 0 && S_ISLNK (st.st_mode)) {
      /* The link itself lives in its directory's real path. */
      char *d = strdup (e.interp), *slash = strrchr (d, '/'), *rd, *link;
      *slash = '\0';
      rd = realpath (d, NULL);
      link = gbox_app_asprintf ("%s/%s", rd, slash + 1);
      CHECK (gbox_app_cpio_lookup (a, link) == GBOX_APP_CPIO_SYMLINK,
             "%s (%s) is a symlink in the archive, as on the host",
             e.interp, link);
      free (d);
      free (rd);
      free (link);
    }
  }
  {
    static const char *const tops[] = { "/lib", "/lib64", NULL };
    for (i = 0; tops[i]; ++i) {
      struct stat st;
      if (lstat (tops[i], &st) == 0 && S_ISLNK (st.st_mode) &&
          e.interp && strncmp (e.interp, tops[i], strlen (tops[i])) == 0)
        CHECK (gbox_app_cpio_lookup (a, tops[i]) == GBOX_APP_CPIO_SYMLINK,
               "%s is replicated as a symlink", tops[i]);
    }
  }
  CHECK (gbox_app_add_program (&cx, a, ls, "/init") == 0 &&
         gbox_app_cpio_lookup (a, "/init") == GBOX_APP_CPIO_FILE,
         "a program can be stored under another name (/init)");
  CHECK (gbox_app_add_program (&cx, a, ls, NULL) == 0,
         "adding the same program twice is fine");

  /* A script brings its interpreter. */
  {
    char *script = gbox_app_asprintf ("%s/script", dir);
    char *sh = realpath ("/bin/sh", NULL);
    test_write_file (script, "#!/bin/sh -e\necho hi\n", 21);
    CHECK (gbox_app_add_program (&cx, a, script, NULL) == 0,
           "add a #! script (%s)", err);
    CHECK (sh && gbox_app_cpio_lookup (a, sh) == GBOX_APP_CPIO_FILE,
           "the script's interpreter %s is included", sh);
    test_write_file (script, "#!sh\n", 5);
    CHECK (gbox_app_add_program (&cx, a, script, NULL) == -1,
           "a relative #! interpreter is an error (%s)", err);
    test_write_file (script, "#!/no/such/interp\n", 18);
    CHECK (gbox_app_add_program (&cx, a, script, NULL) == -1,
           "a missing #! interpreter is an error (%s)", err);
    free (script);
    free (sh);
  }
  CHECK (gbox_app_find_program ("no-such-program-guestbox") == NULL,
         "a missing program is not found");

  gbox_app_cpio_free (a);
  gbox_app_elf_free (&e);
  gbox_app_strv_free (&libs);
  free (real);
  free (interp_real);
  free (ls);
}

static void
test_garbage (const char *dir)
{
  char err[512];
  struct gbox_app_ctx cx = test_ctx (err, sizeof err);
  char *ls = gbox_app_find_program ("ls");
  char *path = gbox_app_asprintf ("%s/garbage", dir);
  static const size_t cuts[] = { 0, 3, 10, 63, 64, 100, 200, 1000 };
  struct gbox_app_elf e, full;
  struct stat st;
  unsigned char rnd[8192];
  size_t i, j;

  /* Truncated copies of /bin/ls: always an error at these sizes (the
   * program headers or the dynamic section are cut off). */
  for (i = 0; ls && i < sizeof cuts / sizeof cuts[0]; ++i) {
    unlink (path);
    test_copy_prefix (ls, path, cuts[i]);
    CHECK (gbox_app_elf_read (&cx, path, &e) == -1,
           "ls truncated to %zu bytes: error (%s)", cuts[i], err);
  }
  /* Larger cuts: either an error that names the file, or exactly what
   * the whole file gives (the headers and the dynamic section are
   * near its start). */
  if (ls && stat (ls, &st) == 0 && gbox_app_elf_read (&cx, ls, &full) == 0) {
    for (i = 1; i < 8; ++i) {
      int r;
      bool same = false;
      err[0] = '\0';
      unlink (path);
      test_copy_prefix (ls, path, st.st_size * i / 8);
      r = gbox_app_elf_read (&cx, path, &e);
      if (r == 0) {
        same = same_strv (&e.needed, &full.needed) &&
          ((e.interp == NULL && full.interp == NULL) ||
           (e.interp && full.interp && strcmp (e.interp, full.interp) == 0));
        gbox_app_elf_free (&e);
      }
      CHECK (r == 0 ? same : r == -1 && strstr (err, path) != NULL,
             "ls truncated to %zu/8: %s (%s)", i,
             r == 0 ? "the same libraries" : "error", err);
    }
    gbox_app_elf_free (&full);
  }
  /* Random bytes, with and without an ELF magic in front. */
  for (i = 0; i < 20; ++i) {
    uint32_t x = 2463534242u + i;
    int r;
    for (j = 0; j < sizeof rnd; ++j) {
      x ^= x << 13;
      x ^= x >> 17;
      x ^= x << 5;
      rnd[j] = x;
    }
    if (i % 2) {
      memcpy (rnd, "\177ELF\2\1\1", 7);
      rnd[18] = 62;
      rnd[19] = 0;
      rnd[54] = 56;
      rnd[55] = 0;
      rnd[57] = 0;
    }
    unlink (path);
    test_write_file (path, rnd, sizeof rnd);
    err[0] = '\0';
    r = gbox_app_elf_read (&cx, path, &e);
    if (r == 0)
      gbox_app_elf_free (&e);
    /* The seeds are fixed: none of these is a valid ELF file. */
    CHECK (r == -1 && strstr (err, path) != NULL,
           "random bytes #%zu%s: %s (%s)", i, i % 2 ? " with ELF header" : "",
           r == 0 ? "parsed" : "error", err);
  }
  CHECK (gbox_app_elf_read (&cx, "/etc/passwd", &e) == -1 &&
         strstr (err, "not an ELF") != NULL, "a text file: %s", err);
  CHECK (gbox_app_elf_read (&cx, dir, &e) == -1, "a directory: %s", err);
  free (path);
  free (ls);
}

int
main (void)
{
  char *dir = test_tmpdir ();

  test_synthetic (dir);
  test_ls (dir);
  test_garbage (dir);
  gbox_app_rmtree (dir);
  free (dir);
  return check_finish ("test-elfdeps");
}
