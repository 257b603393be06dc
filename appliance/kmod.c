/* guestbox - the appliance builder.
 * Copyright (C) 2026 the guestbox authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

/** Kernel modules in the initrd: parsing modules.dep (plus the "pre:"
 * soft dependencies of modules.softdep, resolved through modules.alias,
 * and modules.builtin), the dependency closure of the wanted modules in
 * load order, copying the .ko files (decompressing .ko.xz / .ko.gz), and
 * writing a modules.dep filtered to what is included.
 *
 * Parsing is bounded and tolerant: lines without a colon are ignored,
 * duplicate lines keep the first, dependency cycles are cut, paths with
 * ".." are refused. */

#include <config.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "appliance-internal.h"

#define MAX_DEPS_PER_LINE 4096
#define MAX_MODULES 200000
#define MAX_MODULE_OUT (512ULL * 1024 * 1024)

struct mod {
  char *name;                   /* '-' turned into '_' */
  char *path;                   /* relative path, as in modules.dep */
  size_t *deps, ndeps;          /* hard dependencies, in listed order */
  size_t *soft, nsoft;          /* resolved soft "pre:" dependencies */
  bool has_line;
};

struct gbox_app_moddb {
  struct mod *v;
  size_t n, cap;
  size_t *table, tcap;          /* name -> index + 1 */
  struct gbox_app_strv builtin; /* normalised names */
  unsigned char *state;         /* selection: 0 no, 1 in progress, 2 yes */
  size_t *sel, nsel, selcap;
};

struct gbox_app_moddb *
gbox_app_moddb_new (void)
{
  return calloc (1, sizeof (struct gbox_app_moddb));
}

void
gbox_app_moddb_free (struct gbox_app_moddb *db)
{
  size_t i;

  if (!db)
    return;
  for (i = 0; i < db->n; ++i) {
    free (db->v[i].name);
    free (db->v[i].path);
    free (db->v[i].deps);
    free (db->v[i].soft);
  }
  free (db->v);
  free (db->table);
  free (db->state);
  free (db->sel);
  gbox_app_strv_free (&db->builtin);
  free (db);
}

/* Module name from a string: '-' -> '_'. */
static char *
normalise_name (const char *s, size_t len)
{
  char *n = strndup (s, len);
  char *p;

  if (n)
    for (p = n; *p; ++p)
      if (*p == '-')
        *p = '_';
  return n;
}

/* The module name of a path: basename without ".ko" and any compression
 * suffix; NULL if the path is not a module path. */
static char *
name_of_path (const char *path, size_t len)
{
  const char *base = path, *p, *ko = NULL;

  for (p = path; p < path + len; ++p)
    if (*p == '/')
      base = p + 1;
  for (p = base; p + 3 <= path + len; ++p)
    if (memcmp (p, ".ko", 3) == 0 &&
        (p + 3 == path + len || p[3] == '.'))
      ko = p;
  if (!ko || ko == base)
    return NULL;
  return normalise_name (base, ko - base);
}

static uint64_t
hash_str (const char *s)
{
  uint64_t h = 0xcbf29ce484222325ULL;

  for (; *s; ++s)
    h = (h ^ (unsigned char) *s) * 0x100000001b3ULL;
  return h;
}

static ssize_t
find_mod (const struct gbox_app_moddb *db, const char *name)
{
  size_t i;

  if (db->tcap == 0)
    return -1;
  for (i = hash_str (name) & (db->tcap - 1); db->table[i];
       i = (i + 1) & (db->tcap - 1))
    if (strcmp (db->v[db->table[i] - 1].name, name) == 0)
      return db->table[i] - 1;
  return -1;
}

static int
rehash (struct gbox_app_moddb *db)
{
  size_t tcap = db->tcap ? db->tcap * 2 : 8192, i, j;
  size_t *t = calloc (tcap, sizeof *t);

  if (!t)
    return -1;
  for (i = 0; i < db->n; ++i) {
    for (j = hash_str (db->v[i].name) & (tcap - 1); t[j];
         j = (j + 1) & (tcap - 1))
      ;
    t[j] = i + 1;
  }
  free (db->table);
  db->table = t;
  db->tcap = tcap;
  return 0;
}

/* Find or create the module for PATH (LEN bytes); -1 if PATH is not a
 * usable module path, -2 out of memory. */
