/* guestbox - the server side of the protocol.
 * Copyright (C) 2026 the guestbox authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

/**
 * Framing on the channel (top of common/protocol.x): read a length word,
 * refuse anything over GBOX_MESSAGE_MAX before allocating, decode the
 * header, dispatch, reply.  Also FileOut/FileIn chunks, cancellation in
 * both directions and progress messages.  A stream that cannot be
 * decoded cannot be resynchronised, so garbage ends the daemon cleanly.
 */

#include <config.h>

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <stdarg.h>
#include <string.h>
#include <arpa/inet.h>

#include "daemon.h"

int chan_fd = -1;
int verbose = 0;
bool appliance_mode = false;
bool exit_after_reply = false;

/* The call being served. */
static int cur_proc;
static unsigned cur_serial;
static unsigned cur_progress_hint;
static uint64_t cur_start_ms;
static uint64_t last_progress_ms;
static bool progress_sent;

/* The recorded error of the current call. */
static char err_msg[GBOX_ERROR_MAX];
static int err_errno;
static bool err_set;

/* FileOut / FileIn state of the current call. */
static bool fileout_started;    /* OK reply sent, chunks follow */
static bool fileout_cancel_sent;
static bool filein_done;        /* all chunks consumed */

/* A word read by check_cancel that was not a cancel flag. */
static bool have_pending_word;
static uint32_t pending_word;

static char chunk_buf[GBOX_CHUNK_SIZE];

static void __attribute__((noreturn))
protocol_exit (const char *fs, ...)
{
  va_list args;

  fprintf (stderr, "guestboxd: error: channel: ");
  va_start (args, fs);
  vfprintf (stderr, fs, args);
  va_end (args);
  fprintf (stderr, "\n");
  exit (EXIT_FAILURE);
}

static int
xwrite (const void *buf, size_t len)
{
  const char *p = buf;

  while (len > 0) {
    ssize_t r = write (chan_fd, p, len);
    if (r == -1) {
      if (errno == EINTR)
        continue;
      return -1;
    }
    p += r;
    len -= r;
  }
  return 0;
}

/* Read exactly LEN bytes; on EOF or error the daemon cannot go on. */
static void
xread (void *buf, size_t len)
{
  char *p = buf;
  size_t got = 0;

  while (got < len) {
    ssize_t r = read (chan_fd, p + got, len - got);
    if (r == -1) {
      if (errno == EINTR)
        continue;
      protocol_exit ("read: %m");
    }
    if (r == 0)
      protocol_exit ("unexpected end of input (%zu of %zu bytes)", got, len);
    got += r;
  }
}

/* Read a length/flag word.  Returns false on a clean EOF at a message
 * boundary. */
static bool
read_word (uint32_t *word)
{
  uint32_t w;
  size_t got = 0;

  if (have_pending_word) {
    have_pending_word = false;
    *word = pending_word;
    return true;
  }
  while (got < 4) {
    ssize_t r = read (chan_fd, (char *) &w + got, 4 - got);
    if (r == -1) {
      if (errno == EINTR)
        continue;
      protocol_exit ("read: %m");
    }
    if (r == 0) {
      if (got == 0)
        return false;
      protocol_exit ("truncated length word");
    }
    got += r;
  }
  *word = ntohl (w);
  return true;
}

static int
write_word (uint32_t word)
{
  uint32_t w = htonl (word);
  return xwrite (&w, 4);
}

int
send_launch_flag (void)
{
  return write_word (GBOX_LAUNCH_FLAG);
}

/* Encode header + optional body into one message and send it. */
static int
send_message (gbox_message_header *hdr, xdrproc_t xdr_body, void *body)
{
  size_t len;
  CLEANUP_FREE char *buf = NULL;
  XDR xdr;
  uint32_t w;

  len = xdr_sizeof ((xdrproc_t) xdr_gbox_message_header, hdr);
  if (xdr_body)
    len += xdr_sizeof (xdr_body, body);
  if (len > GBOX_MESSAGE_MAX) {
    errno = EMSGSIZE;
    return -1;
  }
  buf = malloc (len + 4);
  if (buf == NULL)
    return -1;
  w = htonl (len);
  memcpy (buf, &w, 4);
  xdrmem_create (&xdr, buf + 4, len, XDR_ENCODE);
  if (!xdr_gbox_message_header (&xdr, hdr) ||
      (xdr_body && !xdr_body (&xdr, body))) {
    xdr_destroy (&xdr);
    errno = EPROTO;
    return -1;
  }
  xdr_destroy (&xdr);
  if (xwrite (buf, len + 4) == -1)
    protocol_exit ("write: %m");
  return 0;
}

