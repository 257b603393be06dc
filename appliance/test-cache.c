/* guestbox - the appliance builder.
 * Copyright (C) 2026 the guestbox authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

/** Test of the cache key and of gbox_appliance_get.  The key: SHA-256
 * (nettle) against a known answer, stable for the same inputs, and
 * different when any one input changes (the daemon or init contents, the
 * kernel's path or mtime, the modules directory or its modules.dep's
 * mtime, gzip), on files made by the test.  The cache, with /bin/true
 * standing in for the daemon and init: a full build, a cache hit (no rebuild, unknown
 * files in the entry kept), threads, a truncated initrd rebuilt, a new
 * daemon giving a new key and the old entry pruned, 4 processes racing on
 * an empty cache directory (one build, one entry), and bad cache
 * directories.  Skips (77) without a usable kernel. */

#include <config.h>

#include <dirent.h>
#include <pthread.h>

#include "tests.h"

struct log {
  pthread_mutex_t lock;
  char text[65536];
  size_t len;
};

static void
collect (void *opaque, const char *msg)
{
  struct log *l = opaque;
  size_t n = strlen (msg);

  pthread_mutex_lock (&l->lock);
  if (l->len + n + 2 < sizeof l->text) {
    memcpy (l->text + l->len, msg, n);
    l->len += n;
    l->text[l->len++] = '\n';
    l->text[l->len] = '\0';
  }
  pthread_mutex_unlock (&l->lock);
}

static void
log_reset (struct log *l)
{
  l->len = 0;
  l->text[0] = '\0';
}

/* Count CACHEDIR entries starting with PREFIX. */
static size_t
count (const char *cachedir, const char *prefix)
{
  DIR *d = opendir (cachedir);
  struct dirent *e;
  size_t n = 0;

  if (!d)
    return 0;
  while ((e = readdir (d)) != NULL)
    if (strncmp (e->d_name, prefix, strlen (prefix)) == 0)
      n++;
  closedir (d);
  return n;
}

struct thread_arg {
  struct gbox_appliance_spec spec;
  int r;
  int built;
  char dir[4096];
};

static void *
thread_get (void *p)
{
  struct thread_arg *t = p;
  struct gbox_appliance app;
  char err[512];

  t->r = gbox_appliance_get (&t->spec, &app, err, sizeof err);
  if (t->r == 0) {
    t->built = app.built;
    snprintf (t->dir, sizeof t->dir, "%s", app.dir);
    gbox_appliance_free (&app);
  }
  else
    printf ("thread: %s\n", err);
  return NULL;
}

/* Set PATH's mtime to SEC seconds (nanoseconds 0). */
static void
set_mtime (const char *path, time_t sec)
{
  struct timespec ts[2] = { { sec, 0 }, { sec, 0 } };

  CHECK (utimensat (AT_FDCWD, path, ts, 0) == 0, "set the mtime of %s",
         path);
}

/* KEY of the appliance made from SPEC with KERNEL and MODDIR. */
static void
key_of (const struct gbox_appliance_spec *spec, const char *kernel,
        const char *moddir, char key[33])
{
  char err[512];
  struct gbox_app_ctx cx = test_ctx (err, sizeof err);

  strcpy (key, "(failed)");
  CHECK (gbox_app_cache_key (&cx, spec, kernel, moddir, key) == 0,
         "the cache key of %s, %s (%s)", kernel, moddir, err);
}

