/* guestbox - libFuzzer harness: the library's reply decoder.
 * Copyright (C) 2026 the guestbox authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

/**
 * The fuzzer's bytes are what a (hostile) daemon sends after its launch
 * flag: the library makes one call chosen by the first byte (plain,
 * list, FileOut), then a second plain call, over a socketpair whose
 * other end holds exactly those bytes and then end-of-file.  Any
 * answer is fine; a crash, a hang or a leak is a finding.
 */

#include <config.h>

#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <sys/socket.h>

#include "guestbox-internal.h"

/* What fits in the socket buffers without a writer thread. */
#define MAX_INPUT (120 * 1024)

static int devnull = -1;

static void
one_call (gbox_h *h, unsigned sel)
{
  switch (sel % 9) {
  case 0: {
    struct gbox_version_ret v;
    memset (&v, 0, sizeof v);
    if (gbox_version (h, &v) == 0)
      xdr_free ((xdrproc_t) xdr_gbox_version_ret, (char *) &v);
    break;
  }
  case 1: {
    struct gbox_readdir_stat_ret r;
    memset (&r, 0, sizeof r);
    if (gbox_readdir_stat (h, "/", 0, &r) == 0)
      xdr_free ((xdrproc_t) xdr_gbox_readdir_stat_ret, (char *) &r);
    break;
  }
  case 2:
    gbox_download (h, "/etc/hostname", devnull);
    break;
  case 3: {
    struct gbox_stat st;
    gbox_stat_path (h, "/etc", &st);
    break;
  }
  case 4:
    free (gbox_readlink (h, "/etc/os-release"));
    break;
  case 5: {
    struct gbox_list_filesystems_ret r;
    memset (&r, 0, sizeof r);
    if (gbox_list_filesystems (h, &r) == 0)
      xdr_free ((xdrproc_t) xdr_gbox_list_filesystems_ret, (char *) &r);
    break;
  }
  case 6: {
    struct gbox_inspect_full_ret r;
    memset (&r, 0, sizeof r);
    if (gbox_inspect_full (h, &r) == 0)
      xdr_free ((xdrproc_t) xdr_gbox_inspect_full_ret, (char *) &r);
    break;
  }
  case 7: {
    struct gbox_dirent *e = NULL;
    size_t n = 0;
    if (gbox_readdir_stat_all (h, "/", &e, &n) == 0)
      gbox_free_dirents (e, n);
    break;
  }
  case 8:
    gbox_is_dir (h, "/etc");
    break;
  }
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  uint32_t flag = htonl (GBOX_LAUNCH_FLAG);
  int sv[2], bufsz = 4 * MAX_INPUT;
  unsigned sel;
  gbox_h *h;

  if (size < 1 || size > MAX_INPUT)
    return 0;
  if (devnull == -1)
    devnull = open ("/dev/null", O_WRONLY | O_CLOEXEC);
  sel = data[0];
  data++;
  size--;

  if (socketpair (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == -1)
    abort ();
  setsockopt (sv[1], SOL_SOCKET, SO_SNDBUF, &bufsz, sizeof bufsz);
  setsockopt (sv[0], SOL_SOCKET, SO_RCVBUF, &bufsz, sizeof bufsz);
  if (write (sv[1], &flag, 4) != 4 ||
      (size > 0 && write (sv[1], data, size) != (ssize_t) size))
    abort ();
  shutdown (sv[1], SHUT_WR);

  h = gbox_create ();
  if (!h)
    abort ();
  gbox_set_call_timeout (h, 2);
  if (gbox_connect_fd (h, sv[0]) == 0) {
    one_call (h, sel);
    one_call (h, sel >> 4);
  }
  gbox_close (h);
  close (sv[1]);
  return 0;
}
