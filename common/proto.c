/* guestbox - the client side of the protocol.
 * Copyright (C) 2026 the guestbox authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

/**
 * Message framing on h->fd (top of protocol.x): calls and replies,
 * FileOut/FileIn chunks with cancellation in both directions, progress
 * messages, the launch flag, and the appliance console drained (into
 * console.c's ring) while we wait.  Every wait is bounded (h->call_timeout seconds of
 * silence from the daemon); every length word is checked before
 * anything is allocated; any decoding error or a broken channel marks
 * the appliance dead with one clear message.
 */

#include <config.h>

#include <stdio.h>
#include <stdlib.h>
#include <stdarg.h>
#include <stdint.h>
#include <inttypes.h>
#include <string.h>
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <time.h>
#include <unistd.h>
#include <pthread.h>
#include <arpa/inet.h>
#include <sys/socket.h>

#include "guestbox-internal.h"
#include "cleanups.h"

/* An encoded gbox_message_header: 8 XDR words. */
#define HEADER_SIZE 32
/* An encoded gbox_progress. */
#define PROGRESS_SIZE 24
/* The largest encoded chunk: cancel word, length word, data. */
#define CHUNK_MAX (GBOX_CHUNK_SIZE + 8)

/* The state of one exchange with the daemon. */
struct io {
  gbox_h *h;
  const char *name;             /* procedure name, or "launch" */
  int proc;
  unsigned serial;
  unsigned timeout_ms;          /* silence allowed */
  uint64_t last_ms;             /* when the daemon was last heard from */
  uint64_t end_ms;              /* the overall deadline of the call */
  bool launch;                  /* waiting for the launch flag */
};

