/* guestbox - finding the appliance to boot.
 * Copyright (C) 2026 the guestbox authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

/**
 * Decides which kernel and initrd a launch boots: a prebuilt appliance
 * named by GBOX_PATH / LIBGUESTFS_PATH, or the per-user cached one that
 * libgbappliance.a finds or builds from the host.  The daemon and init
 * put into it come from the build tree when the running program lives
 * in it (uninstalled use, tests), else from the installed libexec dir.
 */

#include <config.h>

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <ftw.h>
#include <sys/stat.h>

#include "guestbox-internal.h"
#include "cleanups.h"
#include "appliance.h"

static void
builder_debug (void *opaque, const char *msg)
{
  gbox_int_debug ((gbox_h *) opaque, "appliance: %s", msg);
}

/* Is DIR/guestboxd and DIR/guestbox-init there? */
static bool
daemon_dir_ok (const char *dir)
{
  char p[PATH_MAX];

  snprintf (p, sizeof p, "%s/guestboxd", dir);
  if (access (p, X_OK) != 0)
    return false;
  snprintf (p, sizeof p, "%s/guestbox-init", dir);
  return access (p, X_OK) == 0;
}

/* Where guestboxd and guestbox-init are: $GBOX_DAEMON_DIR, the build
 * tree next to the running program (EXE/../daemon), or LIBEXECDIR. */
static char *
find_daemon_dir (gbox_h *h)
{
  const char *env = secure_getenv ("GBOX_DAEMON_DIR");
  char exe[PATH_MAX], cand[PATH_MAX + 16];
  ssize_t n;

  if (env && *env) {
    if (!daemon_dir_ok (env)) {
      gbox_int_error (h, "GBOX_DAEMON_DIR=%s: guestboxd or guestbox-init "
                      "not found there", env);
      return NULL;
    }
    return gbox_int_strdup (h, env);
  }
  n = readlink ("/proc/self/exe", exe, sizeof exe - 1);
  if (n > 0) {
    char *slash;

    exe[n] = '\0';
    slash = strrchr (exe, '/');
    if (slash) {
      *slash = '\0';
      snprintf (cand, sizeof cand, "%s/../daemon", exe);
      if (daemon_dir_ok (cand)) {
        char *real = realpath (cand, NULL);
        if (real)
          return real;
      }
    }
  }
  if (daemon_dir_ok (LIBEXECDIR))
    return gbox_int_strdup (h, LIBEXECDIR);
  gbox_int_error (h, "cannot find the guestbox daemon (guestboxd and "
                  "guestbox-init) in %s: is guestbox installed?", LIBEXECDIR);
  return NULL;
}

/* A prebuilt appliance directory holds "vmlinux" (or "kernel") and
 * "initrd". */
static int
prebuilt (gbox_h *h, char **kernel, char **initrd)
{
  static const char *const knames[] = { "vmlinux", "kernel", NULL };
  size_t i;

  for (i = 0; knames[i]; ++i) {
    char *k = gbox_int_asprintf (h, "%s/%s", h->path, knames[i]);
    if (!k)
      return -1;
    if (access (k, R_OK) == 0) {
      *kernel = k;
      break;
    }
    free (k);
  }
  *initrd = gbox_int_asprintf (h, "%s/initrd", h->path);
  if (!*kernel || !*initrd || access (*initrd, R_OK) != 0) {
    gbox_int_error (h, "%s: not a usable prebuilt appliance (it needs a "
                    "readable 'vmlinux' and 'initrd')", h->path);
    free (*kernel);
    free (*initrd);
    *kernel = *initrd = NULL;
    return -1;
  }
  gbox_int_debug (h, "using the prebuilt appliance in %s", h->path);
  return 0;
}

/* The default cache when XDG_CACHE_HOME is unset: $HOME/.cache/guestbox
 * when HOME is a directory of ours (no other user can squat it, as one
 * can /var/tmp/guestbox-UID).  NULL: the builder's own default. */
