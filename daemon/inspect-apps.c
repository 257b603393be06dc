/* guestbox - installed applications of a Linux guest.
 * Copyright (C) 2026 the guestbox authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

/**
 * The package databases, read inside the guest tree with size bounds
 * and turned into the same fields as libguestfs 1.48 gives: dpkg
 * (/var/lib/dpkg/status), apk (/lib/apk/db/installed), pacman
 * (/var/lib/pacman/local/NAME/desc) and rpm (rpm-rpm.c: librpm reading
 * the sqlite or Berkeley DB database).  Version strings are split as
 * libguestfs splits them: "[EPOCH:]VERSION[-RELEASE]" at the first ':'
 * and the first '-' after it.  A record counts only when the blank
 * line that ends it is seen, as in libguestfs.  A missing database is
 * an empty list; a damaged one gives a warning and whatever could be
 * read.  Every string is cleaned and bounded (inspect_clean); an
 * oversize field is cut with a warning.  The parsers work on any
 * directory fd, so test-inspect-full runs them on fixture trees
 * without a VM.
 */

#include <config.h>

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>

#include "daemon.h"

#define DB_MAX (64 * 1024 * 1024)    /* whole status / installed file */
#define DESC_FILE_MAX 8192            /* one pacman desc file */
#define APPS_MAX 1000000

void
app_list_free (struct app_list *l)
{
  size_t i;

  for (i = 0; i < l->n; ++i)
    xdr_free ((xdrproc_t) xdr_gbox_application, (char *) &l->v[i]);
  free (l->v);
  l->v = NULL;
  l->n = l->cap = 0;
}

/* Append an empty application (all strings ""), or NULL. */
gbox_application *
app_new (struct app_list *l)
{
  gbox_application *a;
  char **f[11];
  size_t i;

  if (l->n >= APPS_MAX)
    return NULL;
  if (l->n == l->cap) {
    size_t cap = l->cap ? l->cap * 2 : 64;
    gbox_application *v = realloc (l->v, cap * sizeof *v);
    if (v == NULL)
      return NULL;
    l->v = v;
    l->cap = cap;
  }
  a = &l->v[l->n];
  memset (a, 0, sizeof *a);
  f[0] = &a->name; f[1] = &a->display_name; f[2] = &a->app_version;
  f[3] = &a->release; f[4] = &a->arch; f[5] = &a->publisher;
  f[6] = &a->url; f[7] = &a->source_package; f[8] = &a->summary;
  f[9] = &a->description; f[10] = &a->install_path;
  for (i = 0; i < 11; ++i) {
    *f[i] = strdup ("");
    if (*f[i] == NULL) {
      xdr_free ((xdrproc_t) xdr_gbox_application, (char *) a);
      return NULL;
    }
  }
  l->n++;
  return a;
}

/* Set a field from guest bytes; warn once per database if cut. */
static void
app_set (char **field, const char *s, size_t len, size_t max,
         const char *db, const char *what)
{
  char *c;
  bool multiline = max > GBOX_INSPECT_FIELD_MAX;

  if (len >= max)
    inspect_warning ("%s: %s: field longer than %zu bytes, truncated",
                     db, what, max - 1);
  c = inspect_clean_max (s, len, max, multiline);
  if (c) {
    free (*field);
    *field = c;
  }
}

static void
set_small (char **field, const char *s, size_t len, const char *db,
           const char *what)
{
  app_set (field, s, len, GBOX_INSPECT_FIELD_MAX, db, what);
}

/* libguestfs's epoch: a whole decimal number (else -1, and the
 * package is left out). */
static int
parse_epoch (const char *s, size_t len)
{
  char num[16], *end;
  long v;

  if (len == 0 || len >= sizeof num)
    return -1;
  memcpy (num, s, len);
  num[len] = '\0';
  errno = 0;
  v = strtol (num, &end, 10);
  if (errno || *end != '\0' || end == num || v < INT32_MIN || v > INT32_MAX)
    return -1;
  return v;
}

/* "[EPOCH:]VERSION[-RELEASE]": the epoch before the first ':', then
 * version and release around the first '-'.  SKIP_R drops an 'r' at
 * the start of the release (apk's "-r5").  Returns the epoch, or -1 if
 * it is not a number. */