static double
now_ms_float (void)
{
  struct timespec ts;

  clock_gettime (CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1000.0 + ts.tv_nsec / 1e6;
}

/*----------------------------------------------------------------------
 * Failures of the channel.  Each sets the error and marks the
 * appliance dead.
 */

void
gbox_int_set_dead (gbox_h *h, const char *why)
{
  if (h->state == GBOX_STATE_DEAD && h->fd == -1)
    return;
  gbox_int_debug (h, "the appliance is dead: %s", why);
  h->state = GBOX_STATE_DEAD;
  if (h->fd >= 0) {
    close (h->fd);
    h->fd = -1;
  }
  gbox_int_kill_qemu (h);
}

/* Set the error MSG, with the console's last lines appended when there
 * is a console and the user has not seen it already. */
static void
error_with_console (gbox_h *h, int errnum, const char *msg)
{
  char tail[2048];
  char *full = NULL;

  gbox_int_read_console (h);
  gbox_int_console_tail (h, 20, tail, sizeof tail);
  if (tail[0] != '\0' && !h->verbose) {
    if (asprintf (&full, "%s; the last console output was:\n%s\n"
                  "(rerun with -v or GBOX_DEBUG=1 for the full console)",
                  msg, tail) == -1)
      full = NULL;
  }
  gbox_int_set_error (h, errnum, full ? full : msg);
  free (full);
}

static void
io_fail (struct io *io, int errnum, const char *fs, ...)
  __attribute__((format (printf, 3, 4)));

static void
io_fail (struct io *io, int errnum, const char *fs, ...)
{
  va_list args;
  char *what = NULL, *msg = NULL;

  va_start (args, fs);
  if (vasprintf (&what, fs, args) == -1)
    what = NULL;
  va_end (args);
  if (what == NULL || asprintf (&msg, "%s: %s", io->name, what) == -1)
    msg = NULL;
  if (msg)
    error_with_console (io->h, errnum, msg);
  else
    gbox_int_set_error (io->h, ENOMEM, "out of memory");
  gbox_int_set_dead (io->h, what ? what : "out of memory");
  free (what);
  free (msg);
}

static void
io_peer_gone (struct io *io)
{
  io_fail (io, ECONNRESET, "the appliance closed the connection unexpectedly");
}

static void
io_timed_out (struct io *io)
{
  if (io->launch)
    io_fail (io, ETIMEDOUT, "the appliance did not start within %g s",
             io->timeout_ms / 1000.0);
  else
    io_fail (io, ETIMEDOUT, "the daemon did not answer within %g s",
             io->timeout_ms / 1000.0);
}

/*----------------------------------------------------------------------
 * Reading and writing the channel.
 */

/* Write without ever raising SIGPIPE: send(MSG_NOSIGNAL) on sockets;
 * on other fds, SIGPIPE is blocked in this thread around the write and
 * a SIGPIPE it caused is consumed.  The process's signal handling is
 * left alone. */
static ssize_t
write_nosigpipe (int fd, const void *buf, size_t n, bool dontwait)
{
  sigset_t pipe_set, old_set, pending;
  bool was_pending;
  ssize_t r;
  int saved_errno;

  r = send (fd, buf, n, MSG_NOSIGNAL | (dontwait ? MSG_DONTWAIT : 0));
  if (r >= 0 || errno != ENOTSOCK)
    return r;

  sigemptyset (&pipe_set);
  sigaddset (&pipe_set, SIGPIPE);
  sigpending (&pending);
  was_pending = sigismember (&pending, SIGPIPE);
  if (!was_pending)
    pthread_sigmask (SIG_BLOCK, &pipe_set, &old_set);

  /* Not a socket: after POLLOUT a pipe takes PIPE_BUF bytes without
   * blocking. */
  r = write (fd, buf, dontwait && n > 4096 ? 4096 : n);
  saved_errno = errno;

  if (!was_pending) {
    if (r == -1 && saved_errno == EPIPE) {
      const struct timespec zero = { 0, 0 };

      while (sigtimedwait (&pipe_set, NULL, &zero) == -1 && errno == EINTR)
        ;
    }
    pthread_sigmask (SIG_SETMASK, &old_set, NULL);
  }
  errno = saved_errno;
  return r;
}

/* Wait until h->fd is ready for EVENTS, draining the console meanwhile.
 * Returns 0, or -1 (channel failed: error set, appliance dead). */
static int
io_wait (struct io *io, short events)
{
  gbox_h *h = io->h;

  for (;;) {
    struct pollfd fds[2];
    nfds_t nfds = 1;
    uint64_t now = gbox_int_now_ms ();
    uint64_t deadline = io->last_ms + io->timeout_ms;
    int r;

    /* Progress messages and chatter keep resetting last_ms; the
     * overall deadline holds whatever the daemon sends. */
    if (now >= deadline || (io->launch && now >= io->end_ms)) {
      io_timed_out (io);
      return -1;
    }
    if (now >= io->end_ms) {
      io_fail (io, ETIMEDOUT, "the call did not finish within %u s "
               "(the overall deadline of one call: GBOX_CALL_DEADLINE)",
               io->h->call_deadline);
      return -1;
    }
    if (deadline > io->end_ms)
      deadline = io->end_ms;

    fds[0].fd = h->fd;
    fds[0].events = events;
    fds[0].revents = 0;
    if (h->console_fd >= 0) {
      fds[1].fd = h->console_fd;
      fds[1].events = POLLIN;
      fds[1].revents = 0;
      nfds = 2;
    }
    r = poll (fds, nfds, deadline - now);
    if (r == -1) {
      if (errno == EINTR)
        continue;
      io_fail (io, errno, "poll: %s", strerror (errno));
      return -1;
    }
    if (nfds == 2 && fds[1].revents)
      gbox_int_read_console (h);
    if (fds[0].revents & POLLNVAL) {
      io_fail (io, EBADF, "the channel is not open");
      return -1;
    }
    if (fds[0].revents & (events | POLLHUP | POLLERR))
      return 0;
  }
}

/* Read exactly N bytes from the daemon. */
static int
io_read (struct io *io, void *buf, size_t n)
{
  char *p = buf;

  while (n > 0) {
    ssize_t r;

    if (io_wait (io, POLLIN) == -1)
      return -1;
    r = read (io->h->fd, p, n);
    if (r == -1) {
      if (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK)
        continue;
      if (errno == ECONNRESET) {
        io_peer_gone (io);
        return -1;
      }
      io_fail (io, errno, "read: %s", strerror (errno));
      return -1;
    }
    if (r == 0) {
      io_peer_gone (io);
      return -1;
    }
    io->last_ms = gbox_int_now_ms ();
    p += r;
    n -= r;
  }
  return 0;
}

/* Write exactly N bytes to the daemon. */
static int
io_write (struct io *io, const void *buf, size_t n)
{
  const char *p = buf;

  /* Writing is progress too: the daemon is taking our data. */
  io->last_ms = gbox_int_now_ms ();
  while (n > 0) {
    ssize_t r;

    if (io_wait (io, POLLOUT) == -1)
      return -1;
    r = write_nosigpipe (io->h->fd, p, n, true);
    if (r == -1) {
      if (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK)
        continue;
      if (errno == EPIPE || errno == ECONNRESET) {
        io_peer_gone (io);
        return -1;
      }
      io_fail (io, errno, "write: %s", strerror (errno));
      return -1;
    }
    io->last_ms = gbox_int_now_ms ();
    p += r;
    n -= r;
  }
  return 0;
}

static int
io_read_word (struct io *io, uint32_t *word)
{
  uint32_t w;

  if (io_read (io, &w, 4) == -1)
    return -1;
  *word = ntohl (w);
  return 0;
}

static int
io_write_word (struct io *io, uint32_t word)
{
  uint32_t w = htonl (word);

  return io_write (io, &w, 4);
}

/* After a GBOX_PROGRESS_FLAG word: read the progress message and give
 * it to the progress callback when it is about the current call. */
static int
io_progress (struct io *io)
{
  char buf[PROGRESS_SIZE];
  struct gbox_progress p;
  XDR xdr;
  bool ok;

  if (io_read (io, buf, sizeof buf) == -1)
    return -1;
  memset (&p, 0, sizeof p);
  xdrmem_create (&xdr, buf, sizeof buf, XDR_DECODE);
  ok = xdr_gbox_progress (&xdr, &p);
  xdr_destroy (&xdr);
  if (!ok) {
    io_fail (io, EPROTO, "could not decode a progress message");
    return -1;
  }
  if (p.serial == io->serial && io->h->progress_cb)
    io->h->progress_cb (io->h, io->h->progress_opaque, p.proc,
                        p.position, p.total);
  return 0;
}

/* Read the next length word, handling the flag words that may stand in
 * its place: progress is delivered, stray launch and cancel flags are
 * ignored. */
static int
io_read_length (struct io *io, uint32_t *len)
{
  for (;;) {
    if (io_read_word (io, len) == -1)
      return -1;
    switch (*len) {
    case GBOX_PROGRESS_FLAG:
      if (io_progress (io) == -1)
        return -1;
      continue;
    case GBOX_LAUNCH_FLAG:
    case GBOX_CANCEL_FLAG:
      gbox_int_debug (io->h, "%s: ignoring a stray flag 0x%08x",
                      io->name, *len);
      continue;
    }
    if (*len > GBOX_MESSAGE_MAX) {
      io_fail (io, EPROTO,
               "message length %" PRIu32 " exceeds the limit of %u bytes "
               "(corrupt stream or not a guestbox daemon)",
               *len, GBOX_MESSAGE_MAX);
      return -1;
    }
    return 0;
  }
}

/*----------------------------------------------------------------------
 * Calls and replies.
 */

static void
io_init (struct io *io, gbox_h *h, int proc)
{
  io->h = h;
  io->proc = proc;
  io->name = gbox_int_proc_name (proc);
  io->serial = h->serial++;
  io->timeout_ms = h->call_timeout * 1000;
  io->last_ms = gbox_int_now_ms ();
  io->end_ms = io->last_ms + (uint64_t) h->call_deadline * 1000;
  io->launch = false;
}

static int
check_connected (gbox_h *h, int proc)
{
  if (h->fd >= 0)
    return 0;
  gbox_int_error (h, "%s: %s", gbox_int_proc_name (proc),
                  h->state == GBOX_STATE_DEAD ?
                  "the appliance is no longer running" :
                  "not connected to the daemon");
  h->last_errno = ENOTCONN;
  return -1;
}

static void
trace_call (struct io *io, void *args)
{
  char buf[512];

  if (!io->h->trace)
    return;
  gbox_int_proc_args (io->proc, args, buf, sizeof buf);
  gbox_int_event (io->h, GBOX_EVENT_TRACE, buf, strlen (buf));
}

static void
trace_reply (struct io *io, double start, int r)
{
  char *msg;
  int len;

  if (!io->h->trace)
    return;
  if (r == 0)
    len = asprintf (&msg, "%s = ok (%.2f ms)", io->name,
                    now_ms_float () - start);
  else
    len = asprintf (&msg, "%s = error: %s (%.2f ms)", io->name,
                    gbox_last_error (io->h), now_ms_float () - start);
  if (len == -1)
    return;
  gbox_int_event (io->h, GBOX_EVENT_TRACE, msg, len);
  free (msg);
}

/* Encode and send the call message. */
static int
send_call (struct io *io, xdrproc_t xdr_args, void *args)
{
  struct gbox_message_header hdr = {
    .prog = GBOX_PROGRAM,
    .vers = GBOX_PROTOCOL_VERSION,
    .proc = io->proc,
    .direction = GBOX_CALL,
    .serial = io->serial,
    .status = GBOX_STATUS_OK,
    .progress_hint = io->h->progress_cb != NULL,
    .optargs_bitmask = 0,
  };
  CLEANUP_FREE char *buf = NULL;
  unsigned long size = HEADER_SIZE;
  uint32_t len;
  XDR xdr;
  bool ok;

  if (xdr_args)
    size += xdr_sizeof (xdr_args, args);
  if (size > GBOX_MESSAGE_MAX) {
    gbox_int_error (io->h, "%s: the arguments are too long (%lu bytes)",
                    io->name, size);
    io->h->last_errno = E2BIG;
    return -1;
  }
  buf = malloc (size + 4);
  if (buf == NULL) {
    gbox_int_perror (io->h, "%s: malloc", io->name);
    return -1;
  }
  xdrmem_create (&xdr, buf + 4, size, XDR_ENCODE);
  ok = xdr_gbox_message_header (&xdr, &hdr) &&
    (xdr_args == NULL || xdr_args (&xdr, args, 0));
  len = xdr_getpos (&xdr);
  xdr_destroy (&xdr);
  if (!ok) {
    /* Our own arguments did not encode (a string over its limit): the
     * channel is untouched. */
    gbox_int_error (io->h, "%s: could not encode the arguments "
                    "(a string or list is over its limit)", io->name);
    io->h->last_errno = EINVAL;
    return -1;
  }
  len = htonl (len);
  memcpy (buf, &len, 4);
  return io_write (io, buf, ntohl (len) + 4);
}

/* Replace control characters (C0, DEL) in S by '?', in place. */
static void
escape_controls (char *s)
{
  for (; s && *s; ++s)
    if ((unsigned char) *s < 0x20 || *s == 0x7f)
      *s = '?';
}

/* Read and decode the reply.  Returns 0 (status ok, RET filled) or -1
 * with the error set: either the daemon reported an error (the handle
 * stays usable) or the channel broke (h->fd is -1, the appliance dead).
 * RET must be zeroed by the caller. */
static int
recv_reply (struct io *io, xdrproc_t xdr_ret, void *ret)
{
  struct gbox_message_header hdr;
  CLEANUP_FREE char *buf = NULL;
  uint32_t len;
  XDR xdr;
  int r = -1;

  if (io_read_length (io, &len) == -1)
    return -1;
  if (len < HEADER_SIZE) {
    io_fail (io, EPROTO, "message of %" PRIu32 " bytes is too short", len);
    return -1;
  }
  buf = malloc (len);
  if (buf == NULL) {
    io_fail (io, ENOMEM, "malloc: %s", strerror (errno));
    return -1;
  }
  if (io_read (io, buf, len) == -1)
    return -1;
  io->h->last_reply_len = len;

  memset (&hdr, 0, sizeof hdr);
  xdrmem_create (&xdr, buf, len, XDR_DECODE);
  if (!xdr_gbox_message_header (&xdr, &hdr)) {
    io_fail (io, EPROTO, "could not decode the reply header");
    goto out;
  }
  if (hdr.prog != GBOX_PROGRAM) {
    io_fail (io, EPROTO, "the peer is not a guestbox daemon "
             "(program number 0x%08x)", hdr.prog);
    goto out;
  }
  if (hdr.vers != GBOX_PROTOCOL_VERSION) {
    io_fail (io, EPROTO, "protocol version mismatch: the daemon speaks "
             "version %u, this program version %u (rebuild the appliance)",
             hdr.vers, GBOX_PROTOCOL_VERSION);
    goto out;
  }
  if (hdr.direction != GBOX_REPLY || (int) hdr.proc != io->proc ||
      hdr.serial != io->serial) {
    io_fail (io, EPROTO, "unexpected reply (direction %d, procedure %d, "
             "serial %u; expected a reply to procedure %d, serial %u)",
             (int) hdr.direction, (int) hdr.proc, hdr.serial,
             io->proc, io->serial);
    goto out;
  }

  if (hdr.status == GBOX_STATUS_ERROR) {
    CLEANUP_XDR_FREE (gbox_message_error) struct gbox_message_error err;

    memset (&err, 0, sizeof err);
    if (!xdr_gbox_message_error (&xdr, &err) || xdr_getpos (&xdr) != len) {
      io_fail (io, EPROTO, "could not decode the error reply");
      goto out;
    }
    /* The message may quote guest strings: no control characters
     * reach the caller's terminal. */
    escape_controls (err.error_message);
    /* The daemon usually names the procedure itself. */
    if (strncmp (err.error_message, io->name, strlen (io->name)) == 0 &&
        err.error_message[strlen (io->name)] == ':')
      gbox_int_error (io->h, "%s", err.error_message);
    else
      gbox_int_error (io->h, "%s: %s", io->name, err.error_message);
    io->h->last_errno = gbox_int_errno_from_name (err.errno_name);
    goto out;
  }
  if (hdr.status != GBOX_STATUS_OK) {
    io_fail (io, EPROTO, "invalid reply status %d", (int) hdr.status);
    goto out;
  }
  if (xdr_ret && !xdr_ret (&xdr, ret, 0)) {
    xdr_free (xdr_ret, ret);
    io_fail (io, EPROTO, "could not decode the reply");
    goto out;
  }
  if (xdr_getpos (&xdr) != len) {
    if (xdr_ret)
      xdr_free (xdr_ret, ret);
    io_fail (io, EPROTO, "%u bytes of trailing garbage after the reply",
             len - xdr_getpos (&xdr));
    goto out;
  }
  r = 0;
 out:
  xdr_destroy (&xdr);
  return r;
}

int
gbox_int_call (gbox_h *h, int proc, xdrproc_t xdr_args, void *args,
               xdrproc_t xdr_ret, void *ret)
{
  struct io io;
  double start = now_ms_float ();
  int r;

  if (check_connected (h, proc) == -1)
    return -1;
  io_init (&io, h, proc);
  trace_call (&io, args);
  r = send_call (&io, xdr_args, args);
  if (r == 0)
    r = recv_reply (&io, xdr_ret, ret);
  trace_reply (&io, start, r);
  return r;
}

int
gbox_int_call_send (gbox_h *h, int proc, xdrproc_t xdr_args, void *args,
                    struct gbox_pending_call *p)
{
  struct io io;
  int r;

  p->proc = proc;
  p->start = now_ms_float ();
  p->sent = false;
  if (check_connected (h, proc) == -1)
    return -1;
  io_init (&io, h, proc);
  p->serial = io.serial;
  trace_call (&io, args);
  r = send_call (&io, xdr_args, args);
  if (r == -1)
    trace_reply (&io, p->start, r);
  p->sent = r == 0;
  return r;
}

int
gbox_int_call_recv (gbox_h *h, struct gbox_pending_call *p,
                    xdrproc_t xdr_ret, void *ret)
{
  struct io io;
  int r;

  if (!p->sent)
    return -1;
  p->sent = false;
  if (check_connected (h, p->proc) == -1)
    return -1;
  io_init (&io, h, p->proc);
  h->serial = io.serial;        /* the same call: no new serial */
  io.serial = p->serial;
  r = recv_reply (&io, xdr_ret, ret);
  trace_reply (&io, p->start, r);
  return r;
}

/*----------------------------------------------------------------------
 * FileOut: reply, then chunks.
 */

/* Write all of BUF to the caller's FD (any kind of fd). */
static int
write_output (int fd, const char *buf, size_t n)
{
  while (n > 0) {
    ssize_t r = write_nosigpipe (fd, buf, n, false);

    if (r == -1) {
      if (errno == EINTR)
        continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) {
        struct pollfd p = { .fd = fd, .events = POLLOUT };

        poll (&p, 1, -1);
        continue;
      }
      return -1;
    }
    buf += r;
    n -= r;
  }
  return 0;
}

