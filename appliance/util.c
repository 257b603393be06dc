/* guestbox - the appliance builder.
 * Copyright (C) 2026 the guestbox authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

/** Small helpers of the appliance builder: error and debug messages,
 * string vectors, whole-file reads and writes, recursive removal, and the
 * cache-key hash. */

#include <config.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "appliance-internal.h"

int
gbox_app_error (struct gbox_app_ctx *cx, const char *fs, ...)
{
  va_list args;

  if (cx->err && cx->errlen > 0) {
    va_start (args, fs);
    vsnprintf (cx->err, cx->errlen, fs, args);
    va_end (args);
  }
  return -1;
}

void
gbox_app_debug (struct gbox_app_ctx *cx, const char *fs, ...)
{
  va_list args;
  char buf[1024];

  if (!cx->debug)
    return;
  va_start (args, fs);
  vsnprintf (buf, sizeof buf, fs, args);
  va_end (args);
  cx->debug (cx->opaque, buf);
}

char *
gbox_app_asprintf (const char *fs, ...)
{
  va_list args;
  char *s;
  int r;

  va_start (args, fs);
  r = vasprintf (&s, fs, args);
  va_end (args);
  return r < 0 ? NULL : s;
}

int
gbox_app_strv_push (struct gbox_app_strv *sv, const char *s)
{
  char *copy;

  if (sv->n + 2 > sv->cap) {
    size_t cap = sv->cap ? sv->cap * 2 : 16;
    char **v = realloc (sv->v, cap * sizeof *v);
    if (!v)
      return -1;
    sv->v = v;
    sv->cap = cap;
  }
  copy = strdup (s);
  if (!copy)
    return -1;
  sv->v[sv->n++] = copy;
  sv->v[sv->n] = NULL;
  return 0;
}

bool
gbox_app_strv_contains (const struct gbox_app_strv *sv, const char *s)
{
  size_t i;

  for (i = 0; i < sv->n; ++i)
    if (strcmp (sv->v[i], s) == 0)
      return true;
  return false;
}

void
gbox_app_strv_free (struct gbox_app_strv *sv)
{
  size_t i;

  for (i = 0; i < sv->n; ++i)
    free (sv->v[i]);
  free (sv->v);
  sv->v = NULL;
  sv->n = sv->cap = 0;
}

char **
gbox_app_strv_steal (struct gbox_app_strv *sv)
{
  char **v = sv->v;

  if (!v) {
    v = calloc (1, sizeof *v);
    if (!v)
      return NULL;
  }
  sv->v = NULL;
  sv->n = sv->cap = 0;
  return v;
}

int
gbox_app_read_file (struct gbox_app_ctx *cx, const char *path, size_t max,
                    char **data, size_t *len)
{
  int fd;
  struct stat st;
  char *buf = NULL;
  size_t n = 0, cap;
  ssize_t r;

  fd = open (path, O_RDONLY | O_CLOEXEC);
  if (fd == -1)
    return gbox_app_error (cx, "%s: %s", path, strerror (errno));
  if (fstat (fd, &st) == -1 || !S_ISREG (st.st_mode)) {
    close (fd);
    return gbox_app_error (cx, "%s: not a regular file", path);
  }
  if ((uint64_t) st.st_size > max) {
    close (fd);
    return gbox_app_error (cx, "%s: file too large (%jd bytes, limit %zu)",
                           path, (intmax_t) st.st_size, max);
  }
  cap = st.st_size + 1;
  buf = malloc (cap);
  if (!buf) {
    close (fd);
    return gbox_app_error (cx, "%s: out of memory", path);
  }
  for (;;) {
    if (n + 1 >= cap) {
      char *nb;
      if (cap > max) {
        free (buf);
        close (fd);
        return gbox_app_error (cx, "%s: file too large (limit %zu)",
                               path, max);
      }
      cap *= 2;
      nb = realloc (buf, cap);
      if (!nb) {
        free (buf);
        close (fd);
        return gbox_app_error (cx, "%s: out of memory", path);
      }
      buf = nb;
    }
    r = read (fd, buf + n, cap - 1 - n);
    if (r == -1 && errno == EINTR)
      continue;
    if (r == -1) {
      int e = errno;
      free (buf);
      close (fd);
      return gbox_app_error (cx, "%s: read: %s", path, strerror (e));
    }
    if (r == 0)
      break;
    n += r;
  }
  close (fd);
  buf[n] = '\0';
  *data = buf;
  if (len)
    *len = n;
  return 0;
}