static int
split_evr (gbox_application *a, const char *s, size_t len, bool skip_r,
           const char *db)
{
  const char *colon = memchr (s, ':', len), *dash;
  int epoch = 0;

  if (colon) {
    epoch = parse_epoch (s, colon - s);
    len -= colon + 1 - s;
    s = colon + 1;
  }
  a->epoch = epoch;
  dash = memchr (s, '-', len);
  if (dash) {
    const char *rel = dash + 1;
    if (skip_r && rel < s + len && *rel == 'r')
      rel++;
    set_small (&a->app_version, s, dash - s, db, "version");
    set_small (&a->release, rel, s + len - rel, db, "release");
  }
  else
    set_small (&a->app_version, s, len, db, "version");
  return epoch;
}

/* Read a database file; NULL if absent (no warning) or bad (warning). */
static char *
read_db (int rootfd, const char *path, size_t max, size_t *len)
{
  char *text = read_file_in_root (rootfd, path, max, len);

  if (text == NULL && errno != ENOENT && errno != ENOTDIR)
    inspect_warning ("%s: %s", path, strerror (errno));
  return text;
}

/* Sort by name only, keeping the database order of equal names (as
 * libguestfs's stable sort does for several gpg-pubkey entries). */
struct app_order {
  gbox_application a;
  size_t index;
};

static int
compare_apps (const void *a, const void *b)
{
  const struct app_order *x = a, *y = b;
  int r = strcmp (x->a.name, y->a.name);

  if (r)
    return r;
  return x->index < y->index ? -1 : x->index > y->index;
}

void
app_list_sort (struct app_list *l)
{
  struct app_order *o;
  size_t i;

  if (l->n < 2)
    return;
  o = malloc (l->n * sizeof *o);
  if (o == NULL)
    return;
  for (i = 0; i < l->n; ++i) {
    o[i].a = l->v[i];
    o[i].index = i;
  }
  qsort (o, l->n, sizeof *o, compare_apps);
  for (i = 0; i < l->n; ++i)
    l->v[i] = o[i].a;
  free (o);
}

/* Drop the last application (a record left incomplete). */
static void
app_drop_last (struct app_list *l)
{
  xdr_free ((xdrproc_t) xdr_gbox_application, (char *) &l->v[l->n - 1]);
  l->n--;
}

/* True if LINE (LL bytes) starts with PREFIX. */
static bool
has_prefix (const char *line, size_t ll, const char *prefix)
{
  size_t pl = strlen (prefix);
  return ll >= pl && memcmp (line, prefix, pl) == 0;
}

/* Append a description line (without its leading space) to the
 * growing buffer. */
struct textbuf {
  char *p;
  size_t len, cap;
  bool any;
};

static void
textbuf_add (struct textbuf *t, const char *s, size_t len)
{
  size_t need = t->len + len + 2;

  if (need > GBOX_STRING_MAX + 2)
    return;                     /* cut below by app_set */
  if (need > t->cap) {
    size_t cap = t->cap ? t->cap : 256;
    char *p;
    while (cap < need)
      cap *= 2;
    p = realloc (t->p, cap);
    if (p == NULL)
      return;
    t->p = p;
    t->cap = cap;
  }
  if (t->any)
    t->p[t->len++] = '\n';
  memcpy (t->p + t->len, s, len);
  t->len += len;
  t->any = true;
}

/* dpkg: RFC 822-like paragraphs, read as libguestfs does: fields by
 * their exact "Name: " prefix; a package counts when its Status line
 * contains the word "installed" (whatever the order of the words) and
 * its paragraph ends with a blank line; the long description keeps
 * its lines as they are, less the first space (so the " ." paragraph
 * separators stay "."). */
