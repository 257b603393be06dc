/* guestbox - libFuzzer harness: a hostile daemon against whole flows.
 * Copyright (C) 2026 the guestbox authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

/**
 * The fuzzer's bytes are everything a compromised daemon sends after
 * its launch flag; the first byte picks the flow the host runs on top
 * of the replies, as the commands do: a whole paged directory listing
 * (virt-ls), checksum pages (virt-ls --checksum), full inspection
 * (virt-inspector), a partition layout checked and planned
 * (virt-resize's rz_layout_check, rz_plan_init, rz_plan_compute), a
 * download with a maximum size (virt-edit), application pages.  The
 * memory budget is small, so that unbounded growth shows as a leak or
 * an OOM rather than passing.  Any answer is fine; a crash, a hang, a
 * leak or an over-allocation is a finding.
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
#include "../resize/resize.h"

/* What fits in the socket buffers without a writer thread. */
#define MAX_INPUT (120 * 1024)

static int devnull = -1;

static void
flow (gbox_h *h, unsigned sel)
{
  switch (sel % 6) {
  case 0: {
    struct gbox_dirent *e = NULL;
    size_t n = 0;
    if (gbox_readdir_stat_all (h, "/", &e, &n) == 0)
      gbox_free_dirents (e, n);
    break;
  }
  case 1: {
    uint64_t start = 0;
    unsigned pages;
    for (pages = 0; pages < 64; ++pages) {
      struct gbox_checksums_ret r;
      if (gbox_checksums (h, "/", "md5", start, &r) == -1)
        break;
      start = r.next;
      xdr_free ((xdrproc_t) xdr_gbox_checksums_ret, (char *) &r);
      if (!r.more)
        break;
    }
    break;
  }
  case 2: {
    struct gbox_inspect_full_ret r;
    if (gbox_inspect_full (h, &r) == 0)
      xdr_free ((xdrproc_t) xdr_gbox_inspect_full_ret, (char *) &r);
    break;
  }
  case 3: {
    struct gbox_part_get_layout_ret r;
    struct rz_plan p;
    char err[512];
    if (gbox_part_get_layout (h, "/dev/sda", &r) == -1)
      break;
    if (rz_layout_check (&r.layout, err, sizeof err) == 0 &&
        rz_plan_init (&p, &r.layout, r.layout.disk_size + (sel << 20)) == 0) {
      if (p.nparts > 0) {
        struct rz_part *q = &p.parts[(sel >> 3) % p.nparts];
        if (sel & 0x40)
          q->expand = true;
        else
          q->shrink = true;
        strcpy (q->type, "ext4");
        q->content_size = q->src->size / 2;
      }
      rz_plan_compute (&p, err, sizeof err);
      rz_plan_free (&p);
    }
    xdr_free ((xdrproc_t) xdr_gbox_part_get_layout_ret, (char *) &r);
    break;
  }
  case 4:
    gbox_download_max (h, "/etc/hostname", devnull, 6);
    break;
  case 5: {
    uint64_t start = 0;
    unsigned pages;
    for (pages = 0; pages < 64; ++pages) {
      struct gbox_inspect_list_applications_ret r;
      if (gbox_inspect_list_applications (h, "/dev/sda1", start, &r) == -1)
        break;
      start += r.applications.applications_len;
      xdr_free ((xdrproc_t) xdr_gbox_inspect_list_applications_ret,
                (char *) &r);
      if (!r.more)
        break;
    }
    break;
  }
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
  gbox_set_call_deadline (h, 5);
  gbox_set_memory_budget (h, 8 << 20);
  if (gbox_connect_fd (h, sv[0]) == 0)
    flow (h, sel);
  gbox_close (h);
  close (sv[1]);
  return 0;
}
