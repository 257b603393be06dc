/* guestbox - kernel module loader shared by init and the daemon.
 * Copyright (C) 2026 the guestbox authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

/**
 * Parses modules.dep (and modules.builtin), computes the dependency
 * closure of a module (dependencies first) and loads it with
 * finit_module(2).  No modprobe, no libkmod: the appliance has neither
 * a shell nor udev.  Module names compare with '-' and '_' equal, as
 * the kernel does.
 */

#include <config.h>

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/utsname.h>

#include "modload.h"

/* Bounds for files we read (they come from our own appliance). */
#define MODFILE_MAX (64 * 1024 * 1024)
#define CLOSURE_MAX 256

#ifndef MODULE_INIT_COMPRESSED_FILE
#define MODULE_INIT_COMPRESSED_FILE 4
#endif

struct modentry {
  char *name;                   /* normalised: '-' -> '_' */
  char *path;                   /* relative to moddir */
  char **deps;                  /* paths */
  size_t nr_deps;
  bool builtin;
};

struct modload {
  char *moddir;
  struct modentry *e;
  size_t n;
};

static char *
read_whole (const char *path, size_t *lenp)
{
  int fd = open (path, O_RDONLY | O_CLOEXEC);
  struct stat st;
  char *buf;
  size_t len = 0;

  if (fd == -1)
    return NULL;
  if (fstat (fd, &st) == -1 || st.st_size > MODFILE_MAX) {
    if (errno == 0 || st.st_size > MODFILE_MAX)
      errno = EFBIG;
    close (fd);
    return NULL;
  }
  buf = malloc (st.st_size + 1);
  if (buf == NULL) {
    close (fd);
    return NULL;
  }
  while (len < (size_t) st.st_size) {
    ssize_t r = read (fd, buf + len, st.st_size - len);
    if (r == -1 && errno == EINTR)
      continue;
    if (r <= 0)
      break;
    len += r;
  }
  close (fd);
  buf[len] = '\0';
  *lenp = len;
  return buf;
}

/* "kernel/fs/ext4/ext4.ko" -> "ext4"; "a-b.ko.xz" -> "a_b". */
static char *
path_to_name (const char *path)
{
  const char *base = strrchr (path, '/');
  char *name, *p;

  base = base ? base + 1 : path;
  name = strdup (base);
  if (name == NULL)
    return NULL;
  p = strstr (name, ".ko");
  if (p && (p[3] == '\0' || p[3] == '.'))
    *p = '\0';
  for (p = name; *p; ++p)
    if (*p == '-')
      *p = '_';
  return name;
}

static char *
normalise (const char *name)
{
  char *n = strdup (name), *p;

  if (n)
    for (p = n; *p; ++p)
      if (*p == '-')
        *p = '_';
  return n;
}

static int
compare_entries (const void *a, const void *b)
{
  return strcmp (((const struct modentry *) a)->name,
                 ((const struct modentry *) b)->name);
}

static struct modentry *
find (struct modload *m, const char *name)
{
  struct modentry key;
  char *n = normalise (name);
  struct modentry *r;

  if (n == NULL)
    return NULL;
  key.name = n;
  r = bsearch (&key, m->e, m->n, sizeof key, compare_entries);
  free (n);
  return r;
}

static struct modentry *
find_path (struct modload *m, const char *path)
{
  char *n = path_to_name (path);
  struct modentry *r;

  if (n == NULL)
    return NULL;
  r = find (m, n);
  free (n);
  return r;
}

static int
add_entry (struct modload *m, size_t *alloc)
{
  if (m->n == *alloc) {
    size_t na = *alloc ? *alloc * 2 : 256;
    struct modentry *ne = realloc (m->e, na * sizeof *ne);
    if (ne == NULL)
      return -1;
    m->e = ne;
    *alloc = na;
  }
  memset (&m->e[m->n], 0, sizeof m->e[0]);
  return 0;
}

void
modload_close (struct modload *m)
{
  size_t i, j;

  if (m == NULL)
    return;
  for (i = 0; i < m->n; ++i) {
    free (m->e[i].name);
    free (m->e[i].path);
    for (j = 0; j < m->e[i].nr_deps; ++j)
      free (m->e[i].deps[j]);
    free (m->e[i].deps);
  }
  free (m->e);
  free (m->moddir);
  free (m);
}