void
parse_dpkg_status (const char *text, size_t len, struct app_list *l)
{
  static const char db[] = "/var/lib/dpkg/status";
  size_t pos = 0;
  gbox_application *a = NULL;
  bool installed = false, have_version = false, in_desc = false;
  int epoch = 0;
  struct textbuf desc = { 0 };

  while (pos < len) {
    const char *line = text + pos, *nl;
    size_t ll;

    nl = memchr (line, '\n', len - pos);
    ll = nl ? (size_t) (nl - line) : len - pos;
    pos += ll + 1;

    if (ll > 0 && line[0] == ' ' && in_desc) {
      textbuf_add (&desc, line + 1, ll - 1);
      continue;
    }
    in_desc = false;

    if (ll == 0) {
      /* End of a paragraph. */
      if (a) {
        if (installed && a->name[0] && have_version && epoch >= 0) {
          if (desc.any)
            app_set (&a->description, desc.p, desc.len, GBOX_STRING_MAX, db,
                     "Description");
          a->epoch = epoch;
        }
        else
          app_drop_last (l);
      }
      a = NULL;
      installed = have_version = false;
      desc.len = 0;
      desc.any = false;
      continue;
    }
    if (a == NULL) {
      a = app_new (l);
      if (a == NULL)
        break;
    }
    if (has_prefix (line, ll, "Package: "))
      set_small (&a->name, line + 9, ll - 9, db, "Package");
    else if (has_prefix (line, ll, "Status: "))
      installed = memmem (line + 8, ll - 8, "installed", 9) != NULL;
    else if (has_prefix (line, ll, "Version: ")) {
      free (a->release);
      a->release = strdup ("");
      if (a->release == NULL)
        break;
      epoch = split_evr (a, line + 9, ll - 9, false, db);
      have_version = true;
    }
    else if (has_prefix (line, ll, "Architecture: "))
      set_small (&a->arch, line + 14, ll - 14, db, "Architecture");
    else if (has_prefix (line, ll, "Homepage: "))
      set_small (&a->url, line + 10, ll - 10, db, "Homepage");
    else if (has_prefix (line, ll, "Source: ")) {
      const char *sp = memchr (line + 8, ' ', ll - 8);
      set_small (&a->source_package, line + 8,
                 sp ? (size_t) (sp - (line + 8)) : ll - 8, db, "Source");
    }
    else if (has_prefix (line, ll, "Description: ")) {
      set_small (&a->summary, line + 13, ll - 13, db, "Description");
      in_desc = true;
    }
  }
  /* A last paragraph without its blank line does not count. */
  if (a)
    app_drop_last (l);
  free (desc.p);
}

/* apk: "P:name" ... lines; a record counts at the blank line that
 * ends it, when it has a name and a version. */
void
parse_apk_installed (const char *text, size_t len, struct app_list *l)
{
  static const char db[] = "/lib/apk/db/installed";
  size_t pos = 0;
  gbox_application *a = NULL;
  bool have_name = false, have_version = false;
  int epoch = 0;

  while (pos < len) {
    const char *line = text + pos, *nl;
    size_t ll;

    nl = memchr (line, '\n', len - pos);
    ll = nl ? (size_t) (nl - line) : len - pos;
    pos += ll + 1;
    if (ll > 1 && line[1] != ':')
      continue;
    if (ll == 0) {
      if (a) {
        if (have_name && have_version && epoch >= 0)
          a->epoch = epoch;
        else
          app_drop_last (l);
      }
      a = NULL;
      have_name = have_version = false;
      continue;
    }
    if (ll < 2 || strchr ("APTUV", line[0]) == NULL)
      continue;
    if (a == NULL) {
      a = app_new (l);
      if (a == NULL)
        break;
    }
    switch (line[0]) {
    case 'V':
      free (a->release);
      a->release = strdup ("");
      if (a->release == NULL)
        goto out;
      epoch = split_evr (a, line + 2, ll - 2, true, db);
      have_version = true;
      break;
    case 'P':
      set_small (&a->name, line + 2, ll - 2, db, "P");
      have_name = true;
      break;
    case 'A': set_small (&a->arch, line + 2, ll - 2, db, "A"); break;
    case 'T': set_small (&a->description, line + 2, ll - 2, db, "T"); break;
    case 'U': set_small (&a->url, line + 2, ll - 2, db, "U"); break;
    }
  }
 out:
  if (a)
    app_drop_last (l);
}

/* pacman: one desc file: "%NAME%\nvalue\n\n%VERSION%\n..."; the
 * line after a key is its value.  Name, version (with a release) and
 * architecture are needed. */
