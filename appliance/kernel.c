/* guestbox - the appliance builder.
 * Copyright (C) 2026 the guestbox authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

/** The appliance kernel: finding it (spec, $GBOX_KERNEL, or the newest
 * readable /boot/vmlinuz-*), its version (bzImage header, file name, or
 * the "Linux version" banner), turning a bzImage into the uncompressed
 * ELF vmlinux that qemu -M microvm boots through the PVH entry (XZ via
 * liblzma, gzip via zlib; no external programs), and checking the result
 * really has a PVH entry note. */

#include <config.h>

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "appliance-internal.h"

#define MAX_VMLINUX (1024ULL * 1024 * 1024)
#define MAX_NOTES (1024 * 1024)

static const char fix_perm[] =
  "(fix: 'sudo chmod 0644 /boot/vmlinuz-*', or set GBOX_KERNEL to a "
  "readable copy)";

static int
cmp_version_desc (const void *x, const void *y)
{
  const char *const *a = x, *const *b = y;

  return strverscmp (*b, *a);
}

int
gbox_app_kernel_find (struct gbox_app_ctx *cx, const char *spec, char **path)
{
  const char *env = getenv ("GBOX_KERNEL");
  glob_t g;
  char **v;
  size_t i;
  int fd, r;

  if (!spec && env && *env)
    spec = env;
  if (spec) {
    fd = open (spec, O_RDONLY | O_CLOEXEC);
    if (fd == -1) {
      int e = errno;
      if (e == EACCES)
        return gbox_app_error (cx, "cannot read kernel %s: %s %s",
                               spec, strerror (e), fix_perm);
      return gbox_app_error (cx, "cannot read kernel %s: %s (fix: set "
                             "GBOX_KERNEL to an existing kernel)",
                             spec, strerror (e));
    }
    close (fd);
    *path = strdup (spec);
    return *path ? 0 : gbox_app_error (cx, "out of memory");
  }

  r = glob ("/boot/vmlinuz-*", 0, NULL, &g);
  if (r != 0 || g.gl_pathc == 0) {
    if (r == 0)
      globfree (&g);
    return gbox_app_error (cx, "no kernel found: /boot/vmlinuz-* does not "
                           "exist (fix: install a kernel package, e.g. "
                           "'apt-get install linux-image-amd64', or set "
                           "GBOX_KERNEL)");
  }
  v = malloc (g.gl_pathc * sizeof *v);
  if (!v) {
    globfree (&g);
    return gbox_app_error (cx, "out of memory");
  }
  memcpy (v, g.gl_pathv, g.gl_pathc * sizeof *v);
  qsort (v, g.gl_pathc, sizeof *v, cmp_version_desc);
  for (i = 0; i < g.gl_pathc; ++i) {
    fd = open (v[i], O_RDONLY | O_CLOEXEC);
    if (fd >= 0) {
      close (fd);
      if (i > 0)
        gbox_app_debug (cx, "kernel %s is not readable, using %s",
                        v[0], v[i]);
      *path = strdup (v[i]);
      free (v);
      globfree (&g);
      return *path ? 0 : gbox_app_error (cx, "out of memory");
    }
  }
  fd = open (v[0], O_RDONLY | O_CLOEXEC);
  gbox_app_error (cx, "cannot read kernel %s: %s %s", v[0],
                  strerror (fd == -1 ? errno : EACCES), fix_perm);
  free (v);
  globfree (&g);
  return -1;
}

static bool
version_char (int c)
{
  return isalnum (c) || c == '.' || c == '-' || c == '_' || c == '+' ||
    c == '~';
}

/* Copy a version word from S (at most LEN bytes) if it looks sane. */
static char *
take_version (const char *s, size_t len)
{
  size_t n = 0;

  while (n < len && n < 128 && version_char ((unsigned char) s[n]))
    n++;
  if (n == 0 || !isdigit ((unsigned char) s[0]))
    return NULL;
  return strndup (s, n);
}

static uint16_t
le16 (const unsigned char *p)
{
  return p[0] | (uint16_t) p[1] << 8;
}

