/* guestbox - test the client framing against hand-made byte streams.
 * Copyright (C) 2026 the guestbox authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

/**
 * Each case runs a scripted fake daemon in a thread on one end of a
 * socketpair and checks what the library does on the other end:
 * replies, error replies and errno names, progress, stray flags,
 * oversize and truncated messages, wrong serials and versions,
 * timeouts, the launch flag, FileOut/FileIn with cancellation in both
 * directions, the console tail in errors, and tracing.
 */

#include <config.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include "guestbox-internal.h"
#include "cleanups.h"
#include "test-helpers.h"

/*----------------------------------------------------------------------
 * The fake daemon's tools.
 */

struct peer {
  int fd;
  void (*script) (struct peer *p);
  /* What the script observed, for the client side to check. */
  unsigned serial;              /* serial of the last call read */
  int proc;                     /* procedure of the last call read */
  unsigned progress_hint;
  char path[256];               /* path argument of the last call */
  uint64_t bytes;               /* FileIn bytes received */
  bool saw_cancel;              /* saw a cancel flag / cancel chunk */
  bool ok;                      /* the script ran to its end */
};

static void
sleep_ms (unsigned ms)
{
  struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
  nanosleep (&ts, NULL);
}

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

static bool
peer_word (struct peer *p, uint32_t w)
{
  w = htonl (w);
  return peer_write (p, &w, 4);
}

static bool
peer_read_word (struct peer *p, uint32_t *w)
{
  if (!peer_read (p, w, 4))
    return false;
  *w = ntohl (*w);
  return true;
}

/* Read one call; remember its header and (for path-like args) path. */
static bool
peer_read_call (struct peer *p)
{
  struct gbox_message_header hdr;
  uint32_t len;
  char *buf;
  XDR xdr;
  bool ok;

  if (!peer_read_word (p, &len) || len > GBOX_MESSAGE_MAX)
    return false;
  buf = malloc (len);
  if (!peer_read (p, buf, len)) {
    free (buf);
    return false;
  }
  memset (&hdr, 0, sizeof hdr);
  xdrmem_create (&xdr, buf, len, XDR_DECODE);
  ok = xdr_gbox_message_header (&xdr, &hdr) && hdr.prog == GBOX_PROGRAM &&
    hdr.vers == GBOX_PROTOCOL_VERSION && hdr.direction == GBOX_CALL;
  if (ok) {
    p->serial = hdr.serial;
    p->proc = hdr.proc;
    p->progress_hint = hdr.progress_hint;
    p->path[0] = '\0';
    if (len > 32) {
      char *s = NULL;

      if (xdr_string (&xdr, &s, sizeof p->path - 1)) {
        snprintf (p->path, sizeof p->path, "%s", s);
        free (s);
      }
    }
  }
  xdr_destroy (&xdr);
  free (buf);
  return ok;
}

/* Send a message: length word + header (with these fields) + body. */
static bool
peer_send (struct peer *p, unsigned prog, unsigned vers, int proc,
           unsigned serial, int status, xdrproc_t body, void *arg,
           unsigned extra_bytes)
{
  struct gbox_message_header hdr = {
    .prog = prog, .vers = vers, .proc = proc, .direction = GBOX_REPLY,
    .serial = serial, .status = status,
  };
  char buf[65536];
  uint32_t len;
  XDR xdr;

  xdrmem_create (&xdr, buf + 4, sizeof buf - 4 - extra_bytes, XDR_ENCODE);
  if (!xdr_gbox_message_header (&xdr, &hdr) ||
      (body && !body (&xdr, arg, 0)))
    return false;
  len = xdr_getpos (&xdr);
  xdr_destroy (&xdr);
  memset (buf + 4 + len, 0, extra_bytes);
  len += extra_bytes;
  *(uint32_t *) buf = htonl (len);
  return peer_write (p, buf, len + 4);
}

static bool
peer_reply_ok (struct peer *p, xdrproc_t body, void *arg)
{
  return peer_send (p, GBOX_PROGRAM, GBOX_PROTOCOL_VERSION, p->proc,
                    p->serial, GBOX_STATUS_OK, body, arg, 0);
}

static bool
peer_reply_error (struct peer *p, const char *errname, const char *msg)
{
  struct gbox_message_error e = {
    .errno_name = (char *) errname, .error_message = (char *) msg,
  };
  return peer_send (p, GBOX_PROGRAM, GBOX_PROTOCOL_VERSION, p->proc,
                    p->serial, GBOX_STATUS_ERROR,
                    (xdrproc_t) xdr_gbox_message_error, &e, 0);
}

static bool
peer_progress (struct peer *p, unsigned serial, uint64_t pos, uint64_t total)
{
  struct gbox_progress pr = {
    .proc = p->proc, .serial = serial, .position = pos, .total = total,
  };
  char buf[28];
  XDR xdr;

  *(uint32_t *) buf = htonl (GBOX_PROGRESS_FLAG);
  xdrmem_create (&xdr, buf + 4, 24, XDR_ENCODE);
  if (!xdr_gbox_progress (&xdr, &pr))
    return false;
  xdr_destroy (&xdr);
  return peer_write (p, buf, sizeof buf);
}