static void
init_reply_header (gbox_message_header *hdr, int proc, unsigned serial,
                   gbox_status status)
{
  memset (hdr, 0, sizeof *hdr);
  hdr->prog = GBOX_PROGRAM;
  hdr->vers = GBOX_PROTOCOL_VERSION;
  hdr->proc = proc;
  hdr->direction = GBOX_REPLY;
  hdr->serial = serial;
  hdr->status = status;
}

static void
send_error_reply (int proc, unsigned serial, int errnum, const char *msg)
{
  gbox_message_header hdr;
  gbox_message_error err;
  char name[33] = "";
  char msgbuf[GBOX_ERROR_MAX];
  const char *n;

  init_reply_header (&hdr, proc, serial, GBOX_STATUS_ERROR);
  if (errnum > 0 && (n = strerrorname_np (errnum)) != NULL)
    snprintf (name, sizeof name, "%s", n);
  snprintf (msgbuf, sizeof msgbuf, "%s", msg);
  err.errno_name = name;
  err.error_message = msgbuf;
  if (send_message (&hdr, (xdrproc_t) xdr_gbox_message_error, &err) == -1)
    protocol_exit ("cannot send error reply: %m");
}

static int
send_ok_reply (xdrproc_t xdr_ret, void *ret)
{
  gbox_message_header hdr;

  init_reply_header (&hdr, cur_proc, cur_serial, GBOX_STATUS_OK);
  return send_message (&hdr, xdr_ret, ret);
}

static void
vrecord_error (int errnum, bool append_strerror, const char *fs, va_list args)
{
  size_t n;

  if (err_set)                  /* keep the first (most precise) error */
    return;
  vsnprintf (err_msg, sizeof err_msg, fs, args);
  if (append_strerror) {
    n = strlen (err_msg);
    snprintf (err_msg + n, sizeof err_msg - n, ": %s", strerror (errnum));
  }
  err_errno = errnum;
  err_set = true;
}

void
take_error (char *buf, size_t len)
{
  snprintf (buf, len, "%s", err_set ? err_msg : "failed");
  err_set = false;
  err_msg[0] = '\0';
  err_errno = 0;
}

void
reply_with_error (const char *fs, ...)
{
  va_list args;

  va_start (args, fs);
  vrecord_error (0, false, fs, args);
  va_end (args);
}

void
reply_with_error_errno (int err, const char *fs, ...)
{
  va_list args;

  va_start (args, fs);
  vrecord_error (err, false, fs, args);
  va_end (args);
}

void
reply_with_perror (const char *fs, ...)
{
  va_list args;
  int err = errno;

  va_start (args, fs);
  vrecord_error (err, true, fs, args);
  va_end (args);
  errno = err;
}

/* FileOut. */

int
send_fileout_reply (void)
{
  if (send_ok_reply (NULL, NULL) == -1) {
    reply_with_perror ("cannot send reply");
    return -1;
  }
  fileout_started = true;
  return 0;
}

static int
send_chunk (int cancel, const void *buf, size_t len)
{
  gbox_chunk chunk;
  XDR xdr;
  static char out[GBOX_CHUNK_SIZE + 16];
  uint32_t w;
  size_t n;

  chunk.cancel = cancel;
  chunk.data.data_len = len;
  chunk.data.data_val = (char *) buf;
  xdrmem_create (&xdr, out + 4, sizeof out - 4, XDR_ENCODE);
  if (!xdr_gbox_chunk (&xdr, &chunk)) {
    xdr_destroy (&xdr);
    errno = EPROTO;
    return -1;
  }
  n = xdr_getpos (&xdr);
  xdr_destroy (&xdr);
  w = htonl (n);
  memcpy (out, &w, 4);
  if (xwrite (out, n + 4) == -1)
    protocol_exit ("write: %m");
  return 0;
}

int
send_file_chunk (const void *buf, size_t len)
{
  if (len == 0)
    return 0;
  return send_chunk (0, buf, len);
}

