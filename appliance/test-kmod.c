/* guestbox - the appliance builder.
 * Copyright (C) 2026 the guestbox authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

/** Test of the module closure through libkmod, on a module tree that
 * the test builds: small ELF objects compiled with the C compiler that
 * export and use symbols and carry "softdep=" and "alias=" strings, a
 * modules.builtin and modules.builtin.modinfo, all indexed by depmod
 * (-b).  Checked: closures and load order (hard and soft dependencies,
 * aliases preferring "*_generic", built-ins, '-'/'_'), soft-dependency
 * cycles, the filtered modules.dep, copying (and decompressing) .ko
 * files into an archive (.ko.zst refused), a module directory without
 * indexes, a module file gone; then the real modules of the appliance
 * kernel.  Without a compiler or depmod the tree part is skipped (a
 * failure with REQUIRE_APPLIANCE=1). */

#include <config.h>

#include <lzma.h>

#include "tests.h"

#ifndef TEST_CC
#define TEST_CC "cc"
#endif

/* The fake modules: path below the module directory, symbols exported,
 * symbols used, modinfo strings ('|' between them). */
static const struct {
  const char *path;
  const char *exports;
  const char *uses;
  const char *modinfo;
} fakes[] = {
  { "kernel/fs/ext4/ext4.ko", NULL, "crc16_fn mbcache_fn jbd2_fn",
    "softdep=pre: sha256 crc16" },
  { "kernel/lib/crc16.ko", "crc16_fn", NULL, NULL },
  { "kernel/fs/mbcache.ko", "mbcache_fn", NULL, NULL },
  { "kernel/fs/jbd2/jbd2.ko", "jbd2_fn", NULL,
    "softdep=pre: crypto-crc32c" },
  { "kernel/drivers/md/dm-mod.ko", "dm_fn", NULL, NULL },
  { "kernel/drivers/md/dm-snapshot.ko", NULL, "bufio_fn dm_fn", NULL },
  { "kernel/drivers/md/dm-bufio.ko", "bufio_fn", "dm_fn", NULL },
  { "kernel/crypto/crc32c_generic.ko", NULL, NULL,
    "alias=crypto-crc32c|alias=crc32c" },
  { "kernel/arch/x86/crypto/crc32c-intel.ko", NULL, NULL,
    "alias=crypto-crc32c|alias=crc32c" },
  { "kernel/fs/xfs/xfs.ko.xz", NULL, "libcrc32c_fn", NULL },
  { "kernel/lib/libcrc32c.ko", "libcrc32c_fn", NULL,
    "softdep=pre: crc32c post: nosuch" },
  { "kernel/fs/zz/zz.ko.zst", NULL, NULL, NULL },
  /* Soft dependencies in a cycle, one on itself. */
  { "kernel/misc/cyc-a.ko", NULL, NULL, "softdep=pre: cyc-a cyc_b" },
  { "kernel/misc/cyc-b.ko", NULL, NULL, "softdep=pre: cyc-c" },
  { "kernel/misc/cyc-c.ko", NULL, NULL, "softdep=pre: cyc-a" },
  /* Goes away after depmod. */
  { "kernel/misc/gone.ko", NULL, NULL, NULL },
};

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
    { "nosuch", "crc32c_intel" } },
  { "cyc_a", GBOX_APP_MOD_ADDED,
    { { "cyc_c", "cyc_b" }, { "cyc_b", "cyc_a" } }, { NULL } },
  { "nls_utf8", GBOX_APP_MOD_BUILTIN, { { NULL } }, { NULL } },
  { "no_such_module", GBOX_APP_MOD_MISSING, { { NULL } }, { NULL } },
  /* An alias is not a module name. */
  { "crypto-crc32c", GBOX_APP_MOD_MISSING, { { NULL } }, { NULL } },
};

