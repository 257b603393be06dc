/* guestbox - the pax archive writer of tar_out.
 * Copyright (C) 2026 the guestbox authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

/**
 * tar_out's archive, written by the daemon itself: POSIX pax (ustar
 * headers, with a pax extended header only where ustar cannot say it),
 * as bsdtar writes it.  It is hand-written, not libarchive, because
 * libarchive's write path copies every data byte through the CPU, which
 * in the appliance is emulated: bsdtar managed 63 MB/s on big files and
 * 127 µs per empty file.  Here the headers are built apart from the
 * data, so a regular file's pages go file -> pipe -> channel with
 * splice(2) and are never touched; only headers, padding (from a zero
 * page) and small files (read, which costs less than a splice of a
 * partial page) are copied.  The opened files of a directory are read
 * ahead (POSIX_FADV_WILLNEED) a batch at a time, so that their virtio
 * reads overlap instead of one synchronous read per file.
 *
 * What it writes, matching bsdtar -c --format pax_restricted: "./" then
 * "./NAME" entries, a directory's entries before what is below it;
 * symlinks as links (never followed); the second and later names of an
 * inode with several links as hard links to the first; fifos and
 * devices; sockets skipped; owners as numbers plus the names the
 * appliance's passwd and group give (none with numeric_owner); pax
 * records for what ustar cannot hold (path, linkpath, size, uid, gid,
 * mtime) and for names that are not UTF-8 (hdrcharset=BINARY);
 * mtime with nanoseconds whenever a pax header is written; xattrs
 * (SCHILY.xattr.NAME, SELinux labels included) when asked; sparse
 * files in the GNU 1.0 sparse format (a map of the data regions, then
 * only those regions).  Excluded names are matched as bsdtar's
 * --exclude does (a wildcard, "*" crossing "/", against the path or any
 * tail of it after a "/"); an excluded directory is not entered.
 *
 * A file is opened with O_NOFOLLOW|O_NONBLOCK and fstat'ed: if it is no
 * longer what lstat saw (another type or inode), it is skipped with a
 * warning.  A file that shrinks while it is read is padded with zeros,
 * one that grows is cut at the size in its header, so the stream stays
 * well formed; both are reported on stderr.
 *
 * ACLs (--acls) and compression in the appliance are left to bsdtar
 * (tar.c): ACLs need the POSIX ACL xattrs turned into their text form
 * exactly as libarchive does, and clients compress on the host.
 */

#include <config.h>

#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <grp.h>
#include <inttypes.h>
#include <pwd.h>
#include <stdarg.h>
#include <string.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>

#include "daemon.h"

#define TW_BLOCK 512
/* Files up to this size are read (copied) rather than spliced. */
#define TW_READ_MAX (16 * 1024)
/* Read ahead at most this much of each file of a batch. */
#define TW_WILLNEED_MAX (256 * 1024)
/* Directories nested deeper are refused (each level holds an fd). */
#define TW_DEPTH_MAX 512
/* More data regions than this: the file is written whole. */
#define TW_SPARSE_MAX 65536

static const char zeros[TW_BLOCK];

/* --- Growable buffers and pax records. --- */

int
tw_buf_add (struct tw_buf *b, const void *p, size_t n)
{
  if (b->len + n > b->alloc) {
    size_t a = b->alloc ? b->alloc : 1024;
    char *d;

    while (a < b->len + n)
      a *= 2;
    d = realloc (b->data, a);
    if (d == NULL)
      return -1;
    b->data = d;
    b->alloc = a;
  }
  memcpy (b->data + b->len, p, n);
  b->len += n;
  return 0;
}

/* "LEN KEY=VALUE\n", LEN counting itself. */
int
tw_pax_record (struct tw_buf *b, const char *key, const void *val,
               size_t vlen)
{
  size_t base = strlen (key) + vlen + 3, len = base, digits;
  char num[24];

  for (;;) {
    digits = snprintf (num, sizeof num, "%zu", len);
    if (base + digits == len)
      break;
    len = base + digits;
  }
  if (tw_buf_add (b, num, digits) == -1 || tw_buf_add (b, " ", 1) == -1 ||
      tw_buf_add (b, key, strlen (key)) == -1 || tw_buf_add (b, "=", 1) == -1 ||
      tw_buf_add (b, val, vlen) == -1 || tw_buf_add (b, "\n", 1) == -1)
    return -1;
  return 0;
}

static int
pax_number (struct tw_buf *b, const char *key, uint64_t v)
{
  char s[24];

  return tw_pax_record (b, key, s, snprintf (s, sizeof s, "%" PRIu64, v));
}

static bool
is_ascii (const char *s, size_t n)
{
  size_t i;

  for (i = 0; i < n; ++i)
    if ((unsigned char) s[i] >= 0x80)
      return false;
  return true;
}

