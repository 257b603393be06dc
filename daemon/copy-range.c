/* guestbox - copying byte ranges between disks.
 * Copyright (C) 2026 the guestbox authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

/**
 * copy_range: copy bytes between disks (virt-resize's partition
 * contents), with O_DIRECT when the range is whole sectors, not writing
 * the blocks that are all zero on a sparse output.
 */

#include <config.h>

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <string.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <linux/fs.h>

#include "daemon.h"
#include "blockdev.h"

#define COPY_BUF (4 * 1024 * 1024)
#define ZERO_BLOCK 4096

int
do_copy_range (void *argsv, void *retv)
{
  gbox_copy_range_args *args = argsv;
  gbox_copy_range_ret *ret = retv;
  CLEANUP_CLOSE int sfd = -1, dfd = -1;
  CLEANUP_FREE unsigned char *buf = NULL;
  uint64_t ssize, dsize, done = 0;
  int direct = 0;

  /* O_DIRECT: the data goes straight between the disks and our buffer,
   * without a copy through the page cache (costly under emulation).
   * Ranges are whole sectors. */
  if (args->src_offset % SECTOR == 0 && args->dst_offset % SECTOR == 0 &&
      args->size % SECTOR == 0)
    direct = O_DIRECT;
  sfd = open_device ("copy_range", args->src, O_RDONLY | direct, &ssize);
  if (sfd == -1)
    return -1;
  dfd = open_device ("copy_range", args->dst, O_RDWR | direct, &dsize);
  if (dfd == -1)
    return -1;
  if (args->src_offset > ssize || args->size > ssize - args->src_offset ||
      args->dst_offset > dsize || args->size > dsize - args->dst_offset) {
    reply_with_error_errno (EINVAL, "copy_range: %s -> %s: range beyond the "
                            "end of a disk", args->src, args->dst);
    return -1;
  }
  if (posix_memalign ((void **) &buf, 4096, COPY_BUF) != 0) {
    reply_with_error ("copy_range: out of memory");
    return -1;
  }
  posix_fadvise (sfd, args->src_offset, args->size, POSIX_FADV_SEQUENTIAL);
  ret->written = 0;
  while (done < args->size) {
    size_t n = args->size - done < COPY_BUF ? args->size - done : COPY_BUF;
    size_t o;

    if (read_at (sfd, buf, n, args->src_offset + done) == -1) {
      reply_with_perror ("copy_range: read %s at %" PRIu64, args->src,
                         args->src_offset + done);
      return -1;
    }
    for (o = 0; o < n; ) {
      size_t b = n - o < ZERO_BLOCK ? n - o : ZERO_BLOCK;
      size_t run = 0;
      if (args->sparse && all_zero (buf + o, b)) {
        o += b;
        continue;
      }
      /* Gather a run of blocks to write at once. */
      while (o + run < n) {
        size_t bb = n - o - run < ZERO_BLOCK ? n - o - run : ZERO_BLOCK;
        if (args->sparse && run > 0 && all_zero (buf + o + run, bb))
          break;
        run += bb;
      }
      if (write_at (dfd, buf + o, run,
                    args->dst_offset + done + o) == -1) {
        reply_with_perror ("copy_range: write %s", args->dst);
        return -1;
      }
      ret->written += run;
      o += run;
    }
    done += n;
    notify_progress (done, args->size);
  }
  if (fdatasync (dfd) == -1) {
    reply_with_perror ("copy_range: fsync %s", args->dst);
    return -1;
  }
  return 0;
}