/* Make the directories of PATH's parents. */
static void
make_parents (const char *path)
{
  char *p = strdup (path), *s;

  for (s = p + 1; (s = strchr (s, '/')) != NULL; ++s) {
    *s = '\0';
    mkdir (p, 0755);
    *s = '/';
  }
  free (p);
}

static char *
read_all (const char *path, size_t *len)
{
  struct gbox_app_ctx q = { 0 };
  char *data = NULL;

  if (gbox_app_read_file (&q, path, 1024 * 1024, &data, len) == -1)
    return NULL;
  return data;
}

/* Compile fake module I into MODDIR (xz- or zstd-compressed as its name
 * says); 0 on success. */
static int
make_fake (const char *dir, const char *moddir, size_t i)
{
  char *src = gbox_app_asprintf ("%s/fake.c", dir);
  char *obj = gbox_app_asprintf ("%s/fake.o", dir);
  char *dst = gbox_app_asprintf ("%s/%s", moddir, fakes[i].path);
  char *cmd = NULL, *data = NULL, *list, *tok, *save = NULL;
  FILE *fp;
  size_t len = 0, n = 0;
  int r = -1;

  fp = fopen (src, "w");
  if (!fp)
    goto out;
  list = strdup (fakes[i].exports ? fakes[i].exports : "");
  for (tok = strtok_r (list, " ", &save); tok;
       tok = strtok_r (NULL, " ", &save))
    fprintf (fp, "int __crc_%s;\n", tok);   /* what depmod takes as exported */
  free (list);
  list = strdup (fakes[i].uses ? fakes[i].uses : "");
  for (tok = strtok_r (list, " ", &save); tok;
       tok = strtok_r (NULL, " ", &save))
    fprintf (fp, "extern int %s;\nint *use_%s = &%s;\n", tok, tok, tok);
  free (list);
  list = strdup (fakes[i].modinfo ? fakes[i].modinfo : "");
  for (tok = strtok_r (list, "|", &save); tok;
       tok = strtok_r (NULL, "|", &save))
    fprintf (fp, "static const char info%zu[] "
             "__attribute__ ((section (\".modinfo\"), used)) = \"%s\";\n",
             n++, tok);
  free (list);
  fprintf (fp, "int fake_module_%zu;\n", i);
  if (fclose (fp) != 0)
    goto out;
  cmd = gbox_app_asprintf ("%s -c -o '%s' '%s'", TEST_CC, obj, src);
  {
    char *argv[] = { "sh", "-c", cmd, NULL };
    if (test_run (argv, NULL, NULL) != 0) {
      printf ("%s failed\n", cmd);
      goto out;
    }
  }
  data = read_all (obj, &len);
  if (!data)
    goto out;
  make_parents (dst);
  if (strstr (dst, ".ko.xz")) {
    size_t cap = len + 4096, xzlen = 0;
    uint8_t *xz = malloc (cap);
    if (xz && lzma_easy_buffer_encode (6, LZMA_CHECK_CRC32, NULL,
                                       (const uint8_t *) data, len, xz,
                                       &xzlen, cap) == LZMA_OK)
      r = test_write_file (dst, xz, xzlen);
    free (xz);
  }
  else if (strstr (dst, ".ko.zst")) {
    /* One zstd frame holding one raw block (RFC 8878): single segment,
     * a 2-byte content size (minus 256), then the block header. */
    unsigned char *z = malloc (len + 16);
    if (z && len >= 256 && len < 65536 + 256) {
      memcpy (z, "\x28\xb5\x2f\xfd\x60", 5);
      z[5] = (len - 256) & 0xff;
      z[6] = (len - 256) >> 8;
      z[7] = (1 | (len << 3)) & 0xff;
      z[8] = ((len << 3) >> 8) & 0xff;
      z[9] = ((len << 3) >> 16) & 0xff;
      memcpy (z + 10, data, len);
      r = test_write_file (dst, z, len + 10);
    }
    free (z);
  }
  else
    r = test_write_file (dst, data, len);

 out:
  free (src);
  free (obj);
  free (dst);
  free (cmd);
  free (data);
  return r;
}