/* Read one chunk into DATA (GBOX_CHUNK_SIZE bytes); CBUF holds the
 * encoded chunk.  Returns 0 with *CANCEL and *N set, or -1. */
static int
recv_chunk (struct io *io, char *cbuf, char *data, int *cancel, size_t *n)
{
  struct gbox_chunk chunk;
  uint32_t len;
  XDR xdr;
  bool ok;

  if (io_read_length (io, &len) == -1)
    return -1;
  if (len < 8 || len > CHUNK_MAX) {
    io_fail (io, EPROTO, "invalid chunk length %" PRIu32, len);
    return -1;
  }
  if (io_read (io, cbuf, len) == -1)
    return -1;

  chunk.cancel = 0;
  chunk.data.data_len = 0;
  chunk.data.data_val = data;   /* decode in place: no allocation */
  xdrmem_create (&xdr, cbuf, len, XDR_DECODE);
  ok = xdr_gbox_chunk (&xdr, &chunk) && xdr_getpos (&xdr) == len;
  xdr_destroy (&xdr);
  if (!ok) {
    io_fail (io, EPROTO, "could not decode a file transfer chunk");
    return -1;
  }
  *cancel = chunk.cancel;
  *n = chunk.data.data_len;
  return 0;
}

int
gbox_int_call_fileout (gbox_h *h, int proc, xdrproc_t xdr_args, void *args,
                       int fd)
{
  return gbox_int_call_fileout_max (h, proc, xdr_args, args, fd, UINT64_MAX);
}

