/* guestbox - the appliance builder.
 * Copyright (C) 2026 the guestbox authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

/** The entries of the archive list below a prefix (the appliance's /usr)
 * as an ext2 filesystem image, which the appliance mounts read-only from
 * a virtio-blk disk instead of unpacking it from the initramfs at every
 * boot.
 *
 * The image is plain ext2 (revision 1, 4 KiB blocks, 256-byte inodes,
 * block maps, the filetype, sparse_super and large_file features, no
 * journal): what the kernel's ext2 or ext4 driver mounts.  libext2fs
 * lays out the filesystem (ext2fs_initialize, the group tables), makes
 * the directories and symlinks and links every name.  Regular files are
 * placed by us: their blocks are taken as contiguous runs from the block
 * bitmap (ext2fs_new_range), their block maps written here (direct,
 * indirect and double indirect blocks, in the classic order), and their
 * contents copied straight from the host file into the image with
 * copy_file_range (pread/pwrite where the kernel cannot), never through
 * libext2fs's one-block-at-a-time file writes.  105 MB in 463 host
 * files (in the page cache) take about 0.09 s on the development host:
 * 0.05 s to make the filesystem and copy the files, 0.04 s for the
 * final fsync (the cpio writer: 0.07 s for the same files).
 *
 * Not "mke2fs -d DIR": that copies a directory tree, so the entries
 * (host files at other paths, in-memory files, symlinks) would first
 * have to be staged as a copy of the whole tree on disk.
 *
 * The image is sized from the entries before it is made: data blocks,
 * indirect blocks, directory blocks (each full directory block holds at
 * least its size less one largest entry) and an inode for each entry,
 * plus the group tables; the filesystem's free block count is checked
 * against that bound and the image made larger if it falls short, so a
 * write never runs out of space.  The size of each host file is taken
 * once; a file whose size differs when it is copied, or that grows or
 * shrinks while it is copied, is an error (no image is left behind).
 *
 * Output is deterministic but for the superblock's write time: uid and
 * gid 0, every inode time 0, a zero UUID, the same allocation for the
 * same entries.
 *
 * libext2fs is loaded with dlopen when an image is written, not linked:
 * most runs of every command find the appliance in the cache and would
 * pay for loading it (and libcom_err) at start-up for nothing.  Only the
 * library's exported functions are called, never the inline ones of its
 * header, which would need the library at link time. */

#include <config.h>

#include <errno.h>
#include <fcntl.h>
#include <endian.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <dlfcn.h>

#include <ext2fs/ext2fs.h>

#include "appliance-internal.h"

/* The libext2fs calls (and its I/O manager, a data symbol) used here,
 * loaded by load_ext2fs.  error_message is libcom_err's, found through
 * libext2fs's dependencies. */
#define EXT2FS_SYMBOLS(X) \
  X (ext2fs_allocate_tables)\
  X (ext2fs_block_alloc_stats_range)\
  X (ext2fs_close2)\
  X (ext2fs_expand_dir)\
  X (ext2fs_free)\
  X (ext2fs_free_blocks_count)\
  X (ext2fs_iblk_set)\
  X (ext2fs_initialize)\
  X (ext2fs_inode_alloc_stats2)\
  X (ext2fs_inode_size_set)\
  X (ext2fs_link)\
  X (ext2fs_lookup)\
  X (ext2fs_mkdir)\
  X (ext2fs_new_inode)\
  X (ext2fs_new_range)\
  X (ext2fs_read_inode_full)\
  X (ext2fs_symlink)\
  X (ext2fs_write_inode_full)\
  X (initialize_ext2_error_table)\
  X (error_message)\
  X (unix_io_manager)

static struct {
#define X(name) __typeof__ (name) *name;
  EXT2FS_SYMBOLS (X)
#undef X
} e2fns;

#define E(name) (*e2fns.name)

