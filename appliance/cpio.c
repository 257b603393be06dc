/* guestbox - the appliance builder.
 * Copyright (C) 2026 the guestbox authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

/** The initrd archive: an entry list without duplicates (directories,
 * streamed host files, in-memory files, symlinks) and our own newc
 * ("070701") cpio writer.  Output is deterministic: entries sorted by name
 * (so a directory always precedes its contents), uid/gid 0, mtime 0,
 * sequential inode numbers.  Regular files are copied in 64 KiB pieces,
 * never held whole in memory.  Optionally gzip-compressed through zlib. */

#include <config.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "appliance-internal.h"

struct entry {
  char *name;                   /* normalised: no leading '/' */
  enum gbox_app_cpio_type type;
  mode_t mode;                  /* permission bits only */
  char *source;                 /* FILE: host path; SYMLINK: target */
  char *data;                   /* DATA */
  size_t len;
};

struct gbox_app_cpio {
  struct entry *v;
  size_t n, cap;
  size_t *table;                /* open addressing: index + 1, 0 = empty */
  size_t tcap;                  /* power of two */
};

struct gbox_app_cpio *
gbox_app_cpio_new (void)
{
  return calloc (1, sizeof (struct gbox_app_cpio));
}

void
gbox_app_cpio_free (struct gbox_app_cpio *a)
{
  size_t i;

  if (!a)
    return;
  for (i = 0; i < a->n; ++i) {
    free (a->v[i].name);
    free (a->v[i].source);
    free (a->v[i].data);
  }
  free (a->v);
  free (a->table);
  free (a);
}

size_t
gbox_app_cpio_count (const struct gbox_app_cpio *a)
{
  return a->n;
}

static uint64_t
hash_name (const char *s, size_t len)
{
  uint64_t h = 0xcbf29ce484222325ULL;
  size_t i;

  for (i = 0; i < len; ++i)
    h = (h ^ (unsigned char) s[i]) * 0x100000001b3ULL;
  return h;
}

/* Index of the entry named S (LEN bytes), or -1. */
static ssize_t
find (const struct gbox_app_cpio *a, const char *s, size_t len)
{
  size_t i;

  if (a->tcap == 0)
    return -1;
  for (i = hash_name (s, len) & (a->tcap - 1); a->table[i];
       i = (i + 1) & (a->tcap - 1)) {
    const struct entry *e = &a->v[a->table[i] - 1];
    if (strncmp (e->name, s, len) == 0 && e->name[len] == '\0')
      return a->table[i] - 1;
  }
  return -1;
}

static int
grow_table (struct gbox_app_cpio *a)
{
  size_t tcap = a->tcap ? a->tcap * 2 : 1024, i, j;
  size_t *t = calloc (tcap, sizeof *t);

  if (!t)
    return -1;
  for (i = 0; i < a->n; ++i) {
    for (j = hash_name (a->v[i].name, strlen (a->v[i].name)) & (tcap - 1);
         t[j]; j = (j + 1) & (tcap - 1))
      ;
    t[j] = i + 1;
  }
  free (a->table);
  a->table = t;
  a->tcap = tcap;
  return 0;
}

/* Append an entry; takes ownership of NAME, SOURCE and DATA. */
static int
append (struct gbox_app_cpio *a, struct entry *e)
{
  size_t j;

  if (a->n + 1 > a->cap) {
    size_t cap = a->cap ? a->cap * 2 : 256;
    struct entry *v = realloc (a->v, cap * sizeof *v);
    if (!v)
      return -1;
    a->v = v;
    a->cap = cap;
  }
  if ((a->n + 1) * 2 > a->tcap && grow_table (a) == -1)
    return -1;
  a->v[a->n] = *e;
  for (j = hash_name (e->name, strlen (e->name)) & (a->tcap - 1);
       a->table[j]; j = (j + 1) & (a->tcap - 1))
    ;
  a->table[j] = a->n + 1;
  a->n++;
  return 0;
}

/* Normalise NAME: strip leading and duplicate slashes and a trailing one;
 * reject empty names and "." / ".." components. */