static ssize_t
get_mod (struct gbox_app_moddb *db, const char *path, size_t len)
{
  char *name;
  ssize_t i;
  size_t j;
  const char *p;

  if (len == 0 || len > 1024 || path[0] == '/')
    return -1;
  for (p = path; p < path + len; ++p)   /* refuse ".." components */
    if (p[0] == '.' && p + 1 < path + len && p[1] == '.' &&
        (p == path || p[-1] == '/') &&
        (p + 2 == path + len || p[2] == '/'))
      return -1;
  name = name_of_path (path, len);
  if (!name)
    return -1;
  i = find_mod (db, name);
  if (i >= 0) {
    free (name);
    return i;
  }
  if (db->n >= MAX_MODULES) {
    free (name);
    return -1;
  }
  if (db->n + 1 > db->cap) {
    size_t cap = db->cap ? db->cap * 2 : 1024;
    struct mod *v = realloc (db->v, cap * sizeof *v);
    if (!v) {
      free (name);
      return -2;
    }
    db->v = v;
    db->cap = cap;
  }
  if ((db->n + 1) * 2 > db->tcap && rehash (db) == -1) {
    free (name);
    return -2;
  }
  memset (&db->v[db->n], 0, sizeof db->v[db->n]);
  db->v[db->n].name = name;
  db->v[db->n].path = strndup (path, len);
  if (!db->v[db->n].path) {
    free (name);
    return -2;
  }
  for (j = hash_str (name) & (db->tcap - 1); db->table[j];
       j = (j + 1) & (db->tcap - 1))
    ;
  db->table[j] = db->n + 1;
  return db->n++;
}

/* Append X (if DEDUP, only when absent: for the short soft lists; the
 * closure walk copes with duplicates in the long ones). */
static int
push_index (size_t **v, size_t *n, size_t x, bool dedup)
{
  size_t *nv;
  size_t i;

  if (dedup)
    for (i = 0; i < *n; ++i)
      if ((*v)[i] == x)
        return 0;
  /* Grow at powers of two (capacity 2n >= n + 1). */
  if (*n == 0 || (*n & (*n - 1)) == 0) {
    nv = realloc (*v, (*n ? *n * 2 : 2) * sizeof *nv);
    if (!nv)
      return -1;
    *v = nv;
  }
  (*v)[(*n)++] = x;
  return 0;
}

static bool
is_space (char c)
{
  return c == ' ' || c == '\t' || c == '\r';
}

static int
parse_dep (struct gbox_app_ctx *cx, struct gbox_app_moddb *db,
           const char *text)
{
  const char *line = text;
  size_t bad = 0;

  while (*line) {
    const char *eol = strchr (line, '\n'), *colon, *p, *end;
    ssize_t m;
    size_t ndeps = 0;

    if (!eol)
      eol = line + strlen (line);
    colon = memchr (line, ':', eol - line);
    if (!colon || line[0] == '#') {
      if (colon || (eol > line && line[0] != '#'))
        bad++;
      goto next;
    }
    for (end = colon; end > line && is_space (end[-1]); --end)
      ;
    for (p = line; p < end && is_space (*p); ++p)
      ;
    m = get_mod (db, p, end - p);
    if (m == -2)
      return gbox_app_error (cx, "modules.dep: out of memory");
    if (m < 0 || db->v[m].has_line) {
      bad++;
      goto next;
    }
    db->v[m].has_line = true;
    /* The line's own path wins over one seen in a dependency list. */
    if (strlen (db->v[m].path) != (size_t) (end - p) ||
        memcmp (db->v[m].path, p, end - p) != 0) {
      char *np = strndup (p, end - p);
      if (!np)
        return gbox_app_error (cx, "modules.dep: out of memory");
      free (db->v[m].path);
      db->v[m].path = np;
    }
    for (p = colon + 1; p < eol;) {
      const char *tok;
      ssize_t d;
      while (p < eol && is_space (*p))
        p++;
      if (p >= eol)
        break;
      tok = p;
      while (p < eol && !is_space (*p))
        p++;
      if (++ndeps > MAX_DEPS_PER_LINE) {
        bad++;
        break;
      }
      d = get_mod (db, tok, p - tok);
      if (d == -2)
        return gbox_app_error (cx, "modules.dep: out of memory");
      if (d < 0 || d == m) {
        bad++;
        continue;
      }
      if (push_index (&db->v[m].deps, &db->v[m].ndeps, d, false) == -1)
        return gbox_app_error (cx, "modules.dep: out of memory");
    }
  next:
    line = *eol ? eol + 1 : eol;
  }
  if (bad > 0)
    gbox_app_debug (cx, "modules.dep: ignored %zu malformed entries", bad);
  return 0;
}