static char *
home_cachedir (gbox_h *h)
{
  const char *xdg = secure_getenv ("XDG_CACHE_HOME");
  const char *home = secure_getenv ("HOME");
  CLEANUP_FREE char *cache = NULL;
  struct stat st;

  if ((xdg && xdg[0] == '/') || !home || home[0] != '/')
    return NULL;
  if (stat (home, &st) == -1 || !S_ISDIR (st.st_mode) ||
      st.st_uid != geteuid ())
    return NULL;
  cache = gbox_int_asprintf (h, "%s/.cache", home);
  if (cache == NULL || (mkdir (cache, 0700) == -1 && errno != EEXIST) ||
      lstat (cache, &st) == -1 || !S_ISDIR (st.st_mode) ||
      st.st_uid != geteuid ())
    return NULL;
  return gbox_int_asprintf (h, "%s/guestbox", cache);
}

static int
remove_entry (const char *path, const struct stat *st, int flag,
              struct FTW *ftw)
{
  remove (path);
  return 0;
}

void
gbox_int_remove_private_cache (gbox_h *h)
{
  if (h->private_cache) {
    nftw (h->private_cache, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
    free (h->private_cache);
    h->private_cache = NULL;
  }
}

/* When the default cache cannot be used (someone else's
 * /var/tmp/guestbox-UID): a private one for this handle, removed on
 * close, with a warning.  0, or -1. */
static int
private_cachedir (gbox_h *h, const char *why)
{
  const char *tmp = secure_getenv ("TMPDIR");
  char *dir = gbox_int_asprintf (h, "%s/guestbox-cache-XXXXXX",
                                 tmp && *tmp ? tmp : "/tmp");

  if (dir == NULL)
    return -1;
  if (mkdtemp (dir) == NULL) {
    gbox_int_perror (h, "%s", dir);
    free (dir);
    return -1;
  }
  fprintf (stderr, "%s: warning: %s; using the private cache %s for this "
           "run (set XDG_CACHE_HOME to a directory of your own to keep the "
           "appliance between runs)\n", h->program, why, dir);
  h->private_cache = dir;
  return 0;
}

int
gbox_int_find_appliance (gbox_h *h, char **kernel, char **initrd,
                         char **cachedir)
{
  CLEANUP_FREE char *home_cache = NULL;
  struct gbox_appliance_spec spec;
  struct gbox_appliance app;
  CLEANUP_FREE char *dir = NULL, *daemon = NULL, *init = NULL;
  CLEANUP_FREE char *envcache = gbox_int_env_cachedir ();
  char err[2048];
  uint64_t t0 = gbox_int_now_ms ();

  *kernel = *initrd = *cachedir = NULL;
  if (h->path && *h->path)
    return prebuilt (h, kernel, initrd);

  dir = find_daemon_dir (h);
  if (!dir)
    return -1;
  daemon = gbox_int_asprintf (h, "%s/guestboxd", dir);
  init = gbox_int_asprintf (h, "%s/guestbox-init", dir);
  if (!daemon || !init)
    return -1;

  memset (&spec, 0, sizeof spec);
  memset (&app, 0, sizeof app);
  spec.daemon = daemon;
  spec.init = init;
  spec.debug = builder_debug;
  spec.opaque = h;
  /* A private cache of this handle, else LIBGUESTFS_CACHEDIR, else
   * XDG_CACHE_HOME or $HOME/.cache, else the builder's default. */
  home_cache = home_cachedir (h);
  spec.cachedir = h->private_cache ? h->private_cache
    : envcache ? envcache : home_cache;
  if (gbox_appliance_get (&spec, &app, err, sizeof err) == -1) {
    if (spec.cachedir != NULL || strstr (err, "cache directory") == NULL) {
      gbox_int_error (h, "%s", err);
      return -1;
    }
    if (private_cachedir (h, err) == -1)
      return -1;
    spec.cachedir = h->private_cache;
    memset (&app, 0, sizeof app);
    if (gbox_appliance_get (&spec, &app, err, sizeof err) == -1) {
      gbox_int_error (h, "%s", err);
      return -1;
    }
  }
  gbox_int_debug (h, "appliance %s (%s) in %" PRIu64 " ms: %s",
                  app.key, app.built ? "built" : "cached",
                  gbox_int_now_ms () - t0, app.dir);
  *kernel = app.kernel;
  *initrd = app.initrd;
  *cachedir = app.dir;
  app.kernel = app.initrd = app.dir = NULL;
  gbox_appliance_free (&app);
  return 0;
}
