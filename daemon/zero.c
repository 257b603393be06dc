/* guestbox - zeroing and discarding free space.
 * Copyright (C) 2026 the guestbox authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

/**
 * The procedures behind virt-zerofree and virt-sparsify:
 *
 *  - zerofree: an unmounted ext2/3/4 filesystem.  libext2fs reads the
 *    block bitmap; each run of free blocks is read in large direct
 *    reads and only the blocks that are not already zero are written
 *    with zeros (the algorithm of the Debian zerofree program).
 *    Filesystems that are mounted, not clean, or larger than their
 *    device (a truncated image) are refused.
 *  - e2fsck: -f -y or -f -n, with its output returned.
 *  - zero_free_space: fill the free space of a mounted filesystem with
 *    files of zeros until ENOSPC, sync, remove them.
 *  - fstrim: FITRIM on a mounted filesystem.
 *  - discard_free_space: FITRIM, only where the discards cover every
 *    free block (the fast way to zero NTFS, xfs and btrfs: the host
 *    turns them into holes); the caller fills where they would not.
 *  - zero_swap: zero (BLKZEROOUT) or discard (BLKDISCARD) a swap area,
 *    then mkswap with the same UUID and label.
 *
 * All of them report progress.
 */

#include <config.h>

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/statvfs.h>
#include <linux/magic.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <linux/fs.h>
#include <blkid.h>
#include <ext2fs/ext2fs.h>

#include "daemon.h"

/* Bytes read (and at most written) at a time. */
#define ZERO_IO_SIZE (4 * 1024 * 1024)

/* The kernel name of user DEVICE, which must be a block device;
 * records the error (prefixed by PROCNAME) and returns NULL if not. */
static char *
block_device (const char *device, const char *procname)
{
  char *kdev;
  struct stat st;

  if (!appliance_mode) {
    reply_with_error_errno (EPERM, "%s: %s: only the appliance works on "
                            "devices", procname, device);
    return NULL;
  }
  devices_rescan ();
  kdev = device_user_to_kernel (device);
  if (kdev == NULL || stat (kdev, &st) == -1 || !S_ISBLK (st.st_mode)) {
    reply_with_error_errno (ENOENT, "%s: %s: no such device", procname,
                            device);
    free (kdev);
    return NULL;
  }
  return kdev;
}

static bool
is_zero (const char *buf, size_t len)
{
  const uint64_t *p = (const uint64_t *) buf;
  size_t i, n = len / 8;

  for (i = 0; i < n; ++i)
    if (p[i])
      return false;
  for (i = n * 8; i < len; ++i)
    if (buf[i])
      return false;
  return true;
}

static int
pwrite_all (int fd, const void *buf, size_t len, off_t off)
{
  const char *p = buf;

  while (len > 0) {
    ssize_t r = pwrite (fd, p, len, off);
    if (r == -1) {
      if (errno == EINTR)
        continue;
      return -1;
    }
    if (r == 0) {
      errno = EIO;
      return -1;
    }
    p += r;
    len -= r;
    off += r;
  }
  return 0;
}

static int
pread_all (int fd, void *buf, size_t len, off_t off)
{
  char *p = buf;

  while (len > 0) {
    ssize_t r = pread (fd, p, len, off);
    if (r == -1) {
      if (errno == EINTR)
        continue;
      return -1;
    }
    if (r == 0) {
      errno = EIO;              /* past the end of the device */
      return -1;
    }
    p += r;
    len -= r;
    off += r;
  }
  return 0;
}

/* Write zeros over LEN bytes at OFF (ZBUF holds ZERO_IO_SIZE zeros). */
static int
write_zeros (int fd, const char *zbuf, uint64_t off, uint64_t len)
{
  while (len > 0) {
    size_t n = len < ZERO_IO_SIZE ? len : ZERO_IO_SIZE;
    if (pwrite_all (fd, zbuf, n, off) == -1)
      return -1;
    off += n;
    len -= n;
  }
  return 0;
}

