/* guestbox - the appliance builder.
 * Copyright (C) 2026 the guestbox authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

/** The entries of the archive list below a prefix (the appliance's /usr)
 * as an uncompressed EROFS image, the read-only filesystem the appliance
 * mounts on /usr from a virtio-blk disk.
 *
 * Why EROFS: an ext2 image (written with libext2fs at first) needs the
 * ext4 module stack loaded at boot, measured at about 95 ms of emulated
 * module loading under TCG (ext4.ko 75-85 ms, jbd2.ko 13 ms), where
 * Debian's erofs.ko is 238 KB and needs only libcrc32c: loading erofs.ko
 * took 16-17 ms and libcrc32c.ko 3 ms in the same emulation (Debian's
 * 6.1 kernel under TCG); the appliance's boot modules went from 230-280
 * to 120-140 ms.
 *
 * Why hand-written: Debian has no library that writes EROFS (erofs-utils
 * ships programs only), and "mkfs.erofs DIR" would need the entries
 * (host files at other paths, in-memory files, symlinks) staged first as
 * a copy of the whole tree on disk, and a package the host may not
 * have.  The format written is the small subset that Linux 6.1 (the
 * appliance's kernel) reads, checked against its fs/erofs/erofs_fs.h,
 * super.c, inode.c, dir.c, namei.c and data.c:
 *
 * - 4 KiB blocks (6.1 wants the page size); the 128-byte superblock at
 *   byte 1024 of block 0, no checksum, no feature bits, build time 0;
 * - the inode area from block 1 (meta_blkaddr 1): compact 32-byte inodes
 *   in 32-byte slots, so an inode's nid is its slot number, the root's
 *   0; uid, gid and every time 0 (compact inodes take the superblock's
 *   build time), no xattrs;
 * - every inode's data in whole contiguous blocks after the inode area
 *   (the FLAT_PLAIN layout: block address in the inode, no tail packing);
 * - directories as blocks of 12-byte dirents followed by their names,
 *   "." and ".." included, all names of a directory in byte order across
 *   its blocks (lookups binary-search the blocks by their first name,
 *   then the block); a block's last name ends at the first NUL, so the
 *   rest of a block is zero; a directory's size is its bytes up to the
 *   end of the last name, as mkfs.erofs makes it.
 *
 * File contents are copied straight from the host file into the image
 * (copy_file_range, pread/pwrite where the kernel cannot: util.c).  The size of each host file is taken once; a file whose size
 * differs when it is copied, or that grows or shrinks while it is
 * copied, is an error (no image is left behind).  The output is
 * deterministic: the same bytes for the same entries. */

#include <config.h>

#include <errno.h>
#include <fcntl.h>
#include <endian.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "appliance-internal.h"

#define BLOCK_SIZE 4096
#define BLOCK_BITS 12
#define SUPER_OFFSET 1024
#define MAGIC 0xE0F5E1E2u
#define META_BLKADDR 1          /* the inode area's first block */
#define INODE_SLOT 32           /* a compact inode */
#define DIRENT_SIZE 12
#define NAME_MAX_LEN 255
#define LAYOUT_FLAT_PLAIN 0
/* The dirents' file types. */
#define FT_REG 1
#define FT_DIR 2
#define FT_SYMLINK 7

/* What the survey learns about each entry (index as in the sorted
 * list; index N is the root). */
struct info {
  ssize_t parent;               /* -2 not in the image, else an index */
  const char *base;             /* name in its directory */
  size_t baselen;
  uint64_t size;                /* the inode's i_size */
  uint32_t blkaddr;             /* its first data block */
  uint64_t nid;
  uint32_t nlink;
  size_t first, nchild;         /* DIR: its children in kids[] */
  size_t dot, dotdot;           /* DIR: where "." and ".." go among them */
};

struct writer {
  struct gbox_app_ctx *cx;
  const char *path;
  int fd;
  const struct gbox_app_cpio_entry *v;
  size_t n;                     /* entries; info[n] is the root */
  struct info *info;
  size_t *kids;                 /* children of each directory, in order */
  bool no_cfr;
  char *buf;                    /* copies without copy_file_range */
  unsigned char block[BLOCK_SIZE];
};

static void
put16 (unsigned char *p, uint16_t x)
{
  x = htole16 (x);
  memcpy (p, &x, 2);
}

static void
put32 (unsigned char *p, uint32_t x)
{
  x = htole32 (x);
  memcpy (p, &x, 4);
}

static void
put64 (unsigned char *p, uint64_t x)
{
  x = htole64 (x);
  memcpy (p, &x, 8);
}