/* The fake module tree DIR/lib/modules/9.9 indexed by depmod; NULL
 * (with the reason printed) if it cannot be made. */
static char *
make_tree (const char *dir)
{
  static const char modinfo[] =
    "sha256_generic.alias=sha256\0sha256_generic.license=GPL\0";
  char *moddir = gbox_app_asprintf ("%s/lib/modules/9.9", dir);
  char *depmod = gbox_app_find_program ("depmod");
  char *p;
  size_t i;
  int ok = 1;

  if (!depmod) {
    printf ("depmod (kmod) is not installed\n");
    free (moddir);
    return NULL;
  }
  for (i = 0; ok && i < sizeof fakes / sizeof fakes[0]; ++i)
    if (make_fake (dir, moddir, i) == -1) {
      printf ("cannot make the fake module %s with %s\n", fakes[i].path,
              TEST_CC);
      ok = 0;
    }
  p = gbox_app_asprintf ("%s/modules.builtin", moddir);
  ok = ok && test_write_file (p, "kernel/fs/nls/nls_utf8.ko\n", 26) == 0;
  free (p);
  p = gbox_app_asprintf ("%s/modules.builtin.modinfo", moddir);
  ok = ok && test_write_file (p, modinfo, sizeof modinfo - 1) == 0;
  free (p);
  if (ok) {
    char *argv[] = { depmod, "-b", (char *) dir, "9.9", NULL };
    if (test_run (argv, NULL, NULL) != 0) {
      printf ("depmod -b %s 9.9 failed\n", dir);
      ok = 0;
    }
  }
  free (depmod);
  p = gbox_app_asprintf ("%s/kernel/misc/gone.ko", moddir);
  unlink (p);
  free (p);
  if (!ok) {
    free (moddir);
    return NULL;
  }
  return moddir;
}