int
do_zerofree (void *argsv, void *retv)
{
  gbox_zerofree_args *args = argsv;
  gbox_zerofree_ret *ret = retv;
  CLEANUP_FREE char *kdev = NULL;
  CLEANUP_CLOSE int fd = -1;
  ext2_filsys fs = NULL;
  errcode_t err;
  int mount_flags = 0;
  uint64_t devsize = 0, bs, blocks, blk, first, zeroed = 0, scanned = 0;
  char *buf = NULL, *zbuf = NULL;
  int r = -1;

  kdev = block_device (args->device, "zerofree");
  if (kdev == NULL)
    return -1;

  err = ext2fs_check_if_mounted (kdev, &mount_flags);
  if (err == 0 && (mount_flags & EXT2_MF_MOUNTED)) {
    reply_with_error_errno (EBUSY, "zerofree: %s: the filesystem is mounted",
                            args->device);
    return -1;
  }

  err = ext2fs_open (kdev, EXT2_FLAG_64BITS, 0, 0, unix_io_manager, &fs);
  if (err) {
    reply_with_error_errno (EINVAL, "zerofree: %s: not an ext2/3/4 "
                            "filesystem, or its superblock is corrupt: %s",
                            args->device, error_message (err));
    return -1;
  }
  if (!(fs->super->s_state & EXT2_VALID_FS) ||
      (fs->super->s_state & EXT2_ERROR_FS) ||
      ext2fs_has_feature_journal_needs_recovery (fs->super)) {
    reply_with_error_errno (EUCLEAN, "zerofree: %s: the filesystem is not "
                            "clean (in use by a running guest, not cleanly "
                            "unmounted, or with errors); check it first "
                            "(virt-zerofree --fsck)", args->device);
    goto out;
  }

  bs = fs->blocksize;
  blocks = ext2fs_blocks_count (fs->super);
  first = fs->super->s_first_data_block;

  fd = open (kdev, (args->dry_run ? O_RDONLY : O_RDWR) | O_CLOEXEC | O_DIRECT);
  if (fd == -1 && errno == EINVAL)
    fd = open (kdev, (args->dry_run ? O_RDONLY : O_RDWR) | O_CLOEXEC);
  if (fd == -1) {
    reply_with_perror ("zerofree: %s: open", args->device);
    goto out;
  }
  if (ioctl (fd, BLKGETSIZE64, &devsize) == -1) {
    reply_with_perror ("zerofree: %s: size", args->device);
    goto out;
  }
  if (bs == 0 || blocks > devsize / bs) {
    reply_with_error_errno (EINVAL, "zerofree: %s: the filesystem (%" PRIu64
                            " blocks of %" PRIu64 " bytes) is larger than "
                            "its device (%" PRIu64 " bytes): truncated image?",
                            args->device, blocks, bs, devsize);
    goto out;
  }

  err = ext2fs_read_block_bitmap (fs);
  if (err) {
    reply_with_error_errno (EINVAL, "zerofree: %s: reading the block "
                            "bitmap: %s", args->device, error_message (err));
    goto out;
  }

  if (posix_memalign ((void **) &buf, 4096, ZERO_IO_SIZE) != 0 ||
      posix_memalign ((void **) &zbuf, 4096, ZERO_IO_SIZE) != 0) {
    reply_with_perror ("zerofree: malloc");
    goto out;
  }
  memset (zbuf, 0, ZERO_IO_SIZE);

  ret->block_size = bs;
  ret->blocks = blocks;
  ret->free_blocks = ext2fs_free_blocks_count (fs->super);

  /* Walk the runs of free blocks. */
  blk = first;
  while (blk < blocks) {
    blk64_t start, end;

    if (ext2fs_find_first_zero_block_bitmap2 (fs->block_map, blk,
                                              blocks - 1, &start) != 0)
      break;                    /* no free block left */
    if (ext2fs_find_first_set_block_bitmap2 (fs->block_map, start,
                                             blocks - 1, &end) != 0)
      end = blocks;
    /* [start, end) is free: read it in big pieces. */
    while (start < end) {
      uint64_t n = end - start, i, zstart = 0, zlen = 0;

      if (n > ZERO_IO_SIZE / bs)
        n = ZERO_IO_SIZE / bs;
      if (pread_all (fd, buf, n * bs, start * bs) == -1) {
        reply_with_perror ("zerofree: %s: read block %" PRIu64,
                           args->device, (uint64_t) start);
        goto out;
      }
      scanned += n;
      for (i = 0; i <= n; ++i) {
        bool nz = i < n && !is_zero (buf + i * bs, bs);
        if (nz) {
          if (zlen == 0)
            zstart = start + i;
          zlen++;
          zeroed++;
        }
        else if (zlen > 0) {
          if (!args->dry_run &&
              write_zeros (fd, zbuf, zstart * bs, zlen * bs) == -1) {
            reply_with_perror ("zerofree: %s: write block %" PRIu64,
                               args->device, zstart);
            goto out;
          }
          zlen = 0;
        }
      }
      start += n;
      notify_progress (start, blocks);
    }
    blk = end;
  }
  notify_progress (blocks, blocks);

  if (!args->dry_run && fsync (fd) == -1) {
    reply_with_perror ("zerofree: %s: fsync", args->device);
    goto out;
  }
  ret->scanned = scanned;
  ret->zeroed = zeroed;
  r = 0;

 out:
  free (buf);
  free (zbuf);
  if (fs)
    ext2fs_close_free (&fs);
  return r;
}