/* One "pre:" soft dependency of module MOD, by name or alias. */
struct soft {
  size_t mod;
  char *want;                   /* normalised */
  ssize_t resolved;
};

/* Whether the alias WANT (normalised) is provided by a built-in module,
 * according to modules.builtin.modinfo ("mod.alias=NAME" strings separated
 * by NULs). */
static bool
builtin_provides (const char *modinfo, size_t len, const char *want)
{
  size_t i = 0, wlen = strlen (want);

  while (modinfo && i < len) {
    const char *s = modinfo + i, *end = memchr (s, '\0', len - i);
    const char *eq;
    size_t slen = end ? (size_t) (end - s) : len - i;
    eq = memchr (s, '=', slen);
    if (eq && eq - s > 6 && memcmp (eq - 6, ".alias", 6) == 0 &&
        (size_t) (s + slen - eq - 1) == wlen) {
      size_t k;
      for (k = 0; k < wlen; ++k) {
        char c = eq[1 + k] == '-' ? '_' : eq[1 + k];
        if (c != want[k])
          break;
      }
      if (k == wlen)
        return true;
    }
    i += slen + 1;
  }
  return false;
}

static int
parse_softdep (struct gbox_app_ctx *cx, struct gbox_app_moddb *db,
               const char *softdep, const char *alias,
               const char *modinfo, size_t modinfo_len)
{
  struct soft *sv = NULL;
  size_t n = 0, cap = 0, i;
  const char *line;
  int r = -1;

  for (line = softdep; *line;) {
    const char *eol = strchr (line, '\n');
    char buf[4096], *save = NULL, *tok;
    size_t len;
    ssize_t m = -1;
    bool pre = false;

    if (!eol)
      eol = line + strlen (line);
    len = eol - line;
    if (len < sizeof buf && strncmp (line, "softdep", 7) == 0 &&
        is_space (line[7])) {
      memcpy (buf, line, len);
      buf[len] = '\0';
      strtok_r (buf, " \t\r", &save);
      tok = strtok_r (NULL, " \t\r", &save);
      if (tok) {
        char *nm = normalise_name (tok, strlen (tok));
        if (!nm)
          goto oom;
        m = find_mod (db, nm);
        free (nm);
      }
      while (m >= 0 && (tok = strtok_r (NULL, " \t\r", &save)) != NULL) {
        if (strcmp (tok, "pre:") == 0)
          pre = true;
        else if (strcmp (tok, "post:") == 0)
          pre = false;
        else if (pre && n < 4096) {
          if (n + 1 > cap) {
            struct soft *nv;
            cap = cap ? cap * 2 : 64;
            nv = realloc (sv, cap * sizeof *nv);
            if (!nv)
              goto oom;
            sv = nv;
          }
          sv[n].mod = m;
          sv[n].want = normalise_name (tok, strlen (tok));
          if (!sv[n].want)
            goto oom;
          sv[n].resolved = find_mod (db, sv[n].want);
          if (sv[n].resolved < 0 &&
              (gbox_app_strv_contains (&db->builtin, sv[n].want) ||
               builtin_provides (modinfo, modinfo_len, sv[n].want)))
            free (sv[n].want);  /* built in: nothing to load */
          else
            n++;
        }
      }
    }
    line = *eol ? eol + 1 : eol;
  }

  /* Unresolved names are aliases ("crypto-crc32c"): one pass over
   * modules.alias, exact (non-wildcard) aliases only, preferring a
   * "*_generic" implementation, which works on every CPU. */
  if (alias) {
    for (line = alias; *line;) {
      const char *eol = strchr (line, '\n');
      char buf[1024], *save = NULL, *al, *mn;
      size_t len;

      if (!eol)
        eol = line + strlen (line);
      len = eol - line;
      if (len < sizeof buf && strncmp (line, "alias ", 6) == 0) {
        memcpy (buf, line, len);
        buf[len] = '\0';
        strtok_r (buf, " \t\r", &save);
        al = strtok_r (NULL, " \t\r", &save);
        mn = strtok_r (NULL, " \t\r", &save);
        if (al && mn && !strpbrk (al, "*?[")) {
          char *nal = normalise_name (al, strlen (al));
          char *nmn = normalise_name (mn, strlen (mn));
          if (!nal || !nmn) {
            free (nal);
            free (nmn);
            goto oom;
          }
          for (i = 0; i < n; ++i) {
            ssize_t c;
            size_t l;
            if (strcmp (sv[i].want, nal) != 0)
              continue;
            c = find_mod (db, nmn);
            if (c < 0)
              continue;
            l = strlen (nmn);
            if (sv[i].resolved < 0 ||
                (l >= 8 && strcmp (nmn + l - 8, "_generic") == 0))
              sv[i].resolved = c;
          }
          free (nal);
          free (nmn);
        }
      }
      line = *eol ? eol + 1 : eol;
    }
  }

  for (i = 0; i < n; ++i) {
    if (sv[i].resolved < 0 || (size_t) sv[i].resolved == sv[i].mod)
      continue;
    if (push_index (&db->v[sv[i].mod].soft, &db->v[sv[i].mod].nsoft,
                    sv[i].resolved, true) == -1)
      goto oom;
  }
  r = 0;
  goto out;

 oom:
  gbox_app_error (cx, "modules.softdep: out of memory");
 out:
  for (i = 0; i < n; ++i)
    free (sv[i].want);
  free (sv);
  return r;
}