static bool
peer_chunk (struct peer *p, int cancel, const void *data, size_t n)
{
  struct gbox_chunk c = {
    .cancel = cancel, .data = { .data_len = n, .data_val = (char *) data },
  };
  char *buf = malloc (GBOX_CHUNK_SIZE + 16);
  uint32_t len;
  XDR xdr;
  bool ok;

  xdrmem_create (&xdr, buf + 4, GBOX_CHUNK_SIZE + 12, XDR_ENCODE);
  ok = xdr_gbox_chunk (&xdr, &c);
  len = xdr_getpos (&xdr);
  xdr_destroy (&xdr);
  *(uint32_t *) buf = htonl (len);
  ok = ok && peer_write (p, buf, len + 4);
  free (buf);
  return ok;
}

/* Read FileIn chunks until the end or a cancel chunk.  Returns 1 for a
 * cancel chunk, 0 at the end, -1 on error.  SEND_CANCEL_AFTER: write
 * the cancel flag after that many chunks (0 = never). */
static int
peer_read_chunks (struct peer *p, unsigned send_cancel_after)
{
  char *buf = malloc (GBOX_CHUNK_SIZE + 16);
  unsigned count = 0;
  int r = -1;

  for (;;) {
    struct gbox_chunk c;
    uint32_t len;
    XDR xdr;
    bool ok;

    if (!peer_read_word (p, &len) || len > GBOX_CHUNK_SIZE + 8 ||
        !peer_read (p, buf, len))
      break;
    memset (&c, 0, sizeof c);
    xdrmem_create (&xdr, buf, len, XDR_DECODE);
    ok = xdr_gbox_chunk (&xdr, &c);
    xdr_destroy (&xdr);
    if (!ok)
      break;
    p->bytes += c.data.data_len;
    free (c.data.data_val);
    if (c.cancel) {
      p->saw_cancel = true;
      r = 1;
      break;
    }
    if (c.data.data_len == 0) {
      r = 0;
      break;
    }
    if (++count == send_cancel_after && !peer_word (p, GBOX_CANCEL_FLAG))
      break;
  }
  free (buf);
  return r;
}

/* Answer any further call (the shutdown sent by gbox_close) with an
 * empty ok reply until the library closes its end. */
static void
peer_wait_eof (struct peer *p)
{
  struct peer q = *p;

  while (peer_read_call (&q) && peer_reply_ok (&q, NULL, NULL))
    p->proc = q.proc;
}

static void *
peer_thread (void *arg)
{
  struct peer *p = arg;

  p->script (p);
  close (p->fd);
  return NULL;
}

/*----------------------------------------------------------------------
 * Scripts.
 */

static void
s_launch (struct peer *p)
{
  p->ok = peer_word (p, GBOX_LAUNCH_FLAG);
  peer_wait_eof (p);
}

static void
s_silent (struct peer *p)
{
  peer_wait_eof (p);
}

static void
s_garbage_word (struct peer *p)
{
  p->ok = peer_word (p, 0x12345678);
  peer_wait_eof (p);
}

static void
s_close (struct peer *p)
{
}

static void
s_version (struct peer *p)
{
  char *features[] = { "alpha", "beta" };
  struct gbox_version_ret v = {
    .protocol = 1, .daemon_version = "test 1.0",
    .features = { .gbox_str_list_len = 2, .gbox_str_list_val = features },
  };

  p->ok = peer_read_call (p) && p->proc == GBOX_PROC_VERSION &&
    peer_reply_ok (p, (xdrproc_t) xdr_gbox_version_ret, &v);
  peer_wait_eof (p);
}

static void
s_error_then_ok (struct peer *p)
{
  p->ok = peer_read_call (p) && p->proc == GBOX_PROC_LSTAT &&
    strcmp (p->path, "/nope") == 0 &&
    peer_reply_error (p, "ENOENT", "/nope: No such file or directory") &&
    peer_read_call (p) && p->proc == GBOX_PROC_SYNC &&
    peer_reply_ok (p, NULL, NULL);
  peer_wait_eof (p);
}

static void
s_unknown_errno (struct peer *p)
{
  p->ok = peer_read_call (p) &&
    peer_reply_error (p, "EWEIRD", "something odd");
  peer_wait_eof (p);
}

/* Reply to the call with a length word from this table. */
static const uint32_t bad_lengths[] = {
  GBOX_MESSAGE_MAX + 1, 0x7fffffff, 0xfffffffe, 0xffffffff,
};
static uint32_t bad_length;

static void
s_bad_length (struct peer *p)
{
  p->ok = peer_read_call (p) && peer_word (p, bad_length);
  peer_wait_eof (p);
}

static void
s_truncated (struct peer *p)
{
  char zeros[40] = { 0 };

  p->ok = peer_read_call (p) && peer_word (p, 100) &&
    peer_write (p, zeros, sizeof zeros);
}

static void
s_too_short (struct peer *p)
{
  char zeros[8] = { 0 };

  p->ok = peer_read_call (p) && peer_word (p, 8) &&
    peer_write (p, zeros, sizeof zeros);
  peer_wait_eof (p);
}

static void
s_wrong_serial (struct peer *p)
{
  p->ok = peer_read_call (p) &&
    peer_send (p, GBOX_PROGRAM, GBOX_PROTOCOL_VERSION, p->proc,
               p->serial + 1, GBOX_STATUS_OK, NULL, NULL, 0);
  peer_wait_eof (p);
}

static void
s_wrong_proc (struct peer *p)
{
  p->ok = peer_read_call (p) &&
    peer_send (p, GBOX_PROGRAM, GBOX_PROTOCOL_VERSION, GBOX_PROC_VERSION,
               p->serial, GBOX_STATUS_OK, NULL, NULL, 0);
  peer_wait_eof (p);
}