static uint32_t
le32 (const unsigned char *p)
{
  return p[0] | (uint32_t) p[1] << 8 | (uint32_t) p[2] << 16 |
    (uint32_t) p[3] << 24;
}

static uint64_t
le64 (const unsigned char *p)
{
  return le32 (p) | (uint64_t) le32 (p + 4) << 32;
}

static ssize_t
pread_full (int fd, void *buf, size_t len, uint64_t off)
{
  size_t got = 0;

  while (got < len) {
    ssize_t r = pread (fd, (char *) buf + got, len - got, off + got);
    if (r == -1 && errno == EINTR)
      continue;
    if (r == -1)
      return -1;
    if (r == 0)
      break;
    got += r;
  }
  return got;
}

/* Scan an ELF vmlinux for the "Linux version X " banner. */
static char *
banner_version (int fd)
{
  static const char tag[] = "Linux version ";
  const size_t tlen = sizeof tag - 1;
  char *buf = malloc (65536 + 256);
  uint64_t off = 0;
  ssize_t n;

  if (!buf)
    return NULL;
  while ((n = pread_full (fd, buf, 65536 + 256, off)) > (ssize_t) tlen) {
    char *p = buf;
    size_t scan = n > 65536 ? 65536 : n;
    while ((p = memmem (p, scan - (p - buf), tag, tlen)) != NULL) {
      char *v = take_version (p + tlen, n - (p - buf) - tlen);
      if (v && p + tlen + strlen (v) < buf + n &&
          p[tlen + strlen (v)] == ' ') {
        free (buf);
        return v;
      }
      free (v);
      p++;
    }
    if (n < 65536 + 256)
      break;
    off += 65536;
  }
  free (buf);
  return NULL;
}

int
gbox_app_kernel_version (struct gbox_app_ctx *cx, const char *path,
                         char **version)
{
  unsigned char h[1024];
  const char *base = strrchr (path, '/');
  ssize_t n;
  int fd;

  *version = NULL;
  fd = open (path, O_RDONLY | O_CLOEXEC);
  if (fd == -1)
    return gbox_app_error (cx, "cannot read kernel %s: %s", path,
                           strerror (errno));
  n = pread_full (fd, h, sizeof h, 0);
  if (n >= 0x210 && memcmp (h + 0x202, "HdrS", 4) == 0) {
    uint16_t kver = le16 (h + 0x20e);
    char s[256];
    if (kver != 0) {
      ssize_t k = pread_full (fd, s, sizeof s, (uint64_t) kver + 0x200);
      if (k > 0)
        *version = take_version (s, k);
    }
  }
  base = base ? base + 1 : path;
  if (!*version && (strncmp (base, "vmlinuz-", 8) == 0 ||
                    strncmp (base, "vmlinux-", 8) == 0))
    *version = take_version (base + 8, strlen (base + 8));
  if (!*version && n >= 4 && memcmp (h, "\177ELF", 4) == 0)
    *version = banner_version (fd);
  close (fd);
  if (!*version)
    return gbox_app_error (cx, "cannot tell the version of kernel %s "
                           "(fix: name it vmlinuz-VERSION or vmlinux-VERSION "
                           "to match /lib/modules/VERSION)", path);
  return 0;
}

/* Look for the XEN_ELFNOTE_PHYS32_ENTRY note in BUF. */
static bool
has_pvh_note (const unsigned char *buf, uint64_t len)
{
  uint64_t off = 0;

  while (len - off >= 12) {
    uint32_t namesz = le32 (buf + off), descsz = le32 (buf + off + 4);
    uint32_t type = le32 (buf + off + 8);
    uint64_t name_pad = ((uint64_t) namesz + 3) & ~3ULL;
    uint64_t desc_pad = ((uint64_t) descsz + 3) & ~3ULL;
    off += 12;
    if (name_pad > len - off)
      return false;
    if (namesz == 4 && memcmp (buf + off, "Xen", 4) == 0 && type == 18 &&
        descsz >= 4)
      return true;
    off += name_pad;
    if (desc_pad > len - off)
      return false;
    off += desc_pad;
  }
  return false;
}