/* The hash and the key, on files made here (no kernel needed). */
static void
test_key (const char *base)
{
  struct gbox_app_hash h, h2;
  struct gbox_appliance_spec spec;
  char hex[33], hex2[33], key0[33], key[33];
  char *kernel = gbox_app_asprintf ("%s/vmlinuz", base);
  char *kernel2 = gbox_app_asprintf ("%s/vmlinuz-2", base);
  char *moddir = gbox_app_asprintf ("%s/modules", base);
  char *moddir2 = gbox_app_asprintf ("%s/modules-2", base);
  char *dep = gbox_app_asprintf ("%s/modules/modules.dep", base);
  char *dep2 = gbox_app_asprintf ("%s/modules-2/modules.dep", base);
  char *daemon = gbox_app_asprintf ("%s/guestboxd", base);
  char *init = gbox_app_asprintf ("%s/init", base);
  char *bad = gbox_app_asprintf ("%s/no-such-file", base);
  char err[512];
  struct gbox_app_ctx cx = test_ctx (err, sizeof err);

  /* SHA-256 ("abc"), first 128 bits (FIPS 180-2, appendix B.1). */
  gbox_app_hash_init (&h);
  gbox_app_hash_update (&h, "abc", 3);
  gbox_app_hash_hex (&h, hex);
  CHECK (strcmp (hex, "ba7816bf8f01cfea414140de5dae2223") == 0,
         "SHA-256 (\"abc\") starts %s", hex);
  gbox_app_hash_hex (&h, hex2);
  CHECK (strcmp (hex, hex2) == 0, "printing the hash twice gives the same");
  gbox_app_hash_update (&h, "d", 1);
  gbox_app_hash_hex (&h, hex2);
  CHECK (strcmp (hex, hex2) != 0, "the hash goes on after printing");
  /* Strings carry their terminator: "ab" "c" differs from "a" "bc". */
  gbox_app_hash_init (&h);
  gbox_app_hash_str (&h, "ab");
  gbox_app_hash_str (&h, "c");
  gbox_app_hash_init (&h2);
  gbox_app_hash_str (&h2, "a");
  gbox_app_hash_str (&h2, "bc");
  gbox_app_hash_hex (&h, hex);
  gbox_app_hash_hex (&h2, hex2);
  CHECK (strcmp (hex, hex2) != 0, "\"ab\" \"c\" and \"a\" \"bc\" differ");
  /* Numbers are 8 little-endian bytes. */
  gbox_app_hash_init (&h);
  gbox_app_hash_u64 (&h, 0x0102030405060708ULL);
  gbox_app_hash_init (&h2);
  gbox_app_hash_update (&h2, "\x08\x07\x06\x05\x04\x03\x02\x01", 8);
  gbox_app_hash_hex (&h, hex);
  gbox_app_hash_hex (&h2, hex2);
  CHECK (strcmp (hex, hex2) == 0, "a number is hashed as 8 LE bytes");
  /* A file: its bytes, then its length. */
  CHECK (test_write_file (daemon, "abc", 3) == 0, "write %s", daemon);
  gbox_app_hash_init (&h);
  CHECK (gbox_app_hash_file (&cx, &h, daemon) == 0, "hash %s", daemon);
  gbox_app_hash_init (&h2);
  gbox_app_hash_update (&h2, "abc", 3);
  gbox_app_hash_u64 (&h2, 3);
  gbox_app_hash_hex (&h, hex);
  gbox_app_hash_hex (&h2, hex2);
  CHECK (strcmp (hex, hex2) == 0, "a file is hashed as its bytes and length");
  CHECK (gbox_app_hash_file (&cx, &h, bad) == -1 && strstr (err, bad),
         "a missing file: %s", err);

  /* The key of a fake kernel, modules directory, daemon and init. */
  CHECK (mkdir (moddir, 0700) == 0 && mkdir (moddir2, 0700) == 0,
         "make the modules directories");
  CHECK (test_write_file (kernel, "kernel", 6) == 0 &&
         test_write_file (kernel2, "kernel", 6) == 0 &&
         test_write_file (dep, "", 0) == 0 &&
         test_write_file (dep2, "", 0) == 0 &&
         test_write_file (daemon, "daemon 1", 8) == 0 &&
         test_write_file (init, "init 1", 6) == 0, "write the inputs");
  set_mtime (kernel, 1000000000);
  set_mtime (kernel2, 1000000000);
  set_mtime (dep, 1000000000);
  set_mtime (dep2, 1000000000);
  memset (&spec, 0, sizeof spec);
  spec.daemon = daemon;
  spec.init = init;

  key_of (&spec, kernel, moddir, key0);
  CHECK (strlen (key0) == 32 && strspn (key0, "0123456789abcdef") == 32,
         "the key %s is 32 hex digits", key0);
  key_of (&spec, kernel, moddir, key);
  CHECK (strcmp (key, key0) == 0, "the same inputs give the same key");

  /* Each input changed alone, then put back. */
  CHECK (test_write_file (daemon, "daemon 2", 8) == 0, "change the daemon");
  key_of (&spec, kernel, moddir, key);
  CHECK (strcmp (key, key0) != 0, "another daemon: another key");
  CHECK (test_write_file (daemon, "daemon 1", 8) == 0, "put the daemon back");
  key_of (&spec, kernel, moddir, key);
  CHECK (strcmp (key, key0) == 0, "the daemon put back: the first key");

  CHECK (test_write_file (init, "init 2", 6) == 0, "change init");
  key_of (&spec, kernel, moddir, key);
  CHECK (strcmp (key, key0) != 0, "another init: another key");
  CHECK (test_write_file (init, "init 1", 6) == 0, "put init back");

  key_of (&spec, kernel2, moddir, key);
  CHECK (strcmp (key, key0) != 0, "another kernel path: another key");
  set_mtime (kernel, 1000000001);
  key_of (&spec, kernel, moddir, key);
  CHECK (strcmp (key, key0) != 0, "a newer kernel: another key");
  set_mtime (kernel, 1000000000);

  key_of (&spec, kernel, moddir2, key);
  CHECK (strcmp (key, key0) != 0, "another modules directory: another key");
  set_mtime (dep, 1000000001);
  key_of (&spec, kernel, moddir, key);
  CHECK (strcmp (key, key0) != 0, "a newer modules.dep: another key");
  set_mtime (dep, 1000000000);

  spec.gzip = 1;
  key_of (&spec, kernel, moddir, key);
  CHECK (strcmp (key, key0) != 0, "a gzipped initrd: another key");
  spec.gzip = 0;

  key_of (&spec, kernel, moddir, key);
  CHECK (strcmp (key, key0) == 0, "every input put back: the first key");

  spec.daemon = bad;
  CHECK (gbox_app_cache_key (&cx, &spec, kernel, moddir, key) == -1 &&
         strstr (err, bad), "no daemon: %s", err);
  spec.daemon = daemon;
  CHECK (gbox_app_cache_key (&cx, &spec, bad, moddir, key) == -1 &&
         strstr (err, bad), "no kernel: %s", err);
  CHECK (gbox_app_cache_key (&cx, &spec, kernel, bad, key) == -1 &&
         strstr (err, "modules.dep"), "no modules.dep: %s", err);

  free (kernel);
  free (kernel2);
  free (moddir);
  free (moddir2);
  free (dep);
  free (dep2);
  free (daemon);
  free (init);
  free (bad);
}