int
gbox_app_write_all (int fd, const void *buf, size_t len)
{
  const char *p = buf;

  while (len > 0) {
    ssize_t r = write (fd, p, len);
    if (r == -1 && errno == EINTR)
      continue;
    if (r == -1)
      return -1;
    p += r;
    len -= r;
  }
  return 0;
}

int
gbox_app_write_file (struct gbox_app_ctx *cx, const char *path,
                     const void *data, size_t len, mode_t mode)
{
  int fd;

  fd = open (path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
             mode);
  if (fd == -1)
    return gbox_app_error (cx, "%s: %s", path, strerror (errno));
  if (gbox_app_write_all (fd, data, len) == -1 || fsync (fd) == -1) {
    int e = errno;
    close (fd);
    return gbox_app_error (cx, "%s: write: %s", path, strerror (e));
  }
  if (close (fd) == -1)
    return gbox_app_error (cx, "%s: close: %s", path, strerror (errno));
  return 0;
}

/* Remove PATH and everything below it, never following symlinks.  The
 * depth is bounded by what the file system allows; entries are few. */
int
gbox_app_rmtree (const char *path)
{
  struct stat st;
  DIR *d;
  struct dirent *ent;
  int fd, r = 0;

  if (lstat (path, &st) == -1)
    return errno == ENOENT ? 0 : -1;
  if (!S_ISDIR (st.st_mode))
    return unlink (path) == -1 && errno != ENOENT ? -1 : 0;

  fd = open (path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd == -1)
    return -1;
  d = fdopendir (fd);
  if (!d) {
    close (fd);
    return -1;
  }
  while ((ent = readdir (d)) != NULL) {
    char *sub;
    if (strcmp (ent->d_name, ".") == 0 || strcmp (ent->d_name, "..") == 0)
      continue;
    sub = gbox_app_asprintf ("%s/%s", path, ent->d_name);
    if (!sub || gbox_app_rmtree (sub) == -1)
      r = -1;
    free (sub);
  }
  closedir (d);
  if (rmdir (path) == -1 && errno != ENOENT)
    r = -1;
  return r;
}

int
gbox_app_fsync_path (const char *path)
{
  int fd, r;

  fd = open (path, O_RDONLY | O_CLOEXEC);
  if (fd == -1)
    return -1;
  r = fsync (fd);
  close (fd);
  return r;
}

/* Whether PATH (followed) is a 64-bit little-endian x86-64 ELF file. */
bool
gbox_app_is_elf_x86_64 (const char *path)
{
  unsigned char h[20];
  int fd;
  ssize_t r;

  fd = open (path, O_RDONLY | O_CLOEXEC);
  if (fd == -1)
    return false;
  r = pread (fd, h, sizeof h, 0);
  close (fd);
  return r == (ssize_t) sizeof h &&
    memcmp (h, "\177ELF", 4) == 0 && h[4] == 2 /* ELFCLASS64 */ &&
    h[5] == 1 /* ELFDATA2LSB */ && h[18] == 62 && h[19] == 0; /* EM_X86_64 */
}

/* SHA-256 (nettle): a cache key that no two inputs share in practice. */
void
gbox_app_hash_init (struct gbox_app_hash *h)
{
  sha256_init (&h->ctx);
}

void
gbox_app_hash_update (struct gbox_app_hash *h, const void *data, size_t len)
{
  sha256_update (&h->ctx, len, data);
}

void
gbox_app_hash_str (struct gbox_app_hash *h, const char *s)
{
  /* Include the terminator so "ab"+"c" differs from "a"+"bc". */
  gbox_app_hash_update (h, s, strlen (s) + 1);
}