/* One chunk of LEN bytes (at most GBOX_CHUNK_SIZE) that wait in pipe
 * PIPE_R: its XDR framing is written, the data is spliced from the pipe
 * to the channel, so that the file's pages go to the virtio port
 * without being copied by the (emulated) CPU.  The bytes are those
 * xdr_gbox_chunk would encode: length word, cancel, data length, data,
 * padding to 4 bytes. */
int
send_file_chunk_from_pipe (int pipe_r, size_t len)
{
  uint32_t head[3];
  static const char pad[4];
  size_t padlen = (4 - (len & 3)) & 3, left = len;

  if (len == 0 || len > GBOX_CHUNK_SIZE) {
    errno = EINVAL;
    return -1;
  }
  head[0] = htonl (8 + len + padlen);
  head[1] = htonl (0);
  head[2] = htonl (len);
  if (xwrite (head, sizeof head) == -1)
    protocol_exit ("write: %m");
  while (left > 0) {
    ssize_t r = splice (pipe_r, NULL, chan_fd, NULL, left, SPLICE_F_MOVE);
    if (r == -1 && errno == EINTR)
      continue;
    if (r <= 0)
      protocol_exit ("splice to the channel: %m");
    left -= r;
  }
  if (padlen && xwrite (pad, padlen) == -1)
    protocol_exit ("write: %m");
  return 0;
}

int
send_file_end (void)
{
  return send_chunk (0, "", 0);
}

int
check_cancel (void)
{
  struct pollfd pfd = { .fd = chan_fd, .events = POLLIN };
  uint32_t w;
  int r;

  if (have_pending_word)
    return 0;
  r = poll (&pfd, 1, 0);
  if (r <= 0)
    return 0;
  if (!(pfd.revents & POLLIN))
    protocol_exit ("channel closed during a transfer");
  if (!read_word (&w))
    protocol_exit ("channel closed during a transfer");
  if (w == GBOX_CANCEL_FLAG) {
    reply_with_error_errno (ECANCELED, "operation cancelled");
    return 1;
  }
  /* Not ours to interpret now: keep it for the main loop. */
  have_pending_word = true;
  pending_word = w;
  return 0;
}

/* FileIn. */

/* Read and drop LEN bytes of the channel. */
static void
xskip (size_t len)
{
  char buf[256];

  while (len > 0) {
    size_t n = len < sizeof buf ? len : sizeof buf;

    xread (buf, n);
    len -= n;
  }
}

/* Chunks are read in place: the cancel and length words, then the data
 * straight into chunk_buf (no second copy by the emulated CPU, no
 * allocation), then the padding.  What is accepted is what
 * xdr_gbox_chunk accepts: at least the two words, data no longer than
 * GBOX_CHUNK_SIZE and, with its padding, inside the chunk (any bytes
 * after it are read and dropped, as decoding ignored them). */
int
receive_file (receive_cb cb, void *opaque)
{
  bool failed = false;
  uint32_t len;

  for (;;) {
    uint32_t words[2], cancel, data_len, padded;

    if (!read_word (&len))
      protocol_exit ("channel closed during an upload");
    if (len == GBOX_CANCEL_FLAG)
      continue;                 /* stale flag from an earlier transfer */
    if (len > GBOX_CHUNK_SIZE + 8)
      protocol_exit ("chunk length %" PRIu32 " too large", len);
    if (len < 8)
      protocol_exit ("cannot decode a file chunk");
    xread (words, sizeof words);
    cancel = ntohl (words[0]);
    data_len = ntohl (words[1]);
    padded = (data_len + 3) & ~3U;
    if (data_len > GBOX_CHUNK_SIZE || padded > len - 8)
      protocol_exit ("cannot decode a file chunk");
    xread (chunk_buf, data_len);
    xskip (len - 8 - data_len);

    if (cancel) {
      filein_done = true;
      if (!failed)
        reply_with_error_errno (ECANCELED, "upload cancelled by the library");
      return -1;
    }
    if (data_len == 0) {
      filein_done = true;
      return failed ? -1 : 0;
    }
    if (!failed && cb && cb (opaque, chunk_buf, data_len) == -1) {
      failed = true;
      if (write_word (GBOX_CANCEL_FLAG) == -1)
        protocol_exit ("write: %m");
    }
  }
}

int
cancel_receive (void)
{
  if (filein_done)
    return 0;
  if (write_word (GBOX_CANCEL_FLAG) == -1)
    protocol_exit ("write: %m");
  /* Drain: a NULL callback never fails. */
  receive_file (NULL, NULL);
  return 0;
}

