/* guestbox - the appliance builder.
 * Copyright (C) 2026 the guestbox authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

/** gbox_appliance_get: compute the cache key, return a valid cached entry
 * at once, otherwise build one under the cache lock in a private temp
 * directory and publish it with an atomic rename.  No global state: any
 * number of threads and processes may call it at the same time. */

#include <config.h>

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "appliance-internal.h"

/* The kernel is extracted in a thread while the initrd is built: its
 * XZ payload takes about 1.5 s to decompress on a slow host, the initrd
 * 0.3 s, and the first command on an empty cache waits for both. */
struct extract_job {
  struct gbox_app_ctx cx;       /* its own error buffer, no debug */
  char err[1024];
  const char *kernel, *vmlinux;
  int r;
  uint64_t ms;
};

static void *
extract_thread (void *arg)
{
  struct extract_job *j = arg;
  struct timespec t0, t1;

  clock_gettime (CLOCK_MONOTONIC, &t0);
  j->r = gbox_app_kernel_extract (&j->cx, j->kernel, j->vmlinux);
  clock_gettime (CLOCK_MONOTONIC, &t1);
  j->ms = (t1.tv_sec - t0.tv_sec) * 1000 +
    (t1.tv_nsec - t0.tv_nsec) / 1000000;
  return NULL;
}

static void
hash_stat (struct gbox_app_hash *h, const struct stat *st, bool ino)
{
  gbox_app_hash_u64 (h, st->st_size);
  gbox_app_hash_u64 (h, st->st_mtim.tv_sec);
  gbox_app_hash_u64 (h, st->st_mtim.tv_nsec);
  if (ino) {
    gbox_app_hash_u64 (h, st->st_ino);
    gbox_app_hash_u64 (h, st->st_dev);
  }
}

/* The cache key: everything that changes what we would build. */
int
gbox_app_cache_key (struct gbox_app_ctx *cx,
                    const struct gbox_appliance_spec *spec,
                    const char *kernel, const char *moddir, char key[33])
{
  struct gbox_app_hash h;
  struct gbox_app_strv names = { 0 }, paths = { 0 };
  struct stat st;
  char *p;
  size_t i;

  gbox_app_hash_init (&h);
  gbox_app_hash_str (&h, "guestbox appliance");
  gbox_app_hash_u64 (&h, GBOX_APP_FORMAT_VERSION);
  gbox_app_hash_u64 (&h, spec->gzip ? 1 : 0);

  if (stat (kernel, &st) == -1)
    return gbox_app_error (cx, "kernel %s: %s", kernel, strerror (errno));
  gbox_app_hash_str (&h, kernel);
  hash_stat (&h, &st, true);

  p = gbox_app_asprintf ("%s/modules.dep", moddir);
  if (!p)
    return gbox_app_error (cx, "out of memory");
  if (stat (p, &st) == -1) {
    free (p);
    return gbox_app_error (cx, "%s/modules.dep: %s", moddir,
                           strerror (errno));
  }
  free (p);
  gbox_app_hash_str (&h, moddir);
  hash_stat (&h, &st, false);

  /* The daemon and init by content: a rebuild changes them. */
  gbox_app_hash_str (&h, "daemon");
  if (gbox_app_hash_file (cx, &h, spec->daemon) == -1) {
    gbox_app_error (cx, "cannot read the daemon %s: %s (fix: build "
                    "guestbox, or check its installation)", spec->daemon,
                    strerror (errno));
    return -1;
  }
  gbox_app_hash_str (&h, "init");
  if (gbox_app_hash_file (cx, &h, spec->init) == -1) {
    gbox_app_error (cx, "cannot read the init %s: %s (fix: build "
                    "guestbox, or check its installation)", spec->init,
                    strerror (errno));
    return -1;
  }

  if (gbox_app_resolve_programs (cx, &names, &paths) == -1)
    return -1;
  for (i = 0; i < names.n; ++i) {
    char *real = realpath (paths.v[i], NULL);
    gbox_app_hash_str (&h, names.v[i]);
    gbox_app_hash_str (&h, paths.v[i]);
    if (real && stat (real, &st) == 0) {
      gbox_app_hash_str (&h, real);
      hash_stat (&h, &st, false);
    }
    free (real);
  }
  gbox_app_strv_free (&names);
  gbox_app_strv_free (&paths);

  gbox_app_hash_str (&h, "modules");
  for (i = 0; gbox_appliance_boot_modules[i]; ++i)
    gbox_app_hash_str (&h, gbox_appliance_boot_modules[i]);
  gbox_app_hash_str (&h, "disks");
  for (i = 0; gbox_appliance_disk_modules[i]; ++i)
    gbox_app_hash_str (&h, gbox_appliance_disk_modules[i]);
  gbox_app_hash_str (&h, "on demand");
  for (i = 0; gbox_appliance_modules[i]; ++i)
    gbox_app_hash_str (&h, gbox_appliance_modules[i]);
  gbox_app_hash_contents (&h);

  gbox_app_hash_hex (&h, key);
  return 0;
}

