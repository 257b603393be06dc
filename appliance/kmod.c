/* guestbox - the appliance builder.
 * Copyright (C) 2026 the guestbox authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

/** Kernel modules in the initrd: the dependency closure of the wanted
 * modules in load order, found with libkmod in the kernel's module
 * directory (its indexes: modules.dep.bin for the hard dependencies,
 * the "pre:" soft dependencies of modules.softdep resolved through
 * modules.alias.bin, modules.builtin.bin and modules.builtin.alias.bin
 * for what is built in), copying the .ko files (decompressing .ko.xz /
 * .ko.gz), and writing a modules.dep filtered to what is included, for
 * the small loader in the appliance (daemon/modload.c).
 *
 * The host's modprobe configuration is not read: the appliance boots
 * the same modules whatever /etc/modprobe.d says.  A module whose file
 * is not below the module directory is refused; dependency cycles are
 * cut.
 *
 * libkmod is loaded with dlopen when an appliance is built, not linked:
 * it brings libcrypto, and every command would pay for loading it at
 * start-up although most runs find the appliance in the cache. */

#include <config.h>

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <dlfcn.h>

#include <libkmod.h>

#include "appliance-internal.h"

/* The libkmod calls made here, loaded by load_kmod. */
#define KMOD_SYMBOLS(X) \
  X (kmod_config_get_softdeps)\
  X (kmod_config_iter_free_iter)\
  X (kmod_config_iter_get_key)\
  X (kmod_config_iter_get_value)\
  X (kmod_config_iter_next)\
  X (kmod_get_dirname)\
  X (kmod_load_resources)\
  X (kmod_module_get_dependencies)\
  X (kmod_module_get_module)\
  X (kmod_module_get_name)\
  X (kmod_module_get_path)\
  X (kmod_module_new_from_lookup)\
  X (kmod_module_new_from_name_lookup)\
  X (kmod_module_ref)\
  X (kmod_module_unref)\
  X (kmod_module_unref_list)\
  X (kmod_new)\
  X (kmod_set_log_fn)\
  X (kmod_unref)\
  X (kmod_list_next)

static struct {
#define X(name) __typeof__ (name) *name;
  KMOD_SYMBOLS (X)
#undef X
} kmod_fns;

#define K(name) (*kmod_fns.name)
/* kmod_list_foreach, through the loaded kmod_list_next. */
#define K_LIST_FOREACH(it, head) \
  for ((it) = (head); (it) != NULL; (it) = K (kmod_list_next) ((head), (it)))