/* Progress. */

static void send_progress (uint64_t now, uint64_t position, uint64_t total);

void
notify_progress (uint64_t position, uint64_t total)
{
  uint64_t now;

  if (!cur_progress_hint)
    return;
  now = now_ms ();
  /* The first message after a second, then at most three a second;
   * always the final one if any was sent. */
  if (!(progress_sent && position == total)) {
    if (now - cur_start_ms < 1000 || now - last_progress_ms < 333)
      return;
  }
  send_progress (now, position, total);
}

void
notify_step (uint64_t position, uint64_t total)
{
  if (cur_progress_hint)
    send_progress (now_ms (), position, total);
}

static void
send_progress (uint64_t now, uint64_t position, uint64_t total)
{
  gbox_progress p;
  char buf[4 + 24];
  uint32_t w;
  XDR xdr;

  last_progress_ms = now;
  progress_sent = true;
  p.proc = cur_proc;
  p.serial = cur_serial;
  p.position = position;
  p.total = total;
  w = htonl (GBOX_PROGRESS_FLAG);
  memcpy (buf, &w, 4);
  xdrmem_create (&xdr, buf + 4, 24, XDR_ENCODE);
  if (!xdr_gbox_progress (&xdr, &p)) {
    xdr_destroy (&xdr);
    return;
  }
  xdr_destroy (&xdr);
  if (xwrite (buf, sizeof buf) == -1)
    protocol_exit ("write: %m");
}

/* Decode the arguments of E from XDR (positioned at START, just after
 * the header) into ARGS, checking that the message (MSGLEN bytes) holds
 * exactly them.  0, or -1 with the error recorded. */
static int
decode_args (const struct dispatch_entry *e, XDR *xdr, u_int start,
             size_t msglen, void *args)
{
  if (e->xdr_args) {
    if (!e->xdr_args (xdr, args)) {
      reply_with_error_errno (EINVAL, "%s: cannot decode arguments", e->name);
      return -1;
    }
    /* Re-encoding must give back exactly what was received: this catches
     * strings with an embedded NUL (which decoding silently cuts). */
    if (xdr_sizeof (e->xdr_args, args) != xdr_getpos (xdr) - start) {
      reply_with_error_errno (EINVAL,
                              "%s: invalid arguments (embedded NUL in a string?)",
                              e->name);
      return -1;
    }
  }
  if (xdr_getpos (xdr) != msglen) {
    reply_with_error_errno (EINVAL, "%s: %zu bytes of trailing data in the call",
                            e->name, msglen - xdr_getpos (xdr));
    return -1;
  }
  return 0;
}

int
decode_call (const void *msg, size_t len)
{
  const struct dispatch_entry *e;
  gbox_message_header hdr;
  CLEANUP_FREE void *args = NULL;
  u_int start;
  XDR xdr;
  int r = -1;

  if (len < 32 || len > GBOX_MESSAGE_MAX)
    return -1;
  memset (&hdr, 0, sizeof hdr);
  xdrmem_create (&xdr, (char *) msg, len, XDR_DECODE);
  if (!xdr_gbox_message_header (&xdr, &hdr) || hdr.prog != GBOX_PROGRAM ||
      hdr.direction != GBOX_CALL || hdr.vers != GBOX_PROTOCOL_VERSION)
    goto out;
  e = lookup_proc (hdr.proc);
  if (e == NULL)
    goto out;
  if (e->args_size) {
    args = calloc (1, e->args_size);
    if (args == NULL)
      goto out;
  }
  start = xdr_getpos (&xdr);
  r = decode_args (e, &xdr, start, len, args);
  if (args && e->xdr_args)
    xdr_free (e->xdr_args, args);
 out:
  xdr_destroy (&xdr);
  return r;
}