static int
parse_builtin (struct gbox_app_moddb *db, const char *text)
{
  const char *line = text;

  while (*line) {
    const char *eol = strchr (line, '\n');
    char *name;

    if (!eol)
      eol = line + strlen (line);
    name = name_of_path (line, eol - line);
    if (name) {
      if (!gbox_app_strv_contains (&db->builtin, name) &&
          gbox_app_strv_push (&db->builtin, name) == -1) {
        free (name);
        return -1;
      }
      free (name);
    }
    line = *eol ? eol + 1 : eol;
  }
  return 0;
}

int
gbox_app_moddb_parse (struct gbox_app_ctx *cx, struct gbox_app_moddb *db,
                      const char *dep, const char *softdep,
                      const char *alias, const char *builtin,
                      const char *modinfo, size_t modinfo_len)
{
  if (parse_dep (cx, db, dep) == -1)
    return -1;
  if (builtin && parse_builtin (db, builtin) == -1)
    return gbox_app_error (cx, "modules.builtin: out of memory");
  if (softdep &&
      parse_softdep (cx, db, softdep, alias, modinfo, modinfo_len) == -1)
    return -1;
  free (db->state);
  db->state = calloc (db->n ? db->n : 1, 1);
  if (!db->state)
    return gbox_app_error (cx, "modules.dep: out of memory");
  return 0;
}

int
gbox_app_moddb_load (struct gbox_app_ctx *cx, struct gbox_app_moddb *db,
                     const char *moddir)
{
  char *path, *dep = NULL, *softdep = NULL, *alias = NULL, *builtin = NULL;
  char *modinfo = NULL;
  size_t modinfo_len = 0;
  struct gbox_app_ctx quiet = { 0 };
  int r;

  path = gbox_app_asprintf ("%s/modules.dep", moddir);
  if (!path)
    return gbox_app_error (cx, "out of memory");
  r = gbox_app_read_file (cx, path, GBOX_APP_MAX_TEXT, &dep, NULL);
  free (path);
  if (r == -1)
    return -1;
  /* The others are optional. */
#define OPTIONAL(var, file, lenp)                                       \
  do {                                                                  \
    char *p_ = gbox_app_asprintf ("%s/" file, moddir);                  \
    if (p_ && gbox_app_read_file (&quiet, p_, GBOX_APP_MAX_TEXT,        \
                                  &var, lenp) == -1)                    \
      var = NULL;                                                       \
    free (p_);                                                          \
  } while (0)
  OPTIONAL (softdep, "modules.softdep", NULL);
  if (softdep) {
    OPTIONAL (alias, "modules.alias", NULL);
    OPTIONAL (modinfo, "modules.builtin.modinfo", &modinfo_len);
  }
  OPTIONAL (builtin, "modules.builtin", NULL);
#undef OPTIONAL
  r = gbox_app_moddb_parse (cx, db, dep, softdep, alias, builtin,
                            modinfo, modinfo_len);
  free (modinfo);
  free (dep);
  free (softdep);
  free (alias);
  free (builtin);
  return r;
}

