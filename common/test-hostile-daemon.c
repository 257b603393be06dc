/* guestbox - a hostile daemon against the real library.
 * Copyright (C) 2026 the guestbox authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

/**
 * The appliance may be run by a hostile image: this test plays a
 * compromised daemon on one end of a socketpair (a thread answering
 * each call with a scripted, adversarial reply) and drives the real
 * libguestbox.a (and virt-resize's planner) on the other end.  Each
 * case checks what the host does with the reply:
 *
 *  - a partition layout of 64 "extended" primaries and 64 logicals
 *    and other impossible layouts: refused by rz_layout_check, and
 *    planned within bounds even unchecked;
 *  - lists whose count word claims 4 GiB of elements in a 40-byte
 *    reply (directory entries, checksums, applications): refused at
 *    once, nothing reserved;
 *  - listings whose pages never end: stopped by the memory budget;
 *  - a download larger than the size reported, and a daemon that keeps
 *    sending after the cancel: stopped at the maximum;
 *  - inspection strings and error messages with ESC, BEL, invalid
 *    UTF-8 and U+FFFE: valid UTF-8 without control characters on the
 *    host, mount points with control characters dropped;
 *  - progress messages forever and no reply: stopped by the overall
 *    deadline;
 *  - inspect_mount (the -i case in one call) replying mounts that are
 *    not the inspection's plan, more of them, mounts with encrypted
 *    devices left or for two operating systems, and a failed "/" with
 *    ESC in its error: refused, or the error clean.
 */

#include <config.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include "guestbox-internal.h"
#include "options.h"
#include "test-helpers.h"
#include "../resize/resize.h"

/*----------------------------------------------------------------------
 * The hostile daemon.
 */

struct peer {
  int fd;
  void (*script) (struct peer *p);
  int proc;
  unsigned serial;
  bool saw_cancel;
};

static bool
peer_read (struct peer *p, void *buf, size_t n)
{
  char *q = buf;

  while (n > 0) {
    ssize_t r = read (p->fd, q, n);
    if (r == -1 && errno == EINTR)
      continue;
    if (r <= 0)
      return false;
    q += r;
    n -= r;
  }
  return true;
}

static bool
peer_write (struct peer *p, const void *buf, size_t n)
{
  return send (p->fd, buf, n, MSG_NOSIGNAL) == (ssize_t) n;
}

/* Read one call (its header only matters). */
static bool
peer_read_call (struct peer *p)
{
  struct gbox_message_header hdr;
  uint32_t len;
  char *buf;
  XDR xdr;
  bool ok;

  if (!peer_read (p, &len, 4))
    return false;
  len = ntohl (len);
  if (len > GBOX_MESSAGE_MAX)
    return false;
  buf = malloc (len);
  if (buf == NULL || !peer_read (p, buf, len)) {
    free (buf);
    return false;
  }
  memset (&hdr, 0, sizeof hdr);
  xdrmem_create (&xdr, buf, len, XDR_DECODE);
  ok = xdr_gbox_message_header (&xdr, &hdr);
  xdr_destroy (&xdr);
  free (buf);
  p->proc = hdr.proc;
  p->serial = hdr.serial;
  return ok;
}

/* Send a reply: header, then BODY encoded, then RAW bytes. */
static bool
peer_reply (struct peer *p, int status, xdrproc_t body, void *arg,
            const void *raw, size_t rawlen)
{
  struct gbox_message_header hdr = {
    .prog = GBOX_PROGRAM, .vers = GBOX_PROTOCOL_VERSION, .proc = p->proc,
    .direction = GBOX_REPLY, .serial = p->serial, .status = status,
  };
  size_t max = 4 * 1024 * 1024;
  char *buf = malloc (max);
  uint32_t len;
  XDR xdr;
  bool ok;

  if (buf == NULL)
    return false;
  xdrmem_create (&xdr, buf + 4, max - 4 - rawlen, XDR_ENCODE);
  ok = xdr_gbox_message_header (&xdr, &hdr) &&
    (body == NULL || body (&xdr, arg, 0));
  len = xdr_getpos (&xdr);
  xdr_destroy (&xdr);
  if (ok) {
    if (rawlen > 0)
      memcpy (buf + 4 + len, raw, rawlen);
    len += rawlen;
    *(uint32_t *) buf = htonl (len);
    ok = peer_write (p, buf, len + 4);
  }
  free (buf);
  return ok;
}