/* Dispatch one decoded call. */
static void
serve_call (const gbox_message_header *hdr, XDR *xdr, size_t msglen)
{
  const struct dispatch_entry *e;
  const u_int start = xdr_getpos (xdr);
  CLEANUP_FREE void *args = NULL;
  CLEANUP_FREE void *ret = NULL;
  int r;

  cur_proc = hdr->proc;
  cur_serial = hdr->serial;
  cur_progress_hint = hdr->progress_hint;
  cur_start_ms = now_ms ();
  last_progress_ms = 0;
  progress_sent = false;
  err_set = false;
  err_errno = 0;
  err_msg[0] = '\0';
  fileout_started = fileout_cancel_sent = false;
  filein_done = false;

  e = lookup_proc (hdr->proc);
  if (e == NULL) {
    debug ("unknown procedure %d", (int) hdr->proc);
    snprintf (err_msg, sizeof err_msg,
              "unknown procedure %d (daemon protocol %d)",
              (int) hdr->proc, GBOX_PROTOCOL_VERSION);
    send_error_reply (hdr->proc, hdr->serial, ENOSYS, err_msg);
    return;
  }

  if (e->args_size) {
    args = calloc (1, e->args_size);
    if (args == NULL)
      protocol_exit ("calloc: %m");
  }
  if (e->ret_size) {
    ret = calloc (1, e->ret_size);
    if (ret == NULL)
      protocol_exit ("calloc: %m");
  }

  if (decode_args (e, xdr, start, msglen, args) == -1)
    goto error;

  r = e->handler (args, ret);
  if (r == -1)
    goto error;
  if (e->kind == PROC_FILEIN && !filein_done) {
    reply_with_error ("%s: internal error: upload not consumed", e->name);
    goto error;
  }
  if (e->kind != PROC_FILEOUT) {
    if (send_ok_reply (e->xdr_ret, ret) == -1) {
      int err = errno;
      xdr_free (e->xdr_ret, ret);
      reply_with_error_errno (err, "%s: cannot send reply: %s", e->name,
                              strerror (err));
      goto error;
    }
  }
  debug ("%s: %" PRIu64 " ms", e->name, now_ms () - cur_start_ms);
  goto out;

 error:
  if (!err_set)
    reply_with_error ("%s: failed", e->name);
  if (e->kind == PROC_FILEIN && !filein_done)
    cancel_receive ();
  if (e->kind == PROC_FILEOUT && fileout_started && !fileout_cancel_sent) {
    send_chunk (1, "", 0);
    fileout_cancel_sent = true;
  }
  debug ("%s: %" PRIu64 " ms: error: %s", e->name, now_ms () - cur_start_ms,
         err_msg);
  send_error_reply (cur_proc, cur_serial, err_errno, err_msg);

 out:
  if (args && e->xdr_args)
    xdr_free (e->xdr_args, args);
  if (ret && e->xdr_ret)
    xdr_free (e->xdr_ret, ret);
}

void
main_loop (void)
{
  for (;;) {
    uint32_t len;
    CLEANUP_FREE char *buf = NULL;
    gbox_message_header hdr;
    XDR xdr;

    if (!read_word (&len)) {
      debug ("channel closed, exiting");
      exit (EXIT_SUCCESS);
    }
    if (len == GBOX_CANCEL_FLAG) {
      /* A cancel that arrived after its transfer had ended. */
      debug ("ignoring a late cancel flag");
      continue;
    }
    if (len > GBOX_MESSAGE_MAX)
      protocol_exit ("message length 0x%" PRIx32 " exceeds the limit %u",
                     len, (unsigned) GBOX_MESSAGE_MAX);
    if (len < 32)
      protocol_exit ("message length %" PRIu32 " too short for a header", len);

    buf = malloc (len);
    if (buf == NULL)
      protocol_exit ("malloc: %m");
    xread (buf, len);

    memset (&hdr, 0, sizeof hdr);
    xdrmem_create (&xdr, buf, len, XDR_DECODE);
    if (!xdr_gbox_message_header (&xdr, &hdr))
      protocol_exit ("cannot decode a message header");
    if (hdr.prog != GBOX_PROGRAM)
      protocol_exit ("bad program number 0x%x (not a guestbox message)",
                     hdr.prog);
    if (hdr.direction != GBOX_CALL)
      protocol_exit ("message is not a call (direction %d)",
                     (int) hdr.direction);
    if (hdr.vers != GBOX_PROTOCOL_VERSION) {
      char msg[128];

      snprintf (msg, sizeof msg,
                "protocol version mismatch: daemon %d, library %u",
                GBOX_PROTOCOL_VERSION, hdr.vers);
      debug ("%s", msg);
      send_error_reply (hdr.proc, hdr.serial, EPROTO, msg);
      xdr_destroy (&xdr);
      continue;
    }

    serve_call (&hdr, &xdr, len);
    xdr_destroy (&xdr);

    if (exit_after_reply) {
      debug ("exiting after shutdown");
      exit (EXIT_SUCCESS);
    }
  }
}