/* Run ARGV capturing stdout and stderr together (at most MAX bytes).
 * Returns the exit status, or -1 if it could not be run. */
static int
run_capture (const char *const *argv, char **out, size_t max)
{
  struct command c = COMMAND_INIT (argv);
  int r;

  c.out_max = max;
  c.err_to_out = true;
  r = command_run (&c);
  *out = c.out;
  return r;
}

int
do_e2fsck (void *argsv, void *retv)
{
  gbox_e2fsck_args *args = argsv;
  gbox_e2fsck_ret *ret = retv;
  CLEANUP_FREE char *kdev = NULL;
  char *out = NULL;
  const char *argv[6];
  int status;

  kdev = block_device (args->device, "e2fsck");
  if (kdev == NULL)
    return -1;
  argv[0] = "e2fsck";
  argv[1] = "-f";
  argv[2] = args->fix ? "-y" : "-n";
  argv[3] = kdev;
  argv[4] = NULL;
  status = run_capture (argv, &out, GBOX_STRING_MAX - 1);
  if (status == -1 || status == 127) {
    free (out);
    reply_with_error_errno (ENOSYS, "e2fsck: %s: cannot run e2fsck",
                            args->device);
    return -1;
  }
  ret->status = status;
  ret->output = out;
  return 0;
}

/* Open the guest directory PATH (where a filesystem is mounted) for
 * PROCNAME, which changes that filesystem: only in the appliance.
 * With SV, the filesystem must be mounted read-write and its statvfs
 * is stored there. */
static int
open_mounted_dir (const char *path, const char *procname, struct statvfs *sv)
{
  int root, fd;

  if (!appliance_mode) {
    reply_with_error_errno (EPERM, "%s: %s: only the appliance changes "
                            "filesystems", procname, path);
    return -1;
  }
  if (check_path (path) == -1)
    return -1;
  root = sysroot_fd ();
  if (root == -1) {
    reply_with_perror ("%s: sysroot %s", procname, sysroot);
    return -1;
  }
  fd = open_in_root (root, path, O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0);
  if (fd == -1) {
    reply_with_perror ("%s: %s", procname, path);
    return -1;
  }
  if (sv == NULL)
    return fd;
  if (fstatvfs (fd, sv) == -1) {
    reply_with_perror ("%s: %s: statvfs", procname, path);
    close (fd);
    return -1;
  }
  if (sv->f_flag & ST_RDONLY) {
    reply_with_error_errno (EROFS, "%s: %s: the filesystem is mounted "
                            "read-only", procname, path);
    close (fd);
    return -1;
  }
  return fd;
}

#define MAX_FILL_FILES 4096