int
main (void)
{
  char err[1024];
  struct gbox_app_ctx cx = test_ctx (err, sizeof err);
  struct log log = { .lock = PTHREAD_MUTEX_INITIALIZER };
  struct gbox_appliance_spec spec;
  struct gbox_appliance app, app2;
  char *base, *c1, *c2, *kernel = NULL, *p;
  struct stat st, st2;
  off_t initrd_size;
  size_t i;
  int r;

  base = test_tmpdir ();
  test_key (base);

  if (gbox_app_kernel_find (&cx, NULL, &kernel) == -1) {
    printf ("test-cache: no usable kernel (%s): skipped\n", err);
    gbox_app_rmtree (base);
    free (base);
    return check_finish ("test-cache") == 0 ? 77 : EXIT_FAILURE;
  }
  free (kernel);

  c1 = gbox_app_asprintf ("%s/c1", base);
  c2 = gbox_app_asprintf ("%s/c2", base);

  memset (&spec, 0, sizeof spec);
  spec.daemon = "/bin/true";
  spec.init = "/bin/true";
  spec.cachedir = c1;
  spec.debug = collect;
  spec.opaque = &log;

  /* 1. A full build. */
  r = gbox_appliance_get (&spec, &app, err, sizeof err);
  CHECK (r == 0, "first call builds the appliance (%s)", err);
  if (r == -1) {
    printf ("%s", log.text);
    gbox_app_rmtree (base);
    return EXIT_FAILURE;
  }
  CHECK (app.built == 1, "first call reports a build");
  CHECK (strncmp (app.dir, c1, strlen (c1)) == 0 &&
         strstr (app.dir, "/appliance-") != NULL, "entry %s", app.dir);
  CHECK (strlen (app.key) == 32 && strspn (app.key, "0123456789abcdef") == 32,
         "key %s is 32 hex digits", app.key);
  CHECK (gbox_app_is_elf_x86_64 (app.kernel), "%s is an ELF kernel",
         app.kernel);
  CHECK (stat (app.initrd, &st) == 0 && st.st_size > 64 * 1024,
         "initrd %s (%jd bytes)", app.initrd, (intmax_t) st.st_size);
  initrd_size = st.st_size;
  CHECK (app.kernel_version && app.kernel_version[0] != '\0',
         "kernel version %s", app.kernel_version);
  CHECK (app.programs != NULL, "programs list is set");
  for (i = 0; app.programs && app.programs[i]; ++i) {
    char *found = gbox_app_find_program (app.programs[i]);
    CHECK (found != NULL, "program %s exists on the host", app.programs[i]);
    free (found);
  }
  CHECK (lstat (c1, &st) == 0 && (st.st_mode & 0777) == 0700,
         "the cache directory is 0700");
  p = gbox_app_asprintf ("%s/stamp", app.dir);
  CHECK (stat (p, &st) == 0, "the stamp exists");
  free (p);
  if (test_have ("cpio")) {
    char *argv[] = { "cpio", "-it", "--quiet", NULL };
    char *out = NULL;
    CHECK (test_run (argv, app.initrd, &out) == 0, "cpio reads the initrd");
    CHECK (strstr (out, "\ninit\n")
           && strstr (out, "\netc/guestbox/modules.boot\n")
           && strstr (out, "\netc/guestbox/programs\n")
           && strstr (out, "/modules.dep\n") && strstr (out, "\nsysroot\n")
           && strstr (out, "/virtio_blk.ko\n") && strstr (out, "/erofs.ko\n"),
           "the initrd has /init, modules.boot, programs, modules.dep, "
           "/sysroot and the modules that mount the root disk");
    CHECK (strstr (out, "usr/sbin/guestboxd\n") == NULL &&
           strstr (out, "/xfs.ko\n") == NULL &&
           strstr (out, "/ext4.ko\n") == NULL,
           "the daemon and the other modules are not in the initrd");
    free (out);
  }
  p = gbox_app_asprintf ("%s/root", app.dir);
  CHECK (stat (p, &st) == 0 && st.st_size > 1024 * 1024,
         "the root disk %s (%jd bytes)", p, (intmax_t) st.st_size);
  if (test_have ("fsck.erofs")) {
    char *argv[] = { "fsck.erofs", p, NULL };
    char *out = NULL;
    CHECK (test_run (argv, NULL, &out) == 0, "fsck.erofs passes on the root "
           "disk: %s", out ? out : "");
    free (out);
  }
  if (test_have ("dump.erofs")) {
    char *argv[] = { "dump.erofs", "--path=/sbin/guestboxd", p, NULL };
    char *out = NULL;
    CHECK (test_run (argv, NULL, &out) == 0 && strstr (out, "regular file"),
           "the root disk has the daemon in /sbin (it is /usr): %s",
           out ? out : "");
    free (out);
  }
  free (p);

  /* 2. A cache hit: nothing rebuilt, unknown files kept. */
  stat (app.initrd, &st);
  p = gbox_app_asprintf ("%s/snapshot", app.dir);
  mkdir (p, 0700);
  free (p);
  log_reset (&log);
  r = gbox_appliance_get (&spec, &app2, err, sizeof err);
  CHECK (r == 0 && app2.built == 0, "second call is a hit (%s)", err);
  CHECK (strstr (log.text, "cache hit") != NULL, "debug says \"cache hit\"");
  CHECK (strstr (log.text, "building") == NULL, "debug says nothing built");
  CHECK (r == 0 && strcmp (app.dir, app2.dir) == 0 &&
         strcmp (app.key, app2.key) == 0, "same entry and key");
  CHECK (stat (app.initrd, &st2) == 0 && st2.st_ino == st.st_ino &&
         st2.st_mtim.tv_sec == st.st_mtim.tv_sec &&
         st2.st_mtim.tv_nsec == st.st_mtim.tv_nsec,
         "the initrd was not rewritten");
  p = gbox_app_asprintf ("%s/snapshot", app.dir);
  CHECK (stat (p, &st) == 0 && S_ISDIR (st.st_mode),
         "an unknown subdirectory in the entry is kept");
  free (p);
  if (r == 0)
    gbox_appliance_free (&app2);

  /* 3. Threads in one process. */
  {
    struct thread_arg t[4];
    pthread_t th[4];
    for (i = 0; i < 4; ++i) {
      t[i].spec = spec;
      t[i].spec.debug = NULL;
      pthread_create (&th[i], NULL, thread_get, &t[i]);
    }
    for (i = 0; i < 4; ++i) {
      pthread_join (th[i], NULL);
      CHECK (t[i].r == 0 && t[i].built == 0 &&
             strcmp (t[i].dir, app.dir) == 0, "thread %zu gets the entry", i);
    }
  }

  /* 4. A truncated initrd is detected and rebuilt. */
  CHECK (truncate (app.initrd, initrd_size / 2) == 0, "truncate the initrd");
  log_reset (&log);
  r = gbox_appliance_get (&spec, &app2, err, sizeof err);
  CHECK (r == 0 && app2.built == 1, "a truncated initrd is rebuilt (%s)",
         err);
  CHECK (strstr (log.text, "removing incomplete") != NULL,
         "debug says the broken entry was removed");
  CHECK (stat (app.initrd, &st) == 0 && st.st_size == initrd_size,
         "the initrd has its full size again (%jd)", (intmax_t) st.st_size);
  CHECK (count (c1, "appliance-") == 1, "one entry in the cache");
  if (r == 0)
    gbox_appliance_free (&app2);
  /* A missing stamp too. */
  p = gbox_app_asprintf ("%s/stamp", app.dir);
  unlink (p);
  free (p);
  r = gbox_appliance_get (&spec, &app2, err, sizeof err);
  CHECK (r == 0 && app2.built == 1, "an entry without a stamp is rebuilt");
  if (r == 0)
    gbox_appliance_free (&app2);

  /* 5. A new daemon build: new key, old entry and stale temp dirs gone. */
  p = gbox_app_asprintf ("%s/tmp-stale", c1);
  mkdir (p, 0700);
  free (p);
  spec.daemon = "/bin/false";
  r = gbox_appliance_get (&spec, &app2, err, sizeof err);
  CHECK (r == 0 && app2.built == 1 && strcmp (app2.key, app.key) != 0,
         "another daemon gives another key and a build (%s)", err);
  CHECK (count (c1, "appliance-") == 1 && stat (app.dir, &st) == -1,
         "the old entry was removed");
  CHECK (count (c1, "tmp-") == 0, "stale temp directories were removed");
  if (r == 0)
    gbox_appliance_free (&app2);
  spec.daemon = "/bin/true";

  /* 6. Four processes racing on an empty cache directory. */
  {
    pid_t pids[4];
    int built = 0, ok = 0, status;
    fflush (stdout);
    for (i = 0; i < 4; ++i) {
      pids[i] = fork ();
      if (pids[i] == 0) {
        struct gbox_appliance_spec s = spec;
        struct gbox_appliance a;
        char e[512];
        s.cachedir = c2;
        s.debug = NULL;
        if (gbox_appliance_get (&s, &a, e, sizeof e) == -1) {
          printf ("child %zu: %s\n", i, e);
          _exit (1);
        }
        _exit (a.built ? 3 : 0);
      }
    }
    for (i = 0; i < 4; ++i) {
      if (waitpid (pids[i], &status, 0) == pids[i] && WIFEXITED (status)) {
        if (WEXITSTATUS (status) == 0 || WEXITSTATUS (status) == 3)
          ok++;
        if (WEXITSTATUS (status) == 3)
          built++;
      }
    }
    CHECK (ok == 4, "all 4 concurrent processes succeed (%d)", ok);
    CHECK (built == 1, "exactly one of them built (%d)", built);
    CHECK (count (c2, "appliance-") == 1, "exactly one entry in the cache");
    CHECK (count (c2, "tmp-") == 0, "no temp directory left");
  }

  /* 7. Bad cache directories and inputs. */
  {
    struct gbox_appliance_spec s = spec;
    char *link = gbox_app_asprintf ("%s/link", base);
    symlink (c1, link);
    s.cachedir = link;
    CHECK (gbox_appliance_get (&s, &app2, err, sizeof err) == -1 &&
           strstr (err, "symbolic link"), "a symlinked cache dir: %s", err);
    free (link);
    if (geteuid () == 0) {
      char *other = gbox_app_asprintf ("%s/other", base);
      mkdir (other, 0700);
      chown (other, 65534, 65534);
      s.cachedir = other;
      CHECK (gbox_appliance_get (&s, &app2, err, sizeof err) == -1 &&
             strstr (err, "another user"), "a cache dir of another user: %s",
             err);
      free (other);
    }
    s.cachedir = c1;
    s.daemon = "/no/such/guestboxd";
    CHECK (gbox_appliance_get (&s, &app2, err, sizeof err) == -1 &&
           strstr (err, "/no/such/guestboxd"), "a missing daemon: %s", err);
    s.daemon = NULL;
    CHECK (gbox_appliance_get (&s, &app2, err, sizeof err) == -1,
           "no daemon path: %s", err);
    s.daemon = "/bin/true";
    s.kernel = "/etc/passwd";
    CHECK (gbox_appliance_get (&s, &app2, err, sizeof err) == -1,
           "a kernel that is not one: %s", err);
  }

  gbox_appliance_free (&app);
  gbox_app_rmtree (base);
  CHECK (stat (base, &st) == -1, "temp directories removed");
  free (base);
  free (c1);
  free (c2);
  return check_finish ("test-cache");
}
