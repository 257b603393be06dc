/* guestbox - the appliance builder.
 * Copyright (C) 2026 the guestbox authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

/** Test of the modules.dep handling: closure and load order on a fixture
 * (hard and soft dependencies, aliases, built-ins, '-'/'_'), the filtered
 * modules.dep, copying (and decompressing) .ko files into an archive,
 * hostile input (huge lines, no colon, cycles, "..", thousands of
 * dependencies), and the real modules.dep of the appliance kernel. */

#include <config.h>

#include <lzma.h>
#include <time.h>

#include "tests.h"

static const char fixture_dep[] =
  "kernel/fs/ext4/ext4.ko: kernel/lib/crc16.ko kernel/fs/mbcache.ko kernel/fs/jbd2/jbd2.ko\n"
  "kernel/lib/crc16.ko:\n"
  "kernel/fs/mbcache.ko:\n"
  "kernel/fs/jbd2/jbd2.ko:\n"
  "kernel/drivers/md/dm-mod.ko:\n"
  "kernel/drivers/md/dm-snapshot.ko: kernel/drivers/md/dm-bufio.ko kernel/drivers/md/dm-mod.ko\n"
  "kernel/drivers/md/dm-bufio.ko: kernel/drivers/md/dm-mod.ko\n"
  "kernel/crypto/crc32c_generic.ko:\n"
  "kernel/arch/x86/crypto/crc32c-intel.ko:\n"
  "kernel/fs/xfs/xfs.ko.xz: kernel/lib/libcrc32c.ko\n"
  "kernel/lib/libcrc32c.ko:\n"
  "kernel/fs/zz/zz.ko.zst:\n"
  "\n"
  "# a comment\n";
static const char fixture_softdep[] =
  "# comment\n"
  "softdep jbd2 pre: crypto-crc32c\n"
  "softdep libcrc32c pre: crc32c post: nosuch\n"
  "softdep ext4 pre: sha256 crc16\n"
  "softdep nosuchmodule pre: crc16\n";
static const char fixture_alias[] =
  "alias crypto-crc32c crc32c_intel\n"
  "alias crypto-crc32c crc32c_generic\n"
  "alias crc32c crc32c_intel\n"
  "alias crc32c crc32c_generic\n"
  "alias pci:v00001AF4d* virtio_pci\n";
static const char fixture_builtin[] = "kernel/fs/nls/nls_utf8.ko\n";
static const char fixture_modinfo[] =
  "sha256_generic.alias=sha256\0sha256_generic.license=GPL\0";

static ssize_t
position (const struct gbox_app_moddb *db, const char *name)
{
  size_t i;

  for (i = 0; i < gbox_app_moddb_nselected (db); ++i)
    if (strcmp (gbox_app_moddb_name (db, i), name) == 0)
      return i;
  return -1;
}

/* Selecting ROOT from the fixture: each pair (a, b) means a is loaded
 * before b; names in ABSENT must not be selected. */
static const struct {
  const char *root;
  int result;
  const char *before[8][2];
  const char *absent[4];
} closures[] = {
  { "ext4", GBOX_APP_MOD_ADDED,
    { { "jbd2", "ext4" }, { "mbcache", "ext4" }, { "crc16", "ext4" },
      { "crc32c_generic", "jbd2" } },
    { "crc32c_intel", "sha256", "dm_mod" } },
  { "dm-snapshot", GBOX_APP_MOD_ADDED,
    { { "dm_mod", "dm_bufio" }, { "dm_bufio", "dm_snapshot" } },
    { "crc32c_intel" } },
  { "xfs", GBOX_APP_MOD_ADDED,
    { { "crc32c_generic", "libcrc32c" }, { "libcrc32c", "xfs" } },
    { "nosuch" } },
  { "nls_utf8", GBOX_APP_MOD_BUILTIN, { { NULL } }, { NULL } },
  { "no_such_module", GBOX_APP_MOD_MISSING, { { NULL } }, { NULL } },
};