int
do_zero_free_space (void *argsv, void *retv)
{
  gbox_path_args *args = argsv;
  gbox_space_ret *ret = retv;
  CLEANUP_CLOSE int dirfd = -1;
  struct statvfs sv;
  char *zbuf = NULL;
  char names[MAX_FILL_FILES][32];
  int fds[MAX_FILL_FILES];
  size_t nfiles = 0, i;
  uint64_t total, written = 0;
  int r = -1;

  dirfd = open_mounted_dir (args->path, "zero_free_space", &sv);
  if (dirfd == -1)
    return -1;
  total = (uint64_t) sv.f_bfree * sv.f_frsize;
  zbuf = calloc (1, ZERO_IO_SIZE);
  if (zbuf == NULL) {
    reply_with_perror ("zero_free_space: malloc");
    return -1;
  }

  /* One file after another (FAT files stop at 4 GiB: EFBIG), each
   * written until the filesystem is full. */
  for (;;) {
    size_t chunk = ZERO_IO_SIZE;
    int fd = -1, e = 0;

    if (nfiles >= MAX_FILL_FILES)
      break;
    for (i = 0; i < 100 && fd == -1; ++i) {
      snprintf (names[nfiles], sizeof names[nfiles], "gbox-zero-%08lx.tmp",
                random () & 0xffffffffUL);
      fd = openat (dirfd, names[nfiles],
                   O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
                   0600);
      if (fd == -1 && errno != EEXIST)
        break;
    }
    if (fd == -1) {
      if (errno == ENOSPC || errno == EDQUOT)
        break;                  /* no room even for a new inode */
      reply_with_perror ("zero_free_space: %s: create a file", args->path);
      goto out;
    }
    fds[nfiles++] = fd;
    for (;;) {
      ssize_t w = write (fd, zbuf, chunk);
      if (w > 0) {
        written += w;
        notify_progress (written < total ? written : total, total);
        continue;
      }
      if (w == -1 && errno == EINTR)
        continue;
      e = w == -1 ? errno : ENOSPC;
      if ((e == ENOSPC || e == EDQUOT) && chunk > 512) {
        chunk /= 8;             /* fill the last small pieces too */
        if (chunk < 512)
          chunk = 512;
        continue;
      }
      break;
    }
    if (e == EFBIG)
      continue;                 /* the file is full, the disk is not */
    if (e != ENOSPC && e != EDQUOT) {
      errno = e;
      reply_with_perror ("zero_free_space: %s: write", args->path);
      goto out;
    }
    break;
  }
  for (i = 0; i < nfiles; ++i)
    if (fsync (fds[i]) == -1 && errno != ENOSPC) {
      reply_with_perror ("zero_free_space: %s: fsync", args->path);
      goto out;
    }
  notify_progress (total, total);
  ret->bytes = written;
  r = 0;

 out:
  for (i = 0; i < nfiles; ++i) {
    close (fds[i]);
    if (unlinkat (dirfd, names[i], 0) == -1 && r == 0) {
      reply_with_perror ("zero_free_space: %s: remove %s", args->path,
                         names[i]);
      r = -1;
    }
  }
  if (syncfs (dirfd) == -1 && r == 0) {
    reply_with_perror ("zero_free_space: %s: sync", args->path);
    r = -1;
  }
  free (zbuf);
  return r;
}

int
do_fstrim (void *argsv, void *retv)
{
  gbox_path_args *args = argsv;
  gbox_space_ret *ret = retv;
  CLEANUP_CLOSE int dirfd = -1;
  struct fstrim_range range;

  dirfd = open_mounted_dir (args->path, "fstrim", NULL);
  if (dirfd == -1)
    return -1;
  if (syncfs (dirfd) == -1) {
    reply_with_perror ("fstrim: %s: sync", args->path);
    return -1;
  }
  memset (&range, 0, sizeof range);
  range.len = UINT64_MAX;
  if (ioctl (dirfd, FITRIM, &range) == -1) {
    int e = errno;
    if (e == EOPNOTSUPP || e == ENOTTY)
      reply_with_error_errno (EOPNOTSUPP, "fstrim: %s: the filesystem or "
                              "the disk does not support discard", args->path);
    else
      reply_with_perror ("fstrim: %s", args->path);
    return -1;
  }
  if (syncfs (dirfd) == -1) {
    reply_with_perror ("fstrim: %s: sync", args->path);
    return -1;
  }
  ret->bytes = range.len;
  notify_progress (1, 1);
  return 0;
}

/* The mount source (a device path) of the filesystem mounted at the
 * appliance directory MNT, from /proc/self/mountinfo; NULL if none. */
static char *
mount_source (const char *mnt)
{
  FILE *fp = fopen ("/proc/self/mountinfo", "re");
  char *line = NULL, *ret = NULL;
  size_t cap = 0;

  if (fp == NULL)
    return NULL;
  while (getline (&line, &cap, fp) != -1) {
    char point[PATH_MAX], source[PATH_MAX];
    const char *sep;

    /* ID PARENT MAJ:MIN ROOT POINT OPTIONS [OPTIONAL...] - TYPE SOURCE */
    if (sscanf (line, "%*s %*s %*s %*s %4095s", point) != 1)
      continue;
    sep = strstr (line, " - ");
    if (sep == NULL || sscanf (sep, " - %*s %4095s", source) != 1)
      continue;
    /* The last matching line wins: it is the mount on top. */
    if (strcmp (point, mnt) == 0) {
      free (ret);
      ret = strdup (source);
    }
  }
  free (line);
  fclose (fp);
  return ret;
}

