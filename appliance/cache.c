/* guestbox - the appliance builder.
 * Copyright (C) 2026 the guestbox authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

/** The per-user appliance cache: choosing and checking the cache
 * directory (ours, 0700, not a symlink), the build lock (flock on
 * CACHEDIR/lock), the stamp file that proves an entry complete, and
 * removing stale entries.
 *
 * Layout: CACHEDIR/lock, CACHEDIR/appliance-KEY/{vmlinux,initrd,root,stamp}
 * (plus whatever the library keeps there later, e.g. snapshot/), and
 * CACHEDIR/tmp-XXXXXX/ while a build runs. */

#include <config.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "appliance-internal.h"

#define LOCK_TIMEOUT_MS (10 * 60 * 1000)
#define STAMP_MAGIC "guestbox-appliance-stamp 1"
#define MAX_STAMP (64 * 1024)

int
gbox_app_cachedir (struct gbox_app_ctx *cx, const char *spec, char **dirp)
{
  const char *xdg = getenv ("XDG_CACHE_HOME");
  struct stat st;
  char *dir;
  int fd;

  if (spec && spec[0] == '/')
    dir = strdup (spec);
  else if (spec) {
    /* Relative: anchor it, qemu may run in another directory. */
    char *cwd = getcwd (NULL, 0);
    if (!cwd)
      return gbox_app_error (cx, "getcwd: %s", strerror (errno));
    dir = gbox_app_asprintf ("%s/%s", cwd, spec);
    free (cwd);
  }
  else if (xdg && xdg[0] == '/') {
    if (mkdir (xdg, 0700) == -1 && errno != EEXIST)
      return gbox_app_error (cx, "cannot create cache directory %s: %s "
                             "(fix: set XDG_CACHE_HOME to a writable "
                             "directory)", xdg, strerror (errno));
    dir = gbox_app_asprintf ("%s/guestbox", xdg);
  }
  else
    dir = gbox_app_asprintf ("/var/tmp/guestbox-%ju", (uintmax_t) geteuid ());
  if (!dir)
    return gbox_app_error (cx, "out of memory");

  if (mkdir (dir, 0700) == -1 && errno != EEXIST) {
    gbox_app_error (cx, "cannot create cache directory %s: %s (fix: set "
                    "XDG_CACHE_HOME to a writable directory)",
                    dir, strerror (errno));
    free (dir);
    return -1;
  }
  if (lstat (dir, &st) == -1) {
    gbox_app_error (cx, "cache directory %s: %s", dir, strerror (errno));
    free (dir);
    return -1;
  }
  if (!S_ISDIR (st.st_mode) || st.st_uid != geteuid ()) {
    gbox_app_error (cx, "cache directory %s is %s (fix: remove it, or set "
                    "XDG_CACHE_HOME to a directory of your own)", dir,
                    S_ISLNK (st.st_mode) ? "a symbolic link"
                    : !S_ISDIR (st.st_mode) ? "not a directory"
                    : "owned by another user");
    free (dir);
    return -1;
  }
  if (st.st_mode & 077) {
    fd = open (dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd == -1 || fchmod (fd, 0700) == -1) {
      gbox_app_error (cx, "cache directory %s: chmod 0700: %s", dir,
                      strerror (errno));
      if (fd >= 0)
        close (fd);
      free (dir);
      return -1;
    }
    close (fd);
  }
  *dirp = dir;
  return 0;
}

int
gbox_app_lock (struct gbox_app_ctx *cx, const char *cachedir, int *fdp)
{
  char *path = gbox_app_asprintf ("%s/lock", cachedir);
  struct timespec ts = { 0, 50 * 1000 * 1000 };
  unsigned waited = 0;
  int fd;

  if (!path)
    return gbox_app_error (cx, "out of memory");
  fd = open (path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd == -1) {
    gbox_app_error (cx, "cannot open lock file %s: %s", path,
                    strerror (errno));
    free (path);
    return -1;
  }
  while (flock (fd, LOCK_EX | LOCK_NB) == -1) {
    if (errno != EWOULDBLOCK && errno != EINTR) {
      gbox_app_error (cx, "cannot lock %s: %s", path, strerror (errno));
      goto err;
    }
    if (waited == 0)
      gbox_app_debug (cx, "waiting for another process building the "
                      "appliance (%s)", path);
    if (waited >= LOCK_TIMEOUT_MS) {
      gbox_app_error (cx, "timed out waiting for the lock on %s (another "
                      "process is building the appliance; if none is, "
                      "remove %s)", path, cachedir);
      goto err;
    }
    nanosleep (&ts, NULL);
    waited += 50;
  }
  free (path);
  *fdp = fd;
  return 0;

 err:
  close (fd);
  free (path);
  return -1;
}