static bool
peer_error (struct peer *p, const char *msg)
{
  struct gbox_message_error e = {
    .errno_name = (char *) "EIO", .error_message = (char *) msg,
  };
  return peer_reply (p, GBOX_STATUS_ERROR,
                     (xdrproc_t) xdr_gbox_message_error, &e, NULL, 0);
}

static bool
peer_chunk (struct peer *p, int cancel, const char *data, size_t n)
{
  struct gbox_chunk c = { .cancel = cancel };
  static char buf[GBOX_CHUNK_SIZE + 16];
  uint32_t len;
  XDR xdr;

  c.data.data_val = (char *) data;
  c.data.data_len = n;
  xdrmem_create (&xdr, buf + 4, sizeof buf - 4, XDR_ENCODE);
  if (!xdr_gbox_chunk (&xdr, &c))
    return false;
  len = xdr_getpos (&xdr);
  xdr_destroy (&xdr);
  *(uint32_t *) buf = htonl (len);
  return peer_write (p, buf, len + 4);
}

/* Has the library written the cancel flag? (non-blocking) */
static bool
peer_cancelled (struct peer *p)
{
  uint32_t w;
  ssize_t r = recv (p->fd, &w, 4, MSG_DONTWAIT | MSG_PEEK);

  if (r == 4 && ntohl (w) == GBOX_CANCEL_FLAG) {
    recv (p->fd, &w, 4, 0);
    p->saw_cancel = true;
  }
  return p->saw_cancel;
}

static void *
peer_thread (void *arg)
{
  struct peer *p = arg;
  uint32_t flag = htonl (GBOX_LAUNCH_FLAG);

  if (peer_write (p, &flag, 4))
    p->script (p);
  shutdown (p->fd, SHUT_WR);
  return NULL;
}