static int
read_sysfs_u64 (const char *path, uint64_t *v)
{
  char buf[64];
  FILE *fp = fopen (path, "re");
  int r = -1;

  if (fp == NULL)
    return -1;
  if (fgets (buf, sizeof buf, fp) != NULL &&
      sscanf (buf, "%" SCNu64, v) == 1)
    r = 0;
  fclose (fp);
  return r;
}

/* Why discarding the free space of the filesystem (block size BSIZE)
 * on block device KDEV would not leave every free block reading as
 * zeros, or NULL when it does.  Only a SCSI disk or a partition of one
 * (the disks guestbox attaches, whose discards the host turns into
 * holes) whose start and block size are multiples of the discard
 * granularity qualifies (and, on FAT, where the clusters start):
 * anything else (device mapper, md, a partition or block size that
 * splits granules) would leave the unaligned pieces of free space as
 * they were. */
static const char *
discard_unsuitable (const char *kdev, uint64_t bsize, bool fat, char *why,
                    size_t len)
{
  struct stat st;
  char sys[PATH_MAX], real[PATH_MAX], path[PATH_MAX + 64];
  uint64_t gran = 0, maxb = 0, start = 0;
  const char *base;
  bool partition;

  if (stat (kdev, &st) == -1 || !S_ISBLK (st.st_mode)) {
    snprintf (why, len, "%s is not a block device", kdev);
    return why;
  }
  snprintf (sys, sizeof sys, "/sys/dev/block/%u:%u",
            major (st.st_rdev), minor (st.st_rdev));
  if (realpath (sys, real) == NULL) {
    snprintf (why, len, "%s: %s", sys, strerror (errno));
    return why;
  }
  base = strrchr (real, '/');
  base = base ? base + 1 : real;
  if (strncmp (base, "sd", 2) != 0) {
    snprintf (why, len, "%s is not a disk or a partition", kdev);
    return why;
  }
  snprintf (path, sizeof path, "%s/partition", real);
  partition = access (path, F_OK) == 0;
  snprintf (path, sizeof path, "%s%s/queue/discard_granularity", real,
            partition ? "/.." : "");
  if (read_sysfs_u64 (path, &gran) == -1)
    gran = 0;
  snprintf (path, sizeof path, "%s%s/queue/discard_max_bytes", real,
            partition ? "/.." : "");
  if (read_sysfs_u64 (path, &maxb) == -1)
    maxb = 0;
  if (gran == 0 || maxb == 0) {
    snprintf (why, len, "%s does not discard", kdev);
    return why;
  }
  if (partition) {
    snprintf (path, sizeof path, "%s/start", real);
    if (read_sysfs_u64 (path, &start) == -1) {
      snprintf (why, len, "%s: no start sector", kdev);
      return why;
    }
  }
  if ((start * 512) % gran != 0) {
    snprintf (why, len, "%s starts at sector %" PRIu64 ", not on a "
              "%" PRIu64 "-byte discard granule", kdev, start, gran);
    return why;
  }
  if (bsize == 0 || bsize % gran != 0) {
    snprintf (why, len, "the block size %" PRIu64 " is not a multiple "
              "of the %" PRIu64 "-byte discard granule", bsize, gran);
    return why;
  }
  if (fat) {
    /* FAT clusters start where the FATs and the root directory end,
     * which need not be on a granule. */
    unsigned char bs[512];
    uint64_t bps, reserved, nfats, rootents, fatsz, data;
    int fd = open (kdev, O_RDONLY | O_CLOEXEC);
    ssize_t n = fd >= 0 ? pread (fd, bs, sizeof bs, 0) : -1;

    if (fd >= 0)
      close (fd);
    if (n != (ssize_t) sizeof bs) {
      snprintf (why, len, "%s: cannot read the FAT boot sector", kdev);
      return why;
    }
    bps = bs[11] | bs[12] << 8;
    reserved = bs[14] | bs[15] << 8;
    nfats = bs[16];
    rootents = bs[17] | bs[18] << 8;
    fatsz = bs[22] | bs[23] << 8;
    if (fatsz == 0)
      fatsz = (uint64_t) bs[36] | (uint64_t) bs[37] << 8 |
        (uint64_t) bs[38] << 16 | (uint64_t) bs[39] << 24;
    if (bps < 512 || bps > 4096 || (bps & (bps - 1)) != 0) {
      snprintf (why, len, "%s: unexpected FAT sector size %" PRIu64,
                kdev, bps);
      return why;
    }
    data = (reserved + nfats * fatsz + (rootents * 32 + bps - 1) / bps) * bps;
    if (data % gran != 0) {
      snprintf (why, len, "the FAT clusters start at byte %" PRIu64
                ", not on a %" PRIu64 "-byte discard granule", data, gran);
      return why;
    }
  }
  return NULL;
}