/* After we cancel, the daemon may have this much in flight before it
 * sees the cancel flag; a daemon that keeps sending past it is cut
 * off. */
#define CANCEL_SLACK ((uint64_t) 64 * 1024 * 1024)

int
gbox_int_call_fileout_max (gbox_h *h, int proc, xdrproc_t xdr_args,
                           void *args, int fd, uint64_t max)
{
  struct io io;
  double start = now_ms_float ();
  CLEANUP_FREE char *cbuf = NULL;
  CLEANUP_FREE char *data = NULL;
  CLEANUP_FREE char *our_error = NULL;
  int our_errno = 0;
  uint64_t total = 0, discarded = 0;
  int r = -1;

  if (check_connected (h, proc) == -1)
    return -1;
  cbuf = malloc (CHUNK_MAX);
  data = malloc (GBOX_CHUNK_SIZE);
  if (cbuf == NULL || data == NULL) {
    gbox_int_perror (h, "%s: malloc", gbox_int_proc_name (proc));
    return -1;
  }

  io_init (&io, h, proc);
  trace_call (&io, args);
  if (send_call (&io, xdr_args, args) == -1 ||
      recv_reply (&io, NULL, NULL) == -1)
    goto out;

  for (;;) {
    int cancel;
    size_t n;

    if (recv_chunk (&io, cbuf, data, &cancel, &n) == -1)
      goto out;
    if (cancel) {
      /* The daemon stopped (on its own or because we asked): its
       * error reply follows. */
      if (recv_reply (&io, NULL, NULL) == 0) {
        gbox_int_error (h, "%s: the daemon cancelled the transfer", io.name);
        h->last_errno = ECANCELED;
      }
      if (h->fd == -1)          /* the channel broke */
        goto out;
      break;
    }
    if (n == 0) {               /* end of the file */
      if (our_error == NULL)
        r = 0;
      break;
    }
    if (our_error) {            /* cancelling: discard until the end */
      discarded += n;
      if (discarded > CANCEL_SLACK) {
        io_fail (&io, EPROTO, "the daemon kept sending after the transfer "
                 "was cancelled");
        goto out;
      }
      continue;
    }
    if (n > max - total) {
      our_errno = EFBIG;
      if (asprintf (&our_error, "%s: the file is larger than the %" PRIu64
                    " bytes expected", io.name, max) == -1)
        our_error = NULL;
      if (our_error == NULL)
        our_error = strdup ("out of memory");
      if (io_write_word (&io, GBOX_CANCEL_FLAG) == -1)
        goto out;
      continue;
    }
    if (write_output (fd, data, n) == -1) {
      our_errno = errno;
      if (asprintf (&our_error, "%s: writing to the output: %s",
                    io.name, strerror (our_errno)) == -1)
        our_error = NULL;
      if (our_error == NULL)
        our_error = strdup ("out of memory");
      if (io_write_word (&io, GBOX_CANCEL_FLAG) == -1)
        goto out;
      continue;
    }
    total += n;
  }

 out:
  if (our_error && h->fd >= 0)
    gbox_int_set_error (h, our_errno, our_error);
  if (r == 0)
    gbox_int_debug (h, "%s: %" PRIu64 " bytes", io.name, total);
  trace_reply (&io, start, r);
  return r;
}