/* A handle connected to a hostile daemon running SCRIPT. */
static gbox_h *
start (struct peer *p, void (*script) (struct peer *), pthread_t *t)
{
  int sv[2];
  gbox_h *h;

  memset (p, 0, sizeof *p);
  if (socketpair (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == -1) {
    perror ("socketpair");
    exit (EXIT_FAILURE);
  }
  p->fd = sv[1];
  p->script = script;
  pthread_create (t, NULL, peer_thread, p);
  h = gbox_create ();
  if (h == NULL) {
    perror ("gbox_create");
    exit (EXIT_FAILURE);
  }
  gbox_set_call_timeout (h, 10);
  if (gbox_connect_fd (h, sv[0]) == -1) {
    fprintf (stderr, "FAIL: connect: %s\n", gbox_last_error (h));
    exit (EXIT_FAILURE);
  }
  return h;
}

static void
finish (gbox_h *h, struct peer *p, pthread_t t)
{
  gbox_close (h);
  pthread_join (t, NULL);
  close (p->fd);
}

static long
maxrss_mb (void)
{
  struct rusage ru;

  getrusage (RUSAGE_SELF, &ru);
  return ru.ru_maxrss / 1024;
}

/* Valid UTF-8 with no C0/C1 control and no U+FFFE/U+FFFF? */
static bool
clean_string (const char *s)
{
  const unsigned char *p = (const unsigned char *) s;

  while (p && *p) {
    unsigned c = *p, len = c < 0x80 ? 1 : c >= 0xf0 ? 4 : c >= 0xe0 ? 3 :
      c >= 0xc2 ? 2 : 0, k;
    uint32_t cp = len == 1 ? c : len == 2 ? c & 0x1f : len == 3 ? c & 0x0f
      : c & 0x07;

    if (len == 0 || c > 0xf4)
      return false;
    for (k = 1; k < len; ++k) {
      if ((p[k] & 0xc0) != 0x80)
        return false;
      cp = (cp << 6) | (p[k] & 0x3f);
    }
    if (cp < 0x20 || cp == 0x7f || (cp >= 0x80 && cp <= 0x9f) ||
        cp == 0xfffe || cp == 0xffff || (cp >= 0xd800 && cp <= 0xdfff))
      return false;
    p += len;
  }
  return true;
}

/*----------------------------------------------------------------------
 * Finding 1: hostile partition layouts reach virt-resize's planner.
 */

static gbox_partition layout_parts[128];

static void
script_layout (struct peer *p)
{
  struct gbox_part_get_layout_ret r;
  unsigned char boot[440] = { 0xeb };
  size_t i;

  memset (&r, 0, sizeof r);
  r.layout.label = (char *) "dos";
  r.layout.disk_id = (char *) "0x1";
  r.layout.disk_size = 1ULL << 30;
  r.layout.sector_size = 512;
  r.layout.bootcode.bootcode_val = (char *) boot;
  r.layout.bootcode.bootcode_len = sizeof boot;
  for (i = 0; i < 128; ++i) {
    gbox_partition *q = &layout_parts[i];
    q->num = i < 64 ? 1 + (int) (i % 4) : (int) i - 59;
    q->start = (1 + i) << 20;
    q->size = 1 << 20;
    q->ebr = q->start - 512;
    q->mbr_type = i < 64 ? 0x05 : 0x83;
    q->type_guid = q->part_guid = q->name = (char *) "";
  }
  r.layout.parts.parts_val = layout_parts;
  r.layout.parts.parts_len = 128;
  if (peer_read_call (p))
    peer_reply (p, GBOX_STATUS_OK,
                (xdrproc_t) xdr_gbox_part_get_layout_ret, &r, NULL, 0);
}

static void
test_layout (void)
{
  struct peer p;
  pthread_t t;
  gbox_h *h = start (&p, script_layout, &t);
  struct gbox_part_get_layout_ret r;
  struct rz_plan plan;
  char err[512] = "";

  memset (&r, 0, sizeof r);
  CHECK (gbox_part_get_layout (h, "/dev/sda", &r) == 0,
         "layout: 128 partitions decoded");
  CHECK (rz_layout_check (&r.layout, err, sizeof err) == -1 &&
         test_contains (err, "more than one extended partition"),
         "layout: 64 extended + 64 logicals refused: %s", err);
  /* Unchecked, the planner still stays inside its arrays (ASan). */
  if (rz_plan_init (&plan, &r.layout, 2ULL << 30) == 0) {
    CHECK (plan.nparts <= r.layout.parts.parts_len,
           "layout: unchecked plan has %zu of %u partitions", plan.nparts,
           r.layout.parts.parts_len);
    rz_plan_compute (&plan, err, sizeof err);
    rz_plan_free (&plan);
  }
  xdr_free ((xdrproc_t) xdr_gbox_part_get_layout_ret, (char *) &r);
  finish (h, &p, t);
}

/*----------------------------------------------------------------------
 * Finding 4: a count word of 4 billion in a tiny reply.
 */

static void
script_huge_count (struct peer *p)
{
  /* The largest count whose array still fits 4 GiB (larger ones
   * libtirpc refuses itself), then nothing: the reply is 40 bytes. */
  while (peer_read_call (p)) {
    size_t elsize = p->proc == GBOX_PROC_READDIR_STAT ? sizeof (gbox_dirent)
      : p->proc == GBOX_PROC_CHECKSUMS ? sizeof (gbox_checksum_entry)
      : sizeof (gbox_application);
    uint32_t raw[2] = { htonl (UINT32_MAX / elsize), 0 };

    peer_reply (p, GBOX_STATUS_OK, NULL, NULL, raw, sizeof raw);
  }
}

static void
test_huge_count (void)
{
  struct peer p;
  pthread_t t;
  gbox_h *h;
  double t0;
  long rss0 = maxrss_mb ();
  int r;

  {
    struct gbox_readdir_stat_ret ret;
    h = start (&p, script_huge_count, &t);
    t0 = test_now ();
    r = gbox_readdir_stat (h, "/", 0, &ret);
    CHECK (r == -1 && test_now () - t0 < 2,
           "huge count: readdir_stat refused in %.2f s: %s",
           test_now () - t0, gbox_last_error (h));
    finish (h, &p, t);
  }
  {
    struct gbox_checksums_ret ret;
    h = start (&p, script_huge_count, &t);
    t0 = test_now ();
    r = gbox_checksums (h, "/", "md5", 0, &ret);
    CHECK (r == -1 && test_now () - t0 < 2,
           "huge count: checksums refused in %.2f s: %s",
           test_now () - t0, gbox_last_error (h));
    finish (h, &p, t);
  }
  {
    struct gbox_inspect_list_applications_ret ret;
    h = start (&p, script_huge_count, &t);
    t0 = test_now ();
    r = gbox_inspect_list_applications (h, "/dev/sda1", 0, &ret);
    CHECK (r == -1 && test_now () - t0 < 2,
           "huge count: list_applications refused in %.2f s: %s",
           test_now () - t0, gbox_last_error (h));
    finish (h, &p, t);
  }
  CHECK (maxrss_mb () - rss0 < 200, "huge count: peak RSS grew by %ld MB",
         maxrss_mb () - rss0);
}

/*----------------------------------------------------------------------
 * Finding 4: pages that never end.
 */

#define PAGE_ENTRIES 2000

static void
script_endless_readdir (struct peer *p)
{
  static gbox_dirent e[PAGE_ENTRIES];
  static char name[200];
  struct gbox_readdir_stat_ret r;
  size_t i;

  memset (name, 'n', sizeof name - 1);
  for (i = 0; i < PAGE_ENTRIES; ++i) {
    e[i].name = name;
    e[i].link = (char *) "";
    e[i].st.mode = 0100644;
  }
  r.entries.entries_val = e;
  r.entries.entries_len = PAGE_ENTRIES;
  r.more = 1;
  while (peer_read_call (p))
    if (!peer_reply (p, GBOX_STATUS_OK,
                     (xdrproc_t) xdr_gbox_readdir_stat_ret, &r, NULL, 0))
      break;
}

static void
script_endless_checksums (struct peer *p)
{
  static gbox_checksum_entry e[PAGE_ENTRIES];
  static char name[200];
  struct gbox_checksums_ret r;
  size_t i;

  memset (name, 'c', sizeof name - 1);
  for (i = 0; i < PAGE_ENTRIES; ++i) {
    e[i].name = name;
    e[i].checksum = (char *) "d41d8cd98f00b204e9800998ecf8427e";
  }
  r.entries.entries_val = e;
  r.entries.entries_len = PAGE_ENTRIES;
  r.more = 1;
  r.next = 0;
  while (peer_read_call (p)) {
    r.next += PAGE_ENTRIES;
    if (!peer_reply (p, GBOX_STATUS_OK,
                     (xdrproc_t) xdr_gbox_checksums_ret, &r, NULL, 0))
      break;
  }
}

static void
test_endless_pages (void)
{
  struct peer p;
  pthread_t t;
  gbox_h *h;
  long rss0 = maxrss_mb ();

  {
    struct gbox_dirent *e = NULL;
    size_t n = 0;
    int rc;
    h = start (&p, script_endless_readdir, &t);
    gbox_set_memory_budget (h, 16 << 20);
    rc = gbox_readdir_stat_all (h, "/", &e, &n);
    CHECK (rc == -1 && gbox_last_errno (h) == EFBIG &&
           test_contains (gbox_last_error (h), "GBOX_MEMORY_BUDGET"),
           "endless pages: readdir stopped by the budget: %s",
           gbox_last_error (h));
    finish (h, &p, t);
  }
  {
    /* As virt-ls --checksum pages: ask again from 'next' until done. */
    struct gbox_checksums_ret r;
    uint64_t start_at = 0;
    unsigned pages = 0;
    int rc;
    h = start (&p, script_endless_checksums, &t);
    gbox_set_memory_budget (h, 16 << 20);
    for (;;) {
      rc = gbox_checksums (h, "/", "md5", start_at, &r);
      if (rc == -1)
        break;
      start_at = r.next;
      xdr_free ((xdrproc_t) xdr_gbox_checksums_ret, (char *) &r);
      if (++pages > 100000)
        break;
    }
    CHECK (rc == -1 && gbox_last_errno (h) == EFBIG,
           "endless pages: checksums stopped by the budget after %u pages: "
           "%s", pages, gbox_last_error (h));
    finish (h, &p, t);
  }
  CHECK (maxrss_mb () - rss0 < 200, "endless pages: peak RSS grew by %ld MB",
         maxrss_mb () - rss0);
}

/*----------------------------------------------------------------------
 * Finding 5: a download larger than reported.
 */

static bool ignore_cancel;

static void
script_big_download (struct peer *p)
{
  static char data[GBOX_CHUNK_SIZE];
  unsigned i;

  memset (data, 'x', sizeof data);
  if (!peer_read_call (p) || !peer_reply (p, GBOX_STATUS_OK, NULL, NULL,
                                          NULL, 0))
    return;
  /* 64 MiB, or until the library cancels (unless we ignore it: then
   * up to 1 GiB). */
  for (i = 0; i < (ignore_cancel ? 4096u : 256u); ++i) {
    if (!ignore_cancel && peer_cancelled (p))
      break;
    if (!peer_chunk (p, 0, data, sizeof data))
      return;
  }
  if (p->saw_cancel) {
    peer_chunk (p, 1, NULL, 0);
    peer_error (p, "download: cancelled");
  }
  else
    peer_chunk (p, 0, NULL, 0);
}

static void
test_big_download (void)
{
  struct peer p;
  pthread_t t;
  gbox_h *h;
  char *dir = test_mkdtemp (), *path;
  struct stat st;
  int fd, r;

  if (asprintf (&path, "%s/out", dir) == -1)
    abort ();
  ignore_cancel = false;
  h = start (&p, script_big_download, &t);
  fd = open (path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  r = gbox_download_max (h, "/etc/hostname", fd, 6);
  close (fd);
  stat (path, &st);
  CHECK (r == -1 && gbox_last_errno (h) == EFBIG && st.st_size <= 6,
         "big download: stopped at 6 bytes (%jd written): %s",
         (intmax_t) st.st_size, gbox_last_error (h));
  CHECK (p.saw_cancel || h->fd == -1, "big download: the transfer was "
         "cancelled");
  finish (h, &p, t);

  ignore_cancel = true;
  h = start (&p, script_big_download, &t);
  fd = open (path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  r = gbox_download_max (h, "/etc/hostname", fd, 6);
  close (fd);
  stat (path, &st);
  CHECK (r == -1 && st.st_size <= 6 &&
         test_contains (gbox_last_error (h), "kept sending"),
         "big download, cancel ignored: cut off (%jd written): %s",
         (intmax_t) st.st_size, gbox_last_error (h));
  finish (h, &p, t);
  unlink (path);
  rmdir (dir);
  free (path);
  free (dir);
}

/*----------------------------------------------------------------------
 * Finding 3: control bytes and invalid UTF-8 in guest strings.
 */

static const char evil[] = "a\033[31mred\007\xff\xfe\xef\xbf\xbe\xc2\x9bz";

static void
script_strings (struct peer *p)
{
  gbox_mountpoint mps[2] = {
    { .mountpoint = (char *) "/", .device = (char *) "/dev/sda1" },
    { .mountpoint = (char *) "/\033]0;pwned\007", .device = (char *) "/dev/sda2" },
  };
  gbox_filesystem fs = {
    .device = (char *) "/dev/sda1", .type = (char *) "ext4",
    .label = (char *) evil, .uuid = (char *) "",
  };
  gbox_inspected_os os;
  struct gbox_inspect_full_ret full;
  char *warn = (char *) evil;

  memset (&os, 0, sizeof os);
  os.root = (char *) "/dev/sda1";
  os.type = (char *) "linux";
  os.distro = (char *) "debian";
  os.product_name = (char *) evil;
  os.product_variant = os.arch = os.build_id = os.osinfo = (char *) "";
  os.package_format = os.package_management = (char *) "";
  os.windows_systemroot = os.windows_current_control_set = (char *) "";
  os.hostname = (char *) evil;
  os.mountpoints.mountpoints_val = mps;
  os.mountpoints.mountpoints_len = 2;
  os.filesystems.filesystems_val = &fs;
  os.filesystems.filesystems_len = 1;
  memset (&full, 0, sizeof full);
  full.oses.oses_val = &os;
  full.oses.oses_len = 1;
  full.warnings.warnings_val = &warn;
  full.warnings.warnings_len = 1;

  if (!peer_read_call (p) ||
      !peer_reply (p, GBOX_STATUS_OK, (xdrproc_t) xdr_gbox_inspect_full_ret,
                   &full, NULL, 0))
    return;
  if (peer_read_call (p))
    peer_error (p, "mount: /dev/sda2 on /\033]0;pwned\007: \033[2J failed");
}

static void
test_strings (void)
{
  struct peer p;
  pthread_t t;
  gbox_h *h = start (&p, script_strings, &t);
  struct gbox_inspect_full_ret full;
  bool clean = true;
  u_int i;
  int r;

  if (gbox_inspect_full (h, &full) == 0) {
    gbox_inspected_os *os = &full.oses.oses_val[0];
    clean = clean_string (os->product_name) && clean_string (os->hostname) &&
      clean_string (os->filesystems.filesystems_val[0].label) &&
      clean_string (full.warnings.warnings_val[0]);
    for (i = 0; i < os->mountpoints.mountpoints_len; ++i)
      clean &= clean_string (os->mountpoints.mountpoints_val[i].mountpoint);
    CHECK (clean, "strings: inspect_full fields are clean UTF-8 (%s)",
           os->hostname);
    CHECK (os->mountpoints.mountpoints_len == 1,
           "strings: the mount point with controls was dropped (%u left)",
           os->mountpoints.mountpoints_len);
    xdr_free ((xdrproc_t) xdr_gbox_inspect_full_ret, (char *) &full);
  }
  else
    CHECK (0, "strings: inspect_full: %s", gbox_last_error (h));
  r = gbox_mount (h, "/dev/sda2", "/x", NULL, 0);
  CHECK (r == -1 && clean_string (gbox_last_error (h)) &&
         test_contains (gbox_last_error (h), "pwned"),
         "strings: a daemon error with ESC/BEL reaches the caller clean: %s",
         gbox_last_error (h));
  finish (h, &p, t);
}

/*----------------------------------------------------------------------
 * Finding 10: progress forever, no reply.
 */

static void
script_progress_forever (struct peer *p)
{
  uint64_t pos = 0;

  if (!peer_read_call (p))
    return;
  for (;;) {
    struct gbox_progress pr = {
      .proc = p->proc, .serial = p->serial, .position = pos++, .total = 0,
    };
    char buf[28];
    XDR xdr;
    struct timespec ts = { 0, 100 * 1000000L };

    *(uint32_t *) buf = htonl (GBOX_PROGRESS_FLAG);
    xdrmem_create (&xdr, buf + 4, 24, XDR_ENCODE);
    xdr_gbox_progress (&xdr, &pr);
    xdr_destroy (&xdr);
    if (!peer_write (p, buf, sizeof buf))
      return;
    nanosleep (&ts, NULL);
  }
}

static void
test_progress_forever (void)
{
  struct peer p;
  pthread_t t;
  gbox_h *h = start (&p, script_progress_forever, &t);
  double t0 = test_now ();
  int r;

  gbox_set_call_timeout (h, 1);
  gbox_set_call_deadline (h, 2);
  r = gbox_sync (h);
  CHECK (r == -1 && test_now () - t0 < 5 &&
         test_contains (gbox_last_error (h), "GBOX_CALL_DEADLINE"),
         "progress forever: stopped after %.1f s: %s", test_now () - t0,
         gbox_last_error (h));
  finish (h, &p, t);
}

/*----------------------------------------------------------------------
 * inspect_mount: the mounts must be the plan of the one OS found.
 */

enum im_case {
  IM_GOOD,                      /* "/" mounted, "/boot" failed */
  IM_OTHER_DEVICE,              /* "/boot" from another device */
  IM_TOO_MANY,                  /* three results for two mountpoints */
  IM_CRYPT_AND_INSPECTED,       /* inspected with a LUKS device left */
  IM_TWO_OSES,                  /* mounts although two OSes were found */
  IM_ROOT_FAILS,                /* "/" failed, ESC in the error */
};
static enum im_case im_case;

static void
script_inspect_mount (struct peer *p)
{
  gbox_mountpoint mps[2] = {
    { .mountpoint = (char *) "/boot", .device = (char *) "/dev/sda1" },
    { .mountpoint = (char *) "/", .device = (char *) "/dev/sda2" },
  };
  gbox_mount_result res[3] = {
    { .mountpoint = (char *) "/", .device = (char *) "/dev/sda2",
      .error = (char *) "" },
    { .mountpoint = (char *) "/boot", .device = (char *) "/dev/sda1",
      .error = (char *) "mount_ro: /dev/sda1 on /boot (vfat): cannot mount" },
    { .mountpoint = (char *) "/usr", .device = (char *) "/dev/sda3",
      .error = (char *) "" },
  };
  gbox_crypt_device crypt = {
    .device = (char *) "/dev/sda3", .uuid = (char *) "",
    .type = (char *) "crypto_LUKS",
  };
  gbox_inspected_os os[2];
  struct gbox_inspect_mount_ret ret;
  size_t i;

  memset (os, 0, sizeof os);
  for (i = 0; i < 2; ++i) {
    os[i].root = (char *) (i ? "/dev/sdb1" : "/dev/sda2");
    os[i].type = (char *) "linux";
    os[i].distro = (char *) "debian";
    os[i].product_name = os[i].product_variant = os[i].arch = (char *) "";
    os[i].hostname = os[i].build_id = os[i].osinfo = (char *) "";
    os[i].package_format = os[i].package_management = (char *) "";
    os[i].windows_systemroot = os[i].windows_current_control_set = (char *) "";
    os[i].mountpoints.mountpoints_val = mps;
    os[i].mountpoints.mountpoints_len = 2;
  }
  memset (&ret, 0, sizeof ret);
  ret.inspected = true;
  ret.inspection.oses.oses_val = os;
  ret.inspection.oses.oses_len = im_case == IM_TWO_OSES ? 2 : 1;
  ret.mounts.mounts_val = res;
  ret.mounts.mounts_len = 2;
  switch (im_case) {
  case IM_GOOD: case IM_TWO_OSES:
    break;
  case IM_OTHER_DEVICE:
    res[1].device = (char *) "/dev/sdb9";
    break;
  case IM_TOO_MANY:
    ret.mounts.mounts_len = 3;
    break;
  case IM_CRYPT_AND_INSPECTED:
    ret.crypt.crypt_val = &crypt;
    ret.crypt.crypt_len = 1;
    ret.mounts.mounts_len = 0;
    break;
  case IM_ROOT_FAILS:
    res[0].error = (char *) "mount_ro: /dev/sda2 on /: \033]0;pwned\007 bad";
    ret.mounts.mounts_len = 1;
    break;
  }
  if (peer_read_call (p) && p->proc == GBOX_PROC_INSPECT_MOUNT)
    peer_reply (p, GBOX_STATUS_OK, (xdrproc_t) xdr_gbox_inspect_mount_ret,
                &ret, NULL, 0);
  /* Anything else (a mount_ro of the library's own): refused. */
  while (peer_read_call (p) && p->proc != GBOX_PROC_SHUTDOWN)
    peer_error (p, "unexpected call");
}

static void
test_inspect_mount (void)
{
  static const struct {
    enum im_case c;
    int want;
    const char *error;
  } cases[] = {
    { IM_GOOD, 0, NULL },
    { IM_OTHER_DEVICE, -1, "mounted other filesystems than the inspection "
      "planned" },
    { IM_TOO_MANY, -1, "mounted more filesystems than the inspection "
      "planned" },
    { IM_CRYPT_AND_INSPECTED, -1, "inconsistent reply" },
    { IM_TWO_OSES, -1, "inconsistent reply" },
    { IM_ROOT_FAILS, -1, "mount_ro: /dev/sda2 on /: ?]0;pwned? bad" },
  };
  size_t i;

  for (i = 0; i < sizeof cases / sizeof cases[0]; ++i) {
    struct peer p;
    pthread_t t;
    struct gbox_opts o;
    gbox_h *h;
    int r;

    im_case = cases[i].c;
    h = start (&p, script_inspect_mount, &t);
    gbox_opts_init (&o, "test", "", NULL, 1);
    r = gbox_opts_mount (h, &o);
    if (cases[i].want == 0)
      CHECK (r == 0 && o.nr_plan == 2 && o.root_device &&
             strcmp (o.root_device, "/dev/sda2") == 0,
             "inspect_mount %zu: the plan mounted from the reply (%s)", i,
             r == 0 ? "ok" : gbox_last_error (h));
    else
      CHECK (r == -1 && clean_string (gbox_last_error (h)) &&
             test_contains (gbox_last_error (h), cases[i].error),
             "inspect_mount %zu: refused: %s", i, gbox_last_error (h));
    gbox_opts_free (&o);
    finish (h, &p, t);
  }
}

int
main (void)
{
  static const struct {
    const char *name;
    void (*fn) (void);
  } cases[] = {
    { "layout", test_layout },
    { "huge-count", test_huge_count },
    { "endless-pages", test_endless_pages },
    { "big-download", test_big_download },
    { "strings", test_strings },
    { "progress-forever", test_progress_forever },
    { "inspect-mount", test_inspect_mount },
  };
  const char *only = getenv ("HOSTILE_CASE");  /* run one case */
  size_t i;

  for (i = 0; i < sizeof cases / sizeof cases[0]; ++i)
    if (only == NULL || strcmp (only, cases[i].name) == 0)
      cases[i].fn ();
  return check_finish ("test-hostile-daemon");
}