static void
test_fixture (const char *dir)
{
  char err[512];
  struct gbox_app_ctx cx = test_ctx (err, sizeof err);
  struct gbox_app_moddb *db;
  size_t i, j;
  char *filtered;

  for (i = 0; i < sizeof closures / sizeof closures[0]; ++i) {
    db = gbox_app_moddb_new ();
    CHECK (gbox_app_moddb_parse (&cx, db, fixture_dep, fixture_softdep,
                                 fixture_alias, fixture_builtin,
                                 fixture_modinfo,
                                 sizeof fixture_modinfo) == 0,
           "parse the fixture (%s)", err);
    CHECK (gbox_app_moddb_select (&cx, db, closures[i].root) ==
           closures[i].result, "select %s gives %d", closures[i].root,
           closures[i].result);
    for (j = 0; j < 8 && closures[i].before[j][0]; ++j) {
      ssize_t a = position (db, closures[i].before[j][0]);
      ssize_t b = position (db, closures[i].before[j][1]);
      CHECK (a >= 0 && b >= 0 && a < b, "%s: %s is loaded before %s",
             closures[i].root, closures[i].before[j][0],
             closures[i].before[j][1]);
    }
    for (j = 0; j < 4 && closures[i].absent[j]; ++j)
      CHECK (position (db, closures[i].absent[j]) == -1,
             "%s: %s is not selected", closures[i].root,
             closures[i].absent[j]);
    if (closures[i].result != GBOX_APP_MOD_ADDED)
      CHECK (gbox_app_moddb_nselected (db) == 0, "%s: nothing selected",
             closures[i].root);
    gbox_app_moddb_free (db);
  }

  /* The filtered modules.dep, exactly. */
  db = gbox_app_moddb_new ();
  gbox_app_moddb_parse (&cx, db, fixture_dep, fixture_softdep,
                        fixture_alias, fixture_builtin, fixture_modinfo,
                        sizeof fixture_modinfo);
  gbox_app_moddb_select (&cx, db, "ext4");
  gbox_app_moddb_select (&cx, db, "xfs");
  gbox_app_moddb_select (&cx, db, "jbd2");       /* already in */
  filtered = gbox_app_moddb_filtered (db);
  {
    static const char want[] =
      "kernel/crypto/crc32c_generic.ko:\n"
      "kernel/fs/jbd2/jbd2.ko: kernel/crypto/crc32c_generic.ko\n"
      "kernel/fs/mbcache.ko:\n"
      "kernel/lib/crc16.ko:\n"
      "kernel/fs/ext4/ext4.ko: kernel/lib/crc16.ko kernel/fs/mbcache.ko "
      "kernel/fs/jbd2/jbd2.ko kernel/crypto/crc32c_generic.ko\n"
      "kernel/lib/libcrc32c.ko: kernel/crypto/crc32c_generic.ko\n"
      "kernel/fs/xfs/xfs.ko: kernel/lib/libcrc32c.ko "
      "kernel/crypto/crc32c_generic.ko\n";
    CHECK (filtered && strcmp (filtered, want) == 0,
           "filtered modules.dep is exact (.ko.xz renamed to .ko):\n%s",
           filtered ? filtered : "(null)");
  }
  free (filtered);

  /* Copy into an archive from a fixture directory: .ko copied, .ko.xz
   * decompressed, .ko.zst refused. */
  {
    static const char *const files[] = {
      "kernel/crypto/crc32c_generic.ko", "kernel/fs/jbd2/jbd2.ko",
      "kernel/fs/mbcache.ko", "kernel/lib/crc16.ko",
      "kernel/fs/ext4/ext4.ko", "kernel/lib/libcrc32c.ko",
      "kernel/fs/zz/zz.ko.zst", NULL
    };
    static const char payload[] = "\177ELF pretend module contents";
    uint8_t xzbuf[1024];
    size_t xzlen = 0;
    char *moddir = gbox_app_asprintf ("%s/modules", dir);
    char *scratch = gbox_app_asprintf ("%s/scratch", dir);
    struct gbox_app_cpio *a = gbox_app_cpio_new ();
    char *p, *real, *dst;
    int r;

    mkdir (scratch, 0700);
    for (i = 0; files[i]; ++i) {
      char *path = gbox_app_asprintf ("%s/%s", moddir, files[i]);
      char *s;
      for (s = path + strlen (dir) + 1; (s = strchr (s, '/')) != NULL; ++s) {
        *s = '\0';
        mkdir (path, 0755);
        *s = '/';
      }
      test_write_file (path, files[i], strlen (files[i]));
      free (path);
    }
    lzma_easy_buffer_encode (6, LZMA_CHECK_CRC32, NULL,
                             (const uint8_t *) payload, sizeof payload,
                             xzbuf, &xzlen, sizeof xzbuf);
    p = gbox_app_asprintf ("%s/kernel/fs/xfs", moddir);
    mkdir (p, 0755);
    free (p);
    p = gbox_app_asprintf ("%s/kernel/fs/xfs/xfs.ko.xz", moddir);
    test_write_file (p, xzbuf, xzlen);
    free (p);

    r = gbox_app_moddb_add (&cx, db, a, moddir, scratch);
    CHECK (r == 0, "copy the selected modules into an archive (%s)", err);
    real = realpath (moddir, NULL);
    dst = gbox_app_asprintf ("%s/kernel/fs/xfs/xfs.ko", real);
    CHECK (gbox_app_cpio_lookup (a, dst) == GBOX_APP_CPIO_FILE,
           "xfs.ko.xz is stored as %s", dst);
    free (dst);
    dst = gbox_app_asprintf ("%s/modules.dep", real);
    CHECK (gbox_app_cpio_lookup (a, dst) == GBOX_APP_CPIO_DATA,
           "the filtered modules.dep is stored");
    free (dst);
    dst = gbox_app_asprintf ("%s/kernel/fs/zz/zz.ko", real);
    CHECK (gbox_app_cpio_lookup (a, dst) == -1, "zz is not selected");
    free (dst);
    p = gbox_app_asprintf ("%s/module-6.ko", scratch);
    {
      struct gbox_app_ctx q = { 0 };
      char *data = NULL;
      size_t len = 0;
      CHECK (gbox_app_read_file (&q, p, 4096, &data, &len) == 0 &&
             len == sizeof payload && memcmp (data, payload, len) == 0,
             "the .ko.xz module was decompressed correctly");
      free (data);
    }
    free (p);
    gbox_app_cpio_free (a);

    /* A zstd module is a clear error. */
    {
      struct gbox_app_moddb *db2 = gbox_app_moddb_new ();
      a = gbox_app_cpio_new ();
      gbox_app_moddb_parse (&cx, db2, fixture_dep, NULL, NULL, NULL,
                            NULL, 0);
      gbox_app_moddb_select (&cx, db2, "zz");
      CHECK (gbox_app_moddb_add (&cx, db2, a, moddir, scratch) == -1 &&
             strstr (err, "zstd") != NULL,
             "a .ko.zst module gives a clear error (%s)", err);
      gbox_app_cpio_free (a);
      gbox_app_moddb_free (db2);
    }
    free (real);
    free (moddir);
    free (scratch);
  }
  gbox_app_moddb_free (db);
}