static int
load_kmod (struct gbox_app_ctx *cx)
{
  static void *handle;

  if (handle != NULL)
    return 0;
  handle = dlopen ("libkmod.so.2", RTLD_NOW | RTLD_LOCAL);
  if (handle == NULL)
    return gbox_app_error (cx, "cannot load libkmod (install libkmod2): %s",
                           dlerror ());
#define X(name)                                                         \
  if ((*(void **) &kmod_fns.name = dlsym (handle, #name)) == NULL) {    \
    dlclose (handle);                                                   \
    handle = NULL;                                                      \
    return gbox_app_error (cx, "libkmod lacks %s", #name);             \
  }
  KMOD_SYMBOLS (X)
#undef X
  return 0;
}

#define MAX_MODULE_OUT (512ULL * 1024 * 1024)

/* The appended signature of a module (scripts/sign-file): the module,
 * the PKCS#7 signature, a struct module_signature (12 bytes: five
 * one-byte fields, three of padding, the signature's length, big
 * endian), then this marker.  There is no library for it: kmod's
 * modinfo reads it, but libkmod has no call that gives its offset. */
#define SIG_MARKER "~Module signature appended~\n"
#define SIG_INFO_LEN 12

/* The length of the module in FD (SIZE bytes) without its signature, or
 * SIZE when it has none (or a trailer that does not add up). */
static uint64_t
unsigned_length (int fd, uint64_t size)
{
  const size_t mlen = sizeof SIG_MARKER - 1;
  unsigned char tail[SIG_INFO_LEN + sizeof SIG_MARKER - 1];
  uint64_t sig_len;

  if (size < sizeof tail ||
      pread (fd, tail, sizeof tail, size - sizeof tail) != (ssize_t) sizeof tail ||
      memcmp (tail + SIG_INFO_LEN, SIG_MARKER, mlen) != 0)
    return size;
  sig_len = (uint64_t) tail[8] << 24 | tail[9] << 16 | tail[10] << 8 | tail[11];
  /* signer and key id lengths: 0 for PKCS#7. */
  sig_len += tail[3] + tail[4];
  if (sig_len > size - sizeof tail)
    return size;
  return size - sizeof tail - sig_len;
}

/* The first LEN bytes of IN (host file WHAT) as the new file PATH. */
static int
copy_prefix (struct gbox_app_ctx *cx, int in, uint64_t len, const char *path,
             const char *what)
{
  int out = open (path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  bool no_cfr = false;
  char *buf = NULL;
  int r;

  if (out == -1)
    return gbox_app_error (cx, "%s: %s", path, strerror (errno));
  r = gbox_app_copy_range (cx, path, out, in, NULL, what, 0, len, 0,
                           &no_cfr, &buf);
  free (buf);
  if (close (out) == -1 && r == 0)
    r = gbox_app_error (cx, "%s: close: %s", path, strerror (errno));
  return r;
}

struct mod {
  char *name;                   /* libkmod's name ('_', not '-') */
  char *path;                   /* relative to the module directory */
  struct kmod_module *km;
  size_t *deps, ndeps;          /* hard dependencies, in libkmod's order */
  size_t *soft, nsoft;          /* resolved soft "pre:" dependencies */
  bool expanded;                /* deps and soft filled in */
};

struct gbox_app_moddb {
  struct kmod_ctx *ctx;
  char *dirname;                /* the module directory, as libkmod has it */
  void (*debug) (void *opaque, const char *msg);
  void *opaque;
  struct mod *v;
  size_t n, cap;
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
    K (kmod_module_unref) (db->v[i].km);
  }
  free (db->v);
  free (db->state);
  free (db->sel);
  free (db->dirname);
  if (db->ctx)                  /* libkmod is loaded */
    K (kmod_unref) (db->ctx);
  free (db);
}

/* Module name from a string: '-' -> '_'. */
static char *
normalise_name (const char *s)
{
  char *n = strdup (s);
  char *p;

  if (n)
    for (p = n; *p; ++p)
      if (*p == '-')
        *p = '_';
  return n;
}

/* libkmod's messages become debug lines. */
static void
log_to_debug (void *data, int priority, const char *file, int line,
              const char *fn, const char *format, va_list args)
{
  struct gbox_app_moddb *db = data;
  struct gbox_app_ctx cx = { .debug = db->debug, .opaque = db->opaque };
  char msg[1024];
  size_t len;

  (void) priority;
  (void) file;
  (void) line;
  (void) fn;
  vsnprintf (msg, sizeof msg, format, args);
  len = strlen (msg);
  if (len > 0 && msg[len - 1] == '\n')
    msg[len - 1] = '\0';
  gbox_app_debug (&cx, "libkmod: %s", msg);
}

int
gbox_app_moddb_load (struct gbox_app_ctx *cx, struct gbox_app_moddb *db,
                     const char *moddir)
{
  static const char *const no_config[] = { NULL };
  char *index;
  struct stat st = { .st_mode = S_IFREG };

  if (db->ctx)
    return gbox_app_error (cx, "%s: module indexes already loaded", moddir);
  /* libkmod reads the binary indexes that depmod writes next to
   * modules.dep: without them it would find no module at all. */
  index = gbox_app_asprintf ("%s/modules.dep.bin", moddir);
  if (!index)
    return gbox_app_error (cx, "out of memory");
  if (stat (index, &st) == -1 || !S_ISREG (st.st_mode)) {
    gbox_app_error (cx, "%s: %s (fix: run depmod for this kernel)", index,
                    S_ISREG (st.st_mode) ? strerror (errno)
                    : "not a regular file");
    free (index);
    return -1;
  }
  free (index);

  db->debug = cx->debug;
  db->opaque = cx->opaque;
  if (load_kmod (cx) == -1)
    return -1;
  db->ctx = K (kmod_new) (moddir, no_config);
  if (!db->ctx)
    return gbox_app_error (cx, "%s: libkmod cannot use it", moddir);
  K (kmod_set_log_fn) (db->ctx, log_to_debug, db);
  /* Map the indexes once; without this each lookup reads the files. */
  K (kmod_load_resources) (db->ctx);
  db->dirname = strdup (K (kmod_get_dirname) (db->ctx));
  if (!db->dirname)
    return gbox_app_error (cx, "out of memory");
  return 0;
}

/* Whether REL, a path relative to the module directory, is a module
 * file in it: no "..", no empty component, a ".ko" ending (maybe
 * compressed). */
static bool
good_relative_path (const char *rel)
{
  const char *p = rel, *base;
  size_t len = strlen (rel);

  if (len == 0 || len > 1024 || rel[0] == '/')
    return false;
  for (;;) {
    const char *slash = strchr (p, '/');
    size_t n = slash ? (size_t) (slash - p) : strlen (p);
    if (n == 0 || (n == 2 && p[0] == '.' && p[1] == '.') ||
        (n == 1 && p[0] == '.'))
      return false;
    if (!slash)
      break;
    p = slash + 1;
  }
  base = strrchr (rel, '/');
  base = base ? base + 1 : rel;
  return strstr (base, ".ko") != NULL && strstr (base, ".ko") != base;
}

/* The index of module KM in DB, added if new (its path made relative to
 * the module directory); -1 with the error set if its path is not a
 * module file below that directory. */
static ssize_t
intern (struct gbox_app_ctx *cx, struct gbox_app_moddb *db,
        struct kmod_module *km)
{
  const char *name = K (kmod_module_get_name) (km);
  const char *path = K (kmod_module_get_path) (km);
  size_t dlen = strlen (db->dirname), i;
  struct mod *m;

  for (i = 0; i < db->n; ++i)
    if (strcmp (db->v[i].name, name) == 0)
      return i;
  if (!path || strncmp (path, db->dirname, dlen) != 0 || path[dlen] != '/' ||
      !good_relative_path (path + dlen + 1)) {
    gbox_app_error (cx, "kernel module %s: %s is not a module file in %s",
                    name, path ? path : "(no file)", db->dirname);
    return -1;
  }
  if (db->n + 1 > db->cap) {
    size_t cap = db->cap ? db->cap * 2 : 256;
    struct mod *v = realloc (db->v, cap * sizeof *v);
    unsigned char *state;
    if (!v)
      goto oom;
    db->v = v;
    state = realloc (db->state, cap);
    if (!state)
      goto oom;
    db->state = state;
    db->cap = cap;
  }
  m = &db->v[db->n];
  memset (m, 0, sizeof *m);
  m->name = strdup (name);
  m->path = strdup (path + dlen + 1);
  if (!m->name || !m->path) {
    free (m->name);
    free (m->path);
    goto oom;
  }
  m->km = K (kmod_module_ref) (km);
  db->state[db->n] = 0;
  return db->n++;

 oom:
  gbox_app_error (cx, "out of memory");
  return -1;
}

/* Append X to the list V of N entries, unless it is there already. */
static int
push_index (size_t **v, size_t *n, size_t x)
{
  size_t *nv;
  size_t i;

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

/* How good module NAME is for the soft dependency WANT: 2 its own
 * name, 1 a "*_generic" implementation, 0 another. */
static int
rank (const char *name, const char *want)
{
  size_t l = strlen (name);

  if (strcmp (name, want) == 0)
    return 2;
  return l >= 8 && strcmp (name + l - 8, "_generic") == 0;
}

/* The module a soft dependency WANT (a name or an alias) stands for: the
 * module of that name; nothing if a built-in module has that name or
 * alias; else of the alias's modules the "*_generic" implementation,
 * which works on every CPU, or the first.  *KM is NULL when nothing is
 * to be loaded. */
static int
resolve_soft (struct gbox_app_ctx *cx, struct gbox_app_moddb *db,
              const char *want, struct kmod_module **km)
{
  struct kmod_list *list = NULL, *it;
  char *n = normalise_name (want);
  int r;

  *km = NULL;
  if (!n)
    return gbox_app_error (cx, "out of memory");
  r = K (kmod_module_new_from_name_lookup) (db->ctx, n, km);
  if (r == 0 && *km) {
    if (!K (kmod_module_get_path) (*km)) {    /* built in */
      K (kmod_module_unref) (*km);
      *km = NULL;
    }
    free (n);
    return 0;
  }
  r = K (kmod_module_new_from_lookup) (db->ctx, n, &list);
  if (r < 0) {
    gbox_app_error (cx, "kernel module %s: lookup: %s", n, strerror (-r));
    free (n);
    return -1;
  }
  K_LIST_FOREACH (it, list) {
    struct kmod_module *c = K (kmod_module_get_module) (it);

    if (K (kmod_module_get_path) (c) &&
        (!*km || rank (K (kmod_module_get_name) (c), n) >
         rank (K (kmod_module_get_name) (*km), n))) {
      K (kmod_module_unref) (*km);
      *km = c;
    }
    else
      K (kmod_module_unref) (c);
  }
  K (kmod_module_unref_list) (list);
  free (n);
  return 0;
}

/* Fill in the dependencies of module I: the hard ones from the index,
 * the soft "pre:" ones from modules.softdep. */
static int
expand (struct gbox_app_ctx *cx, struct gbox_app_moddb *db, size_t i)
{
  struct kmod_list *deps, *it;
  struct kmod_config_iter *iter;
  int r = 0;

  db->v[i].expanded = true;
  deps = K (kmod_module_get_dependencies) (db->v[i].km);
  K_LIST_FOREACH (it, deps) {
    struct kmod_module *d = K (kmod_module_get_module) (it);
    ssize_t j = intern (cx, db, d);
    K (kmod_module_unref) (d);
    if (j == -1 ||
        ((size_t) j != i &&
         push_index (&db->v[i].deps, &db->v[i].ndeps, j) == -1)) {
      if (j != -1)
        gbox_app_error (cx, "out of memory");
      r = -1;
      break;
    }
  }
  K (kmod_module_unref_list) (deps);
  if (r == -1)
    return -1;

  /* Each "softdep NAME pre: A B post: C" line of NAME, which libkmod
   * gives as "pre: A B post: C" (libkmod 30 leaves out the space before
   * "post:", so the lists are found by their labels, not as words). */
  iter = K (kmod_config_get_softdeps) (db->ctx);
  while (r == 0 && iter && K (kmod_config_iter_next) (iter)) {
    const char *value = K (kmod_config_iter_get_value) (iter), *p, *end;

    if (strcmp (K (kmod_config_iter_get_key) (iter), db->v[i].name) != 0 ||
        !value || (p = strstr (value, "pre:")) == NULL)
      continue;
    p += 4;
    end = strstr (p, "post:");
    if (!end)
      end = p + strlen (p);
    while (r == 0 && p < end) {
      size_t n = strcspn (p, " \t");
      char tok[256];
      struct kmod_module *km;
      ssize_t j;

      if (n > (size_t) (end - p))
        n = end - p;
      if (n == 0) {
        p++;
        continue;
      }
      if (n < sizeof tok) {
        memcpy (tok, p, n);
        tok[n] = '\0';
        if (resolve_soft (cx, db, tok, &km) == -1)
          r = -1;
        else if (km) {
          j = intern (cx, db, km);
          K (kmod_module_unref) (km);
          if (j == -1)
            r = -1;
          else if ((size_t) j != i &&
                   push_index (&db->v[i].soft, &db->v[i].nsoft, j) == -1)
            r = gbox_app_error (cx, "out of memory");
        }
      }
      p += n;
    }
  }
  K (kmod_config_iter_free_iter) (iter);
  return r;
}

/* Children of M in visiting order: hard dependencies as libkmod lists
 * them (the reverse of the modules.dep line: the deepest first, as
 * modprobe loads them), then the soft ones. */
static size_t
nchildren (const struct mod *m)
{
  return m->ndeps + m->nsoft;
}

static size_t
child (const struct mod *m, size_t k)
{
  return k < m->ndeps ? m->deps[k] : m->soft[k - m->ndeps];
}

/* Depth-first post-order from ROOT over modules whose MARK is 0, with an
 * explicit stack (no recursion); appends to OUT.  Every module reachable
 * from ROOT is expanded. */
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
  struct kmod_module *found = NULL;
  char *n;
  ssize_t i;
  size_t k;
  int r;

  if (!db->ctx)
    return gbox_app_error (cx, "kernel modules: no module directory loaded");
  n = normalise_name (name);
  if (!n)
    return gbox_app_error (cx, "out of memory");
  /* A module of that very name (an alias of others does not count):
   * from modules.dep.bin, or built in (no file). */
  r = K (kmod_module_new_from_name_lookup) (db->ctx, n, &found);
  free (n);
  if (r < 0 || !found)
    return GBOX_APP_MOD_MISSING;
  if (!K (kmod_module_get_path) (found)) {
    K (kmod_module_unref) (found);
    return GBOX_APP_MOD_BUILTIN;
  }

  i = intern (cx, db, found);
  K (kmod_module_unref) (found);
  if (i == -1)
    return -1;
  /* Expand the closure (expanding appends the modules it finds). */
  for (k = 0; k < db->n; ++k)
    if (!db->v[k].expanded && expand (cx, db, k) == -1)
      return -1;
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

size_t
gbox_app_ko_len (const char *path)
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
    fprintf (fp, "%.*s:", (int) gbox_app_ko_len (m->path), m->path);
    for (j = norder - 1; j-- > 0;) {
      const struct mod *d = &db->v[order[j]];
      fprintf (fp, " %.*s", (int) gbox_app_ko_len (d->path), d->path);
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
    size_t klen = gbox_app_ko_len (rel), len = strlen (rel);
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
    if (klen == len) {
      /* Without its signature: the appliance's kernel would check it
       * (SHA-256 of the whole module, emulated: ext4.ko took 120 ms to
       * load) although nothing requires it. */
      int in = open (src, O_RDONLY | O_CLOEXEC);
      uint64_t keep;

      rr = -1;
      if (in == -1 || fstat (in, &st) == -1)
        gbox_app_error (cx, "%s: %s", src, strerror (errno));
      else if ((keep = unsigned_length (in, st.st_size)) == (uint64_t) st.st_size)
        rr = gbox_app_cpio_add_file (cx, a, dst, src, 0644);
      else {
        char *tmp = gbox_app_asprintf ("%s/module-%zu.ko", tmpdir, i);

        if (!tmp)
          gbox_app_error (cx, "out of memory");
        else if (copy_prefix (cx, in, keep, tmp, src) == 0)
          rr = gbox_app_cpio_add_file (cx, a, dst, tmp, 0644);
        free (tmp);
      }
      if (in >= 0)
        close (in);
    }
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
      else if ((out = open (tmp, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC,
                            0644)) == -1)
        gbox_app_error (cx, "%s: %s", tmp, strerror (errno));
      else if (gbox_app_decompress (cx, in, 0, st.st_size,
                                    strcmp (rel + len - 3, ".xz") == 0
                                    ? GBOX_APP_XZ : GBOX_APP_GZIP,
                                    out, src, MAX_MODULE_OUT) == 0) {
        /* Decompressed: cut off its signature (see above). */
        struct stat ost;
        uint64_t keep;

        if (fstat (out, &ost) == 0 &&
            (keep = unsigned_length (out, ost.st_size)) < (uint64_t) ost.st_size &&
            ftruncate (out, keep) == -1)
          gbox_app_error (cx, "%s: ftruncate: %s", tmp, strerror (errno));
        else
          rr = gbox_app_cpio_add_file (cx, a, dst, tmp, 0644);
      }
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