static void
s_wrong_version (struct peer *p)
{
  p->ok = peer_read_call (p) &&
    peer_send (p, GBOX_PROGRAM, GBOX_PROTOCOL_VERSION + 1, p->proc,
               p->serial, GBOX_STATUS_OK, NULL, NULL, 0);
  peer_wait_eof (p);
}

static void
s_wrong_program (struct peer *p)
{
  p->ok = peer_read_call (p) &&
    peer_send (p, 0x4e424421, GBOX_PROTOCOL_VERSION, p->proc,
               p->serial, GBOX_STATUS_OK, NULL, NULL, 0);
  peer_wait_eof (p);
}

static void
s_trailing_garbage (struct peer *p)
{
  p->ok = peer_read_call (p) &&
    peer_send (p, GBOX_PROGRAM, GBOX_PROTOCOL_VERSION, p->proc,
               p->serial, GBOX_STATUS_OK, NULL, NULL, 8);
  peer_wait_eof (p);
}

/* Like xdr_gbox_message_error, without its limits (what a hostile
 * daemon could send). */
static bool_t
xdr_loose_error (XDR *xdr, struct gbox_message_error *e)
{
  return xdr_string (xdr, &e->errno_name, ~0u) &&
    xdr_string (xdr, &e->error_message, ~0u);
}

static void
s_bad_error_body (struct peer *p)
{
  char name[100];
  struct gbox_message_error e = { .errno_name = name, .error_message = "x" };

  memset (name, 'E', sizeof name - 1);
  name[sizeof name - 1] = '\0';
  /* errno_name is limited to 32 bytes. */
  p->ok = peer_read_call (p) &&
    peer_send (p, GBOX_PROGRAM, GBOX_PROTOCOL_VERSION, p->proc, p->serial,
               GBOX_STATUS_ERROR, (xdrproc_t) xdr_loose_error, &e, 0);
  peer_wait_eof (p);
}

static void
s_progress (struct peer *p)
{
  p->ok = peer_read_call (p) &&
    peer_progress (p, p->serial, 5, 10) &&
    peer_progress (p, p->serial + 7, 1, 2) &&  /* another call's: ignored */
    peer_word (p, GBOX_LAUNCH_FLAG) &&         /* stray flags: ignored */
    peer_word (p, GBOX_CANCEL_FLAG) &&
    peer_progress (p, p->serial, 10, 10) &&
    peer_reply_ok (p, NULL, NULL);
  peer_wait_eof (p);
}

static void
s_slow_with_progress (struct peer *p)
{
  int i;

  p->ok = peer_read_call (p);
  for (i = 0; p->ok && i < 6; ++i) {
    sleep_ms (400);
    p->ok = peer_progress (p, p->serial, i, 6);
  }
  p->ok = p->ok && peer_reply_ok (p, NULL, NULL);
  peer_wait_eof (p);
}

static void
s_silent_after_call (struct peer *p)
{
  p->ok = peer_read_call (p);
  peer_wait_eof (p);
}

static void
s_fileout_ok (struct peer *p)
{
  p->ok = peer_read_call (p) && p->proc == GBOX_PROC_DOWNLOAD &&
    peer_reply_ok (p, NULL, NULL) &&
    peer_chunk (p, 0, "hello ", 6) &&
    peer_progress (p, p->serial, 6, 11) &&
    peer_chunk (p, 0, "world", 5) &&
    peer_chunk (p, 0, NULL, 0);
  peer_wait_eof (p);
}

static void
s_fileout_daemon_cancel (struct peer *p)
{
  p->ok = peer_read_call (p) &&
    peer_reply_ok (p, NULL, NULL) &&
    peer_chunk (p, 0, "abc", 3) &&
    peer_chunk (p, 1, NULL, 0) &&
    peer_reply_error (p, "EIO", "read: Input/output error") &&
    peer_read_call (p) && p->proc == GBOX_PROC_SYNC &&
    peer_reply_ok (p, NULL, NULL);
  peer_wait_eof (p);
}

static void
s_fileout_error_reply (struct peer *p)
{
  p->ok = peer_read_call (p) &&
    peer_reply_error (p, "ENOENT", "/x: No such file or directory") &&
    peer_read_call (p) && p->proc == GBOX_PROC_SYNC &&
    peer_reply_ok (p, NULL, NULL);
  peer_wait_eof (p);
}

static void
s_fileout_big_chunk (struct peer *p)
{
  p->ok = peer_read_call (p) && peer_reply_ok (p, NULL, NULL) &&
    peer_word (p, GBOX_CHUNK_SIZE + 12);
  peer_wait_eof (p);
}

/* Send chunks, watching (like the daemon) for the library's cancel
 * flag between them. */
static void
s_fileout_library_cancel (struct peer *p)
{
  static char data[GBOX_CHUNK_SIZE];
  int i;

  p->ok = peer_read_call (p) && peer_reply_ok (p, NULL, NULL);
  for (i = 0; p->ok && i < 1000; ++i) {
    struct pollfd pfd = { .fd = p->fd, .events = POLLIN };
    uint32_t w;

    if (poll (&pfd, 1, i == 0 ? 0 : 100) == 1) {
      p->ok = peer_read_word (p, &w) && w == GBOX_CANCEL_FLAG;
      p->saw_cancel = p->ok;
      break;
    }
    p->ok = peer_chunk (p, 0, data, sizeof data);
  }
  p->ok = p->ok && p->saw_cancel && peer_chunk (p, 1, NULL, 0) &&
    peer_reply_error (p, "ECANCELED", "operation cancelled") &&
    peer_read_call (p) && p->proc == GBOX_PROC_SYNC &&
    peer_reply_ok (p, NULL, NULL);
  peer_wait_eof (p);
}