static int
fill (struct gbox_app_ctx *cx, struct gbox_appliance *app, const char *dir,
      const char *key, const char *version, struct gbox_app_strv *programs)
{
  app->dir = strdup (dir);
  app->kernel = gbox_app_asprintf ("%s/vmlinux", dir);
  app->initrd = gbox_app_asprintf ("%s/initrd", dir);
  app->key = strdup (key);
  app->kernel_version = strdup (version);
  app->programs = gbox_app_strv_steal (programs);
  if (!app->dir || !app->kernel || !app->initrd || !app->key ||
      !app->kernel_version || !app->programs) {
    gbox_appliance_free (app);
    return gbox_app_error (cx, "out of memory");
  }
  return 0;
}

/* Build into a new CACHEDIR/tmp-XXXXXX and rename it to ENTRY.  Called
 * with the lock held. */
static int
build (struct gbox_app_ctx *cx, const struct gbox_appliance_spec *spec,
       const char *cachedir, const char *entry, const char *kernel,
       const char *version, const char *moddir,
       struct gbox_app_strv *programs)
{
  char *tmp, *vmlinux = NULL, *initrd = NULL, *root = NULL, *scratch = NULL;
  struct gbox_app_contents c;
  struct extract_job job;
  pthread_t thread;
  bool started = false;
  uint64_t size = 0, root_size = 0;
  int r = -1, initrd_r;

  tmp = gbox_app_asprintf ("%s/tmp-XXXXXX", cachedir);
  if (!tmp)
    return gbox_app_error (cx, "out of memory");
  if (!mkdtemp (tmp)) {
    gbox_app_error (cx, "cannot create a directory in %s: %s", cachedir,
                    strerror (errno));
    free (tmp);
    return -1;
  }
  vmlinux = gbox_app_asprintf ("%s/vmlinux", tmp);
  initrd = gbox_app_asprintf ("%s/initrd", tmp);
  root = gbox_app_asprintf ("%s/root", tmp);
  scratch = gbox_app_asprintf ("%s/scratch", tmp);
  if (!vmlinux || !initrd || !root || !scratch) {
    gbox_app_error (cx, "out of memory");
    goto out;
  }
  if (mkdir (scratch, 0700) == -1) {
    gbox_app_error (cx, "%s: %s", scratch, strerror (errno));
    goto out;
  }

  gbox_app_debug (cx, "extracting kernel %s", kernel);
  memset (&job, 0, sizeof job);
  job.cx.err = job.err;
  job.cx.errlen = sizeof job.err;
  job.kernel = kernel;
  job.vmlinux = vmlinux;
  if (pthread_create (&thread, NULL, extract_thread, &job) == 0)
    started = true;
  else
    extract_thread (&job);

  memset (&c, 0, sizeof c);
  c.daemon = spec->daemon;
  c.init = spec->init;
  c.kernel_version = version;
  c.moddir = moddir;
  c.tmpdir = scratch;
  c.gzip = spec->gzip != 0;
  gbox_app_debug (cx, "building initrd");
  initrd_r = gbox_app_build_initrd (cx, &c, initrd, root, programs, &size,
                                    &root_size);
  if (started)
    pthread_join (thread, NULL);
  started = false;
  if (job.r == -1) {
    gbox_app_error (cx, "%s", job.err);
    goto out;
  }
  gbox_app_debug (cx, "kernel extracted in %" PRIu64 " ms", job.ms);
  if (initrd_r == -1)
    goto out;
  if (gbox_app_rmtree (scratch) == -1) {
    gbox_app_error (cx, "%s: cannot remove: %s", scratch, strerror (errno));
    goto out;
  }

  /* The stamp is written last: without it the entry is not valid. */
  if (gbox_app_write_stamp (cx, tmp, version, programs) == -1)
    goto out;
  if (gbox_app_fsync_path (tmp) == -1) {
    gbox_app_error (cx, "%s: fsync: %s", tmp, strerror (errno));
    goto out;
  }
  if (rename (tmp, entry) == -1) {
    gbox_app_error (cx, "cannot rename %s to %s: %s", tmp, entry,
                    strerror (errno));
    goto out;
  }
  gbox_app_fsync_path (cachedir);
  r = 0;