void
parse_pacman_desc (const char *text, size_t len, struct app_list *l)
{
  static const char db[] = "/var/lib/pacman/local";
  size_t pos = 0;
  gbox_application *a;
  char **key = NULL;
  bool have_name = false, have_arch = false;
  const char *ver = NULL;
  size_t verl = 0;

  a = app_new (l);
  if (a == NULL)
    return;
  while (pos < len) {
    const char *line = text + pos, *nl;
    size_t ll;

    nl = memchr (line, '\n', len - pos);
    ll = nl ? (size_t) (nl - line) : len - pos;
    pos += ll + 1;
    if (ll == 0) {
      key = NULL;
      continue;
    }
    if (key) {
      if (key == &a->app_version) {
        ver = line;
        verl = ll;
      }
      else
        set_small (key, line, ll, db, "desc");
      if (key == &a->name)
        have_name = true;
      if (key == &a->arch)
        have_arch = true;
      key = NULL;
      continue;
    }
#define KEY(s) (ll == strlen (s) && memcmp (line, s, ll) == 0)
    if (KEY ("%NAME%"))
      key = &a->name;
    else if (KEY ("%VERSION%"))
      key = &a->app_version;
    else if (KEY ("%DESC%"))
      key = &a->description;
    else if (KEY ("%URL%"))
      key = &a->url;
    else if (KEY ("%ARCH%"))
      key = &a->arch;
#undef KEY
  }
  if (have_name && have_arch && ver &&
      memchr (ver, '-', verl) != NULL &&
      split_evr (a, ver, verl, false, db) >= 0 &&
      a->app_version[0] && a->release[0])
    return;
  app_drop_last (l);
}

static void
pacman_apps (int rootfd, struct app_list *l)
{
  CLEANUP_CLOSE int dfd = -1;
  DIR *dir;
  struct dirent *d;
  size_t count = 0;

  dfd = open_in_root (rootfd, "/var/lib/pacman/local",
                      O_RDONLY | O_DIRECTORY, 0);
  if (dfd == -1)
    return;
  dir = fdopendir (dup (dfd));
  if (dir == NULL)
    return;
  while ((d = readdir (dir)) != NULL && count < APPS_MAX) {
    char path[GBOX_PATH_MAX];
    CLEANUP_FREE char *text = NULL;
    size_t len;

    if (d->d_name[0] == '.' || d->d_type != DT_DIR)
      continue;
    if ((size_t) snprintf (path, sizeof path, "/var/lib/pacman/local/%s/desc",
                           d->d_name) >= sizeof path)
      continue;
    /* libguestfs skips a desc file bigger than 8 KiB. */
    text = read_db (rootfd, path, DESC_FILE_MAX, &len);
    if (text)
      parse_pacman_desc (text, len, l);
    count++;
  }
  closedir (dir);
}

int
linux_list_applications (int rootfd, const char *package_format,
                         struct app_list *l)
{
  CLEANUP_FREE char *text = NULL;
  size_t len;

  if (strcmp (package_format, "deb") == 0) {
    text = read_db (rootfd, "/var/lib/dpkg/status", DB_MAX, &len);
    if (text)
      parse_dpkg_status (text, len, l);
  }
  else if (strcmp (package_format, "apk") == 0) {
    text = read_db (rootfd, "/lib/apk/db/installed", DB_MAX, &len);
    if (text)
      parse_apk_installed (text, len, l);
  }
  else if (strcmp (package_format, "pacman") == 0)
    pacman_apps (rootfd, l);
  else if (strcmp (package_format, "rpm") == 0)
    rpm_list_applications (rootfd, l);
  app_list_sort (l);
  return 0;
}

size_t
app_size (const gbox_application *a)
{
  return 128 + strlen (a->name) + strlen (a->display_name) +
    strlen (a->app_version) + strlen (a->release) + strlen (a->arch) +
    strlen (a->publisher) + strlen (a->url) + strlen (a->source_package) +
    strlen (a->summary) + strlen (a->description) + strlen (a->install_path);
}

int
app_copy (gbox_application *dst, const gbox_application *src)
{
  dst->epoch = src->epoch;
  dst->name = strdup (src->name);
  dst->display_name = strdup (src->display_name);
  dst->app_version = strdup (src->app_version);
  dst->release = strdup (src->release);
  dst->arch = strdup (src->arch);
  dst->publisher = strdup (src->publisher);
  dst->url = strdup (src->url);
  dst->source_package = strdup (src->source_package);
  dst->summary = strdup (src->summary);
  dst->description = strdup (src->description);
  dst->install_path = strdup (src->install_path);
  if (!dst->install_path ||
      !dst->name || !dst->display_name || !dst->app_version ||
      !dst->release || !dst->arch || !dst->publisher || !dst->url ||
      !dst->source_package || !dst->summary || !dst->description)
    return -1;
  return 0;
}