static void
test_hostile (void)
{
  char err[512];
  struct gbox_app_ctx cx = test_ctx (err, sizeof err);
  struct gbox_app_moddb *db;
  char *text, *p;
  size_t i, len;
  time_t t0 = time (NULL);

  /* Build: a 1 MiB line of garbage, lines without colons, a 3-cycle, a
   * self-dependency, "..", an absolute path, 10000 dependencies on one
   * line, and a valid module at the end. */
  len = 4 * 1024 * 1024;
  text = malloc (len);
  p = text;
  memset (p, 'a', 1024 * 1024);
  p += 1024 * 1024;
  p += sprintf (p, ".ko: x.ko\n"
                "no colon here at all\n"
                "kernel/no-colon.ko\n"
                ":\n"
                ": kernel/a.ko\n"
                "kernel/a.ko: kernel/b.ko\n"
                "kernel/b.ko: kernel/c.ko\n"
                "kernel/c.ko: kernel/a.ko kernel/c.ko\n"
                "kernel/a.ko: kernel/dup.ko\n"
                "../../etc/evil.ko: kernel/a.ko\n"
                "kernel/../evil2.ko:\n"
                "/abs/evil3.ko:\n"
                "kernel/notako.txt: kernel/a.ko\n"
                "kernel/many.ko:");
  for (i = 0; i < 10000; ++i)
    p += sprintf (p, " kernel/m%zu.ko", i % 50);
  p += sprintf (p, "\nkernel/good.ko: kernel/a.ko\n");
  *p = '\0';

  db = gbox_app_moddb_new ();
  CHECK (gbox_app_moddb_parse (&cx, db, text, "softdep a pre: a b c\n"
                               "softdep\nsoftdep b pre:\n", NULL, NULL,
                               NULL, 0) == 0,
         "hostile modules.dep parses without error");
  CHECK (gbox_app_moddb_select (&cx, db, "a") == GBOX_APP_MOD_ADDED,
         "a module in a cycle can be selected");
  CHECK (gbox_app_moddb_nselected (db) == 3 && position (db, "a") >= 0 &&
         position (db, "b") >= 0 && position (db, "c") >= 0,
         "the cycle's closure is a, b and c (%zu selected)",
         gbox_app_moddb_nselected (db));
  CHECK (position (db, "dup") == -1,
         "a duplicate line for a module is ignored");
  CHECK (gbox_app_moddb_select (&cx, db, "good") == GBOX_APP_MOD_ADDED &&
         position (db, "good") == 3,
         "a valid module after the garbage is still found");
  CHECK (gbox_app_moddb_select (&cx, db, "evil") == GBOX_APP_MOD_MISSING &&
         gbox_app_moddb_select (&cx, db, "evil2") == GBOX_APP_MOD_MISSING &&
         gbox_app_moddb_select (&cx, db, "evil3") == GBOX_APP_MOD_MISSING,
         "paths with \"..\" or a leading '/' are refused");
  CHECK (gbox_app_moddb_select (&cx, db, "many") == GBOX_APP_MOD_ADDED,
         "a line with 10000 dependencies is handled");
  free (gbox_app_moddb_filtered (db));
  CHECK (time (NULL) - t0 < 10, "hostile input handled quickly");
  gbox_app_moddb_free (db);

  db = gbox_app_moddb_new ();
  CHECK (gbox_app_moddb_parse (&cx, db, "", NULL, NULL, NULL, NULL, 0) == 0 &&
         gbox_app_moddb_select (&cx, db, "ext4") == GBOX_APP_MOD_MISSING,
         "an empty modules.dep has no modules");
  gbox_app_moddb_free (db);
  free (text);
}