/*----------------------------------------------------------------------
 * FileIn: call, then chunks.
 */

/* Fill up to N bytes of BUF from FD (stopping early only at end of
 * file).  Returns the byte count, or -1. */
static ssize_t
read_input (int fd, char *buf, size_t n)
{
  size_t got = 0;

  while (got < n) {
    ssize_t r = read (fd, buf + got, n - got);

    if (r == -1) {
      if (errno == EINTR)
        continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) {
        struct pollfd p = { .fd = fd, .events = POLLIN };

        poll (&p, 1, -1);
        continue;
      }
      return -1;
    }
    if (r == 0)
      break;
    got += r;
  }
  return got;
}

static int
send_chunk (struct io *io, char *cbuf, int cancel, char *data, size_t n)
{
  struct gbox_chunk chunk = {
    .cancel = cancel,
    .data = { .data_len = n, .data_val = data },
  };
  uint32_t len;
  XDR xdr;
  bool ok;

  xdrmem_create (&xdr, cbuf + 4, CHUNK_MAX, XDR_ENCODE);
  ok = xdr_gbox_chunk (&xdr, &chunk);
  len = xdr_getpos (&xdr);
  xdr_destroy (&xdr);
  if (!ok) {
    io_fail (io, EPROTO, "could not encode a chunk");
    return -1;
  }
  len = htonl (len);
  memcpy (cbuf, &len, 4);
  return io_write (io, cbuf, ntohl (len) + 4);
}

