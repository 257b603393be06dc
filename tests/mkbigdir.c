/* guestbox - fill an empty ext2/3/4 directory with N files (test fixture tool).
 * Copyright (C) 2026 the guestbox authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

/**
 * mkbigdir IMAGE DIR N: in the ext2/3/4 filesystem IMAGE, fill the
 * existing, empty directory DIR (an absolute path) with N empty regular
 * files named file-0000001 .. file-N (%07u).  `mkfs.ext4 -d` links
 * every entry with a scan of the whole directory (quadratic: minutes for
 * 100 000 entries); this writes the directory in one linear pass:
 * each file gets a fresh inode (mode 0644, one link, an empty extent
 * tree when the filesystem has extents), and the directory's blocks are
 * filled in order with ext2_dir_entry_2 records (".", ".." first; the
 * last record of a block reaches the block end, or the checksum tail
 * with metadata_csum), mapped into the directory as they are written.
 * The result is a valid linear directory: `e2fsck -fn` is clean, and
 * `e2fsck -fyD` turns it into an htree like a real big directory.
 * The image needs enough free inodes (mkfs.ext4 -N).  Errors: one
 * line on stderr, exit status 1.
 */

#include <config.h>

#include <stdio.h>
#include <stdlib.h>
#include <stdarg.h>
#include <string.h>
#include <time.h>
#include <errno.h>

#include <ext2fs/ext2_fs.h>
#include <ext2fs/ext2fs.h>
#include <ext2fs/ext3_extents.h>

#define MAX_ENTRIES 10000000UL

static const char *image;
static ext2_filsys fs;

static void __attribute__((noreturn, format (printf, 2, 3)))
die (errcode_t err, const char *fmt, ...)
{
  va_list ap;

  fprintf (stderr, "mkbigdir: error: %s: ", image);
  va_start (ap, fmt);
  vfprintf (stderr, fmt, ap);
  va_end (ap);
  if (err)
    fprintf (stderr, ": %s", error_message (err));
  fputc ('\n', stderr);
  if (fs)
    ext2fs_free (fs);           /* nothing more is written */
  exit (1);
}

/* Count the entries of DIR other than "." and "..". */
static int
count_entry (ext2_ino_t dir, int entry, struct ext2_dir_entry *dirent,
             int offset, int blocksize, char *buf, void *priv)
{
  if (entry != DIRENT_DOT_FILE && entry != DIRENT_DOT_DOT_FILE)
    ++*(unsigned long *) priv;
  return 0;
}

/* Set one record at OFF in BUF; returns its rec_len. */
static unsigned int
put_entry (char *buf, unsigned int off, ext2_ino_t ino,
           const char *name, int type)
{
  struct ext2_dir_entry *de = (struct ext2_dir_entry *) (buf + off);
  unsigned int len = strlen (name);
  unsigned int rec_len = EXT2_DIR_REC_LEN (len);

  de->inode = ino;
  ext2fs_dirent_set_name_len (de, len);
  ext2fs_dirent_set_file_type (de, type);
  memcpy (de->name, name, len);
  if (ext2fs_set_rec_len (fs, rec_len, de))
    die (0, "bad record length %u", rec_len);
  return rec_len;
}

/* Stretch the record at LAST to END, add the checksum tail if the
 * filesystem has one, and write BUF as logical block LBLK of DIR. */
static void
flush_block (ext2_ino_t dir, struct ext2_inode *inode, char *buf,
             unsigned int last, unsigned int end, blk64_t lblk)
{
  unsigned int bs = fs->blocksize;
  blk64_t pblk = 0;
  errcode_t err;

  err = ext2fs_set_rec_len (fs, end - last,
                            (struct ext2_dir_entry *) (buf + last));
  if (err)
    die (err, "directory block %llu", (unsigned long long) lblk);
  if (end < bs)
    ext2fs_initialize_dirent_tail (fs, EXT2_DIRENT_TAIL (buf, bs));
  err = ext2fs_bmap2 (fs, dir, inode, NULL, BMAP_ALLOC, lblk, NULL, &pblk);
  if (err || pblk == 0)
    die (err, "cannot map directory block %llu", (unsigned long long) lblk);
  err = ext2fs_write_dir_block4 (fs, pblk, buf, 0, dir);
  if (err)
    die (err, "cannot write directory block %llu", (unsigned long long) lblk);
}

