/* guestbox - block devices, shared by the partition, content, copy and LVM handlers.
 * Copyright (C) 2026 the guestbox authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

/**
 * What part.c (partition tables), content.c (content sniffing and
 * resizing), copy-range.c and lvm.c (LV expansion) share: whole
 * reads and writes at an offset, opening a user device name as a block
 * device, loop devices over a byte range, and the little- and
 * big-endian field readers of on-disk structures.
 */

#ifndef GUESTBOX_DAEMON_BLOCKDEV_H
#define GUESTBOX_DAEMON_BLOCKDEV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define SECTOR 512

/* pread/pwrite of all LEN bytes (EINTR retried; a short read is EIO). */
extern int read_at (int fd, void *buf, size_t len, uint64_t off);
extern int write_at (int fd, const void *buf, size_t len, uint64_t off);

/* Open a user device name ("/dev/sda") as a block device, its size in
 * *SIZE; -1 with the error replied (PROCNAME names the call). */
extern int open_device (const char *procname, const char *device, int flags,
                        uint64_t *size);

/* A loop device over OFFSET..OFFSET+SIZE of FD (auto-cleared when
 * closed): its fd, its name in NAME; -1 with the error replied. */
extern int loop_attach (int fd, uint64_t offset, uint64_t size, bool ro,
                        char *name, size_t len);

/* content.c: grow the filesystem of type T on LOOP (open as LFD, SIZE
 * bytes) to its whole size; WHAT names it in errors. */
extern int grow_fs (const char *what, const char *loop, int lfd,
                    uint64_t size, const char *t, unsigned flags);

static inline uint16_t
le16 (const unsigned char *p)
{
  return p[0] | (p[1] << 8);
}

static inline uint32_t
le32 (const unsigned char *p)
{
  return p[0] | (p[1] << 8) | (p[2] << 16) | ((uint32_t) p[3] << 24);
}

static inline uint64_t
le64 (const unsigned char *p)
{
  return le32 (p) | ((uint64_t) le32 (p + 4) << 32);
}

static inline uint32_t
be32 (const unsigned char *p)
{
  return ((uint32_t) p[0] << 24) | (p[1] << 16) | (p[2] << 8) | p[3];
}

static inline uint64_t
be64 (const unsigned char *p)
{
  return ((uint64_t) be32 (p) << 32) | be32 (p + 4);
}

static inline void
put_le32 (unsigned char *p, uint32_t v)
{
  p[0] = v; p[1] = v >> 8; p[2] = v >> 16; p[3] = v >> 24;
}

static inline void
put_le64 (unsigned char *p, uint64_t v)
{
  put_le32 (p, (uint32_t) v);
  put_le32 (p + 4, (uint32_t) (v >> 32));
}

/* memcmp with itself shifted by one byte: the C library's vectorised
 * loop, much faster than a byte loop under emulation. */
static inline bool
all_zero (const unsigned char *p, size_t len)
{
  if (len == 0)
    return true;
  return p[0] == 0 && memcmp (p, p + 1, len - 1) == 0;
}

#endif /* GUESTBOX_DAEMON_BLOCKDEV_H */