/* Between chunks: has the daemon asked us to stop?  Progress messages
 * are handled here too.  Returns 1 (cancel), 0 (carry on) or -1. */
static int
check_daemon_cancel (struct io *io)
{
  for (;;) {
    struct pollfd p = { .fd = io->h->fd, .events = POLLIN };
    uint32_t word;
    int r = poll (&p, 1, 0);

    if (r == -1 && errno == EINTR)
      continue;
    if (r <= 0)
      return 0;
    if (io_read_word (io, &word) == -1)
      return -1;
    switch (word) {
    case GBOX_CANCEL_FLAG:
      return 1;
    case GBOX_PROGRESS_FLAG:
      if (io_progress (io) == -1)
        return -1;
      continue;
    case GBOX_LAUNCH_FLAG:
      continue;
    default:
      io_fail (io, EPROTO, "unexpected message from the daemon during "
               "the upload (word 0x%08x)", word);
      return -1;
    }
  }
}

int
gbox_int_call_filein (gbox_h *h, int proc, xdrproc_t xdr_args, void *args,
                      int fd, xdrproc_t xdr_ret, void *ret)
{
  struct io io;
  double start = now_ms_float ();
  CLEANUP_FREE char *cbuf = NULL;
  CLEANUP_FREE char *data = NULL;
  CLEANUP_FREE char *our_error = NULL;
  int our_errno = 0;
  bool daemon_cancelled = false;
  int r = -1;

  if (check_connected (h, proc) == -1)
    return -1;
  cbuf = malloc (CHUNK_MAX + 4);
  data = malloc (GBOX_CHUNK_SIZE);
  if (cbuf == NULL || data == NULL) {
    gbox_int_perror (h, "%s: malloc", gbox_int_proc_name (proc));
    return -1;
  }

  io_init (&io, h, proc);
  trace_call (&io, args);
  if (send_call (&io, xdr_args, args) == -1)
    goto out;

  for (;;) {
    ssize_t n;
    int c = check_daemon_cancel (&io);

    if (c == -1)
      goto out;
    if (c == 1) {
      /* The daemon failed: end the transfer, then read its error. */
      daemon_cancelled = true;
      if (send_chunk (&io, cbuf, 1, NULL, 0) == -1)
        goto out;
      break;
    }
    n = read_input (fd, data, GBOX_CHUNK_SIZE);
    if (n == -1) {
      our_errno = errno;
      if (asprintf (&our_error, "%s: reading the input: %s",
                    io.name, strerror (our_errno)) == -1)
        our_error = NULL;
      if (our_error == NULL)
        our_error = strdup ("out of memory");
      if (send_chunk (&io, cbuf, 1, NULL, 0) == -1)
        goto out;
      break;
    }
    if (send_chunk (&io, cbuf, 0, data, n) == -1)
      goto out;
    if (n == 0)
      break;
  }

  r = recv_reply (&io, xdr_ret, ret);
  if (r == 0 && daemon_cancelled && our_error == NULL) {
    if (asprintf (&our_error, "%s: the daemon cancelled the transfer",
                  io.name) == -1)
      our_error = NULL;
    our_errno = ECANCELED;
  }
  if (r == 0 && our_error) {
    if (xdr_ret)
      xdr_free (xdr_ret, ret);
    r = -1;
  }

 out:
  if (our_error && h->fd >= 0)
    gbox_int_set_error (h, our_errno, our_error);
  trace_reply (&io, start, r);
  return r;
}

/*----------------------------------------------------------------------
 * Launch.
 */

int
gbox_int_wait_launch_flag (gbox_h *h, unsigned timeout_ms)
{
  struct io io = {
    .h = h,
    .name = "launch",
    .proc = 0,
    .serial = 0,
    .timeout_ms = timeout_ms,
    .last_ms = gbox_int_now_ms (),
    .launch = true,
  };
  uint64_t start = io.last_ms;

  /* Console output and stray words do not extend the launch either. */
  io.end_ms = start + timeout_ms;
  uint32_t word;

  if (h->fd < 0) {
    gbox_int_error (h, "launch: no channel to the daemon");
    h->last_errno = ENOTCONN;
    return -1;
  }
  if (io_read_word (&io, &word) == -1)
    return -1;
  if (word != GBOX_LAUNCH_FLAG) {
    io_fail (&io, EPROTO, "expected the daemon's launch flag, received "
             "0x%08x (not a guestbox daemon?)", word);
    return -1;
  }
  gbox_int_debug (h, "the daemon is ready after %" PRIu64 " ms",
                  gbox_int_now_ms () - start);
  return 0;
}