static void
test_fixture (const char *dir)
{
  char err[512];
  struct gbox_app_ctx cx = test_ctx (err, sizeof err);
  struct gbox_app_moddb *db;
  size_t i, j;
  char *filtered, *moddir;

  moddir = make_tree (dir);
  if (!moddir) {
    const char *req = getenv ("REQUIRE_APPLIANCE");
    CHECK (!req || strcmp (req, "1") != 0,
           "the fake module tree can be made (REQUIRE_APPLIANCE=1)");
    printf ("SKIP: the fake module tree\n");
    return;
  }
  {
    char *dep = gbox_app_asprintf ("%s/modules.dep", moddir);
    size_t len;
    char *text = read_all (dep, &len);
    printf ("depmod wrote modules.dep:\n%s", text ? text : "(none)\n");
    free (text);
    free (dep);
  }

  for (i = 0; i < sizeof closures / sizeof closures[0]; ++i) {
    db = gbox_app_moddb_new ();
    CHECK (gbox_app_moddb_load (&cx, db, moddir) == 0,
           "load the fake tree (%s)", err);
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

  /* The filtered modules.dep, exactly: depmod lists ext4's as "jbd2
   * mbcache crc16"; they load deepest (last) first, each after its soft
   * dependencies. */
  db = gbox_app_moddb_new ();
  gbox_app_moddb_load (&cx, db, moddir);
  gbox_app_moddb_select (&cx, db, "ext4");
  gbox_app_moddb_select (&cx, db, "xfs");
  gbox_app_moddb_select (&cx, db, "jbd2");       /* already in */
  filtered = gbox_app_moddb_filtered (db);
  {
    static const char want[] =
      "kernel/lib/crc16.ko:\n"
      "kernel/fs/mbcache.ko:\n"
      "kernel/crypto/crc32c_generic.ko:\n"
      "kernel/fs/jbd2/jbd2.ko: kernel/crypto/crc32c_generic.ko\n"
      "kernel/fs/ext4/ext4.ko: kernel/fs/jbd2/jbd2.ko "
      "kernel/crypto/crc32c_generic.ko kernel/fs/mbcache.ko "
      "kernel/lib/crc16.ko\n"
      "kernel/lib/libcrc32c.ko: kernel/crypto/crc32c_generic.ko\n"
      "kernel/fs/xfs/xfs.ko: kernel/lib/libcrc32c.ko "
      "kernel/crypto/crc32c_generic.ko\n";
    CHECK (filtered && strcmp (filtered, want) == 0,
           "filtered modules.dep is exact (.ko.xz renamed to .ko):\n%s",
           filtered ? filtered : "(null)");
  }
  free (filtered);

  /* Copy into an archive: .ko copied, .ko.xz decompressed, .ko.zst
   * refused. */
  {
    char *scratch = gbox_app_asprintf ("%s/scratch", dir);
    struct gbox_app_cpio *a = gbox_app_cpio_new ();
    char *real, *dst;
    int r;

    struct stat st;
    off_t ext4_size = -1;

    mkdir (scratch, 0700);
    /* ext4.ko signed as sign-file signs: 100 bytes of PKCS#7, the
     * 12-byte module_signature (length 100, big endian), the marker. */
    {
      char *p = gbox_app_asprintf ("%s/kernel/fs/ext4/ext4.ko", moddir);
      unsigned char info[12] = { 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 100 };
      char sig[100];
      int fd = open (p, O_WRONLY | O_APPEND | O_CLOEXEC);

      memset (sig, 0x5a, sizeof sig);
      if (fd >= 0 && fstat (fd, &st) == 0) {
        ext4_size = st.st_size;
        if (write (fd, sig, sizeof sig) != (ssize_t) sizeof sig ||
            write (fd, info, sizeof info) != (ssize_t) sizeof info ||
            write (fd, "~Module signature appended~\n", 28) != 28)
          ext4_size = -1;
      }
      if (fd >= 0)
        close (fd);
      free (p);
    }
    r = gbox_app_moddb_add (&cx, db, a, moddir, scratch);
    CHECK (r == 0, "copy the selected modules into an archive (%s)", err);
    real = realpath (moddir, NULL);
    {
      struct gbox_app_cpio_entry *v = gbox_app_cpio_sorted (a);
      size_t k;
      bool found = false;

      for (k = 0; v && k < gbox_app_cpio_count (a); ++k)
        if (strstr (v[k].name, "kernel/fs/ext4/ext4.ko") &&
            v[k].type == GBOX_APP_CPIO_FILE && stat (v[k].source, &st) == 0) {
          found = true;
          break;
        }
      CHECK (ext4_size > 0 && found && st.st_size == ext4_size,
             "ext4.ko is stored without its signature (%jd bytes, %jd "
             "unsigned)", found ? (intmax_t) st.st_size : (intmax_t) -1,
             (intmax_t) ext4_size);
      free (v);
    }
    dst = gbox_app_asprintf ("%s/kernel/fs/xfs/xfs.ko", real);
    CHECK (gbox_app_cpio_lookup (a, dst) == GBOX_APP_CPIO_FILE,
           "xfs.ko.xz is stored as %s", dst);
    free (dst);
    dst = gbox_app_asprintf ("%s/kernel/fs/ext4/ext4.ko", real);
    CHECK (gbox_app_cpio_lookup (a, dst) == GBOX_APP_CPIO_FILE,
           "ext4.ko is stored as %s", dst);
    free (dst);
    dst = gbox_app_asprintf ("%s/modules.dep", real);
    CHECK (gbox_app_cpio_lookup (a, dst) == GBOX_APP_CPIO_DATA,
           "the filtered modules.dep is stored");
    free (dst);
    dst = gbox_app_asprintf ("%s/kernel/fs/zz/zz.ko", real);
    CHECK (gbox_app_cpio_lookup (a, dst) == -1, "zz is not selected");
    free (dst);
    {
      /* xfs is the 7th selected: its decompressed copy is module-6.ko. */
      char *p = gbox_app_asprintf ("%s/module-6.ko", scratch);
      size_t len = 0;
      char *data = read_all (p, &len);
      char *elf = data ? data : "";
      CHECK (strcmp (gbox_app_moddb_name (db, 6), "xfs") == 0 && data &&
             len > 64 && memcmp (elf, "\177ELF", 4) == 0 &&
             memmem (elf, len, "libcrc32c_fn", 12) != NULL,
             "the .ko.xz module was decompressed correctly (%zu bytes)",
             len);
      free (data);
      free (p);
    }
    gbox_app_cpio_free (a);

    /* A zstd module is a clear error. */
    {
      struct gbox_app_moddb *db2 = gbox_app_moddb_new ();
      a = gbox_app_cpio_new ();
      gbox_app_moddb_load (&cx, db2, moddir);
      CHECK (gbox_app_moddb_select (&cx, db2, "zz") == GBOX_APP_MOD_ADDED,
             "zz.ko.zst is a module");
      CHECK (gbox_app_moddb_add (&cx, db2, a, moddir, scratch) == -1 &&
             strstr (err, "zstd") != NULL,
             "a .ko.zst module gives a clear error (%s)", err);
      gbox_app_cpio_free (a);
      gbox_app_moddb_free (db2);
    }
    /* A module in the index whose file is gone. */
    {
      struct gbox_app_moddb *db2 = gbox_app_moddb_new ();
      a = gbox_app_cpio_new ();
      gbox_app_moddb_load (&cx, db2, moddir);
      CHECK (gbox_app_moddb_select (&cx, db2, "gone") == GBOX_APP_MOD_ADDED,
             "gone.ko is in the index");
      CHECK (gbox_app_moddb_add (&cx, db2, a, moddir, scratch) == -1 &&
             strstr (err, "gone.ko") != NULL,
             "adding gone.ko without its file is a clear error (%s)", err);
      gbox_app_cpio_free (a);
      gbox_app_moddb_free (db2);
    }
    free (real);
    free (scratch);
  }
  gbox_app_moddb_free (db);

  /* A module directory without indexes. */
  {
    char *bare = gbox_app_asprintf ("%s/bare", dir);
    char *dep = gbox_app_asprintf ("%s/bare/modules.dep", dir);
    mkdir (bare, 0700);
    test_write_file (dep, "kernel/a.ko:\n", 13);
    db = gbox_app_moddb_new ();
    CHECK (gbox_app_moddb_load (&cx, db, bare) == -1 &&
           strstr (err, "modules.dep.bin") && strstr (err, "depmod"),
           "no modules.dep.bin: %s", err);
    CHECK (gbox_app_moddb_select (&cx, db, "a") == -1,
           "nothing can be selected then: %s", err);
    gbox_app_moddb_free (db);
    free (bare);
    free (dep);
  }
  free (moddir);
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
  CHECK (position (db, "crc32c_generic") >= 0 &&
         position (db, "crc32c_generic") < position (db, "jbd2") &&
         position (db, "crc32c_intel") == -1,
         "jbd2's soft dependency crypto-crc32c is crc32c_generic, first");
  for (i = 0; gbox_appliance_boot_modules[i]; ++i)
    CHECK (gbox_app_moddb_select (&cx, db, gbox_appliance_boot_modules[i])
           != -1, "select boot module %s", gbox_appliance_boot_modules[i]);
  for (i = 0; gbox_appliance_disk_modules[i]; ++i)
    CHECK (gbox_app_moddb_select (&cx, db, gbox_appliance_disk_modules[i])
           != -1, "select disk module %s", gbox_appliance_disk_modules[i]);
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
  test_real ();
  gbox_app_rmtree (dir);
  free (dir);
  return check_finish ("test-kmod");
}