static char *
normalise (struct gbox_app_ctx *cx, const char *name)
{
  size_t len = strlen (name), i = 0, o = 0;
  char *out;

  if (len > 4096) {
    gbox_app_error (cx, "initrd: path too long: %.64s...", name);
    return NULL;
  }
  out = malloc (len + 1);
  if (!out) {
    gbox_app_error (cx, "initrd: out of memory");
    return NULL;
  }
  while (i < len) {
    size_t start;
    while (i < len && name[i] == '/')
      i++;
    if (i >= len)
      break;
    start = i;
    while (i < len && name[i] != '/')
      i++;
    if ((i - start == 1 && name[start] == '.') ||
        (i - start == 2 && name[start] == '.' && name[start + 1] == '.')) {
      free (out);
      gbox_app_error (cx, "initrd: bad path (\".\" or \"..\"): %s", name);
      return NULL;
    }
    if (o > 0)
      out[o++] = '/';
    memcpy (out + o, name + start, i - start);
    o += i - start;
  }
  out[o] = '\0';
  if (o == 0) {
    free (out);
    gbox_app_error (cx, "initrd: empty path");
    return NULL;
  }
  return out;
}

/* Make sure every parent directory of normalised NAME exists. */
static int
add_parents (struct gbox_app_ctx *cx, struct gbox_app_cpio *a,
             const char *name)
{
  const char *p;

  for (p = strchr (name, '/'); p; p = strchr (p + 1, '/')) {
    size_t len = p - name;
    ssize_t i = find (a, name, len);
    if (i >= 0) {
      if (a->v[i].type != GBOX_APP_CPIO_DIR)
        return gbox_app_error (cx, "initrd: %.*s is not a directory "
                               "(needed for %s)", (int) len, name, name);
      continue;
    }
    struct entry e = { .type = GBOX_APP_CPIO_DIR, .mode = 0755 };
    e.name = strndup (name, len);
    if (!e.name || append (a, &e) == -1) {
      free (e.name);
      return gbox_app_error (cx, "initrd: out of memory");
    }
  }
  return 0;
}

static int
add_entry (struct gbox_app_ctx *cx, struct gbox_app_cpio *a,
           const char *name, enum gbox_app_cpio_type type, mode_t mode,
           const char *source, const void *data, size_t len)
{
  struct entry e = { .type = type, .mode = mode & 07777 };
  ssize_t i;

  e.name = normalise (cx, name);
  if (!e.name)
    return -1;
  i = find (a, e.name, strlen (e.name));
  if (i >= 0) {
    struct entry *o = &a->v[i];
    bool same = o->type == type;
    if (same && type == GBOX_APP_CPIO_DIR)
      o->mode = e.mode;         /* an explicit mode wins over 0755 */
    else if (same && (type == GBOX_APP_CPIO_FILE ||
                      type == GBOX_APP_CPIO_SYMLINK))
      same = strcmp (o->source, source) == 0;
    else if (same)
      same = o->len == len && memcmp (o->data, data, len) == 0;
    if (!same) {
      gbox_app_error (cx, "initrd: two different entries for /%s", e.name);
      free (e.name);
      return -1;
    }
    free (e.name);
    return 0;
  }
  if (add_parents (cx, a, e.name) == -1) {
    free (e.name);
    return -1;
  }
  if (source) {
    e.source = strdup (source);
    if (!e.source)
      goto oom;
  }
  if (type == GBOX_APP_CPIO_DATA) {
    e.data = malloc (len ? len : 1);
    if (!e.data)
      goto oom;
    memcpy (e.data, data, len);
    e.len = len;
  }
  if (append (a, &e) == -1)
    goto oom;
  return 0;

 oom:
  free (e.name);
  free (e.source);
  free (e.data);
  return gbox_app_error (cx, "initrd: out of memory");
}

int
gbox_app_cpio_add_dir (struct gbox_app_ctx *cx, struct gbox_app_cpio *a,
                       const char *name, mode_t mode)
{
  return add_entry (cx, a, name, GBOX_APP_CPIO_DIR, mode, NULL, NULL, 0);
}

int
gbox_app_cpio_add_file (struct gbox_app_ctx *cx, struct gbox_app_cpio *a,
                        const char *name, const char *source, mode_t mode)
{
  return add_entry (cx, a, name, GBOX_APP_CPIO_FILE, mode, source, NULL, 0);
}

int
gbox_app_cpio_add_symlink (struct gbox_app_ctx *cx, struct gbox_app_cpio *a,
                           const char *name, const char *target)
{
  if (target[0] == '\0' || strlen (target) > 4095)
    return gbox_app_error (cx, "initrd: bad symlink target for %s", name);
  return add_entry (cx, a, name, GBOX_APP_CPIO_SYMLINK, 0777, target,
                    NULL, 0);
}