/* Compare a name of LEN bytes (KEY) with an entry's name. */
struct key {
  const char *s;
  size_t len;
};

static int
cmp_key (const void *k, const void *e)
{
  const struct key *key = k;
  const struct gbox_app_cpio_entry *ent = e;
  int c = strncmp (key->s, ent->name, key->len);

  if (c != 0)
    return c;
  return ent->name[key->len] == '\0' ? 0 : -1;
}

/* Byte order of two names, a prefix first (strcmp for unsigned bytes
 * without the NULs). */
static int
cmp_names (const char *a, size_t alen, const char *b, size_t blen)
{
  int c = memcmp (a, b, alen < blen ? alen : blen);

  if (c != 0)
    return c;
  return alen < blen ? -1 : alen > blen;
}

/* The K-th entry of directory D in on-disk order: "." and ".." merged
 * into its children (which are in byte order already). */
struct dent {
  const char *name;
  size_t len;
  size_t target;                /* an index into info */
};

/* From child K of IN on, the first child whose name sorts after NAME. */
static size_t
skip_before (const struct writer *w, const struct info *in, size_t k,
             const char *name, size_t len)
{
  while (k < in->nchild) {
    const struct info *ci = &w->info[w->kids[in->first + k]];
    if (cmp_names (ci->base, ci->baselen, name, len) > 0)
      break;
    k++;
  }
  return k;
}

/* Where "." and ".." of directory D go: how many of its children sort
 * before each (a name that sorts before "." sorts before ".." too). */
static void
place_dots (struct writer *w, size_t d)
{
  struct info *in = &w->info[d];

  in->dot = skip_before (w, in, 0, ".", 1);
  in->dotdot = skip_before (w, in, in->dot, "..", 2);
}

static struct dent
dir_entry (const struct writer *w, size_t d, size_t k)
{
  const struct info *in = &w->info[d];
  struct dent r;
  size_t c;

  if (k == in->dot)
    return (struct dent) { ".", 1, d };
  if (k == in->dotdot + 1)
    return (struct dent) { "..", 2,
                           in->parent < 0 ? d : (size_t) in->parent };
  c = k < in->dot ? k : k <= in->dotdot ? k - 1 : k - 2;
  r.target = w->kids[in->first + c];
  r.name = w->info[r.target].base;
  r.len = w->info[r.target].baselen;
  return r;
}

/* Directory D's size: entries fill a block until the next entry and its
 * name would not fit, then the next block starts. */
static uint64_t
dir_size (const struct writer *w, size_t d)
{
  uint64_t size = 0;
  size_t k, total = w->info[d].nchild + 2;

  for (k = 0; k < total; ++k) {
    struct dent e = dir_entry (w, d, k);
    uint64_t len = DIRENT_SIZE + e.len;
    if (size % BLOCK_SIZE + len > BLOCK_SIZE)
      size = (size + BLOCK_SIZE - 1) / BLOCK_SIZE * BLOCK_SIZE;
    size += len;
  }
  return size;
}

static int
type_of (const struct writer *w, size_t i)
{
  if (i == w->n)
    return GBOX_APP_CPIO_DIR;
  return w->v[i].type;
}

static int
write_dir (struct writer *w, size_t d)
{
  size_t k = 0, total = w->info[d].nchild + 2;
  uint32_t blk = w->info[d].blkaddr;

  while (k < total) {
    size_t first = k, j, used = 0, nameoff;

    /* The entries of this block. */
    while (k < total) {
      struct dent e = dir_entry (w, d, k);
      if (used + DIRENT_SIZE + e.len > BLOCK_SIZE)
        break;
      used += DIRENT_SIZE + e.len;
      k++;
    }
    memset (w->block, 0, BLOCK_SIZE);
    nameoff = (k - first) * DIRENT_SIZE;
    for (j = first; j < k; ++j) {
      struct dent e = dir_entry (w, d, j);
      unsigned char *de = w->block + (j - first) * DIRENT_SIZE;
      int t = type_of (w, e.target);
      put64 (de, w->info[e.target].nid);
      put16 (de + 8, nameoff);
      de[10] = t == GBOX_APP_CPIO_DIR ? FT_DIR
        : t == GBOX_APP_CPIO_SYMLINK ? FT_SYMLINK : FT_REG;
      memcpy (w->block + nameoff, e.name, e.len);
      nameoff += e.len;
    }
    if (gbox_app_pwrite_all (w->fd, w->block, BLOCK_SIZE,
                             (uint64_t) blk * BLOCK_SIZE) == -1)
      return gbox_app_error (w->cx, "%s: write: %s", w->path,
                             strerror (errno));
    blk++;
  }
  return 0;
}