static void
test_real (void)
{
  char err[512];
  struct gbox_app_ctx cx = test_ctx (err, sizeof err);
  struct gbox_app_moddb *db;
  char *kernel = NULL, *version = NULL, *moddir, *dep;
  struct stat st;
  size_t i;

  /* The appliance kernel (not necessarily the running one). */
  if (gbox_app_kernel_find (&cx, NULL, &kernel) == -1 ||
      gbox_app_kernel_version (&cx, kernel, &version) == -1) {
    printf ("SKIP: real modules.dep: no usable kernel (%s)\n", err);
    free (kernel);
    return;
  }
  moddir = gbox_app_asprintf ("/lib/modules/%s", version);
  dep = gbox_app_asprintf ("%s/modules.dep", moddir);
  if (stat (dep, &st) == -1) {
    printf ("SKIP: real modules.dep: %s is missing\n", dep);
    goto out;
  }
  db = gbox_app_moddb_new ();
  CHECK (gbox_app_moddb_load (&cx, db, moddir) == 0, "load %s (%s)", dep,
         err);
  CHECK (gbox_app_moddb_select (&cx, db, "ext4") == GBOX_APP_MOD_ADDED,
         "ext4 is a module of %s", version);
  CHECK (position (db, "jbd2") >= 0 && position (db, "jbd2") <
         position (db, "ext4"), "jbd2 is loaded before ext4");
  CHECK (position (db, "mbcache") >= 0 && position (db, "mbcache") <
         position (db, "ext4"), "mbcache is loaded before ext4");
  for (i = 0; gbox_appliance_boot_modules[i]; ++i)
    CHECK (gbox_app_moddb_select (&cx, db, gbox_appliance_boot_modules[i])
           != -1, "select boot module %s", gbox_appliance_boot_modules[i]);
  CHECK (position (db, "virtio_scsi") >= 0 && position (db, "scsi_mod") >= 0
         && position (db, "scsi_mod") < position (db, "virtio_scsi"),
         "scsi_mod is loaded before virtio_scsi");
  for (i = 0; gbox_appliance_modules[i]; ++i)
    CHECK (gbox_app_moddb_select (&cx, db, gbox_appliance_modules[i]) != -1,
           "select %s", gbox_appliance_modules[i]);
  gbox_app_moddb_free (db);
 out:
  free (kernel);
  free (version);
  free (moddir);
  free (dep);
}

int
main (void)
{
  char *dir = test_tmpdir ();

  test_fixture (dir);
  test_hostile ();
  test_real ();
  gbox_app_rmtree (dir);
  free (dir);
  return check_finish ("test-kmod");
}