struct modload *
modload_open (const char *moddir)
{
  struct modload *m;
  char path[4096];
  struct utsname u;
  char *buf, *line, *save = NULL;
  size_t len, alloc = 0;

  m = calloc (1, sizeof *m);
  if (m == NULL)
    return NULL;
  if (moddir == NULL) {
    if (uname (&u) == -1)
      goto error;
    snprintf (path, sizeof path, "/lib/modules/%s", u.release);
    m->moddir = strdup (path);
  }
  else
    m->moddir = strdup (moddir);
  if (m->moddir == NULL)
    goto error;

  snprintf (path, sizeof path, "%s/modules.dep", m->moddir);
  buf = read_whole (path, &len);
  if (buf == NULL)
    goto error;
  for (line = strtok_r (buf, "\n", &save); line;
       line = strtok_r (NULL, "\n", &save)) {
    char *colon = strchr (line, ':'), *dep, *dsave = NULL;
    struct modentry *e;

    if (colon == NULL)
      continue;
    *colon = '\0';
    if (add_entry (m, &alloc) == -1)
      goto error_buf;
    e = &m->e[m->n];
    e->path = strdup (line);
    e->name = path_to_name (line);
    m->n++;
    if (!e->path || !e->name)
      goto error_buf;
    for (dep = strtok_r (colon + 1, " \t", &dsave); dep;
         dep = strtok_r (NULL, " \t", &dsave)) {
      char **nd = realloc (e->deps, (e->nr_deps + 1) * sizeof (char *));
      if (nd == NULL)
        goto error_buf;
      e->deps = nd;
      e->deps[e->nr_deps] = strdup (dep);
      if (e->deps[e->nr_deps] == NULL)
        goto error_buf;
      e->nr_deps++;
    }
  }
  free (buf);

  /* Built-in modules: listed so that asking for them succeeds. */
  snprintf (path, sizeof path, "%s/modules.builtin", m->moddir);
  buf = read_whole (path, &len);
  if (buf) {
    for (line = strtok_r (buf, "\n", &save); line;
         line = strtok_r (NULL, "\n", &save)) {
      struct modentry *e;
      if (add_entry (m, &alloc) == -1)
        goto error_buf;
      e = &m->e[m->n];
      e->path = strdup (line);
      e->name = path_to_name (line);
      e->builtin = true;
      m->n++;
      if (!e->path || !e->name)
        goto error_buf;
    }
    free (buf);
  }

  qsort (m->e, m->n, sizeof m->e[0], compare_entries);
  return m;

 error_buf:
  free (buf);
 error:
  {
    int err = errno;
    modload_close (m);
    errno = err ? err : ENOMEM;
  }
  return NULL;
}

struct closure {
  char **list;
  size_t n;
  struct modentry *visited[CLOSURE_MAX];
  size_t nv;
};

static int
visit (struct modload *m, struct modentry *e, struct closure *c, int depth)
{
  size_t i;

  for (i = 0; i < c->nv; ++i)
    if (c->visited[i] == e)
      return 0;
  if (c->nv >= CLOSURE_MAX || depth > 64) {
    errno = ELOOP;
    return -1;
  }
  c->visited[c->nv++] = e;
  if (e->builtin)
    return 0;
  /* Dependencies first; modules.dep lists them so that loading from
   * the last one works, so visit them in reverse. */
  for (i = e->nr_deps; i-- > 0;) {
    struct modentry *d = find_path (m, e->deps[i]);
    if (d == NULL) {
      errno = ENOENT;
      return -1;
    }
    if (visit (m, d, c, depth + 1) == -1)
      return -1;
  }
  {
    char **nl = realloc (c->list, (c->n + 2) * sizeof (char *));
    if (nl == NULL)
      return -1;
    c->list = nl;
    c->list[c->n] = strdup (e->path);
    if (c->list[c->n] == NULL)
      return -1;
    c->list[++c->n] = NULL;
  }
  return 0;
}

char **
modload_closure (struct modload *m, const char *name)
{
  struct modentry *e = find (m, name);
  struct closure c;
  size_t i;

  if (e == NULL) {
    errno = ENOENT;
    return NULL;
  }
  memset (&c, 0, sizeof c);
  c.list = calloc (1, sizeof (char *));
  if (c.list == NULL)
    return NULL;
  if (visit (m, e, &c, 0) == -1) {
    int err = errno;
    for (i = 0; i < c.n; ++i)
      free (c.list[i]);
    free (c.list);
    errno = err;
    return NULL;
  }
  return c.list;
}

static bool
ends_with (const char *s, const char *suffix)
{
  size_t a = strlen (s), b = strlen (suffix);
  return a >= b && strcmp (s + a - b, suffix) == 0;
}

int
modload_load (struct modload *m, const char *name, char *err, size_t errlen)
{
  char **list;
  size_t i;
  int ret = 0;

  list = modload_closure (m, name);
  if (list == NULL) {
    snprintf (err, errlen, "module %s: %s", name,
              errno == ENOENT ? "not found in modules.dep" : strerror (errno));
    return -1;
  }
  for (i = 0; list[i] && ret == 0; ++i) {
    char path[4096];
    int fd, flags = 0;
    char *mname = path_to_name (list[i]);

    /* Already loaded: skip reading the whole file for an EEXIST. */
    if (mname) {
      snprintf (path, sizeof path, "/sys/module/%s/initstate", mname);
      free (mname);
      if (access (path, F_OK) == 0)
        continue;
    }
    snprintf (path, sizeof path, "%s/%s", m->moddir, list[i]);
    fd = open (path, O_RDONLY | O_CLOEXEC);
    if (fd == -1) {
      snprintf (err, errlen, "module %s: %s: %s", name, path,
                strerror (errno));
      ret = -1;
      break;
    }
    if (ends_with (path, ".xz") || ends_with (path, ".zst") ||
        ends_with (path, ".gz"))
      flags = MODULE_INIT_COMPRESSED_FILE;
    if (syscall (SYS_finit_module, fd, "", flags) == -1 && errno != EEXIST) {
      snprintf (err, errlen, "module %s: finit_module %s: %s", name, path,
                strerror (errno));
      ret = -1;
    }
    close (fd);
  }
  for (i = 0; list[i]; ++i)
    free (list[i]);
  free (list);
  return ret;
}

int
modload_load_all (struct modload *m, unsigned *loaded,
                  char *err, size_t errlen)
{
  size_t i;
  int ret = 0;

  *loaded = 0;
  for (i = 0; i < m->n; ++i) {
    char one[512];

    if (m->e[i].builtin)
      continue;
    if (modload_load (m, m->e[i].name, one, sizeof one) == -1) {
      /* Keep going: report the first failure. */
      if (ret == 0)
        snprintf (err, errlen, "%s", one);
      ret = -1;
      continue;
    }
    (*loaded)++;
  }
  return ret;
}