/* Valid UTF-8 (no overlong forms, no surrogates, at most U+10FFFF). */
static bool
is_utf8 (const char *str, size_t n)
{
  const unsigned char *s = (const unsigned char *) str;
  size_t i = 0;

  while (i < n) {
    unsigned c = s[i], len, k;
    uint32_t cp;

    if (c < 0x80) {
      i++;
      continue;
    }
    if (c >= 0xc2 && c <= 0xdf)
      len = 2, cp = c & 0x1f;
    else if (c >= 0xe0 && c <= 0xef)
      len = 3, cp = c & 0x0f;
    else if (c >= 0xf0 && c <= 0xf4)
      len = 4, cp = c & 0x07;
    else
      return false;
    if (i + len > n)
      return false;
    for (k = 1; k < len; ++k) {
      if ((s[i + k] & 0xc0) != 0x80)
        return false;
      cp = (cp << 6) | (s[i + k] & 0x3f);
    }
    if ((len == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
        (len == 4 && (cp < 0x10000 || cp > 0x10ffff)))
      return false;
    i += len;
  }
  return true;
}

/* An octal field of LEN bytes (LEN-1 digits and a NUL); false when V
 * does not fit (the field is then 0). */
static bool
octal (char *f, size_t len, uint64_t v)
{
  uint64_t max = ((uint64_t) 1 << (3 * (len - 1))) - 1;

  if (v > max) {
    octal (f, len, 0);
    return false;
  }
  f[len - 1] = '\0';
  for (size_t i = len - 1; i-- > 0; v >>= 3)
    f[i] = '0' + (v & 7);
  return true;
}

static void
ustar_block (char *h, const struct tw_entry *e, char type, const char *name,
             size_t namelen, uint64_t size, struct tw_buf *pax)
{
  unsigned sum = 0;
  size_t i;
  uint64_t mtime = e->mtime < 0 ? 0 : (uint64_t) e->mtime;

  memset (h, 0, TW_BLOCK);
  memcpy (h, name, namelen < 100 ? namelen : 100);
  octal (h + 100, 8, e->mode & 07777);
  if (!octal (h + 108, 8, e->uid) && pax)
    pax_number (pax, "uid", e->uid);
  if (!octal (h + 116, 8, e->gid) && pax)
    pax_number (pax, "gid", e->gid);
  if (!octal (h + 124, 12, size) && pax)
    pax_number (pax, "size", size);
  octal (h + 136, 12, mtime);
  h[156] = type;
  if (e->linklen > 0)
    memcpy (h + 157, e->link, e->linklen < 100 ? e->linklen : 100);
  memcpy (h + 257, "ustar", 6);
  memcpy (h + 263, "00", 2);
  if (e->uname)
    strncpy (h + 265, e->uname, 31);
  if (e->gname)
    strncpy (h + 297, e->gname, 31);
  if (type == '3' || type == '4') {
    octal (h + 329, 8, e->devmajor);
    octal (h + 337, 8, e->devminor);
  }
  else {
    octal (h + 329, 8, 0);
    octal (h + 337, 8, 0);
  }
  memset (h + 148, ' ', 8);
  for (i = 0; i < TW_BLOCK; ++i)
    sum += (unsigned char) h[i];
  snprintf (h + 148, 8, "%06o", sum);
  h[155] = ' ';
}

/* The header of entry E, after its pax extended header when one is
 * needed (EXTRA: more pax records, such as xattrs), appended to OUT. */
int
tw_header (struct tw_buf *out, const struct tw_entry *e,
           const char *extra, size_t extralen)
{
  struct tw_buf pax = { 0 };
  char h[TW_BLOCK];
  bool bin = !is_utf8 (e->name, e->namelen) ||
    (e->linklen > 0 && !is_utf8 (e->link, e->linklen));
  int r = -1;

  if (bin && tw_pax_record (&pax, "hdrcharset", "BINARY", 6) == -1)
    goto out;
  if ((e->namelen > 100 || !is_ascii (e->name, e->namelen)) &&
      tw_pax_record (&pax, "path", e->name, e->namelen) == -1)
    goto out;
  if ((e->linklen > 100 || !is_ascii (e->link, e->linklen)) &&
      tw_pax_record (&pax, "linkpath", e->link, e->linklen) == -1)
    goto out;
  /* uid, gid, size: added by ustar_block when they do not fit. */
  ustar_block (h, e, e->type, e->name, e->namelen, e->size, &pax);
  /* mtime: when ustar cannot hold it, and (as bsdtar) its fraction
   * whenever there is a pax header anyway. */
  if (e->mtime < 0 || (uint64_t) e->mtime > 077777777777 ||
      ((pax.len > 0 || extralen > 0) && e->mtime_nsec > 0)) {
    char t[48];
    int n;

    if (e->mtime_nsec > 0)
      n = snprintf (t, sizeof t, "%" PRId64 ".%09ld", e->mtime, e->mtime_nsec);
    else
      n = snprintf (t, sizeof t, "%" PRId64, e->mtime);
    if (tw_pax_record (&pax, "mtime", t, n) == -1)
      goto out;
  }
  if (extralen > 0 && tw_buf_add (&pax, extra, extralen) == -1)
    goto out;
  if (pax.len > 0) {
    /* "DIR/PaxHeader/BASE" as libarchive names it; readers ignore it. */
    char pname[100];
    size_t nl = e->namelen, dl, bl;
    const char *base;
    char ph[TW_BLOCK];
    struct tw_entry pe = *e;

    while (nl > 1 && e->name[nl - 1] == '/')
      nl--;
    base = memrchr (e->name, '/', nl);
    base = base ? base + 1 : e->name;
    dl = base - e->name;
    bl = nl - dl;
    if (dl > 40)
      dl = 0;
    if (bl > 99 - 10 - dl)
      bl = 99 - 10 - dl;
    memcpy (pname, e->name, dl);
    memcpy (pname + dl, "PaxHeader/", 10);
    memcpy (pname + dl + 10, base, bl);
    pe.linklen = 0;
    pe.mode &= 0777;
    ustar_block (ph, &pe, 'x', pname, dl + 10 + bl, pax.len, NULL);
    if (tw_buf_add (out, ph, TW_BLOCK) == -1 ||
        tw_buf_add (out, pax.data, pax.len) == -1 ||
        tw_buf_add (out, zeros, (TW_BLOCK - pax.len % TW_BLOCK) % TW_BLOCK)
        == -1)
      goto out;
  }
  if (tw_buf_add (out, h, TW_BLOCK) == -1)
    goto out;
  r = 0;
 out:
  free (pax.data);
  return r;
}

/* --- Excludes. --- */

bool
tw_excluded (char *const *patterns, size_t n, const char *path)
{
  size_t i;

  for (i = 0; i < n; ++i) {
    const char *p = path;

    for (;;) {
      if (fnmatch (patterns[i], p, 0) == 0)
        return true;
      p = strchr (p, '/');
      if (p == NULL)
        break;
      p++;
      if (*p == '\0')
        break;
    }
  }
  return false;
}

/* --- The output: chunks of GBOX_CHUNK_SIZE, through a pipe. --- */

struct tw_out {
  const struct tw_sink *sink;
  int pr, pw;                   /* the chunk pipe */
  size_t in_pipe;               /* bytes in it */
  unsigned slots, max_slots;    /* its buffers used (upper bound), all */
  char *buf;                    /* staged bytes, after those in the pipe */
  size_t buflen;
  uint64_t sent;
};

static int
send_pipe (struct tw_out *o)
{
  if (o->in_pipe == 0)
    return 0;
  if (o->sink->pipe (o->sink->opaque, o->pr, o->in_pipe) == -1)
    return -1;
  o->sent += o->in_pipe;
  o->in_pipe = 0;
  o->slots = 0;
  return 0;
}

/* The staged bytes into the pipe (or straight out when the pipe is
 * empty and they make a whole chunk). */
static int
stage_to_pipe (struct tw_out *o)
{
  size_t off = 0;

  if (o->buflen == 0)
    return 0;
  if (o->in_pipe == 0 && o->buflen == GBOX_CHUNK_SIZE) {
    if (o->sink->bytes (o->sink->opaque, o->buf, o->buflen) == -1)
      return -1;
    o->sent += o->buflen;
    o->buflen = 0;
    return 0;
  }
  while (off < o->buflen) {
    size_t n = o->buflen - off;
    ssize_t r;

    if (o->slots + 3 > o->max_slots) {
      if (send_pipe (o) == -1)
        return -1;
      continue;
    }
    if (n > GBOX_CHUNK_SIZE - o->in_pipe)
      n = GBOX_CHUNK_SIZE - o->in_pipe;
    if (n > (o->max_slots - o->slots - 2) * (size_t) 4096)
      n = (o->max_slots - o->slots - 2) * (size_t) 4096;
    r = write (o->pw, o->buf + off, n);
    if (r == -1 && errno == EINTR)
      continue;
    if (r <= 0) {
      reply_with_perror ("tar_out: write to pipe");
      return -1;
    }
    off += r;
    o->in_pipe += r;
    o->slots += r / 4096 + 2;
    if (o->in_pipe == GBOX_CHUNK_SIZE && send_pipe (o) == -1)
      return -1;
  }
  o->buflen = 0;
  return 0;
}

static int
out_flush (struct tw_out *o)
{
  if (o->in_pipe == 0 && o->buflen > 0) {
    if (o->sink->bytes (o->sink->opaque, o->buf, o->buflen) == -1)
      return -1;
    o->sent += o->buflen;
    o->buflen = 0;
    return 0;
  }
  if (stage_to_pipe (o) == -1)
    return -1;
  return send_pipe (o);
}

static int
out_bytes (struct tw_out *o, const void *p, size_t n)
{
  const char *s = p;

  while (n > 0) {
    size_t room = GBOX_CHUNK_SIZE - o->in_pipe - o->buflen, k;

    if (room == 0) {
      if (out_flush (o) == -1)
        return -1;
      continue;
    }
    k = n < room ? n : room;
    memcpy (o->buf + o->buflen, s, k);
    o->buflen += k;
    s += k;
    n -= k;
  }
  return 0;
}

static int
out_zeros (struct tw_out *o, uint64_t n)
{
  while (n > 0) {
    size_t k = n < TW_BLOCK ? n : TW_BLOCK;

    if (out_bytes (o, zeros, k) == -1)
      return -1;
    n -= k;
  }
  return 0;
}

/* Up to N bytes of FD at *OFF into the stream: spliced, or read when
 * N is small.  Returns the bytes moved (less than N only at the end of
 * the file), -1 on error. */
static int64_t
out_file (struct tw_out *o, int fd, uint64_t *off, uint64_t n,
          const char *name)
{
  uint64_t done = 0;

  if (n <= TW_READ_MAX) {
    while (done < n) {
      size_t room = GBOX_CHUNK_SIZE - o->in_pipe - o->buflen;
      size_t want = n - done < room ? n - done : room;
      ssize_t r;

      if (room == 0) {
        if (out_flush (o) == -1)
          return -1;
        continue;
      }
      r = pread (fd, o->buf + o->buflen, want, *off);
      if (r == -1 && errno == EINTR)
        continue;
      if (r == -1) {
        reply_with_perror ("tar_out: read %s", name);
        return -1;
      }
      if (r == 0)
        break;
      o->buflen += r;
      *off += r;
      done += r;
    }
    return done;
  }

  if (stage_to_pipe (o) == -1)
    return -1;
  while (done < n) {
    size_t want = GBOX_CHUNK_SIZE - o->in_pipe;
    loff_t lo = *off;
    ssize_t r;

    if (want > n - done)
      want = n - done;
    /* Never more pages than the pipe has free buffers: with us as its
     * only reader, a full pipe would block for ever. */
    if (o->slots + 3 > o->max_slots) {
      if (send_pipe (o) == -1)
        return -1;
      continue;
    }
    if (want > (o->max_slots - o->slots - 2) * (size_t) 4096)
      want = (o->max_slots - o->slots - 2) * (size_t) 4096;
    r = splice (fd, &lo, o->pw, NULL, want, SPLICE_F_MOVE);
    if (r == -1 && errno == EINTR)
      continue;
    if (r == -1) {
      reply_with_perror ("tar_out: read %s", name);
      return -1;
    }
    if (r == 0)
      break;
    *off = lo;
    done += r;
    o->in_pipe += r;
    o->slots += r / 4096 + 2;
    if (o->in_pipe == GBOX_CHUNK_SIZE && send_pipe (o) == -1)
      return -1;
  }
  return done;
}

/* --- The walk. --- */

struct link_ent {
  dev_t dev;
  ino_t ino;
  char *name;
  size_t namelen;
  struct link_ent *next;
};

struct owner_name {
  unsigned long id;
  bool have;
  char name[32];
};

struct tw {
  const struct tw_options *opt;
  struct tw_out out;
  struct tw_buf hdr, extra;
  struct link_ent **links;      /* hash table of inodes seen, nlink > 1 */
  size_t nlinks_buckets;
  struct owner_name user, group; /* the last lookup of each */
  uint64_t *map;                /* sparse map: offset, length pairs */
  size_t map_alloc;
  unsigned long warnings;
};

/* The name of user (GROUP false) or group ID in the appliance's
 * passwd or group file, "" if it has none; NULL with numeric_owner.
 * The last answer is kept: a tree's entries mostly share owners. */
static const char *
owner_name (struct tw *w, unsigned long id, bool group)
{
  struct owner_name *c = group ? &w->group : &w->user;

  if (w->opt->numeric_owner)
    return NULL;
  if (!c->have || c->id != id) {
    const char *name = NULL;

    if (group) {
      struct group *gr = getgrgid (id);
      name = gr ? gr->gr_name : NULL;
    }
    else {
      struct passwd *pw = getpwuid (id);
      name = pw ? pw->pw_name : NULL;
    }
    c->name[0] = '\0';
    if (name && strlen (name) < sizeof c->name)
      strcpy (c->name, name);
    c->id = id;
    c->have = true;
  }
  return c->name;
}

static void
warn (struct tw *w, const char *fs, ...)
  __attribute__((format (printf, 2, 3)));
static void
warn (struct tw *w, const char *fs, ...)
{
  va_list args;

  w->warnings++;
  fprintf (stderr, "guestboxd: tar_out: ");
  va_start (args, fs);
  vfprintf (stderr, fs, args);
  va_end (args);
  fputc ('\n', stderr);
}

/* The first name of inode ST (nlink > 1), or NULL after recording NAME
 * as that first name. -1 in *ERR on allocation failure. */
static const struct link_ent *
link_lookup (struct tw *w, const struct stat *st, const char *name,
             size_t namelen, int *err)
{
  size_t h;
  struct link_ent *l;

  if (w->links == NULL) {
    w->nlinks_buckets = 4096;
    w->links = calloc (w->nlinks_buckets, sizeof *w->links);
    if (w->links == NULL) {
      *err = -1;
      return NULL;
    }
  }
  h = ((size_t) st->st_ino * 31 + (size_t) st->st_dev) % w->nlinks_buckets;
  for (l = w->links[h]; l; l = l->next)
    if (l->dev == st->st_dev && l->ino == st->st_ino)
      return l;
  l = malloc (sizeof *l);
  if (l == NULL || (l->name = malloc (namelen)) == NULL) {
    free (l);
    *err = -1;
    return NULL;
  }
  memcpy (l->name, name, namelen);
  l->namelen = namelen;
  l->dev = st->st_dev;
  l->ino = st->st_ino;
  l->next = w->links[h];
  w->links[h] = l;
  return NULL;
}

/* The xattrs of PATH (not followed) as SCHILY.xattr records in
 * w->extra. */
static int
add_xattrs (struct tw *w, const char *path)
{
  CLEANUP_FREE char *names = NULL, *val = NULL;
  ssize_t len = llistxattr (path, NULL, 0), vlen;
  size_t valloc = 0;
  char *n;

  if (len <= 0)
    return 0;                   /* none, or not supported */
  names = malloc (len + 1);
  if (names == NULL)
    return -1;
  len = llistxattr (path, names, len);
  if (len <= 0)
    return 0;
  names[len] = '\0';
  for (n = names; n < names + len; n += strlen (n) + 1) {
    CLEANUP_FREE char *key = NULL;

    if (*n == '\0' || strncmp (n, "system.", 7) == 0)
      continue;                 /* ACLs: --acls, not --xattrs */
    vlen = lgetxattr (path, n, NULL, 0);
    if (vlen < 0)
      continue;
    if ((size_t) vlen + 1 > valloc) {
      char *v = realloc (val, vlen + 1);
      if (v == NULL)
        return -1;
      val = v;
      valloc = vlen + 1;
    }
    vlen = lgetxattr (path, n, val, vlen);
    if (vlen < 0)
      continue;
    if (asprintf (&key, "SCHILY.xattr.%s", n) == -1 ||
        tw_pax_record (&w->extra, key, val, vlen) == -1)
      return -1;
  }
  return 0;
}

/* The data regions of FD (size SIZE) into w->map; their count, or 0
 * when the file is not sparse (or has too many regions). */
static size_t
sparse_map (struct tw *w, int fd, uint64_t size)
{
  size_t n = 0;
  off_t pos = 0;

  while ((uint64_t) pos < size) {
    off_t data = lseek (fd, pos, SEEK_DATA), hole;

    if (data == -1 && errno == ENXIO)
      break;
    if (data == -1)
      return 0;
    hole = lseek (fd, data, SEEK_HOLE);
    if (hole == -1 || hole <= data)
      return 0;
    if ((uint64_t) hole > size)
      hole = size;
    if (n >= TW_SPARSE_MAX)
      return 0;
    if (2 * (n + 1) > w->map_alloc) {
      size_t a = w->map_alloc ? 2 * w->map_alloc : 64;
      uint64_t *m = realloc (w->map, a * sizeof *m);
      if (m == NULL)
        return 0;
      w->map = m;
      w->map_alloc = a;
    }
    w->map[2 * n] = data;
    w->map[2 * n + 1] = hole - data;
    n++;
    pos = hole;
  }
  /* One region covering everything: not sparse. */
  if (n == 1 && w->map[0] == 0 && w->map[1] == size)
    return 0;
  /* A file ending in a hole ends with an empty region at its size. */
  if (n == 0 || w->map[2 * (n - 1)] + w->map[2 * (n - 1) + 1] < size) {
    if (2 * (n + 1) > w->map_alloc) {
      uint64_t *m = realloc (w->map, (2 * n + 2) * sizeof *m);
      if (m == NULL)
        return 0;
      w->map = m;
      w->map_alloc = 2 * n + 2;
    }
    w->map[2 * n] = size;
    w->map[2 * n + 1] = 0;
    n++;
  }
  return n;
}

/* One entry of a directory being read: its lstat and, for a regular
 * file with data, the open fd (read ahead). */
struct item {
  char *name;                   /* in the directory */
  struct stat st;
  int fd;
};

static int emit_dir_entries (struct tw *w, int dirfd, char *path,
                             size_t pathlen, int depth);

/* Archive path buffer: PATH (length PATHLEN, ends in "/") + NAME. */
static char *
join (const char *path, size_t pathlen, const char *name, size_t *len)
{
  size_t nl = strlen (name);
  char *p = malloc (pathlen + nl + 2);

  if (p == NULL)
    return NULL;
  memcpy (p, path, pathlen);
  memcpy (p + pathlen, name, nl + 1);
  *len = pathlen + nl;
  return p;
}

static int
emit_regular (struct tw *w, struct tw_entry *e, struct item *it)
{
  uint64_t size = it->st.st_size, off, want, sent = 0, maplen = 0;
  size_t nmap = 0, i;
  struct tw_buf mapb = { 0 };
  int r = -1;

  if (it->fd >= 0 && (uint64_t) it->st.st_blocks * 512 < size)
    nmap = sparse_map (w, it->fd, size);
  if (nmap > 0) {
    char num[24];
    uint64_t data = 0;

    for (i = 0; i < nmap; ++i)
      data += w->map[2 * i + 1];
    /* The map: count, then offset and length per region, in lines. */
    if (tw_buf_add (&mapb, num, snprintf (num, sizeof num, "%zu\n", nmap))
        == -1)
      goto out;
    for (i = 0; i < 2 * nmap; ++i)
      if (tw_buf_add (&mapb, num,
                      snprintf (num, sizeof num, "%" PRIu64 "\n", w->map[i]))
          == -1)
        goto out;
    maplen = (mapb.len + TW_BLOCK - 1) / TW_BLOCK * TW_BLOCK;
    if (tw_pax_record (&w->extra, "GNU.sparse.major", "1", 1) == -1 ||
        tw_pax_record (&w->extra, "GNU.sparse.minor", "0", 1) == -1 ||
        tw_pax_record (&w->extra, "GNU.sparse.name", e->name, e->namelen)
        == -1 ||
        pax_number (&w->extra, "GNU.sparse.realsize", size) == -1)
      goto out;
    e->size = maplen + data;
  }
  else
    e->size = size;

  if (nmap > 0) {
    /* "DIR/GNUSparseFile.0/BASE" in the ustar name, as libarchive. */
    CLEANUP_FREE char *sname = NULL;
    const char *base = memrchr (e->name, '/', e->namelen);
    size_t dl = base ? (size_t) (base + 1 - e->name) : 0;
    const char *oname = e->name;
    size_t onamelen = e->namelen;

    if (asprintf (&sname, "%.*sGNUSparseFile.0/%.*s", (int) dl, e->name,
                  (int) (e->namelen - dl), e->name + dl) == -1)
      goto out;
    e->name = sname;
    e->namelen = strlen (sname);
    r = tw_header (&w->hdr, e, w->extra.data, w->extra.len);
    e->name = oname;
    e->namelen = onamelen;
    if (r == -1)
      goto out;
    r = -1;
  }
  else if (tw_header (&w->hdr, e, w->extra.data, w->extra.len) == -1)
    goto out;
  if (out_bytes (&w->out, w->hdr.data, w->hdr.len) == -1)
    goto out;
  if (nmap > 0) {
    if (out_bytes (&w->out, mapb.data, mapb.len) == -1 ||
        out_zeros (&w->out, maplen - mapb.len) == -1)
      goto out;
    sent = maplen;
  }

  for (i = 0; i < (nmap > 0 ? nmap : 1); ++i) {
    int64_t got = 0;

    if (nmap > 0) {
      off = w->map[2 * i];
      want = w->map[2 * i + 1];
    }
    else {
      off = 0;
      want = size;
    }
    if (want > 0 && it->fd >= 0) {
      got = out_file (&w->out, it->fd, &off, want, e->name);
      if (got == -1)
        goto out;
    }
    if ((uint64_t) got < want) {
      warn (w, "%s: file shrank by %" PRIu64 " bytes; padding with zeros",
            e->name, want - got);
      if (out_zeros (&w->out, want - got) == -1)
        goto out;
    }
    sent += want;
  }
  if (it->fd >= 0 && nmap == 0 && size > TW_READ_MAX) {
    char c;

    if (pread (it->fd, &c, 1, size) == 1)
      warn (w, "%s: file grew while it was read; only %" PRIu64
            " bytes stored", e->name, size);
  }
  if (out_zeros (&w->out, (TW_BLOCK - sent % TW_BLOCK) % TW_BLOCK) == -1)
    goto out;
  /* The pages were sent: let their memory be reused. */
  if (it->fd >= 0 && size > TW_READ_MAX)
    posix_fadvise (it->fd, 0, 0, POSIX_FADV_DONTNEED);
  r = 0;
 out:
  free (mapb.data);
  return r;
}

/* One entry: its header (and data).  DIRFD holds it; PATH its archive
 * name.  Returns 1 when it is a directory to enter, 0 when done,
 * -1 on error. */
static int
emit_item (struct tw *w, int dirfd, struct item *it, const char *path,
           size_t pathlen)
{
  struct tw_entry e = { 0 };
  char target[4097];
  const struct link_ent *first = NULL;
  mode_t fmt = it->st.st_mode & S_IFMT;
  int err = 0;

  w->hdr.len = 0;
  w->extra.len = 0;
  e.name = path;
  e.namelen = pathlen;
  e.mode = it->st.st_mode;
  e.uid = it->st.st_uid;
  e.gid = it->st.st_gid;
  e.uname = owner_name (w, it->st.st_uid, false);
  e.gname = owner_name (w, it->st.st_gid, true);
  e.mtime = it->st.st_mtim.tv_sec;
  e.mtime_nsec = it->st.st_mtim.tv_nsec;

  switch (fmt) {
  case S_IFREG: e.type = '0'; break;
  case S_IFDIR: e.type = '5'; break;
  case S_IFLNK: e.type = '2'; break;
  case S_IFCHR: e.type = '3'; break;
  case S_IFBLK: e.type = '4'; break;
  case S_IFIFO: e.type = '6'; break;
  default:
    return 0;                   /* sockets: not archived */
  }
  if (fmt == S_IFCHR || fmt == S_IFBLK) {
    e.devmajor = major (it->st.st_rdev);
    e.devminor = minor (it->st.st_rdev);
  }
  if (w->opt->xattrs) {
    CLEANUP_FREE char *xp = NULL;

    if (asprintf (&xp, "/proc/self/fd/%d/%s", dirfd, it->name) == -1 ||
        add_xattrs (w, xp) == -1)
      goto nomem;
  }
  if (fmt != S_IFDIR && it->st.st_nlink > 1) {
    first = link_lookup (w, &it->st, path, pathlen, &err);
    if (err)
      goto nomem;
    if (first) {
      e.type = '1';
      e.link = first->name;
      e.linklen = first->namelen;
      e.size = 0;
      if (tw_header (&w->hdr, &e, w->extra.data, w->extra.len) == -1)
        goto nomem;
      return out_bytes (&w->out, w->hdr.data, w->hdr.len);
    }
  }
  if (fmt == S_IFREG)
    return emit_regular (w, &e, it) == -1 ? -1 : 0;
  if (fmt == S_IFLNK) {
    ssize_t n = readlinkat (dirfd, it->name, target, sizeof target);

    if (n < 0 || (size_t) n >= sizeof target) {
      warn (w, "%s: readlink: %s", path, n < 0 ? strerror (errno) : "too long");
      return 0;
    }
    e.link = target;
    e.linklen = n;
  }
  if (tw_header (&w->hdr, &e, w->extra.data, w->extra.len) == -1)
    goto nomem;
  if (out_bytes (&w->out, w->hdr.data, w->hdr.len) == -1)
    return -1;
  return fmt == S_IFDIR ? 1 : 0;

 nomem:
  reply_with_perror ("tar_out: %s", path);
  return -1;
}

static void
free_items (struct item *items, size_t n)
{
  size_t i;

  for (i = 0; i < n; ++i) {
    if (items[i].fd >= 0)
      close (items[i].fd);
    free (items[i].name);
  }
}

/* Open regular file IT for reading (with data only), checking that it
 * is still what lstat saw; -1 in it->fd (and a warning) otherwise:
 * then the entry is skipped (*SKIP). */
static void
open_item (struct tw *w, int dirfd, struct item *it, const char *path,
           bool *skip)
{
  struct stat st;

  it->fd = -1;
  *skip = false;
  if (!S_ISREG (it->st.st_mode) || it->st.st_size == 0)
    return;
  it->fd = openat (dirfd, it->name,
                   O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
  if (it->fd == -1) {
    warn (w, "%s: %m", path);
    *skip = true;
    return;
  }
  if (fstat (it->fd, &st) == -1 || !S_ISREG (st.st_mode) ||
      st.st_dev != it->st.st_dev || st.st_ino != it->st.st_ino) {
    warn (w, "%s: changed while it was read; skipped", path);
    close (it->fd);
    it->fd = -1;
    *skip = true;
    return;
  }
  it->st = st;
  if (st.st_size > 0)
    posix_fadvise (it->fd, 0,
                   st.st_size < TW_WILLNEED_MAX ? st.st_size : TW_WILLNEED_MAX,
                   POSIX_FADV_WILLNEED);
}

/* The entries of directory DIRFD (archive name PATH, ending in "/"),
 * then, one after the other, the subdirectories. */
static int
emit_dir_entries (struct tw *w, int dirfd, char *path, size_t pathlen,
                  int depth)
{
  unsigned batch = w->opt->prefetch ? w->opt->prefetch : 1;
  CLEANUP_FREE struct item *items = calloc (batch, sizeof *items);
  char **subdirs = NULL;
  size_t nsub = 0, asub = 0, n = 0, i;
  struct dirent *d;
  DIR *dir;
  int dfd, r = -1;
  bool eof = false;

  if (items == NULL) {
    reply_with_perror ("tar_out");
    return -1;
  }
  if (depth > TW_DEPTH_MAX) {
    reply_with_error_errno (ELOOP, "tar_out: %s: directories nested too deep",
                            path);
    return -1;
  }
  dfd = dup (dirfd);
  if (dfd == -1 || (dir = fdopendir (dfd)) == NULL) {
    if (dfd >= 0)
      close (dfd);
    reply_with_perror ("tar_out: %s", path);
    return -1;
  }
  while (!eof) {
    /* A batch: stat and open (read ahead) up to BATCH entries... */
    n = 0;
    while (n < batch) {
      struct item *it = &items[n];
      CLEANUP_FREE char *p = NULL;
      size_t plen;
      bool skip;

      errno = 0;
      d = readdir (dir);
      if (d == NULL) {
        if (errno) {
          reply_with_perror ("tar_out: %s", path);
          goto out;
        }
        eof = true;
        break;
      }
      if (strcmp (d->d_name, ".") == 0 || strcmp (d->d_name, "..") == 0)
        continue;
      p = join (path, pathlen, d->d_name, &plen);
      if (p == NULL)
        goto nomem;
      if (w->opt->nexcludes &&
          tw_excluded (w->opt->excludes, w->opt->nexcludes, p))
        continue;
      if (fstatat (dirfd, d->d_name, &it->st, AT_SYMLINK_NOFOLLOW) == -1) {
        warn (w, "%s: %m", p);
        continue;
      }
      it->name = strdup (d->d_name);
      if (it->name == NULL)
        goto nomem;
      open_item (w, dirfd, it, p, &skip);
      if (skip) {
        free (it->name);
        continue;
      }
      n++;
    }
    /* ... then their entries, in order. */
    for (i = 0; i < n; ++i) {
      CLEANUP_FREE char *p = NULL;
      size_t plen;
      int k;

      p = join (path, pathlen, items[i].name, &plen);
      if (p == NULL)
        goto nomem;
      if (S_ISDIR (items[i].st.st_mode)) {
        p[plen++] = '/';
        p[plen] = '\0';
      }
      k = emit_item (w, dirfd, &items[i], p, plen);
      if (k == -1)
        goto out;
      if (k == 1) {
        if (nsub == asub) {
          size_t a = asub ? 2 * asub : 16;
          char **s = realloc (subdirs, a * sizeof *s);
          if (s == NULL)
            goto nomem;
          subdirs = s;
          asub = a;
        }
        subdirs[nsub++] = items[i].name;
        items[i].name = NULL;
      }
      if (items[i].fd >= 0) {
        close (items[i].fd);
        items[i].fd = -1;
      }
      free (items[i].name);
      items[i].name = NULL;
    }
    n = 0;
  }
  closedir (dir);
  dir = NULL;

  for (i = 0; i < nsub; ++i) {
    CLEANUP_FREE char *p = NULL;
    size_t plen;
    struct stat a, b;
    int fd;

    p = join (path, pathlen, subdirs[i], &plen);
    if (p == NULL)
      goto nomem;
    p[plen++] = '/';
    p[plen] = '\0';
    if (fstatat (dirfd, subdirs[i], &a, AT_SYMLINK_NOFOLLOW) == -1 ||
        (fd = openat (dirfd, subdirs[i], O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
                      O_CLOEXEC)) == -1) {
      warn (w, "%s: %m", p);
      continue;
    }
    if (fstat (fd, &b) == -1 || b.st_dev != a.st_dev || b.st_ino != a.st_ino) {
      warn (w, "%s: changed while it was read; skipped", p);
      close (fd);
      continue;
    }
    r = emit_dir_entries (w, fd, p, plen, depth + 1);
    close (fd);
    if (r == -1)
      goto out;
  }
  r = 0;
  goto out;

 nomem:
  reply_with_perror ("tar_out: %s", path);
  r = -1;
 out:
  if (dir)
    closedir (dir);
  free_items (items, n);
  for (i = 0; i < nsub; ++i)
    free (subdirs[i]);
  free (subdirs);
  return r;
}

int
tar_write_tree (int dirfd, const struct tw_options *opt,
                const struct tw_sink *sink)
{
  struct tw w = { .opt = opt };
  struct item root = { .name = (char *) ".", .fd = -1 };
  char path[3] = "./";
  int pfd[2] = { -1, -1 }, r = -1, sz;
  size_t i;

  w.out.sink = sink;
  w.out.buf = malloc (GBOX_CHUNK_SIZE);
  if (w.out.buf == NULL || pipe2 (pfd, O_CLOEXEC) == -1) {
    reply_with_perror ("tar_out: pipe");
    goto out;
  }
  w.out.pr = pfd[0];
  w.out.pw = pfd[1];
  sz = fcntl (pfd[1], F_SETPIPE_SZ, GBOX_CHUNK_SIZE * 2);
  if (sz == -1)
    sz = fcntl (pfd[1], F_GETPIPE_SZ);
  w.out.max_slots = sz > 0 ? sz / 4096 : 16;
  if (opt->pipe_slots)
    w.out.max_slots = opt->pipe_slots;
  if (w.out.max_slots < 8) {
    reply_with_error ("tar_out: pipe too small");
    goto out;
  }

  if (fstat (dirfd, &root.st) == -1) {
    reply_with_perror ("tar_out: fstat");
    goto out;
  }
  if (emit_item (&w, dirfd, &root, path, 2) == -1 ||
      emit_dir_entries (&w, dirfd, path, 2, 0) == -1)
    goto out;
  /* The end: two zero blocks, and the record padding bsdtar -b 128
   * would write is not needed (readers stop at the zero blocks). */
  if (out_zeros (&w.out, 2 * TW_BLOCK) == -1 || out_flush (&w.out) == -1)
    goto out;
  if (w.warnings)
    debug ("tar_out: %lu warnings", w.warnings);
  r = 0;
 out:
  if (pfd[0] >= 0) {
    close (pfd[0]);
    close (pfd[1]);
  }
  free (w.out.buf);
  free (w.hdr.data);
  free (w.extra.data);
  free (w.map);
  if (w.links) {
    for (i = 0; i < w.nlinks_buckets; ++i)
      while (w.links[i]) {
        struct link_ent *l = w.links[i];
        w.links[i] = l->next;
        free (l->name);
        free (l);
      }
    free (w.links);
  }
  return r;
}