void
gbox_app_hash_u64 (struct gbox_app_hash *h, uint64_t v)
{
  unsigned char b[8];
  int i;

  for (i = 0; i < 8; ++i)
    b[i] = v >> (8 * i);
  gbox_app_hash_update (h, b, sizeof b);
}

int
gbox_app_hash_file (struct gbox_app_ctx *cx, struct gbox_app_hash *h,
                    const char *path)
{
  char buf[65536];
  int fd;
  ssize_t r;
  uint64_t total = 0;

  /* On error errno is kept for the caller's message. */
  fd = open (path, O_RDONLY | O_CLOEXEC);
  if (fd == -1) {
    int e = errno;
    gbox_app_error (cx, "cannot read %s: %s", path, strerror (e));
    errno = e;
    return -1;
  }
  for (;;) {
    r = read (fd, buf, sizeof buf);
    if (r == -1 && errno == EINTR)
      continue;
    if (r == -1) {
      int e = errno;
      close (fd);
      gbox_app_error (cx, "cannot read %s: %s", path, strerror (e));
      errno = e;
      return -1;
    }
    if (r == 0)
      break;
    gbox_app_hash_update (h, buf, r);
    total += r;
  }
  close (fd);
  gbox_app_hash_u64 (h, total);
  return 0;
}

void
gbox_app_hash_hex (const struct gbox_app_hash *h, char out[33])
{
  struct sha256_ctx c = h->ctx;   /* digesting resets the context */
  uint8_t d[SHA256_DIGEST_SIZE];
  size_t i;

  sha256_digest (&c, sizeof d, d);
  /* The first 128 bits are plenty for a cache key. */
  for (i = 0; i < 16; ++i)
    snprintf (out + 2 * i, 3, "%02x", d[i]);
}

int
gbox_app_pwrite_all (int fd, const void *buf, size_t len, uint64_t off)
{
  const char *p = buf;

  while (len > 0) {
    ssize_t r = pwrite (fd, p, len, off);
    if (r == -1 && errno == EINTR)
      continue;
    if (r == -1)
      return -1;
    p += r;
    len -= r;
    off += r;
  }
  return 0;
}

#define COPY_BUF (1024 * 1024)

int
gbox_app_copy_range (struct gbox_app_ctx *cx, const char *image, int dst_fd,
                     int src, const char *mem, const char *what,
                     uint64_t off, uint64_t len, uint64_t dst, bool *no_cfr,
                     char **buf)
{
  while (len > 0) {
    ssize_t r;

    if (src == -1) {
      if (gbox_app_pwrite_all (dst_fd, mem + off, len, dst) == -1)
        return gbox_app_error (cx, "%s: write: %s", image, strerror (errno));
      return 0;
    }
    if (!*no_cfr) {
      off_t in = off, out = dst;
      r = copy_file_range (src, &in, dst_fd, &out, len, 0);
      if (r == -1 && (errno == EXDEV || errno == EINVAL ||
                      errno == ENOSYS || errno == EOPNOTSUPP ||
                      errno == EBADF)) {
        *no_cfr = true;         /* pread/pwrite for the rest of the file */
        continue;
      }
    }
    else {
      if (!*buf && !(*buf = malloc (COPY_BUF)))
        return gbox_app_error (cx, "%s: out of memory", image);
      r = pread (src, *buf, len < COPY_BUF ? len : COPY_BUF, off);
      if (r > 0 && gbox_app_pwrite_all (dst_fd, *buf, r, dst) == -1)
        return gbox_app_error (cx, "%s: write: %s", image, strerror (errno));
    }
    if (r == -1 && errno == EINTR)
      continue;
    if (r == -1)
      return gbox_app_error (cx, "%s: copying %s: %s", image, what,
                             strerror (errno));
    if (r == 0)
      return gbox_app_error (cx, "%s: %s shrank while being copied "
                             "(was it being upgraded? try again)",
                             image, what);
    off += r;
    dst += r;
    len -= r;
  }
  return 0;
}