static void
s_filein_ok (struct peer *p)
{
  p->ok = peer_read_call (p) && p->proc == GBOX_PROC_UPLOAD &&
    strcmp (p->path, "/up") == 0 &&
    peer_read_chunks (p, 0) == 0 && peer_reply_ok (p, NULL, NULL);
  peer_wait_eof (p);
}

static void
s_filein_daemon_cancel (struct peer *p)
{
  p->ok = peer_read_call (p) && peer_read_chunks (p, 1) == 1 &&
    peer_reply_error (p, "ENOENT", "/nodir/x: No such file or directory") &&
    peer_read_call (p) && p->proc == GBOX_PROC_SYNC &&
    peer_reply_ok (p, NULL, NULL);
  peer_wait_eof (p);
}

static void
s_filein_input_error (struct peer *p)
{
  p->ok = peer_read_call (p) && peer_read_chunks (p, 0) == 1 &&
    peer_reply_error (p, "ECANCELED", "upload cancelled by the library") &&
    peer_read_call (p) && p->proc == GBOX_PROC_SYNC &&
    peer_reply_ok (p, NULL, NULL);
  peer_wait_eof (p);
}

static void
s_shutdown (struct peer *p)
{
  p->ok = peer_read_call (p) && p->proc == GBOX_PROC_SHUTDOWN &&
    peer_reply_ok (p, NULL, NULL);
}

static void
s_read_call_then_close (struct peer *p)
{
  p->ok = peer_read_call (p);
}

/*----------------------------------------------------------------------
 * Client side.
 */

struct progress_rec {
  int n;
  int proc[8];
  uint64_t pos[8], total[8];
};

static void
progress_cb (gbox_h *h, void *opaque, int proc, uint64_t pos, uint64_t total)
{
  struct progress_rec *r = opaque;

  if (r->n < 8) {
    r->proc[r->n] = proc;
    r->pos[r->n] = pos;
    r->total[r->n] = total;
  }
  r->n++;
}

struct event_rec {
  char text[4096];              /* events as "K:line\n" */
};

static void
event_cb (gbox_h *h, void *opaque, enum gbox_event ev, const char *buf,
          size_t len)
{
  struct event_rec *r = opaque;
  size_t used = strlen (r->text);

  snprintf (r->text + used, sizeof r->text - used, "%c:%.*s\n",
            ev == GBOX_EVENT_LOG ? 'L' : ev == GBOX_EVENT_TRACE ? 'T' : 'D',
            (int) len, buf);
}

static bool
error_is (gbox_h *h, const char *sub)
{
  return test_contains (gbox_last_error (h), sub);
}

static void
c_launch (gbox_h *h, struct peer *p, int fd)
{
  CHECK (gbox_connect_fd (h, fd) == 0, "launch: connect_fd sees the flag");
  CHECK (h->state == GBOX_STATE_READY, "launch: the handle is ready");
}

static void
c_launch_timeout (gbox_h *h, struct peer *p, int fd)
{
  double t = test_now ();
  int r;

  h->fd = fd;
  r = gbox_int_wait_launch_flag (h, 300);
  t = test_now () - t;
  CHECK (r == -1, "launch timeout: fails");
  CHECK (t >= 0.25 && t < 2, "launch timeout: after %.2f s (300 ms asked)", t);
  CHECK (error_is (h, "did not start within"), "launch timeout: message: %s",
         gbox_last_error (h));
  CHECK (gbox_last_errno (h) == ETIMEDOUT, "launch timeout: ETIMEDOUT");
}

static void
c_launch_garbage (gbox_h *h, struct peer *p, int fd)
{
  int r;
  h->fd = fd;
  r = gbox_int_wait_launch_flag (h, 2000);
  CHECK (r == -1 &&
         error_is (h, "expected the daemon's launch flag"),
         "launch: wrong word rejected: %s", gbox_last_error (h));
}

static void
c_launch_closed (gbox_h *h, struct peer *p, int fd)
{
  int r;
  h->fd = fd;
  r = gbox_int_wait_launch_flag (h, 2000);
  CHECK (r == -1 &&
         error_is (h, "closed the connection unexpectedly"),
         "launch: peer gone: %s", gbox_last_error (h));
}

static void
ready (gbox_h *h, int fd)
{
  h->fd = fd;
  h->state = GBOX_STATE_READY;
}

static void
c_version (gbox_h *h, struct peer *p, int fd)
{
  CLEANUP_XDR_FREE (gbox_version_ret) struct gbox_version_ret v;

  ready (h, fd);
  CHECK (gbox_version (h, &v) == 0, "version: ok reply");
  CHECK (v.protocol == 1 && strcmp (v.daemon_version, "test 1.0") == 0 &&
         v.features.gbox_str_list_len == 2 &&
         strcmp (v.features.gbox_str_list_val[1], "beta") == 0,
         "version: reply decoded");
}

