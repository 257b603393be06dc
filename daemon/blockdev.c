/* guestbox - block devices: whole reads and writes, device names, loop devices.
 * Copyright (C) 2026 the guestbox authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

/**
 * The block device helpers of blockdev.h, and the device_size
 * procedure.
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
#include <linux/loop.h>

#include "daemon.h"
#include "blockdev.h"

int
read_at (int fd, void *buf, size_t len, uint64_t off)
{
  size_t done = 0;

  while (done < len) {
    ssize_t r = pread (fd, (char *) buf + done, len - done,
                       (off_t) (off + done));
    if (r == -1 && errno == EINTR)
      continue;
    if (r <= 0) {
      if (r == 0)
        errno = EIO;
      return -1;
    }
    done += r;
  }
  return 0;
}

int
write_at (int fd, const void *buf, size_t len, uint64_t off)
{
  size_t done = 0;

  while (done < len) {
    ssize_t r = pwrite (fd, (const char *) buf + done, len - done,
                        (off_t) (off + done));
    if (r == -1 && errno == EINTR)
      continue;
    if (r <= 0) {
      if (r == 0)
        errno = EIO;
      return -1;
    }
    done += r;
  }
  return 0;
}

/* In host mode (tests) a path under the sysroot is accepted too. */
int
open_device (const char *procname, const char *device, int flags,
             uint64_t *size)
{
  CLEANUP_FREE char *kdev = NULL;
  struct stat st;
  int fd;

  devices_rescan ();
  kdev = device_user_to_kernel (device);
  if (kdev == NULL || stat (kdev, &st) == -1 || !S_ISBLK (st.st_mode)) {
    reply_with_error_errno (ENOENT, "%s: %s: no such device", procname,
                            device);
    return -1;
  }
  fd = open (kdev, flags | O_CLOEXEC);
  if (fd == -1) {
    reply_with_perror ("%s: %s", procname, device);
    return -1;
  }
  if (ioctl (fd, BLKGETSIZE64, size) == -1) {
    reply_with_perror ("%s: %s: BLKGETSIZE64", procname, device);
    close (fd);
    return -1;
  }
  return fd;
}

int
loop_attach (int fd, uint64_t offset, uint64_t size, bool ro,
             char *name, size_t len)
{
  CLEANUP_CLOSE int ctl = -1;
  struct loop_config cfg;
  int n, lfd, tries;

  /* After a cold boot the loop driver is loaded on demand. */
  load_fs_modules ("loop");
  ctl = open ("/dev/loop-control", O_RDWR | O_CLOEXEC);
  if (ctl == -1) {
    reply_with_perror ("/dev/loop-control");
    return -1;
  }
  for (tries = 0; tries < 8; ++tries) {
    n = ioctl (ctl, LOOP_CTL_GET_FREE);
    if (n < 0) {
      reply_with_perror ("LOOP_CTL_GET_FREE");
      return -1;
    }
    snprintf (name, len, "/dev/loop%d", n);
    lfd = open (name, (ro ? O_RDONLY : O_RDWR) | O_CLOEXEC);
    if (lfd == -1) {
      reply_with_perror ("%s", name);
      return -1;
    }
    memset (&cfg, 0, sizeof cfg);
    cfg.fd = fd;
    cfg.info.lo_offset = offset;
    cfg.info.lo_sizelimit = size;
    cfg.info.lo_flags = LO_FLAGS_AUTOCLEAR | (ro ? LO_FLAGS_READ_ONLY : 0);
    if (ioctl (lfd, LOOP_CONFIGURE, &cfg) == 0)
      return lfd;
    if (errno != EBUSY) {
      reply_with_perror ("%s: LOOP_CONFIGURE", name);
      close (lfd);
      return -1;
    }
    close (lfd);
  }
  reply_with_error ("no free loop device");
  return -1;
}

int
do_device_size (void *argsv, void *retv)
{
  gbox_part_device_args *args = argsv;
  gbox_device_size_ret *ret = retv;
  CLEANUP_CLOSE int fd = -1;
  uint64_t size;

  fd = open_device ("device_size", args->device, O_RDONLY, &size);
  if (fd == -1)
    return -1;
  ret->size = size;
  return 0;
}