/* Read and scan one note area; true if the PVH note is in it. */
static bool
scan_notes (int fd, uint64_t fsize, uint64_t off, uint64_t size)
{
  unsigned char *buf;
  bool found;

  if (size == 0 || size > MAX_NOTES || off > fsize || size > fsize - off)
    return false;
  buf = malloc (size);
  if (!buf)
    return false;
  found = pread_full (fd, buf, size, off) == (ssize_t) size &&
    has_pvh_note (buf, size);
  free (buf);
  return found;
}

int
gbox_app_kernel_check_pvh (struct gbox_app_ctx *cx, const char *path)
{
  unsigned char eh[64], p[64];
  struct stat st;
  uint64_t fsize, phoff, shoff;
  unsigned phnum, phentsize, shnum, shentsize, i;
  bool found = false;
  int fd;

  fd = open (path, O_RDONLY | O_CLOEXEC);
  if (fd == -1)
    return gbox_app_error (cx, "%s: %s", path, strerror (errno));
  if (fstat (fd, &st) == -1 ||
      pread_full (fd, eh, sizeof eh, 0) != (ssize_t) sizeof eh ||
      memcmp (eh, "\177ELF", 4) != 0 || eh[4] != 2 || eh[5] != 1 ||
      le16 (eh + 18) != 62) {
    close (fd);
    return gbox_app_error (cx, "%s: the kernel is not an x86-64 ELF file",
                           path);
  }
  fsize = st.st_size;
  phoff = le64 (eh + 32);
  shoff = le64 (eh + 40);
  phentsize = le16 (eh + 54);
  phnum = le16 (eh + 56);
  shentsize = le16 (eh + 58);
  shnum = le16 (eh + 60);

  if (phentsize == 56 && phnum <= 4096 && phoff <= fsize &&
      (uint64_t) phnum * 56 <= fsize - phoff)
    for (i = 0; i < phnum && !found; ++i)
      if (pread_full (fd, p, 56, phoff + (uint64_t) i * 56) == 56 &&
          le32 (p) == 4 /* PT_NOTE */)
        found = scan_notes (fd, fsize, le64 (p + 8), le64 (p + 32));
  if (shentsize == 64 && shnum <= 65535 && shoff <= fsize &&
      (uint64_t) shnum * 64 <= fsize - shoff)
    for (i = 0; i < shnum && !found; ++i)
      if (pread_full (fd, p, 64, shoff + (uint64_t) i * 64) == 64 &&
          le32 (p + 4) == 7 /* SHT_NOTE */)
        found = scan_notes (fd, fsize, le64 (p + 24), le64 (p + 32));
  close (fd);
  if (!found)
    return gbox_app_error (cx, "%s: the kernel has no PVH entry point "
                           "(XEN_ELFNOTE_PHYS32_ENTRY note), so qemu -M "
                           "microvm cannot boot it (fix: set GBOX_KERNEL to "
                           "a kernel built with CONFIG_PVH=y)", path);
  return 0;
}

/* Name of a compression format from its magic, or NULL if unknown. */
static const char *
compression_name (const unsigned char *m, size_t n)
{
  if (n >= 4 && memcmp (m, "\x28\xb5\x2f\xfd", 4) == 0)
    return "zstd";
  if (n >= 3 && memcmp (m, "BZh", 3) == 0)
    return "bzip2";
  if (n >= 3 && memcmp (m, "\x5d\x00\x00", 3) == 0)
    return "lzma";
  if (n >= 4 && memcmp (m, "\x89LZO", 4) == 0)
    return "lzo";
  if (n >= 4 && memcmp (m, "\x02\x21\x4c\x18", 4) == 0)
    return "lz4";
  return NULL;
}

static int
copy_range (struct gbox_app_ctx *cx, int in, int out, const char *what)
{
  char buf[65536];

  for (;;) {
    ssize_t r = read (in, buf, sizeof buf);
    if (r == -1 && errno == EINTR)
      continue;
    if (r == -1)
      return gbox_app_error (cx, "%s: read: %s", what, strerror (errno));
    if (r == 0)
      return 0;
    if (gbox_app_write_all (out, buf, r) == -1)
      return gbox_app_error (cx, "%s: write: %s", what, strerror (errno));
  }
}