/* Children of M in visiting order: hard dependencies from the last listed
 * (the deepest, as modprobe loads them), then the soft ones. */
static size_t
nchildren (const struct mod *m)
{
  return m->ndeps + m->nsoft;
}

static size_t
child (const struct mod *m, size_t k)
{
  return k < m->ndeps ? m->deps[m->ndeps - 1 - k] : m->soft[k - m->ndeps];
}

/* Depth-first post-order from ROOT over modules whose MARK is 0, with an
 * explicit stack (no recursion on hostile input); appends to OUT. */
static int
postorder (const struct gbox_app_moddb *db, size_t root, unsigned char *mark,
           size_t **out, size_t *nout, size_t *outcap)
{
  size_t *stack, *pos, sp = 0;

  if (mark[root])
    return 0;
  stack = malloc (db->n * sizeof *stack);
  pos = malloc (db->n * sizeof *pos);
  if (!stack || !pos) {
    free (stack);
    free (pos);
    return -1;
  }
  stack[sp] = root;
  pos[sp++] = 0;
  mark[root] = 1;
  while (sp > 0) {
    size_t top = stack[sp - 1];
    const struct mod *m = &db->v[top];
    if (pos[sp - 1] < nchildren (m)) {
      size_t c = child (m, pos[sp - 1]++);
      if (mark[c] == 0) {       /* 1 = on the stack: a cycle, cut it */
        mark[c] = 1;
        stack[sp] = c;
        pos[sp++] = 0;
      }
      continue;
    }
    sp--;
    mark[top] = 2;
    if (*nout + 1 > *outcap) {
      size_t cap = *outcap ? *outcap * 2 : 64;
      size_t *nv = realloc (*out, cap * sizeof *nv);
      if (!nv) {
        free (stack);
        free (pos);
        return -1;
      }
      *out = nv;
      *outcap = cap;
    }
    (*out)[(*nout)++] = top;
  }
  free (stack);
  free (pos);
  return 0;
}

int
gbox_app_moddb_select (struct gbox_app_ctx *cx, struct gbox_app_moddb *db,
                       const char *name)
{
  char *n = normalise_name (name, strlen (name));
  ssize_t i;

  if (!n)
    return gbox_app_error (cx, "out of memory");
  i = find_mod (db, n);
  if (i < 0 || !db->v[i].has_line) {
    bool builtin = gbox_app_strv_contains (&db->builtin, n);
    free (n);
    return builtin ? GBOX_APP_MOD_BUILTIN : GBOX_APP_MOD_MISSING;
  }
  free (n);
  if (postorder (db, i, db->state, &db->sel, &db->nsel, &db->selcap) == -1)
    return gbox_app_error (cx, "out of memory");
  return GBOX_APP_MOD_ADDED;
}

size_t
gbox_app_moddb_nselected (const struct gbox_app_moddb *db)
{
  return db->nsel;
}

const char *
gbox_app_moddb_name (const struct gbox_app_moddb *db, size_t i)
{
  return i < db->nsel ? db->v[db->sel[i]].name : NULL;
}

const char *
gbox_app_moddb_path (const struct gbox_app_moddb *db, size_t i)
{
  return i < db->nsel ? db->v[db->sel[i]].path : NULL;
}

/* The length of PATH without a compression suffix after ".ko". */
static size_t
ko_len (const char *path)
{
  size_t len = strlen (path);

  if (len > 6 && (strcmp (path + len - 6, ".ko.xz") == 0 ||
                  strcmp (path + len - 6, ".ko.gz") == 0))
    return len - 3;
  if (len > 7 && strcmp (path + len - 7, ".ko.zst") == 0)
    return len - 4;
  return len;
}