static int
file_size (const char *dir, const char *name, uint64_t *size)
{
  char *p = gbox_app_asprintf ("%s/%s", dir, name);
  struct stat st;
  int r;

  if (!p)
    return -1;
  r = lstat (p, &st);
  free (p);
  if (r == -1 || !S_ISREG (st.st_mode))
    return -1;
  *size = st.st_size;
  return 0;
}

int
gbox_app_entry_check (const char *dir, struct gbox_app_strv *programs,
                      char **version)
{
  struct gbox_app_ctx quiet = { 0 };
  char *text = NULL, *line, *save = NULL, *path;
  uint64_t vmlinux, initrd, root, want_vmlinux = 0, want_initrd = 0;
  uint64_t want_root = 0;
  bool got_vmlinux = false, got_initrd = false, got_root = false;
  char *ver = NULL;
  int r = 0;

  if (file_size (dir, "vmlinux", &vmlinux) == -1 ||
      file_size (dir, "initrd", &initrd) == -1 ||
      file_size (dir, "root", &root) == -1)
    return 0;
  path = gbox_app_asprintf ("%s/stamp", dir);
  if (!path || gbox_app_read_file (&quiet, path, MAX_STAMP, &text,
                                   NULL) == -1) {
    free (path);
    return 0;
  }
  free (path);
  line = strtok_r (text, "\n", &save);
  if (!line || strcmp (line, STAMP_MAGIC) != 0)
    goto out;
  while ((line = strtok_r (NULL, "\n", &save)) != NULL) {
    unsigned long long v;
    char end;
    if (sscanf (line, "vmlinux %llu%c", &v, &end) == 1) {
      want_vmlinux = v;
      got_vmlinux = true;
    }
    else if (sscanf (line, "initrd %llu%c", &v, &end) == 1) {
      want_initrd = v;
      got_initrd = true;
    }
    else if (sscanf (line, "root %llu%c", &v, &end) == 1) {
      want_root = v;
      got_root = true;
    }
    else if (strncmp (line, "kernel_version ", 15) == 0 && !ver)
      ver = strdup (line + 15);
    else if (strncmp (line, "program ", 8) == 0 && programs &&
             programs->n < 1000)
      gbox_app_strv_push (programs, line + 8);
  }
  if (got_vmlinux && got_initrd && got_root && ver &&
      want_vmlinux == vmlinux && want_initrd == initrd && want_root == root &&
      vmlinux > 0 && initrd > 0 && root > 0) {
    r = 1;
    if (version) {
      *version = ver;
      ver = NULL;
    }
  }
 out:
  if (r == 0 && programs)
    gbox_app_strv_free (programs);
  free (ver);
  free (text);
  return r;
}

int
gbox_app_write_stamp (struct gbox_app_ctx *cx, const char *dir,
                      const char *version,
                      const struct gbox_app_strv *programs)
{
  uint64_t vmlinux, initrd, root;
  char *buf = NULL, *path;
  size_t len = 0, i;
  FILE *fp;
  int r;

  if (file_size (dir, "vmlinux", &vmlinux) == -1 ||
      file_size (dir, "initrd", &initrd) == -1 ||
      file_size (dir, "root", &root) == -1)
    return gbox_app_error (cx, "%s: the built files are missing", dir);
  fp = open_memstream (&buf, &len);
  if (!fp)
    return gbox_app_error (cx, "out of memory");
  fprintf (fp, "%s\nkernel_version %s\nvmlinux %llu\ninitrd %llu\n"
           "root %llu\n", STAMP_MAGIC, version, (unsigned long long) vmlinux,
           (unsigned long long) initrd, (unsigned long long) root);
  for (i = 0; i < programs->n; ++i)
    fprintf (fp, "program %s\n", programs->v[i]);
  if (fclose (fp) != 0) {
    free (buf);
    return gbox_app_error (cx, "out of memory");
  }
  path = gbox_app_asprintf ("%s/stamp", dir);
  if (!path) {
    free (buf);
    return gbox_app_error (cx, "out of memory");
  }
  r = gbox_app_write_file (cx, path, buf, len, 0644);
  free (path);
  free (buf);
  return r;
}

void
gbox_app_prune (struct gbox_app_ctx *cx, const char *cachedir,
                const char *keep)
{
  DIR *d = opendir (cachedir);
  struct dirent *ent;

  if (!d)
    return;
  while ((ent = readdir (d)) != NULL) {
    char *p;
    if ((strncmp (ent->d_name, "appliance-", 10) != 0 ||
         strcmp (ent->d_name, keep) == 0) &&
        strncmp (ent->d_name, "tmp-", 4) != 0)
      continue;
    p = gbox_app_asprintf ("%s/%s", cachedir, ent->d_name);
    if (!p)
      break;
    gbox_app_debug (cx, "removing old cache entry %s", p);
    if (gbox_app_rmtree (p) == -1)
      gbox_app_debug (cx, "could not remove %s: %s", p, strerror (errno));
    free (p);
  }
  closedir (d);
}