int
main (int argc, char *argv[])
{
  const char *path;
  char *end, *buf, name[32];
  unsigned long n, i, count = 0;
  ext2_ino_t dir, parent, ino = 0;
  struct ext2_inode dinode;
  struct ext2_inode fi;
  struct ext3_extent_header *eh;
  unsigned int bs, usable, off, last;
  blk64_t lblk = 0;
  int ftype;
  errcode_t err;
  time_t now = time (NULL);

  if (argc != 4) {
    fprintf (stderr, "usage: mkbigdir IMAGE DIR N\n");
    return 1;
  }
  image = argv[1];
  path = argv[2];
  errno = 0;
  n = strtoul (argv[3], &end, 10);
  if (errno || end == argv[3] || *end || argv[3][0] == '-' ||
      n > MAX_ENTRIES)
    die (0, "N: expected a number from 0 to %lu, got '%s'",
         MAX_ENTRIES, argv[3]);
  if (path[0] != '/')
    die (0, "%s: the directory must be an absolute path", path);

  initialize_ext2_error_table ();
  err = ext2fs_open (image, EXT2_FLAG_RW | EXT2_FLAG_64BITS, 0, 0,
                     unix_io_manager, &fs);
  if (err) {
    fs = NULL;
    die (err, "cannot open the filesystem");
  }
  err = ext2fs_read_bitmaps (fs);
  if (err)
    die (err, "cannot read the bitmaps");

  err = ext2fs_namei (fs, EXT2_ROOT_INO, EXT2_ROOT_INO, path, &dir);
  if (err)
    die (err, "%s", path);
  err = ext2fs_read_inode (fs, dir, &dinode);
  if (err)
    die (err, "%s: cannot read the inode", path);
  if (!LINUX_S_ISDIR (dinode.i_mode))
    die (0, "%s: not a directory", path);
  if (dinode.i_flags & EXT4_INLINE_DATA_FL)
    die (0, "%s: inline-data directories are not supported", path);
  if (EXT2_I_SIZE (&dinode) != fs->blocksize)
    die (0, "%s: not a new directory (%llu bytes, not one block)", path,
         (unsigned long long) EXT2_I_SIZE (&dinode));
  err = ext2fs_dir_iterate2 (fs, dir, 0, NULL, count_entry, &count);
  if (err)
    die (err, "%s: cannot read the directory", path);
  if (count)
    die (0, "%s: the directory is not empty (%lu entries)", path, count);
  err = ext2fs_lookup (fs, dir, "..", 2, NULL, &parent);
  if (err)
    die (err, "%s: no '..' entry", path);
  if (n > fs->super->s_free_inodes_count)
    die (0, "%lu files need more free inodes than the %u left (mkfs -N)",
         n, fs->super->s_free_inodes_count);

  bs = fs->blocksize;
  usable = bs;
  if (ext2fs_has_feature_metadata_csum (fs->super))
    usable -= sizeof (struct ext2_dir_entry_tail);
  ftype = ext2fs_has_feature_filetype (fs->super) ? EXT2_FT_REG_FILE : 0;
  buf = calloc (1, bs);
  if (buf == NULL)
    die (errno, "cannot allocate a block");

  /* The template of every new file. */
  memset (&fi, 0, sizeof fi);
  fi.i_mode = LINUX_S_IFREG | 0644;
  fi.i_links_count = 1;
  fi.i_atime = fi.i_ctime = fi.i_mtime = now;
  if (ext2fs_has_feature_extents (fs->super)) {
    fi.i_flags |= EXT4_EXTENTS_FL;
    eh = (struct ext3_extent_header *) fi.i_block;
    eh->eh_magic = ext2fs_cpu_to_le16 (EXT3_EXT_MAGIC);
    eh->eh_max = ext2fs_cpu_to_le16 ((sizeof fi.i_block - sizeof *eh) /
                                     sizeof (struct ext3_extent));
  }

  /* The directory, block by block: ".", "..", then the files. */
  off = put_entry (buf, 0, dir, ".", ftype ? EXT2_FT_DIR : 0);
  last = off;
  off += put_entry (buf, off, parent, "..", ftype ? EXT2_FT_DIR : 0);
  for (i = 1; i <= n; i++) {
    snprintf (name, sizeof name, "file-%07lu", i);
    if (off + EXT2_DIR_REC_LEN (strlen (name)) > usable) {
      flush_block (dir, &dinode, buf, last, usable, lblk++);
      memset (buf, 0, bs);
      off = 0;
    }
    /* The search starts in the group of its 'dir' argument and walks
     * the full groups before it: from the last inode, it stays linear. */
    err = ext2fs_new_inode (fs, i > 1 ? ino : dir, LINUX_S_IFREG | 0644,
                            NULL, &ino);
    if (err)
      die (err, "cannot allocate an inode for %s", name);
    err = ext2fs_write_new_inode (fs, ino, &fi);
    if (err)
      die (err, "cannot write inode %u", ino);
    ext2fs_inode_alloc_stats2 (fs, ino, +1, 0);
    last = off;
    off += put_entry (buf, off, ino, name, ftype);
  }
  flush_block (dir, &dinode, buf, last, usable, lblk++);
  free (buf);

  /* Size and times of the directory (re-read: the block mapping wrote
   * it).  A linear directory: no htree index flag. */
  err = ext2fs_read_inode (fs, dir, &dinode);
  if (err)
    die (err, "%s: cannot read the inode", path);
  err = ext2fs_inode_size_set (fs, &dinode, (unsigned long long) lblk * bs);
  if (err)
    die (err, "%s: cannot set the size", path);
  dinode.i_flags &= ~EXT2_INDEX_FL;
  dinode.i_mtime = dinode.i_ctime = now;
  err = ext2fs_write_inode (fs, dir, &dinode);
  if (err)
    die (err, "%s: cannot write the inode", path);

  err = ext2fs_close_free (&fs);
  if (err)
    die (err, "cannot close the filesystem");
  return 0;
}
