/* guestbox - installed applications of a Linux guest.
 * Copyright (C) 2026 the guestbox authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

/**
 * The package databases, read inside the guest tree with size bounds:
 * dpkg (/var/lib/dpkg/status), apk (/lib/apk/db/installed), pacman
 * (/var/lib/pacman/local/NAME/desc) and rpm (the sqlite rpmdb.sqlite of
 * current Fedora/RHEL/SUSE, whose Packages table holds rpm header
 * blobs; the Berkeley DB and ndb formats of older releases are not
 * read).  A missing database is an empty list; a damaged one gives a
 * warning and whatever could be read.  Every string is cleaned and
 * bounded (inspect_clean); an oversize field is cut with a warning.
 * The parsers work on any directory fd, so test-inspect-full runs them
 * on fixture trees without a VM.
 */

#include <config.h>

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sqlite3.h>

#include "daemon.h"

#define DB_MAX (64 * 1024 * 1024)    /* whole status / installed file */
#define DESC_FILE_MAX (1024 * 1024)  /* one pacman desc file */
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
  char **f[10];
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
  f[9] = &a->description;
  for (i = 0; i < 10; ++i) {
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

/* "[EPOCH:]VERSION[-RELEASE]" (dpkg, pacman). */
static void
split_evr (gbox_application *a, const char *s, size_t len, const char *db)
{
  const char *colon = memchr (s, ':', len), *dash = NULL, *p;

  if (colon) {
    char num[16];
    size_t nl = colon - s;
    if (nl > 0 && nl < sizeof num) {
      memcpy (num, s, nl);
      num[nl] = '\0';
      a->epoch = atoi (num);
    }
    len -= colon + 1 - s;
    s = colon + 1;
  }
  for (p = s; p < s + len; ++p)
    if (*p == '-')
      dash = p;
  if (dash) {
    set_small (&a->app_version, s, dash - s, db, "version");
    set_small (&a->release, dash + 1, s + len - dash - 1, db, "release");
  }
  else
    set_small (&a->app_version, s, len, db, "version");
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

static int
compare_apps (const void *a, const void *b)
{
  const gbox_application *x = a, *y = b;
  int r = strcmp (x->name, y->name);
  return r ? r : strcmp (x->app_version, y->app_version);
}

/* dpkg: RFC 822-like paragraphs; only "installed" packages count. */
void
parse_dpkg_status (const char *text, size_t len, struct app_list *l)
{
  static const char db[] = "/var/lib/dpkg/status";
  size_t pos = 0;

  while (pos < len) {
    /* One paragraph: up to a blank line. */
    const char *pkg = NULL, *ver = NULL, *arch = NULL, *desc = NULL;
    const char *src = NULL, *url = NULL, *status = NULL;
    size_t pkgl = 0, verl = 0, archl = 0, descl = 0, srcl = 0, urll = 0;
    size_t statusl = 0;
    gbox_application *a;

    while (pos < len) {
      const char *line = text + pos, *nl, *colon, *v;
      size_t ll, vl;

      nl = memchr (line, '\n', len - pos);
      ll = nl ? (size_t) (nl - line) : len - pos;
      pos += ll + 1;
      if (ll == 0 || (ll == 1 && line[0] == '\r'))
        break;
      if (line[0] == ' ' || line[0] == '\t')
        continue;               /* continuation: handled with its field */
      colon = memchr (line, ':', ll);
      if (colon == NULL)
        continue;
      v = colon + 1;
      while (v < line + ll && *v == ' ')
        v++;
      vl = line + ll - v;
#define FIELD(name, var, varl)                                          \
      if ((size_t) (colon - line) == strlen (name) &&                   \
          strncasecmp (line, name, strlen (name)) == 0) {               \
        var = v; varl = vl;                                             \
        continue;                                                       \
      }
      FIELD ("Package", pkg, pkgl);
      FIELD ("Version", ver, verl);
      FIELD ("Architecture", arch, archl);
      FIELD ("Source", src, srcl);
      FIELD ("Homepage", url, urll);
      FIELD ("Status", status, statusl);
      if ((size_t) (colon - line) == 11 &&
          strncasecmp (line, "Description", 11) == 0) {
        /* The summary line, then continuation lines up to the next
         * field (kept for the long description). */
        const char *end = line + ll;
        desc = v;
        descl = vl;
        while (pos < len && (text[pos] == ' ' || text[pos] == '\t')) {
          const char *n2 = memchr (text + pos, '\n', len - pos);
          size_t l2 = n2 ? (size_t) (n2 - (text + pos)) : len - pos;
          end = text + pos + l2;
          pos += l2 + 1;
        }
        /* desc..end holds summary + "\n" + continuation lines. */
        descl = end - desc;
      }
#undef FIELD
    }
    if (pkg == NULL || ver == NULL)
      continue;
    if (status && (statusl < 9 ||
                   memmem (status, statusl, " installed", 10) == NULL))
      continue;
    a = app_new (l);
    if (a == NULL)
      return;
    set_small (&a->name, pkg, pkgl, db, "Package");
    split_evr (a, ver, verl, db);
    if (arch)
      set_small (&a->arch, arch, archl, db, "Architecture");
    if (src) {
      const char *sp = memchr (src, ' ', srcl);
      set_small (&a->source_package, src, sp ? (size_t) (sp - src) : srcl,
                 db, "Source");
    }
    if (url)
      set_small (&a->url, url, urll, db, "Homepage");
    if (desc) {
      const char *nl = memchr (desc, '\n', descl);
      size_t sl = nl ? (size_t) (nl - desc) : descl;
      set_small (&a->summary, desc, sl, db, "Description");
      if (nl) {
        /* Continuation lines: drop the leading space, " ." is an
         * empty line. */
        char *buf = malloc (descl);
        size_t o = 0;
        const char *p = nl + 1, *end = desc + descl;
        if (buf) {
          while (p < end) {
            const char *e = memchr (p, '\n', end - p);
            size_t pl = e ? (size_t) (e - p) : (size_t) (end - p);
            const char *q = p;
            size_t ql = pl;
            if (ql && (*q == ' ' || *q == '\t')) { q++; ql--; }
            if (ql == 1 && *q == '.')
              ql = 0;
            if (o)
              buf[o++] = '\n';
            memcpy (buf + o, q, ql);
            o += ql;
            p += pl + 1;
          }
          app_set (&a->description, buf, o, GBOX_STRING_MAX, db,
                   "Description");
          free (buf);
        }
      }
    }
  }
}

/* apk: "P:name" ... lines, records separated by blank lines. */
void
parse_apk_installed (const char *text, size_t len, struct app_list *l)
{
  static const char db[] = "/lib/apk/db/installed";
  size_t pos = 0;
  gbox_application *a = NULL;

  while (pos < len) {
    const char *line = text + pos, *nl;
    size_t ll;

    nl = memchr (line, '\n', len - pos);
    ll = nl ? (size_t) (nl - line) : len - pos;
    pos += ll + 1;
    if (ll < 2 || line[1] != ':') {
      if (ll == 0)
        a = NULL;               /* end of record */
      continue;
    }
    if (line[0] == 'P') {
      a = app_new (l);
      if (a == NULL)
        return;
      set_small (&a->name, line + 2, ll - 2, db, "P");
      continue;
    }
    if (a == NULL)
      continue;
    switch (line[0]) {
    case 'V': {
      /* "1.36.1-r5": version and release (no epoch in apk). */
      const char *d = NULL, *p;
      for (p = line + 2; p < line + ll; ++p)
        if (*p == '-')
          d = p;
      if (d) {
        /* "r5" is release 5, as libguestfs reports it. */
        const char *rel = d + 1;
        if (rel < line + ll - 1 && *rel == 'r')
          rel++;
        set_small (&a->app_version, line + 2, d - (line + 2), db, "V");
        set_small (&a->release, rel, line + ll - rel, db, "V");
      }
      else
        set_small (&a->app_version, line + 2, ll - 2, db, "V");
      break;
    }
    case 'A': set_small (&a->arch, line + 2, ll - 2, db, "A"); break;
    case 'T': set_small (&a->description, line + 2, ll - 2, db, "T"); break;
    case 'U': set_small (&a->url, line + 2, ll - 2, db, "U"); break;
    case 'o': set_small (&a->source_package, line + 2, ll - 2, db, "o"); break;
    }
  }
}

/* pacman: one desc file: "%NAME%\nvalue\n\n%VERSION%\n..." */
void
parse_pacman_desc (const char *text, size_t len, struct app_list *l)
{
  static const char db[] = "/var/lib/pacman/local";
  size_t pos = 0;
  gbox_application *a = NULL;
  char section[32] = "";

  while (pos < len) {
    const char *line = text + pos, *nl;
    size_t ll;

    nl = memchr (line, '\n', len - pos);
    ll = nl ? (size_t) (nl - line) : len - pos;
    pos += ll + 1;
    if (ll == 0) {
      section[0] = '\0';
      continue;
    }
    if (ll >= 3 && line[0] == '%' && line[ll - 1] == '%' &&
        ll - 2 < sizeof section) {
      memcpy (section, line + 1, ll - 2);
      section[ll - 2] = '\0';
      continue;
    }
    if (strcmp (section, "NAME") == 0) {
      if (a == NULL && (a = app_new (l)) == NULL)
        return;
      set_small (&a->name, line, ll, db, "NAME");
    }
    if (a == NULL)
      continue;
    if (strcmp (section, "VERSION") == 0)
      split_evr (a, line, ll, db);
    else if (strcmp (section, "DESC") == 0)
      set_small (&a->description, line, ll, db, "DESC");
    else if (strcmp (section, "URL") == 0)
      set_small (&a->url, line, ll, db, "URL");
    else if (strcmp (section, "ARCH") == 0)
      set_small (&a->arch, line, ll, db, "ARCH");
    else if (strcmp (section, "BASE") == 0)
      set_small (&a->source_package, line, ll, db, "BASE");
    else if (strcmp (section, "PACKAGER") == 0)
      set_small (&a->publisher, line, ll, db, "PACKAGER");
    section[0] = '\0';          /* one line per field is enough */
  }
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

    if (d->d_name[0] == '.')
      continue;
    if ((size_t) snprintf (path, sizeof path, "/var/lib/pacman/local/%s/desc",
                           d->d_name) >= sizeof path)
      continue;
    text = read_db (rootfd, path, DESC_FILE_MAX, &len);
    if (text)
      parse_pacman_desc (text, len, l);
    count++;
  }
  closedir (dir);
}

/* rpm header blob (as stored in rpmdb.sqlite): il, dl (big-endian),
 * il index entries {tag, type, offset, count}, then dl data bytes. */
#define RPMTAG_NAME 1000
#define RPMTAG_VERSION 1001
#define RPMTAG_RELEASE 1002
#define RPMTAG_EPOCH 1003
#define RPMTAG_SUMMARY 1004
#define RPMTAG_DESCRIPTION 1005
#define RPMTAG_VENDOR 1011
#define RPMTAG_URL 1020
#define RPMTAG_ARCH 1022
#define RPMTAG_SOURCERPM 1044
#define RPM_INT32_TYPE 4
#define RPM_STRING_TYPE 6
#define RPM_I18NSTRING_TYPE 9

static uint32_t
be32 (const unsigned char *p)
{
  return ((uint32_t) p[0] << 24) | (p[1] << 16) | (p[2] << 8) | p[3];
}

int
parse_rpm_header (const unsigned char *blob, size_t len, struct app_list *l)
{
  static const char db[] = "rpmdb.sqlite";
  uint32_t il, dl, i;
  const unsigned char *data;
  gbox_application *a;

  if (len < 8)
    return -1;
  il = be32 (blob);
  dl = be32 (blob + 4);
  if (il > 100000 || dl > len || 8 + (uint64_t) il * 16 + dl > len)
    return -1;
  data = blob + 8 + il * 16;
  a = app_new (l);
  if (a == NULL)
    return -1;
  for (i = 0; i < il; ++i) {
    const unsigned char *e = blob + 8 + i * 16;
    uint32_t tag = be32 (e), type = be32 (e + 4), off = be32 (e + 8);
    const char *s;
    size_t sl;
    char **field = NULL;

    if (off >= dl)
      continue;
    if (tag == RPMTAG_EPOCH && type == RPM_INT32_TYPE && off + 4 <= dl) {
      a->epoch = be32 (data + off);
      continue;
    }
    if (type != RPM_STRING_TYPE && type != RPM_I18NSTRING_TYPE)
      continue;
    s = (const char *) data + off;
    sl = strnlen (s, dl - off);
    switch (tag) {
    case RPMTAG_NAME: field = &a->name; break;
    case RPMTAG_VERSION: field = &a->app_version; break;
    case RPMTAG_RELEASE: field = &a->release; break;
    case RPMTAG_SUMMARY: field = &a->summary; break;
    case RPMTAG_VENDOR: field = &a->publisher; break;
    case RPMTAG_URL: field = &a->url; break;
    case RPMTAG_ARCH: field = &a->arch; break;
    case RPMTAG_SOURCERPM: field = &a->source_package; break;
    case RPMTAG_DESCRIPTION:
      app_set (&a->description, s, sl, GBOX_STRING_MAX, db, "DESCRIPTION");
      continue;
    default:
      continue;
    }
    set_small (field, s, sl, db, "header tag");
  }
  if (a->name[0] == '\0' || strcmp (a->name, "gpg-pubkey") == 0) {
    /* Not a package (or a key): drop it. */
    xdr_free ((xdrproc_t) xdr_gbox_application, (char *) a);
    l->n--;
  }
  return 0;
}

static void
rpm_apps (int rootfd, struct app_list *l)
{
  static const char *const paths[] = {
    "/usr/lib/sysimage/rpm/rpmdb.sqlite", "/var/lib/rpm/rpmdb.sqlite", NULL
  };
  size_t i;

  for (i = 0; paths[i]; ++i) {
    CLEANUP_CLOSE int pfd = -1;
    struct stat st;
    char uri[128];
    sqlite3 *dbh = NULL;
    sqlite3_stmt *stmt = NULL;
    int r;

    pfd = open_in_root (rootfd, paths[i], O_PATH, 0);
    if (pfd == -1 || fstat (pfd, &st) == -1 || !S_ISREG (st.st_mode))
      continue;
    /* immutable=1: read the file as it is, no journal, no locks (the
     * guest tree is read-only). */
    snprintf (uri, sizeof uri, "file:/proc/self/fd/%d?immutable=1", pfd);
    r = sqlite3_open_v2 (uri, &dbh, SQLITE_OPEN_READONLY | SQLITE_OPEN_URI,
                         NULL);
    if (r == SQLITE_OK)
      r = sqlite3_prepare_v2 (dbh, "SELECT blob FROM Packages", -1, &stmt,
                              NULL);
    while (r == SQLITE_OK && (r = sqlite3_step (stmt)) == SQLITE_ROW) {
      const void *blob = sqlite3_column_blob (stmt, 0);
      int bl = sqlite3_column_bytes (stmt, 0);
      if (blob == NULL || bl <= 0 ||
          parse_rpm_header (blob, bl, l) == -1)
        inspect_warning ("%s: damaged package header skipped", paths[i]);
      r = SQLITE_OK;
    }
    if (r != SQLITE_DONE)
      inspect_warning ("%s: %s", paths[i],
                       dbh ? sqlite3_errmsg (dbh) : "cannot open");
    sqlite3_finalize (stmt);
    sqlite3_close (dbh);
    return;
  }
  {
    struct stat st;
    if (stat_in_root (rootfd, "/var/lib/rpm/Packages", &st) == 0)
      inspect_warning ("/var/lib/rpm/Packages: Berkeley DB rpm databases "
                       "are not read (only rpmdb.sqlite)");
  }
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
    rpm_apps (rootfd, l);
  qsort (l->v, l->n, sizeof *l->v, compare_apps);
  return 0;
}

size_t
app_size (const gbox_application *a)
{
  return 128 + strlen (a->name) + strlen (a->display_name) +
    strlen (a->app_version) + strlen (a->release) + strlen (a->arch) +
    strlen (a->publisher) + strlen (a->url) + strlen (a->source_package) +
    strlen (a->summary) + strlen (a->description);
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
  if (!dst->name || !dst->display_name || !dst->app_version ||
      !dst->release || !dst->arch || !dst->publisher || !dst->url ||
      !dst->source_package || !dst->summary || !dst->description)
    return -1;
  return 0;
}