int
gbox_app_cpio_add_data (struct gbox_app_ctx *cx, struct gbox_app_cpio *a,
                        const char *name, const void *data, size_t len,
                        mode_t mode)
{
  return add_entry (cx, a, name, GBOX_APP_CPIO_DATA, mode, NULL, data, len);
}

int
gbox_app_cpio_lookup (const struct gbox_app_cpio *a, const char *name)
{
  ssize_t i;

  while (*name == '/')
    name++;
  i = find (a, name, strlen (name));
  return i < 0 ? -1 : (int) a->v[i].type;
}

/* The output stream: buffered, raw or through deflate. */
struct out {
  struct gbox_app_ctx *cx;
  int fd;
  bool gzip;
  z_stream z;
  uint64_t pos;                 /* uncompressed bytes (for padding) */
  uint64_t written;             /* bytes written to fd */
  unsigned char buf[65536];
  size_t n;
};

static int
flush_raw (struct out *o, const void *p, size_t len)
{
  if (gbox_app_write_all (o->fd, p, len) == -1)
    return gbox_app_error (o->cx, "initrd: write: %s", strerror (errno));
  o->written += len;
  return 0;
}

static int
deflate_some (struct out *o, const void *p, size_t len, int flush)
{
  unsigned char zbuf[65536];
  int r;

  o->z.next_in = (unsigned char *) p;
  o->z.avail_in = len;
  do {
    o->z.next_out = zbuf;
    o->z.avail_out = sizeof zbuf;
    r = deflate (&o->z, flush);
    if (r == Z_STREAM_ERROR)
      return gbox_app_error (o->cx, "initrd: deflate failed");
    if (flush_raw (o, zbuf, sizeof zbuf - o->z.avail_out) == -1)
      return -1;
  } while (o->z.avail_out == 0 || (flush == Z_FINISH && r != Z_STREAM_END));
  return 0;
}

static int
out_flush (struct out *o)
{
  int r;

  if (o->n == 0)
    return 0;
  r = o->gzip ? deflate_some (o, o->buf, o->n, Z_NO_FLUSH)
              : flush_raw (o, o->buf, o->n);
  o->n = 0;
  return r;
}

static int
out_write (struct out *o, const void *p, size_t len)
{
  const char *s = p;

  o->pos += len;
  while (len > 0) {
    size_t k = sizeof o->buf - o->n;
    if (k > len)
      k = len;
    memcpy (o->buf + o->n, s, k);
    o->n += k;
    s += k;
    len -= k;
    if (o->n == sizeof o->buf && out_flush (o) == -1)
      return -1;
  }
  return 0;
}

static int
out_pad4 (struct out *o)
{
  static const char zeros[4];
  size_t pad = (4 - (o->pos & 3)) & 3;

  return out_write (o, zeros, pad);
}

static int
write_header (struct out *o, uint32_t ino, uint32_t mode, uint32_t nlink,
              uint64_t size, const char *name)
{
  char hdr[128];
  size_t namesize = strlen (name) + 1;

  if (size > 0xffffffffULL)
    return gbox_app_error (o->cx, "initrd: /%s: file too large for cpio",
                           name);
  snprintf (hdr, sizeof hdr,
            "070701%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X",
            ino, mode, 0u, 0u, nlink, 0u /* mtime */, (unsigned) size,
            0u, 0u, 0u, 0u, (unsigned) namesize, 0u);
  if (out_write (o, hdr, 110) == -1 ||
      out_write (o, name, namesize) == -1 ||
      out_pad4 (o) == -1)
    return -1;
  return 0;
}

/* Stream the host file SOURCE as the entry E. */
static int
write_file (struct out *o, const struct entry *e, uint32_t ino)
{
  char buf[65536];
  struct stat st;
  uint64_t left;
  int fd;

  fd = open (e->source, O_RDONLY | O_CLOEXEC);
  if (fd == -1)
    return gbox_app_error (o->cx, "initrd: cannot read %s: %s",
                           e->source, strerror (errno));
  if (fstat (fd, &st) == -1 || !S_ISREG (st.st_mode)) {
    close (fd);
    return gbox_app_error (o->cx, "initrd: %s: not a regular file",
                           e->source);
  }
  if (write_header (o, ino, S_IFREG | e->mode, 1, st.st_size, e->name) == -1)
    goto err;
  for (left = st.st_size; left > 0;) {
    ssize_t r = read (fd, buf, left < sizeof buf ? left : sizeof buf);
    if (r == -1 && errno == EINTR)
      continue;
    if (r == -1) {
      gbox_app_error (o->cx, "initrd: read %s: %s", e->source,
                      strerror (errno));
      goto err;
    }
    if (r == 0) {
      gbox_app_error (o->cx, "initrd: %s shrank while being copied "
                      "(was it being upgraded? try again)", e->source);
      goto err;
    }
    if (out_write (o, buf, r) == -1)
      goto err;
    left -= r;
  }
  close (fd);
  return out_pad4 (o);

 err:
  close (fd);
  return -1;
}