int
gbox_app_kernel_extract (struct gbox_app_ctx *cx, const char *path,
                         const char *outpath)
{
  unsigned char h[0x250], m[8];
  struct stat st;
  int in, out = -1, r = -1;
  ssize_t n;

  in = open (path, O_RDONLY | O_CLOEXEC);
  if (in == -1) {
    int e = errno;
    return gbox_app_error (cx, "cannot read kernel %s: %s%s%s", path,
                           strerror (e), e == EACCES ? " " : "",
                           e == EACCES ? fix_perm : "");
  }
  if (fstat (in, &st) == -1) {
    gbox_app_error (cx, "%s: %s", path, strerror (errno));
    goto out;
  }
  out = open (outpath, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
              0644);
  if (out == -1) {
    gbox_app_error (cx, "%s: %s", outpath, strerror (errno));
    goto out;
  }
  n = pread_full (in, h, sizeof h, 0);
  if (n >= 4 && memcmp (h, "\177ELF", 4) == 0) {
    /* Already an uncompressed vmlinux. */
    if (copy_range (cx, in, out, path) == -1)
      goto out;
  }
  else if (n == (ssize_t) sizeof h && memcmp (h + 0x202, "HdrS", 4) == 0) {
    unsigned setup_sects = h[0x1f1] ? h[0x1f1] : 4;
    uint16_t proto = le16 (h + 0x206);
    uint64_t base = ((uint64_t) setup_sects + 1) * 512;
    uint64_t poff = le32 (h + 0x248), plen = le32 (h + 0x24c);
    uint64_t start = base + poff;
    const char *other;
    ssize_t k;

    if (proto < 0x208) {
      gbox_app_error (cx, "kernel %s: boot protocol %u.%02u is too old to "
                      "find the payload (fix: set GBOX_KERNEL to an "
                      "uncompressed vmlinux)", path, proto >> 8,
                      proto & 0xff);
      goto out;
    }
    if (plen < 8 || start > (uint64_t) st.st_size ||
        plen > (uint64_t) st.st_size - start) {
      gbox_app_error (cx, "kernel %s: the bzImage is truncated or corrupt "
                      "(payload outside the file)", path);
      goto out;
    }
    k = pread_full (in, m, sizeof m, start);
    if (k == (ssize_t) sizeof m && memcmp (m, "\xfd" "7zXZ\0", 6) == 0) {
      if (gbox_app_decompress (cx, in, start, plen, GBOX_APP_XZ, out,
                               path, MAX_VMLINUX) == -1)
        goto out;
    }
    else if (k == (ssize_t) sizeof m && m[0] == 0x1f && m[1] == 0x8b) {
      if (gbox_app_decompress (cx, in, start, plen, GBOX_APP_GZIP, out,
                               path, MAX_VMLINUX) == -1)
        goto out;
    }
    else {
      other = compression_name (m, k > 0 ? k : 0);
      gbox_app_error (cx, "kernel %s is compressed with %s, which guestbox "
                      "cannot decompress (fix: set GBOX_KERNEL to an "
                      "uncompressed vmlinux, e.g. made with the kernel's "
                      "scripts/extract-vmlinux)", path,
                      other ? other : "an unknown method");
      goto out;
    }
  }
  else {
    gbox_app_error (cx, "%s is not a Linux kernel (neither a bzImage nor an "
                    "ELF vmlinux)", path);
    goto out;
  }
  if (fsync (out) == -1) {
    gbox_app_error (cx, "%s: fsync: %s", outpath, strerror (errno));
    goto out;
  }
  if (close (out) == -1) {
    out = -1;
    gbox_app_error (cx, "%s: close: %s", outpath, strerror (errno));
    goto out;
  }
  out = -1;
  r = gbox_app_kernel_check_pvh (cx, outpath);

 out:
  close (in);
  if (out >= 0)
    close (out);
  return r;
}