char *
gbox_app_moddb_filtered (const struct gbox_app_moddb *db)
{
  char *buf = NULL;
  size_t len = 0;
  FILE *fp;
  size_t i, j;
  unsigned char *mark;
  size_t *order = NULL, norder = 0, ordercap = 0;

  fp = open_memstream (&buf, &len);
  if (!fp)
    return NULL;
  mark = malloc (db->n ? db->n : 1);
  if (!mark) {
    fclose (fp);
    free (buf);
    return NULL;
  }
  /* Each line lists the module's whole closure, deepest last, exactly as
   * depmod writes it, so a loader can walk it backwards without
   * recursing. */
  for (i = 0; i < db->nsel; ++i) {
    const struct mod *m = &db->v[db->sel[i]];
    memset (mark, 0, db->n);
    norder = 0;
    if (postorder (db, db->sel[i], mark, &order, &norder, &ordercap) == -1)
      goto err;
    fprintf (fp, "%.*s:", (int) ko_len (m->path), m->path);
    for (j = norder - 1; j-- > 0;) {
      const struct mod *d = &db->v[order[j]];
      fprintf (fp, " %.*s", (int) ko_len (d->path), d->path);
    }
    fputc ('\n', fp);
  }
  free (mark);
  free (order);
  if (fclose (fp) != 0) {
    free (buf);
    return NULL;
  }
  return buf;

 err:
  free (mark);
  free (order);
  fclose (fp);
  free (buf);
  return NULL;
}

int
gbox_app_moddb_add (struct gbox_app_ctx *cx, struct gbox_app_moddb *db,
                    struct gbox_app_cpio *a, const char *moddir,
                    const char *tmpdir)
{
  char *real = NULL, *filtered = NULL, *p = NULL;
  size_t i;
  int r = -1;
  struct stat st;

  if (gbox_app_add_host_path (cx, a, moddir, &real) == -1)
    return -1;

  for (i = 0; i < db->nsel; ++i) {
    const char *rel = db->v[db->sel[i]].path;
    size_t klen = ko_len (rel), len = strlen (rel);
    char *src, *dst;
    int rr;

    src = gbox_app_asprintf ("%s/%s", moddir, rel);
    dst = gbox_app_asprintf ("%s/%.*s", real, (int) klen, rel);
    if (!src || !dst) {
      free (src);
      free (dst);
      gbox_app_error (cx, "out of memory");
      goto out;
    }
    if (klen == len)
      rr = gbox_app_cpio_add_file (cx, a, dst, src, 0644);
    else if (strcmp (rel + len - 4, ".zst") == 0)
      rr = gbox_app_error (cx, "kernel module %s is zstd-compressed, which "
                           "is not supported (fix: set GBOX_KERNEL to a "
                           "kernel whose modules are uncompressed or "
                           "XZ/gzip-compressed)", src);
    else {
      /* Decompress into the build's scratch directory. */
      char *tmp = gbox_app_asprintf ("%s/module-%zu.ko", tmpdir, i);
      int in = -1, out = -1;
      rr = -1;
      if (!tmp)
        gbox_app_error (cx, "out of memory");
      else if ((in = open (src, O_RDONLY | O_CLOEXEC)) == -1 ||
               fstat (in, &st) == -1)
        gbox_app_error (cx, "%s: %s", src, strerror (errno));
      else if ((out = open (tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC,
                            0644)) == -1)
        gbox_app_error (cx, "%s: %s", tmp, strerror (errno));
      else if (gbox_app_decompress (cx, in, 0, st.st_size,
                                    strcmp (rel + len - 3, ".xz") == 0
                                    ? GBOX_APP_XZ : GBOX_APP_GZIP,
                                    out, src, MAX_MODULE_OUT) == 0)
        rr = gbox_app_cpio_add_file (cx, a, dst, tmp, 0644);
      if (in >= 0)
        close (in);
      if (out >= 0 && close (out) == -1 && rr == 0)
        rr = gbox_app_error (cx, "%s: close: %s", tmp, strerror (errno));
      free (tmp);
    }
    free (src);
    free (dst);
    if (rr == -1)
      goto out;
  }

  filtered = gbox_app_moddb_filtered (db);
  p = gbox_app_asprintf ("%s/modules.dep", real);
  if (!filtered || !p) {
    gbox_app_error (cx, "out of memory");
    goto out;
  }
  if (gbox_app_cpio_add_data (cx, a, p, filtered, strlen (filtered),
                              0644) == -1)
    goto out;
  free (p);
  p = gbox_app_asprintf ("%s/modules.builtin", moddir);
  if (p && stat (p, &st) == 0 && S_ISREG (st.st_mode)) {
    char *dst = gbox_app_asprintf ("%s/modules.builtin", real);
    if (!dst || gbox_app_cpio_add_file (cx, a, dst, p, 0644) == -1) {
      free (dst);
      if (!dst)
        gbox_app_error (cx, "out of memory");
      goto out;
    }
    free (dst);
  }
  r = 0;

 out:
  free (p);
  free (real);
  free (filtered);
  return r;
}