static int
cmp_entry (const void *x, const void *y)
{
  const struct entry *const *a = x, *const *b = y;

  return strcmp ((*a)->name, (*b)->name);
}

static int
cmp_pub (const void *x, const void *y)
{
  const struct gbox_app_cpio_entry *a = x, *b = y;

  return strcmp (a->name, b->name);
}

struct gbox_app_cpio_entry *
gbox_app_cpio_sorted (const struct gbox_app_cpio *a)
{
  struct gbox_app_cpio_entry *v = malloc ((a->n ? a->n : 1) * sizeof *v);
  size_t i;

  if (!v)
    return NULL;
  for (i = 0; i < a->n; ++i) {
    v[i].name = a->v[i].name;
    v[i].type = a->v[i].type;
    v[i].mode = a->v[i].mode;
    v[i].source = a->v[i].source;
    v[i].data = a->v[i].data;
    v[i].len = a->v[i].len;
  }
  qsort (v, a->n, sizeof *v, cmp_pub);
  return v;
}

int
gbox_app_cpio_write (struct gbox_app_ctx *cx, struct gbox_app_cpio *a,
                     int fd, bool gzip, uint64_t *bytes)
{
  struct out *o;
  struct entry **sorted;
  size_t i;
  int r = -1;

  o = calloc (1, sizeof *o);
  sorted = malloc ((a->n ? a->n : 1) * sizeof *sorted);
  if (!o || !sorted) {
    free (o);
    free (sorted);
    return gbox_app_error (cx, "initrd: out of memory");
  }
  o->cx = cx;
  o->fd = fd;
  o->gzip = gzip;
  if (gzip &&
      deflateInit2 (&o->z, 6, Z_DEFLATED, 15 + 16, 8,
                    Z_DEFAULT_STRATEGY) != Z_OK) {
    free (o);
    free (sorted);
    return gbox_app_error (cx, "initrd: deflateInit failed");
  }

  /* A parent is a prefix of its children, so plain byte order puts every
   * directory before its contents. */
  for (i = 0; i < a->n; ++i)
    sorted[i] = &a->v[i];
  qsort (sorted, a->n, sizeof *sorted, cmp_entry);

  for (i = 0; i < a->n; ++i) {
    const struct entry *e = sorted[i];
    uint32_t ino = i + 1;
    switch (e->type) {
    case GBOX_APP_CPIO_DIR:
      if (write_header (o, ino, S_IFDIR | e->mode, 2, 0, e->name) == -1)
        goto out;
      break;
    case GBOX_APP_CPIO_SYMLINK:
      if (write_header (o, ino, S_IFLNK | 0777, 1, strlen (e->source),
                        e->name) == -1 ||
          out_write (o, e->source, strlen (e->source)) == -1 ||
          out_pad4 (o) == -1)
        goto out;
      break;
    case GBOX_APP_CPIO_DATA:
      if (write_header (o, ino, S_IFREG | e->mode, 1, e->len,
                        e->name) == -1 ||
          out_write (o, e->data, e->len) == -1 ||
          out_pad4 (o) == -1)
        goto out;
      break;
    case GBOX_APP_CPIO_FILE:
      if (write_file (o, e, ino) == -1)
        goto out;
      break;
    }
  }
  if (write_header (o, 0, 0, 1, 0, "TRAILER!!!") == -1 ||
      out_flush (o) == -1)
    goto out;
  if (gzip && deflate_some (o, NULL, 0, Z_FINISH) == -1)
    goto out;
  if (bytes)
    *bytes = o->written;
  r = 0;

 out:
  if (gzip)
    deflateEnd (&o->z);
  free (sorted);
  free (o);
  return r;
}
