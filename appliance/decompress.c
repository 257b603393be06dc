/* guestbox - the appliance builder.
 * Copyright (C) 2026 the guestbox authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

/** Streaming decompression of one XZ (liblzma) or gzip (zlib) stream from
 * a byte range of a file into another file: used for the kernel payload
 * and for compressed kernel modules.  Stops at the end of the first
 * stream; bytes after it are ignored.  Output size is bounded. */

#include <config.h>

#include <errno.h>
#include <lzma.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "appliance-internal.h"

#define CHUNK 65536

/* Read up to LEN bytes at OFF; returns bytes read, 0 at EOF, -1 error. */
static ssize_t
pread_some (int fd, void *buf, size_t len, uint64_t off)
{
  ssize_t r;

  do
    r = pread (fd, buf, len, off);
  while (r == -1 && errno == EINTR);
  return r;
}

int
gbox_app_decompress (struct gbox_app_ctx *cx, int in_fd, uint64_t off,
                     uint64_t len, enum gbox_app_compression fmt,
                     int out_fd, const char *what, uint64_t max_out)
{
  unsigned char *in, *out;
  uint64_t pos = off, end = off + len, total = 0;
  lzma_stream xz = LZMA_STREAM_INIT;
  z_stream z;
  bool done = false;
  int r = -1;

  in = malloc (CHUNK);
  out = malloc (CHUNK);
  if (!in || !out) {
    free (in);
    free (out);
    return gbox_app_error (cx, "%s: out of memory", what);
  }
  memset (&z, 0, sizeof z);
  if (fmt == GBOX_APP_XZ) {
    if (lzma_stream_decoder (&xz, UINT64_MAX, 0) != LZMA_OK) {
      gbox_app_error (cx, "%s: cannot initialise the XZ decoder", what);
      goto out_free;
    }
  }
  else if (inflateInit2 (&z, 15 + 16) != Z_OK) {
    gbox_app_error (cx, "%s: cannot initialise the gzip decoder", what);
    goto out_free;
  }

  while (!done) {
    size_t avail = 0;
    bool eof = false;

    if (pos < end) {
      ssize_t n = pread_some (in_fd, in,
                              end - pos < CHUNK ? end - pos : CHUNK, pos);
      if (n == -1) {
        gbox_app_error (cx, "%s: read: %s", what, strerror (errno));
        goto out;
      }
      if (n == 0)
        eof = true;
      avail = n;
      pos += n;
    }
    else
      eof = true;

    if (fmt == GBOX_APP_XZ) {
      xz.next_in = in;
      xz.avail_in = avail;
      do {
        lzma_ret lr;
        xz.next_out = out;
        xz.avail_out = CHUNK;
        lr = lzma_code (&xz, eof ? LZMA_FINISH : LZMA_RUN);
        if (lr != LZMA_OK && lr != LZMA_STREAM_END) {
          gbox_app_error (cx, "%s: XZ data is %s", what,
                          lr == LZMA_BUF_ERROR ? "truncated" : "corrupt");
          goto out;
        }
        total += CHUNK - xz.avail_out;
        if (total > max_out) {
          gbox_app_error (cx, "%s: decompressed data too large", what);
          goto out;
        }
        if (gbox_app_write_all (out_fd, out, CHUNK - xz.avail_out) == -1) {
          gbox_app_error (cx, "%s: write: %s", what, strerror (errno));
          goto out;
        }
        if (lr == LZMA_STREAM_END) {
          done = true;
          break;
        }
      } while (xz.avail_out == 0 || xz.avail_in > 0);
    }
    else {
      z.next_in = in;
      z.avail_in = avail;
      do {
        int zr;
        z.next_out = out;
        z.avail_out = CHUNK;
        zr = inflate (&z, Z_NO_FLUSH);
        if (zr != Z_OK && zr != Z_STREAM_END &&
            !(zr == Z_BUF_ERROR && !eof)) {
          gbox_app_error (cx, "%s: gzip data is %s", what,
                          zr == Z_BUF_ERROR ? "truncated" : "corrupt");
          goto out;
        }
        total += CHUNK - z.avail_out;
        if (total > max_out) {
          gbox_app_error (cx, "%s: decompressed data too large", what);
          goto out;
        }
        if (gbox_app_write_all (out_fd, out, CHUNK - z.avail_out) == -1) {
          gbox_app_error (cx, "%s: write: %s", what, strerror (errno));
          goto out;
        }
        if (zr == Z_STREAM_END) {
          done = true;
          break;
        }
        if (zr == Z_BUF_ERROR)
          break;                /* needs more input */
      } while (z.avail_out == 0 || z.avail_in > 0);
    }
    if (!done && eof) {
      gbox_app_error (cx, "%s: compressed data is truncated", what);
      goto out;
    }
  }
  r = 0;

 out:
  if (fmt == GBOX_APP_XZ)
    lzma_end (&xz);
  else
    inflateEnd (&z);
 out_free:
  free (in);
  free (out);
  return r;
}