static void
c_error_then_ok (gbox_h *h, struct peer *p, int fd)
{
  int r;
  struct gbox_stat st;

  ready (h, fd);
  CHECK (gbox_lstat (h, "/nope", &st) == -1, "error reply: call fails");
  CHECK (strcmp (gbox_last_error (h),
                 "lstat: /nope: No such file or directory") == 0,
         "error reply: message '%s'", gbox_last_error (h));
  CHECK (gbox_last_errno (h) == ENOENT, "error reply: errno ENOENT");
  CHECK (h->state == GBOX_STATE_READY, "error reply: handle still ready");
  r = gbox_sync (h);
  CHECK (r == 0, "error reply: next call works");
}

static void
c_unknown_errno (gbox_h *h, struct peer *p, int fd)
{
  int r;
  ready (h, fd);
  r = gbox_sync (h);
  CHECK (r == -1 && gbox_last_errno (h) == 0 &&
         error_is (h, "sync: something odd"),
         "unknown errno name maps to 0: %s", gbox_last_error (h));
}

static void
c_bad_length (gbox_h *h, struct peer *p, int fd)
{
  double t = test_now ();
  int r;

  ready (h, fd);
  r = gbox_sync (h);
  t = test_now () - t;
  CHECK (r == -1 && error_is (h, "exceeds the limit"),
         "length word 0x%08x rejected: %s", bad_length, gbox_last_error (h));
  CHECK (t < 1, "length word 0x%08x rejected at once (%.3f s)", bad_length, t);
  CHECK (h->state == GBOX_STATE_DEAD, "bad length: appliance marked dead");
  r = gbox_sync (h);
  CHECK (r == -1 && error_is (h, "no longer running"),
         "bad length: later calls fail: %s", gbox_last_error (h));
}

static void
c_expect_fatal (gbox_h *h, const char *what, const char *sub)
{
  int r;
  r = gbox_sync (h);
  CHECK (r == -1 && error_is (h, sub), "%s: %s", what,
         gbox_last_error (h));
  CHECK (h->state == GBOX_STATE_DEAD && h->fd == -1,
         "%s: appliance marked dead", what);
}

static void
c_truncated (gbox_h *h, struct peer *p, int fd)
{
  ready (h, fd);
  c_expect_fatal (h, "truncated message",
                  "the appliance closed the connection unexpectedly");
  CHECK (gbox_last_errno (h) == ECONNRESET, "truncated: ECONNRESET");
}

static void
c_too_short (gbox_h *h, struct peer *p, int fd)
{
  ready (h, fd);
  c_expect_fatal (h, "8-byte message", "too short");
}

static void
c_wrong_serial (gbox_h *h, struct peer *p, int fd)
{
  ready (h, fd);
  c_expect_fatal (h, "wrong serial", "unexpected reply");
}

static void
c_wrong_proc (gbox_h *h, struct peer *p, int fd)
{
  ready (h, fd);
  c_expect_fatal (h, "wrong procedure", "unexpected reply");
}

static void
c_wrong_version (gbox_h *h, struct peer *p, int fd)
{
  ready (h, fd);
  c_expect_fatal (h, "wrong version", "protocol version mismatch");
}

static void
c_wrong_program (gbox_h *h, struct peer *p, int fd)
{
  ready (h, fd);
  c_expect_fatal (h, "wrong program", "not a guestbox daemon");
}

static void
c_trailing_garbage (gbox_h *h, struct peer *p, int fd)
{
  ready (h, fd);
  c_expect_fatal (h, "trailing garbage", "trailing garbage");
}

static void
c_bad_error_body (gbox_h *h, struct peer *p, int fd)
{
  ready (h, fd);
  c_expect_fatal (h, "overlong errno name", "could not decode the error");
}

static void
c_progress (gbox_h *h, struct peer *p, int fd)
{
  int r;
  struct progress_rec rec = { 0 };

  ready (h, fd);
  gbox_set_progress_callback (h, progress_cb, &rec);
  r = gbox_sync (h);
  CHECK (r == 0, "progress: call succeeds past progress and "
         "stray flags");
  CHECK (p->progress_hint == 1, "progress: the call asked for progress");
  CHECK (rec.n == 2, "progress: 2 messages for this call delivered (got %d)",
         rec.n);
  CHECK (rec.n == 2 && rec.proc[0] == GBOX_PROC_SYNC && rec.pos[0] == 5 &&
         rec.total[0] == 10 && rec.pos[1] == 10 && rec.total[1] == 10,
         "progress: values delivered");
}

static void
c_slow_with_progress (gbox_h *h, struct peer *p, int fd)
{
  int r;
  ready (h, fd);
  gbox_set_call_timeout (h, 1);
  r = gbox_sync (h);
  CHECK (r == 0, "2.4 s call with progress every 0.4 s "
         "survives a 1 s silence timeout: %s", gbox_last_error (h));
}

static void
c_call_timeout (gbox_h *h, struct peer *p, int fd)
{
  double t = test_now ();
  int r;

  ready (h, fd);
  gbox_set_call_timeout (h, 1);
  r = gbox_sync (h);
  t = test_now () - t;
  CHECK (r == -1 && error_is (h, "did not answer within 1 s"),
         "call timeout: %s", gbox_last_error (h));
  CHECK (t >= 0.9 && t < 3, "call timeout after %.2f s", t);
  CHECK (h->state == GBOX_STATE_DEAD, "call timeout: appliance dead");
}