/* discard_free_space: discard (FITRIM) every free block of the
 * filesystem mounted at PATH, after checking that the discards cover
 * whole free blocks (see discard_unsuitable): the host opened the disk
 * so that discarded blocks read back as zeros.  EOPNOTSUPP, with the
 * reason, when they would not: the caller fills instead. */
int
do_discard_free_space (void *argsv, void *retv)
{
  gbox_path_args *args = argsv;
  gbox_space_ret *ret = retv;
  CLEANUP_CLOSE int dirfd = -1;
  CLEANUP_FREE char *mnt = NULL, *source = NULL, *rel = NULL;
  struct fstrim_range range;
  struct statvfs sv;
  char why[PATH_MAX + 128];
  const char *bad;

  dirfd = open_mounted_dir (args->path, "discard_free_space", &sv);
  if (dirfd == -1)
    return -1;
  /* Where the filesystem is mounted in the appliance, and from what. */
  snprintf (why, sizeof why, "/proc/self/fd/%d", dirfd);
  mnt = realpath (why, NULL);
  source = mnt ? mount_source (mnt) : NULL;
  if (source == NULL) {
    reply_with_error_errno (EOPNOTSUPP, "discard_free_space: %s: not a "
                            "mount point", args->path);
    return -1;
  }
  {
    struct statfs sf;

    if (fstatfs (dirfd, &sf) == -1) {
      reply_with_perror ("discard_free_space: %s: statfs", args->path);
      return -1;
    }
    bad = discard_unsuitable (source, sv.f_frsize,
                              sf.f_type == MSDOS_SUPER_MAGIC, why,
                              sizeof why);
  }
  if (bad) {
    reply_with_error_errno (EOPNOTSUPP, "discard_free_space: %s: %s",
                            args->path, bad);
    return -1;
  }
  if (syncfs (dirfd) == -1) {
    reply_with_perror ("discard_free_space: %s: sync", args->path);
    return -1;
  }
  memset (&range, 0, sizeof range);
  range.len = UINT64_MAX;
  notify_progress (0, 1);
  if (ioctl (dirfd, FITRIM, &range) == -1) {
    int e = errno;
    if (e == EOPNOTSUPP || e == ENOTTY || e == EINVAL)
      reply_with_error_errno (EOPNOTSUPP, "discard_free_space: %s: the "
                              "filesystem does not discard (%s)",
                              args->path, strerror (e));
    else
      reply_with_perror ("discard_free_space: %s", args->path);
    return -1;
  }
  if (syncfs (dirfd) == -1) {
    reply_with_perror ("discard_free_space: %s: sync", args->path);
    return -1;
  }
  ret->bytes = range.len;
  notify_progress (1, 1);
  return 0;
}

/* A UUID or label that mkswap can be given back: printable, bounded. */
static bool
safe_tag (const char *s, size_t max)
{
  size_t i, n = strlen (s);

  if (n == 0 || n > max)
    return false;
  for (i = 0; i < n; ++i)
    if ((unsigned char) s[i] < 0x20 || s[i] == 0x7f)
      return false;
  return true;
}