/* A regular file's SIZE bytes at block BLK: from the host file SOURCE,
 * or from MEM when SOURCE is NULL. */
static int
write_file (struct writer *w, const char *source, const char *mem,
            uint64_t size, uint32_t blk, const char *what)
{
  int src = -1, r = -1;

  w->no_cfr = false;
  if (source) {
    struct stat st;
    /* Not blocking on a FIFO put there since the survey. */
    src = open (source, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (src == -1)
      return gbox_app_error (w->cx, "%s: cannot read %s: %s", w->path,
                             source, strerror (errno));
    if (fstat (src, &st) == -1 || !S_ISREG (st.st_mode)) {
      gbox_app_error (w->cx, "%s: %s: not a regular file", w->path, source);
      goto out;
    }
    if ((uint64_t) st.st_size != size) {
      gbox_app_error (w->cx, "%s: %s changed size while the image was "
                      "written (was it being upgraded? try again)",
                      w->path, source);
      goto out;
    }
  }
  if (gbox_app_copy_range (w->cx, w->path, w->fd, src, mem,
                           source ? source : what, 0, size,
                           (uint64_t) blk * BLOCK_SIZE, &w->no_cfr,
                           &w->buf) == -1)
    goto out;
  if (source) {
    struct stat st;
    char c;
    ssize_t g = pread (src, &c, 1, size);
    if (g != 0 || fstat (src, &st) == -1 || (uint64_t) st.st_size != size) {
      gbox_app_error (w->cx, "%s: %s changed size while being copied "
                      "(was it being upgraded? try again)", w->path, source);
      goto out;
    }
  }
  r = 0;
 out:
  if (src >= 0)
    close (src);
  return r;
}

/* Pass one: which entries go in, their parents, names and sizes. */
static int
survey (struct writer *w, const char *prefix, size_t plen, ssize_t root)
{
  const struct gbox_app_cpio_entry *v = w->v;
  size_t n = w->n, i;

  for (i = 0; i < n; ++i) {
    const char *name = v[i].name, *rel, *slash;

    w->info[i].parent = -2;
    if ((ssize_t) i == root)
      continue;
    if (plen > 0) {
      if (strncmp (name, prefix, plen) != 0 || name[plen] != '/')
        continue;
      rel = name + plen + 1;
    }
    else
      rel = name;
    slash = strrchr (rel, '/');
    w->info[i].base = slash ? slash + 1 : rel;
    w->info[i].baselen = strlen (w->info[i].base);
    if (w->info[i].baselen == 0 || w->info[i].baselen > NAME_MAX_LEN ||
        strcmp (w->info[i].base, ".") == 0 ||
        strcmp (w->info[i].base, "..") == 0)
      return gbox_app_error (w->cx, "%s: bad name for EROFS: /%s", w->path,
                             name);
    if (slash) {
      struct key key = { name, slash - name };
      const struct gbox_app_cpio_entry *p =
        bsearch (&key, v, n, sizeof *v, cmp_key);
      if (!p || p->type != GBOX_APP_CPIO_DIR)
        return gbox_app_error (w->cx, "%s: no directory for /%s",
                               w->path, name);
      w->info[i].parent = p - v;
    }
    else
      w->info[i].parent = n;
    switch (v[i].type) {
    case GBOX_APP_CPIO_DIR:
      break;
    case GBOX_APP_CPIO_SYMLINK:
      w->info[i].size = strlen (v[i].source);
      if (w->info[i].size >= BLOCK_SIZE || w->info[i].size == 0)
        return gbox_app_error (w->cx, "%s: bad symlink target: /%s",
                               w->path, name);
      break;
    case GBOX_APP_CPIO_DATA:
      w->info[i].size = v[i].len;
      break;
    case GBOX_APP_CPIO_FILE: {
      struct stat st;
      if (stat (v[i].source, &st) == -1)
        return gbox_app_error (w->cx, "%s: cannot read %s: %s", w->path,
                               v[i].source, strerror (errno));
      if (!S_ISREG (st.st_mode))
        return gbox_app_error (w->cx, "%s: %s: not a regular file",
                               w->path, v[i].source);
      w->info[i].size = st.st_size;
      break;
    }
    }
    /* Compact inodes hold 32-bit sizes. */
    if (w->info[i].size > UINT32_MAX)
      return gbox_app_error (w->cx, "%s: /%s is too large", w->path, name);
  }
  return 0;
}

/* Each directory's children, in list (byte) order; nids; link counts. */
static int
link_tree (struct writer *w, uint64_t *ninodes)
{
  size_t n = w->n, i, at = 0;
  uint64_t nid = 0;

  w->info[n].parent = -1;
  w->info[n].nid = nid++;
  for (i = 0; i < n; ++i)
    if (w->info[i].parent >= 0) {
      w->info[w->info[i].parent].nchild++;
      w->info[i].nid = nid++;
    }
  for (i = 0; i <= n; ++i)
    if (w->info[i].parent != -2 && type_of (w, i) == GBOX_APP_CPIO_DIR) {
      w->info[i].first = at;
      at += w->info[i].nchild;
      w->info[i].nchild = 0;
      w->info[i].nlink = 2;
    }
    else
      w->info[i].nlink = 1;
  for (i = 0; i < n; ++i)
    if (w->info[i].parent >= 0) {
      struct info *p = &w->info[w->info[i].parent];
      w->kids[p->first + p->nchild++] = i;
      if (w->v[i].type == GBOX_APP_CPIO_DIR)
        p->nlink++;
    }
  *ninodes = nid;
  return 0;
}

static int
write_super (struct writer *w, uint64_t ninodes, uint64_t blocks)
{
  unsigned char sb[128];

  memset (sb, 0, sizeof sb);
  put32 (sb + 0, MAGIC);
  /* checksum (4) and feature_compat (8) stay 0: no checksum. */
  sb[12] = BLOCK_BITS;
  /* sb_extslots (13) 0; root_nid (14) 0: the root is the first inode. */
  put16 (sb + 14, w->info[w->n].nid);
  put64 (sb + 16, ninodes);
  /* build_time (24) and build_time_nsec (32) 0. */
  put32 (sb + 36, blocks);
  put32 (sb + 40, META_BLKADDR);
  /* xattr_blkaddr, uuid, volume_name, feature_incompat and the rest 0. */
  if (gbox_app_pwrite_all (w->fd, sb, sizeof sb, SUPER_OFFSET) == -1)
    return gbox_app_error (w->cx, "%s: write: %s", w->path,
                           strerror (errno));
  return 0;
}

/* The inode area: one compact inode per entry in nid order. */
static int
write_inodes (struct writer *w, uint64_t ninodes, mode_t rootmode)
{
  size_t len = ninodes * INODE_SLOT, i;
  unsigned char *area = calloc (len, 1);
  int r;

  if (!area)
    return gbox_app_error (w->cx, "%s: out of memory", w->path);
  for (i = 0; i <= w->n; ++i) {
    const struct info *in = &w->info[i];
    unsigned char *p;
    mode_t mode;
    int t;

    if (in->parent == -2)
      continue;
    p = area + in->nid * INODE_SLOT;
    t = type_of (w, i);
    mode = i == w->n ? rootmode : w->v[i].mode;
    mode = t == GBOX_APP_CPIO_DIR ? S_IFDIR | (mode & 07777)
      : t == GBOX_APP_CPIO_SYMLINK ? S_IFLNK | 0777
      : S_IFREG | (mode & 07777);
    /* i_format: the layout above the version bit 0 (compact). */
    put16 (p + 0, LAYOUT_FLAT_PLAIN << 1);
    /* i_xattr_icount (2) 0. */
    put16 (p + 4, mode);
    put16 (p + 6, in->nlink > 0xffff ? 0xffff : in->nlink);
    put32 (p + 8, in->size);
    /* i_reserved (12), the time in later kernels, 0. */
    put32 (p + 16, in->size > 0 ? in->blkaddr : 0);
    put32 (p + 20, in->nid + 1);        /* i_ino */
    /* i_uid (24), i_gid (26) and i_reserved2 (28) 0. */
  }
  r = gbox_app_pwrite_all (w->fd, area, len,
                           (uint64_t) META_BLKADDR * BLOCK_SIZE);
  free (area);
  if (r == -1)
    return gbox_app_error (w->cx, "%s: write: %s", w->path,
                           strerror (errno));
  return 0;
}

int
gbox_app_erofs_write (struct gbox_app_ctx *cx, const struct gbox_app_cpio *a,
                      const char *prefix, const char *path, uint64_t *bytes)
{
  struct writer *w = NULL;
  struct gbox_app_cpio_entry *v = NULL;
  size_t n = gbox_app_cpio_count (a), i, plen;
  ssize_t root = -1;
  uint64_t ninodes, blocks;
  mode_t rootmode = 0755;
  struct stat st;
  int r = -1, fd = -1;
  bool created = false;

  /* The prefix without its slashes: "" is the whole list. */
  while (*prefix == '/')
    prefix++;
  plen = strlen (prefix);
  while (plen > 0 && prefix[plen - 1] == '/')
    plen--;

  v = gbox_app_cpio_sorted (a);
  w = calloc (1, sizeof *w);
  if (!v || !w) {
    gbox_app_error (cx, "%s: out of memory", path);
    goto out;
  }
  w->cx = cx;
  w->path = path;
  w->fd = -1;
  w->v = v;
  w->n = n;
  w->info = calloc (n + 1, sizeof *w->info);
  w->kids = calloc (n ? n : 1, sizeof *w->kids);
  if (!w->info || !w->kids) {
    gbox_app_error (cx, "%s: out of memory", path);
    goto out;
  }
  if (plen > 0) {
    struct key key = { prefix, plen };
    const struct gbox_app_cpio_entry *p =
      bsearch (&key, v, n, sizeof *v, cmp_key);
    if (p && p->type != GBOX_APP_CPIO_DIR) {
      gbox_app_error (cx, "%s: /%.*s is not a directory", path, (int) plen,
                      prefix);
      goto out;
    }
    if (p) {
      root = p - v;
      rootmode = p->mode;
    }
  }
  if (survey (w, prefix, plen, root) == -1 || link_tree (w, &ninodes) == -1)
    goto out;

  /* The layout: block 0 (the superblock), the inode area, then each
   * inode's data in nid order. */
  blocks = META_BLKADDR +
    (ninodes * INODE_SLOT + BLOCK_SIZE - 1) / BLOCK_SIZE;
  for (i = 0; i <= n; ++i) {
    /* The root (index n) first, then the list's order. */
    size_t j = i == 0 ? n : i - 1;
    struct info *in = &w->info[j];

    if (in->parent == -2)
      continue;
    if (type_of (w, j) == GBOX_APP_CPIO_DIR) {
      place_dots (w, j);
      in->size = dir_size (w, j);
      if (in->size > UINT32_MAX) {
        gbox_app_error (cx, "%s: directory too large", path);
        goto out;
      }
    }
    in->blkaddr = blocks;
    blocks += (in->size + BLOCK_SIZE - 1) / BLOCK_SIZE;
    if (blocks > UINT32_MAX) {
      gbox_app_error (cx, "%s: image too large", path);
      goto out;
    }
  }
  gbox_app_debug (cx, "erofs: %llu inodes, %llu blocks",
                  (unsigned long long) ninodes, (unsigned long long) blocks);

  fd = w->fd = open (path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (fd == -1) {
    gbox_app_error (cx, "%s: %s", path, strerror (errno));
    goto out;
  }
  created = true;
  /* Zeros everywhere nothing is written: the tails of blocks. */
  if (ftruncate (fd, (off_t) blocks * BLOCK_SIZE) == -1) {
    gbox_app_error (cx, "%s: %s", path, strerror (errno));
    goto out;
  }
  if (write_super (w, ninodes, blocks) == -1 ||
      write_inodes (w, ninodes, rootmode) == -1 ||
      write_dir (w, n) == -1)
    goto out;
  for (i = 0; i < n; ++i) {
    const struct info *in = &w->info[i];
    int e = 0;

    if (in->parent == -2)
      continue;
    switch (v[i].type) {
    case GBOX_APP_CPIO_DIR:
      e = write_dir (w, i);
      break;
    case GBOX_APP_CPIO_SYMLINK:
      if (gbox_app_pwrite_all (fd, v[i].source, in->size,
                               (uint64_t) in->blkaddr * BLOCK_SIZE) == -1)
        e = gbox_app_error (cx, "%s: write: %s", path, strerror (errno));
      break;
    case GBOX_APP_CPIO_FILE:
      e = write_file (w, v[i].source, NULL, in->size, in->blkaddr,
                      v[i].name);
      break;
    case GBOX_APP_CPIO_DATA:
      e = write_file (w, NULL, v[i].data, in->size, in->blkaddr,
                      v[i].name);
      break;
    }
    if (e == -1)
      goto out;
  }

  if (fsync (fd) == -1 || fstat (fd, &st) == -1) {
    gbox_app_error (cx, "%s: fsync: %s", path, strerror (errno));
    goto out;
  }
  if (bytes)
    *bytes = st.st_size;
  r = 0;

 out:
  if (fd >= 0)
    close (fd);
  if (r == -1 && created)
    unlink (path);
  if (w) {
    free (w->info);
    free (w->kids);
    free (w->buf);
    free (w);
  }
  free (v);
  return r;
}