/* A pipe whose contents a thread collects. */
struct sink {
  int rfd;
  char buf[64];
  size_t len;
  uint64_t total;
};

static void *
sink_thread (void *arg)
{
  struct sink *s = arg;
  char buf[65536];
  ssize_t r;

  while ((r = read (s->rfd, buf, sizeof buf)) > 0) {
    size_t n = r;
    if (s->len < sizeof s->buf - 1) {
      size_t m = n < sizeof s->buf - 1 - s->len ? n : sizeof s->buf - 1 - s->len;
      memcpy (s->buf + s->len, buf, m);
      s->len += m;
    }
    s->total += n;
  }
  close (s->rfd);
  return NULL;
}

static void
c_fileout_ok (gbox_h *h, struct peer *p, int fd)
{
  struct sink s = { 0 };
  struct progress_rec rec = { 0 };
  pthread_t t;
  int pfd[2];

  ready (h, fd);
  gbox_set_progress_callback (h, progress_cb, &rec);
  if (pipe (pfd) == -1)
    abort ();
  s.rfd = pfd[0];
  pthread_create (&t, NULL, sink_thread, &s);
  CHECK (gbox_download (h, "/f", pfd[1]) == 0, "fileout: download ok");
  close (pfd[1]);
  pthread_join (t, NULL);
  CHECK (strcmp (p->path, "/f") == 0, "fileout: path sent");
  CHECK (s.len == 11 && memcmp (s.buf, "hello world", 11) == 0,
         "fileout: data written to the fd");
  CHECK (rec.n == 1 && rec.pos[0] == 6,
         "fileout: progress between chunks delivered");
}

static void
c_fileout_daemon_cancel (gbox_h *h, struct peer *p, int fd)
{
  int r;
  int out = open ("/dev/null", O_WRONLY | O_CLOEXEC);

  ready (h, fd);
  r = gbox_download (h, "/f", out);
  CHECK (r == -1 &&
         strcmp (gbox_last_error (h), "download: read: Input/output error")
         == 0 && gbox_last_errno (h) == EIO,
         "fileout cancelled by the daemon: %s", gbox_last_error (h));
  r = gbox_sync (h);
  CHECK (r == 0, "fileout cancelled by the daemon: next call ok");
  close (out);
}

static void
c_fileout_error_reply (gbox_h *h, struct peer *p, int fd)
{
  int r;
  int out = open ("/dev/null", O_WRONLY | O_CLOEXEC);

  ready (h, fd);
  r = gbox_download (h, "/x", out);
  CHECK (r == -1 && gbox_last_errno (h) == ENOENT,
         "fileout error reply: %s", gbox_last_error (h));
  r = gbox_sync (h);
  CHECK (r == 0, "fileout error reply: next call ok");
  close (out);
}

static void
c_fileout_big_chunk (gbox_h *h, struct peer *p, int fd)
{
  int r;
  int out = open ("/dev/null", O_WRONLY | O_CLOEXEC);

  ready (h, fd);
  r = gbox_download (h, "/x", out);
  CHECK (r == -1 &&
         error_is (h, "invalid chunk length"),
         "fileout oversize chunk rejected: %s", gbox_last_error (h));
  CHECK (h->state == GBOX_STATE_DEAD, "fileout oversize chunk: dead");
  close (out);
}

static void
c_fileout_library_cancel (gbox_h *h, struct peer *p, int fd)
{
  int r;
  int out = open ("/dev/null", O_RDONLY | O_CLOEXEC);  /* writes fail */

  ready (h, fd);
  r = gbox_download (h, "/f", out);
  CHECK (r == -1 &&
         strcmp (gbox_last_error (h),
                 "download: writing to the output: Bad file descriptor") == 0
         && gbox_last_errno (h) == EBADF,
         "fileout cancelled by the library: %s", gbox_last_error (h));
  CHECK (p->saw_cancel, "fileout: the daemon received the cancel flag");
  r = gbox_sync (h);
  CHECK (r == 0, "fileout cancelled by the library: next call ok");
  close (out);
}

static void
c_filein_ok (gbox_h *h, struct peer *p, int fd)
{
  char *dir = test_mkdtemp ();
  char path[4096];
  int in;

  ready (h, fd);
  snprintf (path, sizeof path, "%s/in", dir);
  test_make_file (path, 3 * GBOX_CHUNK_SIZE + 1000, 7);
  in = open (path, O_RDONLY | O_CLOEXEC);
  CHECK (gbox_upload (h, in, "/up", -1) == 0, "filein: upload ok");
  CHECK (p->bytes == 3 * GBOX_CHUNK_SIZE + 1000,
         "filein: the daemon received %" PRIu64 " bytes", p->bytes);
  close (in);
  gbox_int_rmtree (dir);
  free (dir);
}

static void
c_filein_daemon_cancel (gbox_h *h, struct peer *p, int fd)
{
  int r;
  char *dir = test_mkdtemp ();
  char path[4096];
  int in;

  ready (h, fd);
  snprintf (path, sizeof path, "%s/in", dir);
  test_make_file (path, 40 * GBOX_CHUNK_SIZE, 7);
  in = open (path, O_RDONLY | O_CLOEXEC);
  r = gbox_upload (h, in, "/nodir/x", -1);
  CHECK (r == -1 &&
         gbox_last_errno (h) == ENOENT &&
         error_is (h, "upload: /nodir/x: No such file or directory"),
         "filein cancelled by the daemon: %s", gbox_last_error (h));
  CHECK (p->saw_cancel && p->bytes < 40 * GBOX_CHUNK_SIZE,
         "filein: the library stopped early with a cancel chunk "
         "(%" PRIu64 " bytes sent)", p->bytes);
  r = gbox_sync (h);
  CHECK (r == 0, "filein cancelled by the daemon: next call ok");
  close (in);
  gbox_int_rmtree (dir);
  free (dir);
}