int
do_zero_swap (void *argsv, void *retv)
{
  gbox_zero_swap_args *args = argsv;
  CLEANUP_FREE char *kdev = NULL, *uuid = NULL, *label = NULL, *err = NULL;
  CLEANUP_CLOSE int fd = -1;
  blkid_probe pr;
  const char *type = NULL, *v = NULL;
  bool is_swap = false;
  uint64_t size = 0, off;
  const char *argv[10];
  size_t i = 0;
  int status;

  kdev = block_device (args->device, "zero_swap");
  if (kdev == NULL)
    return -1;
  pr = blkid_new_probe_from_filename (kdev);
  if (pr) {
    blkid_probe_enable_superblocks (pr, 1);
    blkid_probe_set_superblocks_flags (pr, BLKID_SUBLKS_TYPE |
                                       BLKID_SUBLKS_LABEL | BLKID_SUBLKS_UUID);
    if (blkid_do_safeprobe (pr) == 0 &&
        blkid_probe_lookup_value (pr, "TYPE", &type, NULL) == 0) {
      is_swap = strcmp (type, "swap") == 0;
      if (blkid_probe_lookup_value (pr, "UUID", &v, NULL) == 0 &&
          safe_tag (v, 64))
        uuid = strdup (v);
      if (blkid_probe_lookup_value (pr, "LABEL", &v, NULL) == 0 &&
          safe_tag (v, 16))
        label = strdup (v);
    }
    blkid_free_probe (pr);
  }
  if (!is_swap) {
    reply_with_error_errno (EINVAL, "zero_swap: %s: not a swap area",
                            args->device);
    return -1;
  }

  fd = open (kdev, O_WRONLY | O_CLOEXEC);
  if (fd == -1 || ioctl (fd, BLKGETSIZE64, &size) == -1) {
    reply_with_perror ("zero_swap: %s", args->device);
    return -1;
  }
  /* In pieces, for progress. */
  for (off = 0; off < size; ) {
    uint64_t range[2];
    uint64_t n = size - off < 256 * 1024 * 1024 ? size - off
      : 256 * 1024 * 1024;

    range[0] = off;
    range[1] = n;
    if (ioctl (fd, args->discard ? BLKDISCARD : BLKZEROOUT, range) == -1) {
      if (args->discard && (errno == EOPNOTSUPP || errno == ENOTTY))
        reply_with_error_errno (EOPNOTSUPP, "zero_swap: %s: the disk does "
                                "not support discard", args->device);
      else
        reply_with_perror ("zero_swap: %s: %s", args->device,
                           args->discard ? "discard" : "zero");
      return -1;
    }
    off += n;
    notify_progress (off, size);
  }
  if (fsync (fd) == -1) {
    reply_with_perror ("zero_swap: %s: fsync", args->device);
    return -1;
  }

  argv[i++] = "mkswap";
  argv[i++] = "-f";
  if (uuid) {
    argv[i++] = "-U";
    argv[i++] = uuid;
  }
  if (label) {
    argv[i++] = "-L";
    argv[i++] = label;
  }
  argv[i++] = kdev;
  argv[i] = NULL;
  status = run_command (&err, argv);
  if (status != 0) {
    reply_with_error_errno (EIO, "zero_swap: %s: mkswap failed: %s",
                            args->device, err && *err ? err : "");
    return -1;
  }
  return 0;
}

/* virt-sparsify --zero: zeros over the whole device (BLKZEROOUT, which
 * a disk attached with discard and zero detection turns into holes). */
int
do_zero_device (void *argsv, void *retv)
{
  gbox_path_args *args = argsv;
  CLEANUP_FREE char *kdev = NULL;
  CLEANUP_CLOSE int fd = -1;
  uint64_t size = 0, off;

  (void) retv;
  kdev = block_device (args->path, "zero_device");
  if (kdev == NULL)
    return -1;
  fd = open (kdev, O_WRONLY | O_CLOEXEC);
  if (fd == -1 || ioctl (fd, BLKGETSIZE64, &size) == -1) {
    reply_with_perror ("zero_device: %s", args->path);
    return -1;
  }
  for (off = 0; off < size; ) {
    uint64_t range[2];
    uint64_t n = size - off < 256 * 1024 * 1024 ? size - off
      : 256 * 1024 * 1024;

    range[0] = off;
    range[1] = n;
    if (ioctl (fd, BLKZEROOUT, range) == -1) {
      reply_with_perror ("zero_device: %s", args->path);
      return -1;
    }
    off += n;
    notify_progress (off, size);
  }
  if (fsync (fd) == -1) {
    reply_with_perror ("zero_device: %s: fsync", args->path);
    return -1;
  }
  return 0;
}