static int
load_ext2fs (struct gbox_app_ctx *cx)
{
  static void *handle;

  if (handle != NULL)
    return 0;
  handle = dlopen ("libext2fs.so.2", RTLD_NOW | RTLD_LOCAL);
  if (handle == NULL)
    return gbox_app_error (cx, "cannot load libext2fs (install libext2fs2): "
                           "%s", dlerror ());
#define X(name)                                                         \
  if ((*(void **) &e2fns.name = dlsym (handle, #name)) == NULL) {       \
    dlclose (handle);                                                   \
    handle = NULL;                                                      \
    return gbox_app_error (cx, "libext2fs lacks %s", #name);           \
  }
  EXT2FS_SYMBOLS (X)
#undef X
  /* Adds the table once however often it is called. */
  E (initialize_ext2_error_table) ();
  return 0;
}

#define BLOCK_SIZE 4096
#define LOG_BLOCK_SIZE 2                /* 1024 << 2 */
#define INODE_SIZE 256
#define APB (BLOCK_SIZE / 4)            /* block addresses per block */
#define NDIR EXT2_NDIR_BLOCKS
/* The largest file with direct, indirect and double indirect blocks
 * (about 4 GiB): more than the appliance holds. */
#define MAX_DATA_BLOCKS ((uint64_t) NDIR + APB + (uint64_t) APB * APB)
/* A directory entry: 8 bytes and the name, in multiples of 4. */
#define DIRENT_SIZE(namelen) (8 + (((namelen) + 3) & ~3u))
#define MAX_DIRENT DIRENT_SIZE (EXT2_NAME_LEN)

/* Indirect blocks for a file of N data blocks (N <= MAX_DATA_BLOCKS). */
static uint64_t
map_blocks (uint64_t n)
{
  if (n <= NDIR)
    return 0;
  n -= NDIR;
  if (n <= APB)
    return 1;
  n -= APB;
  return 2 + (n + APB - 1) / APB;
}

/* Blocks of a directory whose entries take BYTES (with "." and ".."):
 * libext2fs adds a block only when no block has room for the entry
 * being linked, so every block but the last holds more than
 * BLOCK_SIZE - MAX_DIRENT bytes. */
static uint64_t
dir_blocks (uint64_t bytes)
{
  return bytes / (BLOCK_SIZE - MAX_DIRENT) + 1;
}

/* What pass one learns about each entry (index as in the sorted list). */
struct info {
  ssize_t parent;               /* -2 not in the image, -1 the root */
  const char *base;             /* name in its directory */
  uint64_t size;                /* FILE, DATA: bytes */
  uint64_t dirbytes;            /* DIR: its entries' bytes */
  ext2_ino_t ino;
};

struct writer {
  struct gbox_app_ctx *cx;
  const char *path;
  ext2_filsys fs;
  int fd;                       /* the image, for file contents */
  blk64_t cursor;               /* where the next file's blocks start */
  blk64_t *phys;                /* one file's blocks, layout order */
  uint32_t *data;               /* one file's data blocks */
  size_t cap;
  uint32_t ptrs[APB];           /* one indirect block */
  char *buf;                    /* copies without copy_file_range */
  bool no_cfr;                  /* not for this file (another filesystem) */
};

static int
e2err (struct writer *w, errcode_t e, const char *what, const char *name)
{
  return gbox_app_error (w->cx, "%s: %s%s%s: %s", w->path, what,
                         name ? " " : "", name ? name : "",
                         E (error_message) (e));
}

/* Copy LEN bytes at OFF of the host file SRC (or of the memory MEM when
 * SRC is -1) to the image at DST. */
static int
copy_out (struct writer *w, int src, const char *mem, const char *what,
          uint64_t off, uint64_t len, uint64_t dst)
{
  return gbox_app_copy_range (w->cx, w->path, w->fd, src, mem, what, off,
                              len, dst, &w->no_cfr, &w->buf);
}

/* Write one indirect block: the N addresses at V. */
static int
write_ptrs (struct writer *w, blk64_t blk, const uint32_t *v, size_t n)
{
  size_t i;

  for (i = 0; i < APB; ++i)
    w->ptrs[i] = htole32 (i < n ? v[i] : 0);
  if (gbox_app_pwrite_all (w->fd, w->ptrs, BLOCK_SIZE,
                           blk * BLOCK_SIZE) == -1)
    return gbox_app_error (w->cx, "%s: write: %s", w->path,
                           strerror (errno));
  return 0;
}

/* Take TOTAL blocks from the bitmap into w->phys, as contiguous runs
 * from the cursor on. */
static int
alloc_blocks (struct writer *w, uint64_t total, const char *name)
{
  uint64_t k = 0;

  if (total > w->cap) {
    blk64_t *p = realloc (w->phys, total * sizeof *p);
    uint32_t *d = p ? realloc (w->data, total * sizeof *d) : NULL;
    if (p)
      w->phys = p;
    if (!d)
      return gbox_app_error (w->cx, "%s: out of memory", w->path);
    w->data = d;
    w->cap = total;
  }
  while (k < total) {
    blk64_t b, n, i;
    errcode_t e = E (ext2fs_new_range) (w->fs, 0, w->cursor, total - k,
                                        NULL, &b, &n);
    if (e)
      return e2err (w, e, "no blocks for", name);
    if (n > total - k)
      n = total - k;
    E (ext2fs_block_alloc_stats_range) (w->fs, b, n, +1);
    for (i = 0; i < n; ++i)
      w->phys[k++] = b + i;
    w->cursor = b + n;
  }
  return 0;
}

/* Zero the times of inode INO and give it the permission bits MODE. */
static int
set_attrs (struct writer *w, ext2_ino_t ino, mode_t mode, const char *name)
{
  struct ext2_inode_large in;
  errcode_t e;

  e = E (ext2fs_read_inode_full) (w->fs, ino, (struct ext2_inode *) &in,
                                  sizeof in);
  if (e)
    return e2err (w, e, "reading the inode of", name);
  in.i_mode = (in.i_mode & LINUX_S_IFMT) | (mode & 07777);
  in.i_uid = in.i_gid = 0;
  in.i_atime = in.i_ctime = in.i_mtime = 0;
  in.i_atime_extra = in.i_ctime_extra = in.i_mtime_extra = 0;
  in.i_crtime = in.i_crtime_extra = 0;
  e = E (ext2fs_write_inode_full) (w->fs, ino, (struct ext2_inode *) &in,
                                   sizeof in);
  if (e)
    return e2err (w, e, "writing the inode of", name);
  return 0;
}

/* Link NAME to INO in DIR, adding a block to DIR when it is full. */
static int
link_name (struct writer *w, ext2_ino_t dir, const char *name,
           ext2_ino_t ino, int ftype, const char *what)
{
  errcode_t e = E (ext2fs_link) (w->fs, dir, name, ino, ftype);

  if (e == EXT2_ET_DIR_NO_SPACE) {
    e = E (ext2fs_expand_dir) (w->fs, dir);
    if (e)
      return e2err (w, e, "growing the directory of", what);
    e = E (ext2fs_link) (w->fs, dir, name, ino, ftype);
  }
  if (e)
    return e2err (w, e, "linking", what);
  return 0;
}

static int
new_inode (struct writer *w, ext2_ino_t dir, int mode, ext2_ino_t *ino,
           const char *what)
{
  errcode_t e = E (ext2fs_new_inode) (w->fs, dir, mode, NULL, ino);

  if (e)
    return e2err (w, e, "no inode for", what);
  return 0;
}

static int
add_dir (struct writer *w, ext2_ino_t parent, const char *name,
         mode_t mode, ext2_ino_t *ino, const char *what)
{
  errcode_t e;

  if (new_inode (w, parent, LINUX_S_IFDIR | 0755, ino, what) == -1)
    return -1;
  /* Made without a name (it would look the name up first), then linked. */
  e = E (ext2fs_mkdir) (w->fs, parent, *ino, NULL);
  if (e)
    return e2err (w, e, "making directory", what);
  if (set_attrs (w, *ino, mode, what) == -1)
    return -1;
  return link_name (w, parent, name, *ino, EXT2_FT_DIR, what);
}

static int
add_symlink (struct writer *w, ext2_ino_t parent, const char *name,
             const char *target, ext2_ino_t *ino, const char *what)
{
  errcode_t e;

  if (new_inode (w, parent, LINUX_S_IFLNK | 0777, ino, what) == -1)
    return -1;
  e = E (ext2fs_symlink) (w->fs, parent, *ino, NULL, target);
  if (e)
    return e2err (w, e, "making symlink", what);
  if (set_attrs (w, *ino, 0777, what) == -1)
    return -1;
  return link_name (w, parent, name, *ino, EXT2_FT_SYMLINK, what);
}

/* A regular file of SIZE bytes: from the host file SOURCE, or from MEM
 * when SOURCE is NULL. */
static int
add_file (struct writer *w, ext2_ino_t parent, const char *name,
          mode_t mode, const char *source, const char *mem, uint64_t size,
          ext2_ino_t *ino, const char *what)
{
  uint64_t n = (size + BLOCK_SIZE - 1) / BLOCK_SIZE, total, l, k;
  blk64_t ind = 0, dind = 0;
  uint32_t dind_ptrs[APB];
  struct ext2_inode_large in;
  int src = -1, r = -1;
  errcode_t e;

  if (n > MAX_DATA_BLOCKS)
    return gbox_app_error (w->cx, "%s: %s is too large", w->path, what);
  total = n + map_blocks (n);
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
  if (alloc_blocks (w, total, what) == -1)
    goto out;

  /* The classic order: 12 data blocks, the indirect block and its data,
   * then the double indirect block, each indirect block before its
   * data. */
  for (l = 0, k = 0; l < n; ++l) {
    if (l == NDIR)
      ind = w->phys[k++];
    else if (l >= NDIR + APB && (l - NDIR - APB) % APB == 0) {
      if (l == NDIR + APB)
        dind = w->phys[k++];
      dind_ptrs[(l - NDIR - APB) / APB] = w->phys[k++];
    }
    w->data[l] = w->phys[k++];
  }

  /* The contents, one copy per contiguous run. */
  for (l = 0; l < n;) {
    uint64_t m = l + 1, off = l * BLOCK_SIZE, len;
    while (m < n && w->data[m] == w->data[m - 1] + 1)
      m++;
    len = (m * BLOCK_SIZE < size ? m * BLOCK_SIZE : size) - off;
    if (copy_out (w, src, mem, source ? source : what, off, len,
                  (uint64_t) w->data[l] * BLOCK_SIZE) == -1)
      goto out;
    l = m;
  }
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

  /* The block map. */
  memset (&in, 0, sizeof in);
  for (l = 0; l < n && l < NDIR; ++l)
    in.i_block[l] = w->data[l];
  if (ind) {
    in.i_block[EXT2_IND_BLOCK] = ind;
    if (write_ptrs (w, ind, w->data + NDIR,
                    n - NDIR < APB ? n - NDIR : APB) == -1)
      goto out;
  }
  if (dind) {
    uint64_t left = n - NDIR - APB, j;
    in.i_block[EXT2_DIND_BLOCK] = dind;
    if (write_ptrs (w, dind, dind_ptrs, (left + APB - 1) / APB) == -1)
      goto out;
    for (j = 0; j * APB < left; ++j)
      if (write_ptrs (w, dind_ptrs[j], w->data + NDIR + APB + j * APB,
                      left - j * APB < APB ? left - j * APB : APB) == -1)
        goto out;
  }

  if (new_inode (w, parent, LINUX_S_IFREG | (mode & 07777), ino, what) == -1)
    goto out;
  in.i_mode = LINUX_S_IFREG | (mode & 07777);
  in.i_links_count = 1;
  in.i_extra_isize = sizeof in - EXT2_GOOD_OLD_INODE_SIZE;
  if ((e = E (ext2fs_inode_size_set) (w->fs, (struct ext2_inode *) &in,
                                      size)) != 0 ||
      (e = E (ext2fs_iblk_set) (w->fs, (struct ext2_inode *) &in,
                                total)) != 0 ||
      (e = E (ext2fs_write_inode_full) (w->fs, *ino,
                                        (struct ext2_inode *) &in,
                                        sizeof in)) != 0) {
    e2err (w, e, "writing the inode of", what);
    goto out;
  }
  E (ext2fs_inode_alloc_stats2) (w->fs, *ino, +1, 0);
  r = link_name (w, parent, name, *ino, EXT2_FT_REG_FILE, what);

 out:
  if (src >= 0)
    close (src);
  return r;
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

/* Pass one: which entries go in, their parents, sizes and directory
 * sizes; the blocks and inodes they need. */
static int
survey (struct writer *w, const struct gbox_app_cpio_entry *v, size_t n,
        const char *prefix, size_t plen, ssize_t root, struct info *info,
        uint64_t *rootbytes, uint64_t *blocks, uint64_t *inodes)
{
  size_t i;

  *blocks = 0;
  *inodes = 0;
  *rootbytes = 24 + DIRENT_SIZE (10);   /* ".", "..", "lost+found" */
  for (i = 0; i < n; ++i) {
    const char *name = v[i].name, *rel, *slash;
    size_t baselen;

    info[i].parent = -2;
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
    info[i].base = slash ? slash + 1 : rel;
    baselen = strlen (info[i].base);
    if (baselen == 0 || baselen > EXT2_NAME_LEN)
      return gbox_app_error (w->cx, "%s: bad name for ext2: /%s", w->path,
                             name);
    if (slash) {
      struct key key = { name, slash - name };
      const struct gbox_app_cpio_entry *p =
        bsearch (&key, v, n, sizeof *v, cmp_key);
      if (!p || p->type != GBOX_APP_CPIO_DIR)
        return gbox_app_error (w->cx, "%s: no directory for /%s",
                               w->path, name);
      info[i].parent = p - v;
      info[p - v].dirbytes += DIRENT_SIZE (baselen);
    }
    else {
      info[i].parent = -1;
      *rootbytes += DIRENT_SIZE (baselen);
    }
    ++*inodes;
    switch (v[i].type) {
    case GBOX_APP_CPIO_DIR:
      info[i].dirbytes += 24;
      break;
    case GBOX_APP_CPIO_SYMLINK:
      if (strlen (v[i].source) >= BLOCK_SIZE)
        return gbox_app_error (w->cx, "%s: symlink target too long: /%s",
                               w->path, name);
      /* A target shorter than the block map is kept in the inode. */
      if (strlen (v[i].source) >= sizeof ((struct ext2_inode *) 0)->i_block)
        *blocks += 1;
      break;
    case GBOX_APP_CPIO_DATA:
      info[i].size = v[i].len;
      break;
    case GBOX_APP_CPIO_FILE: {
      struct stat st;
      if (stat (v[i].source, &st) == -1)
        return gbox_app_error (w->cx, "%s: cannot read %s: %s", w->path,
                               v[i].source, strerror (errno));
      if (!S_ISREG (st.st_mode))
        return gbox_app_error (w->cx, "%s: %s: not a regular file",
                               w->path, v[i].source);
      info[i].size = st.st_size;
      break;
    }
    }
    if (v[i].type == GBOX_APP_CPIO_FILE || v[i].type == GBOX_APP_CPIO_DATA) {
      uint64_t nb = (info[i].size + BLOCK_SIZE - 1) / BLOCK_SIZE;
      if (nb > MAX_DATA_BLOCKS)
        return gbox_app_error (w->cx, "%s: /%s is too large", w->path, name);
      *blocks += nb + map_blocks (nb);
    }
  }
  for (i = 0; i < n; ++i)
    if (info[i].parent != -2 && v[i].type == GBOX_APP_CPIO_DIR) {
      uint64_t d = dir_blocks (info[i].dirbytes);
      *blocks += d + map_blocks (d);
    }
  {
    uint64_t d = dir_blocks (*rootbytes);
    *blocks += d + map_blocks (d) + 1;  /* and lost+found's block */
  }
  return 0;
}

/* Make the empty filesystem, with at least NEED free blocks and NINODES
 * inodes besides the reserved ones. */
static int
make_fs (struct writer *w, uint64_t need, uint64_t ninodes)
{
  struct ext2_super_block param;
  uint64_t blocks, itable;
  int tries;
  errcode_t e;

  /* A first guess: the inode table, bitmaps, superblock and descriptor
   * copies of each group of 32768 blocks, and some slack. */
  itable = (ninodes * INODE_SIZE + BLOCK_SIZE - 1) / BLOCK_SIZE;
  blocks = need + itable + 256;
  blocks += (blocks / 32768 + 1) * 8;
  for (tries = 0;; ++tries) {
    blk64_t got, have;

    if (blocks > UINT32_MAX)
      return gbox_app_error (w->cx, "%s: image too large", w->path);
    memset (&param, 0, sizeof param);
    param.s_rev_level = EXT2_DYNAMIC_REV;
    param.s_log_block_size = LOG_BLOCK_SIZE;
    param.s_inode_size = INODE_SIZE;
    param.s_blocks_count = blocks;
    param.s_inodes_count = ninodes;
    param.s_feature_incompat = EXT2_FEATURE_INCOMPAT_FILETYPE;
    param.s_feature_ro_compat = EXT2_FEATURE_RO_COMPAT_SPARSE_SUPER |
      EXT2_FEATURE_RO_COMPAT_LARGE_FILE;
    e = E (ext2fs_initialize) (w->path, EXT2_FLAG_64BITS, &param,
                               *e2fns.unix_io_manager, &w->fs);
    if (e)
      return e2err (w, e, "creating the filesystem", NULL);
    e = E (ext2fs_allocate_tables) (w->fs);
    if (e)
      return e2err (w, e, "allocating the group tables", NULL);
    got = w->fs->super->s_blocks_count;
    have = E (ext2fs_free_blocks_count) (w->fs->super);
    if (have >= need && w->fs->super->s_inodes_count >= ninodes)
      break;
    if (tries >= 8)
      return gbox_app_error (w->cx, "%s: cannot size the image for %llu "
                             "blocks", w->path, (unsigned long long) need);
    E (ext2fs_free) (w->fs);
    w->fs = NULL;
    /* initialize may have dropped a last group too small to be useful. */
    blocks = (got > blocks ? got : blocks) +
      (have < need ? need - have : 0) + 256;
  }
  gbox_app_debug (w->cx, "ext2: %llu blocks and %llu inodes needed: "
                  "%u blocks (%u free), %u inodes", (unsigned long long) need,
                  (unsigned long long) ninodes,
                  w->fs->super->s_blocks_count,
                  w->fs->super->s_free_blocks_count,
                  w->fs->super->s_inodes_count);
  if (ftruncate (w->fd, (off_t) w->fs->super->s_blocks_count * BLOCK_SIZE)
      == -1)
    return gbox_app_error (w->cx, "%s: %s", w->path, strerror (errno));
  w->fs->super->s_mkfs_time = w->fs->super->s_lastcheck = 0;
  w->fs->flags |= EXT2_FLAG_DIRTY | EXT2_FLAG_CHANGED;
  return 0;
}

int
gbox_app_ext2_write (struct gbox_app_ctx *cx, const struct gbox_app_cpio *a,
                     const char *prefix, const char *path, uint64_t *bytes)
{
  struct writer w = { .cx = cx, .path = path, .fd = -1 };
  struct gbox_app_cpio_entry *v = NULL;
  struct info *info = NULL;
  size_t n = gbox_app_cpio_count (a), i, plen;
  ssize_t root = -1;
  uint64_t rootbytes, need, ninodes;
  mode_t rootmode = 0755;
  ext2_ino_t ino;
  errcode_t e;
  struct stat st;
  int r = -1;
  bool created = false;

  if (load_ext2fs (cx) == -1)
    return -1;

  /* The prefix without its slashes: "" is the whole list. */
  while (*prefix == '/')
    prefix++;
  plen = strlen (prefix);
  while (plen > 0 && prefix[plen - 1] == '/')
    plen--;

  v = gbox_app_cpio_sorted (a);
  info = calloc (n ? n : 1, sizeof *info);
  if (!v || !info) {
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
  if (survey (&w, v, n, prefix, plen, root, info, &rootbytes, &need,
              &ninodes) == -1)
    goto out;
  ninodes += EXT2_GOOD_OLD_FIRST_INO + 1;       /* and lost+found */

  w.fd = open (path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (w.fd == -1) {
    gbox_app_error (cx, "%s: %s", path, strerror (errno));
    goto out;
  }
  created = true;
  if (make_fs (&w, need, ninodes) == -1)
    goto out;

  /* The root, and the reserved inodes marked in use as mke2fs does. */
  e = E (ext2fs_mkdir) (w.fs, EXT2_ROOT_INO, EXT2_ROOT_INO, NULL);
  if (e) {
    e2err (&w, e, "making the root directory", NULL);
    goto out;
  }
  if (set_attrs (&w, EXT2_ROOT_INO, rootmode, "/") == -1)
    goto out;
  for (ino = EXT2_BAD_INO; ino < EXT2_FIRST_INO (w.fs->super); ++ino)
    if (ino != EXT2_ROOT_INO)
      E (ext2fs_inode_alloc_stats2) (w.fs, ino, +1, 0);

  /* Directories come before their contents in name order. */
  for (i = 0; i < n; ++i) {
    ext2_ino_t dir;
    const char *what = v[i].name;

    if (info[i].parent == -2)
      continue;
    dir = info[i].parent == -1 ? EXT2_ROOT_INO : info[info[i].parent].ino;
    switch (v[i].type) {
    case GBOX_APP_CPIO_DIR:
      if (add_dir (&w, dir, info[i].base, v[i].mode, &info[i].ino,
                   what) == -1)
        goto out;
      break;
    case GBOX_APP_CPIO_SYMLINK:
      if (add_symlink (&w, dir, info[i].base, v[i].source, &info[i].ino,
                       what) == -1)
        goto out;
      break;
    case GBOX_APP_CPIO_FILE:
      if (add_file (&w, dir, info[i].base, v[i].mode, v[i].source, NULL,
                    info[i].size, &info[i].ino, what) == -1)
        goto out;
      break;
    case GBOX_APP_CPIO_DATA:
      if (add_file (&w, dir, info[i].base, v[i].mode, NULL, v[i].data,
                    info[i].size, &info[i].ino, what) == -1)
        goto out;
      break;
    }
  }

  /* e2fsck wants a lost+found; an entry of that name is kept. */
  e = E (ext2fs_lookup) (w.fs, EXT2_ROOT_INO, "lost+found", 10, NULL, &ino);
  if (e == EXT2_ET_FILE_NOT_FOUND) {
    if (add_dir (&w, EXT2_ROOT_INO, "lost+found", 0700, &ino,
                 "lost+found") == -1)
      goto out;
  }
  else if (e) {
    e2err (&w, e, "looking up", "lost+found");
    goto out;
  }

  e = E (ext2fs_close2) (w.fs, EXT2_FLAG_FLUSH_NO_SYNC);
  w.fs = NULL;
  if (e) {
    e2err (&w, e, "writing the filesystem", NULL);
    goto out;
  }
  if (fsync (w.fd) == -1 || fstat (w.fd, &st) == -1) {
    gbox_app_error (cx, "%s: fsync: %s", path, strerror (errno));
    goto out;
  }
  if (bytes)
    *bytes = st.st_size;
  r = 0;

 out:
  if (w.fs)
    E (ext2fs_free) (w.fs);
  if (w.fd >= 0)
    close (w.fd);
  if (r == -1 && created)
    unlink (path);
  free (w.phys);
  free (w.data);
  free (w.buf);
  free (info);
  free (v);
  return r;
}