static void
c_filein_input_error (gbox_h *h, struct peer *p, int fd)
{
  int r;
  int in = open ("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);

  ready (h, fd);
  r = gbox_upload (h, in, "/x", -1);
  CHECK (r == -1 &&
         strcmp (gbox_last_error (h),
                 "upload: reading the input: Is a directory") == 0 &&
         gbox_last_errno (h) == EISDIR,
         "filein input fails: %s", gbox_last_error (h));
  CHECK (p->saw_cancel, "filein input fails: cancel chunk sent");
  r = gbox_sync (h);
  CHECK (r == 0, "filein input fails: next call ok");
  close (in);
}

static void
c_console_tail (gbox_h *h, struct peer *p, int fd)
{
  struct event_rec rec = { "" };
  const char text[] = "booting\r\nKernel panic - not syncing\n\033[31mred\n";
  int cfd[2];

  ready (h, fd);
  gbox_set_event_callback (h, event_cb, &rec);
  if (pipe (cfd) == -1 || write (cfd[1], text, sizeof text - 1) == -1)
    abort ();
  close (cfd[1]);
  h->console_fd = cfd[0];
  c_expect_fatal (h, "peer gone with a console",
                  "closed the connection unexpectedly");
  CHECK (error_is (h, "Kernel panic - not syncing\n?[31mred"),
         "the error shows the console tail, control characters made safe");
  CHECK (test_contains (rec.text, "L:booting\nL:Kernel panic - not syncing\n"),
         "console lines delivered as log events");
}

static void
c_trace (gbox_h *h, struct peer *p, int fd)
{
  int r;
  struct event_rec rec = { "" };
  struct gbox_stat st;

  ready (h, fd);
  gbox_set_trace (h, 1);
  gbox_set_event_callback (h, event_cb, &rec);
  CHECK (gbox_lstat (h, "/nope", &st) == -1, "trace: lstat fails");
  r = gbox_sync (h);
  CHECK (r == 0, "trace: sync works");
  CHECK (test_contains (rec.text, "T:lstat \"/nope\"\n") &&
         test_contains (rec.text, "T:lstat = error: lstat: /nope: No such") &&
         test_contains (rec.text, "T:sync\nT:sync = ok ("),
         "trace: call and reply events:\n%s", rec.text);
}

static void
c_not_launched (gbox_h *h, struct peer *p, int fd)
{
  int r;
  r = gbox_sync (h);
  CHECK (r == -1 && error_is (h, "sync: call gbox_launch first"),
         "not launched: %s", gbox_last_error (h));
  close (fd);
}

static void
c_shutdown_on_close (gbox_h *h, struct peer *p, int fd)
{
  ready (h, fd);
  /* gbox_close (by the harness) sends the shutdown call. */
}

static const struct {
  const char *name;
  void (*script) (struct peer *);
  void (*client) (gbox_h *, struct peer *, int fd);
  bool script_must_finish;
  int arg;                      /* index into bad_lengths */
} cases[] = {
  { "launch flag", s_launch, c_launch, true, 0 },
  { "launch timeout", s_silent, c_launch_timeout, false, 0 },
  { "launch garbage", s_garbage_word, c_launch_garbage, true, 0 },
  { "launch peer closed", s_close, c_launch_closed, false, 0 },
  { "ok reply", s_version, c_version, true, 0 },
  { "error reply", s_error_then_ok, c_error_then_ok, true, 0 },
  { "unknown errno", s_unknown_errno, c_unknown_errno, true, 0 },
  { "oversize length 1", s_bad_length, c_bad_length, true, 0 },
  { "oversize length 2", s_bad_length, c_bad_length, true, 1 },
  { "oversize length 3", s_bad_length, c_bad_length, true, 2 },
  { "oversize length 4", s_bad_length, c_bad_length, true, 3 },
  { "truncated", s_truncated, c_truncated, true, 0 },
  { "too short", s_too_short, c_too_short, false, 0 },
  { "wrong serial", s_wrong_serial, c_wrong_serial, true, 0 },
  { "wrong proc", s_wrong_proc, c_wrong_proc, true, 0 },
  { "wrong version", s_wrong_version, c_wrong_version, true, 0 },
  { "wrong program", s_wrong_program, c_wrong_program, true, 0 },
  { "trailing garbage", s_trailing_garbage, c_trailing_garbage, true, 0 },
  { "bad error body", s_bad_error_body, c_bad_error_body, true, 0 },
  { "progress", s_progress, c_progress, true, 0 },
  { "slow with progress", s_slow_with_progress, c_slow_with_progress, true, 0 },
  { "call timeout", s_silent_after_call, c_call_timeout, true, 0 },
  { "fileout ok", s_fileout_ok, c_fileout_ok, true, 0 },
  { "fileout daemon cancel", s_fileout_daemon_cancel,
    c_fileout_daemon_cancel, true, 0 },
  { "fileout error reply", s_fileout_error_reply, c_fileout_error_reply, true, 0 },
  { "fileout oversize chunk", s_fileout_big_chunk, c_fileout_big_chunk, true, 0 },
  { "fileout library cancel", s_fileout_library_cancel,
    c_fileout_library_cancel, true, 0 },
  { "filein ok", s_filein_ok, c_filein_ok, true, 0 },
  { "filein daemon cancel", s_filein_daemon_cancel,
    c_filein_daemon_cancel, true, 0 },
  { "filein input error", s_filein_input_error, c_filein_input_error, true, 0 },
  { "console tail", s_read_call_then_close, c_console_tail, true, 0 },
  { "trace", s_error_then_ok, c_trace, true, 0 },
  { "not launched", s_close, c_not_launched, false, 0 },
  { "shutdown on close", s_shutdown, c_shutdown_on_close, true, 0 },
};


/*----------------------------------------------------------------------
 * Fuzzing: valid replies with random damage.  The library must give
 * an answer (any) without crashing, hanging or leaking; run under
 * valgrind by hand to see the last two.
 */

#define FUZZ_ROUNDS 400

static uint32_t fuzz_seed;

static uint32_t
fuzz_rand (void)
{
  fuzz_seed ^= fuzz_seed << 13;
  fuzz_seed ^= fuzz_seed >> 17;
  fuzz_seed ^= fuzz_seed << 5;
  return fuzz_seed;
}

static void
s_fuzz (struct peer *p)
{
  char *features[] = { "alpha", "beta", "gamma" };
  struct gbox_version_ret v = {
    .protocol = 1, .daemon_version = "fuzz 1.0",
    .features = { .gbox_str_list_len = 3, .gbox_str_list_val = features },
  };
  struct gbox_message_header hdr = {
    .prog = GBOX_PROGRAM, .vers = GBOX_PROTOCOL_VERSION,
    .proc = GBOX_PROC_VERSION, .direction = GBOX_REPLY,
  };
  char buf[512];
  uint32_t len, n, i, flips;
  XDR xdr;

  if (!peer_read_call (p))
    return;
  hdr.serial = p->serial;
  xdrmem_create (&xdr, buf + 4, sizeof buf - 4, XDR_ENCODE);
  if (!xdr_gbox_message_header (&xdr, &hdr) ||
      !xdr_gbox_version_ret (&xdr, &v))
    return;
  len = xdr_getpos (&xdr);
  xdr_destroy (&xdr);
  *(uint32_t *) buf = htonl (len);
  n = len + 4;

  /* Flip a few bytes (the length word included), sometimes cut. */
  flips = 1 + fuzz_rand () % 4;
  for (i = 0; i < flips; ++i)
    buf[fuzz_rand () % n] ^= 1 << (fuzz_rand () % 8);
  if (fuzz_rand () % 4 == 0)
    n = fuzz_rand () % n;
  p->ok = peer_write (p, buf, n);
  /* Then close: a reader wanting more sees the end. */
}

static void
fuzz (void)
{
  unsigned round, ok = 0, failed = 0;
  double t = test_now ();

  fuzz_seed = 0x9e3779b9;
  for (round = 0; round < FUZZ_ROUNDS; ++round) {
    CLEANUP_XDR_FREE (gbox_version_ret) struct gbox_version_ret v;
    struct peer p = { .script = s_fuzz };
    pthread_t th;
    gbox_h *h = gbox_create ();
    int sv[2];

    memset (&v, 0, sizeof v);
    if (socketpair (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == -1)
      abort ();
    p.fd = sv[1];
    gbox_set_call_timeout (h, 5);
    pthread_create (&th, NULL, peer_thread, &p);
    ready (h, sv[0]);
    if (gbox_version (h, &v) == 0)
      ok++;
    else if (gbox_last_error (h)[0] != '\0')
      failed++;
    h->state = GBOX_STATE_CONFIG;       /* no shutdown call */
    gbox_close (h);
    pthread_join (th, NULL);
  }
  t = test_now () - t;
  CHECK (ok + failed == FUZZ_ROUNDS && t < 60,
         "fuzz: %u damaged replies: %u decoded, %u refused with a message, "
         "in %.2f s", FUZZ_ROUNDS, ok, failed, t);
}

int
main (int argc, char *argv[])
{
  size_t i;

  for (i = 0; i < sizeof cases / sizeof cases[0]; ++i) {
    {
      struct peer *p = calloc (1, sizeof *p);
      pthread_t t;
      gbox_h *h;
      int sv[2];

      bad_length = bad_lengths[cases[i].arg];
      printf ("--- %s\n", cases[i].name);
      if (socketpair (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == -1) {
        perror ("socketpair");
        exit (EXIT_FAILURE);
      }
      h = gbox_create ();
      p->fd = sv[1];
      p->script = cases[i].script;
      pthread_create (&t, NULL, peer_thread, p);
      cases[i].client (h, p, sv[0]);
      /* The callbacks' data lived on the client's stack. */
      gbox_set_event_callback (h, NULL, NULL);
      gbox_set_progress_callback (h, NULL, NULL);
      /* gbox_close sends shutdown if the handle is still ready, then
       * closes our end, which lets the script finish. */
      gbox_close (h);
      pthread_join (t, NULL);
      if (cases[i].script_must_finish)
        CHECK (p->ok, "%s: the fake daemon saw what it expected",
               cases[i].name);
      free (p);
    }
  }
  fuzz ();
  return check_finish ("test-proto-frames");
}