 out:
  if (r == -1)
    gbox_app_rmtree (tmp);
  free (tmp);
  free (vmlinux);
  free (initrd);
  free (root);
  free (scratch);
  return r;
}

int
gbox_appliance_get (const struct gbox_appliance_spec *spec,
                    struct gbox_appliance *app, char *err, size_t errlen)
{
  struct gbox_app_ctx cx = {
    .err = err, .errlen = errlen, .debug = spec->debug, .opaque = spec->opaque
  };
  struct gbox_app_strv programs = { 0 };
  char *kernel = NULL, *version = NULL, *moddir = NULL, *cachedir = NULL;
  char *entry = NULL, *stamp_version = NULL;
  char key[33], name[64];
  struct stat st;
  int lockfd = -1, r = -1;

  memset (app, 0, sizeof *app);
  if (err && errlen)
    err[0] = '\0';
  if (!spec->daemon || !spec->init)
    return gbox_app_error (&cx, "appliance: the daemon and init paths must "
                           "be set");

  if (gbox_app_kernel_find (&cx, spec->kernel, &kernel) == -1 ||
      gbox_app_kernel_version (&cx, kernel, &version) == -1)
    goto out;
  moddir = gbox_app_asprintf ("/lib/modules/%s", version);
  if (!moddir) {
    gbox_app_error (&cx, "out of memory");
    goto out;
  }
  if (stat (moddir, &st) == -1 || !S_ISDIR (st.st_mode)) {
    gbox_app_error (&cx, "kernel %s (version %s) has no modules in %s "
                    "(fix: install the matching modules package, or set "
                    "GBOX_KERNEL to a kernel whose /lib/modules/VERSION is "
                    "installed)", kernel, version, moddir);
    goto out;
  }
  gbox_app_debug (&cx, "kernel %s, version %s", kernel, version);

  if (gbox_app_cachedir (&cx, spec->cachedir, &cachedir) == -1 ||
      gbox_app_cache_key (&cx, spec, kernel, moddir, key) == -1)
    goto out;
  snprintf (name, sizeof name, "appliance-%s", key);
  entry = gbox_app_asprintf ("%s/%s", cachedir, name);
  if (!entry) {
    gbox_app_error (&cx, "out of memory");
    goto out;
  }

  /* Fast path: a complete entry needs no lock. */
  if (gbox_app_entry_check (entry, &programs, &stamp_version) == 1) {
    gbox_app_debug (&cx, "appliance cache hit: %s", entry);
    r = fill (&cx, app, entry, key, version, &programs);
    goto out;
  }

  if (gbox_app_lock (&cx, cachedir, &lockfd) == -1)
    goto out;
  if (gbox_app_entry_check (entry, &programs, &stamp_version) == 1) {
    gbox_app_debug (&cx, "appliance cache hit (built by another process): "
                    "%s", entry);
    r = fill (&cx, app, entry, key, version, &programs);
    goto out;
  }
  if (lstat (entry, &st) == 0) {
    gbox_app_debug (&cx, "removing incomplete cache entry %s", entry);
    if (gbox_app_rmtree (entry) == -1) {
      gbox_app_error (&cx, "cannot remove the broken cache entry %s: %s "
                      "(fix: remove it by hand)", entry, strerror (errno));
      goto out;
    }
  }

  gbox_app_debug (&cx, "building the appliance in %s", cachedir);
  if (build (&cx, spec, cachedir, entry, kernel, version, moddir,
             &programs) == -1)
    goto out;
  gbox_app_prune (&cx, cachedir, name);
  gbox_app_debug (&cx, "appliance built: %s", entry);
  r = fill (&cx, app, entry, key, version, &programs);
  if (r == 0)
    app->built = 1;

 out:
  if (lockfd >= 0)
    close (lockfd);             /* releases the flock */
  gbox_app_strv_free (&programs);
  free (kernel);
  free (version);
  free (moddir);
  free (cachedir);
  free (entry);
  free (stamp_version);
  return r;
}

void
gbox_appliance_free (struct gbox_appliance *app)
{
  size_t i;

  if (!app)
    return;
  free (app->dir);
  free (app->kernel);
  free (app->initrd);
  free (app->key);
  free (app->kernel_version);
  if (app->programs)
    for (i = 0; app->programs[i]; ++i)
      free (app->programs[i]);
  free (app->programs);
  memset (app, 0, sizeof *app);
}
