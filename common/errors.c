/* guestbox - the handle's error state and events.
 * Copyright (C) 2026 the guestbox authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

/**
 * Setting the handle's last error (gbox_int_error, gbox_int_perror,
 * gbox_int_set_error), debug lines and events (gbox_int_debug,
 * gbox_int_event, with the default stderr output when the program set
 * no event callback), and errno names travelling in error replies
 * (gbox_int_errno_from_name).
 */

#include <config.h>

#include <stdio.h>
#include <stdlib.h>
#include <stdarg.h>
#include <string.h>
#include <errno.h>

#include "guestbox-internal.h"

static const char *
program_name (gbox_h *h)
{
  return h->program ? h->program : "guestbox";
}

static void
store_error (gbox_h *h, int errnum, char *msg)
{
  free (h->last_error);
  h->last_error = msg;          /* NULL means "out of memory" */
  h->last_errno = msg ? errnum : ENOMEM;
}

void
gbox_int_error (gbox_h *h, const char *fs, ...)
{
  va_list args;
  char *msg;

  va_start (args, fs);
  if (vasprintf (&msg, fs, args) == -1)
    msg = NULL;
  va_end (args);
  store_error (h, 0, msg);
}

void
gbox_int_perror (gbox_h *h, const char *fs, ...)
{
  int errnum = errno;
  va_list args;
  char *what, *msg;

  va_start (args, fs);
  if (vasprintf (&what, fs, args) == -1)
    what = NULL;
  va_end (args);
  if (what == NULL || asprintf (&msg, "%s: %s", what, strerror (errnum)) == -1)
    msg = NULL;
  free (what);
  store_error (h, errnum, msg);
  errno = errnum;
}

void
gbox_int_set_error (gbox_h *h, int errnum, const char *msg)
{
  store_error (h, errnum, strdup (msg));
}

const char *
gbox_last_error (gbox_h *h)
{
  if (h->last_error)
    return h->last_error;
  if (h->last_errno == ENOMEM)
    return "out of memory";
  return "";
}

int
gbox_last_errno (gbox_h *h)
{
  return h->last_errno;
}

/* Write one line to stderr, with control characters (which may come
 * from a hostile guest through the console) made visible. */
static void
write_line (const char *prefix, const char *kind, const char *buf, size_t len)
{
  size_t i;

  flockfile (stderr);
  if (prefix)
    fprintf (stderr, "%s: %s: ", prefix, kind);
  for (i = 0; i < len; ++i) {
    unsigned char c = buf[i];

    if ((c < 0x20 && c != '\t') || c == 0x7f)
      putc_unlocked ('?', stderr);
    else
      putc_unlocked (c, stderr);
  }
  putc_unlocked ('\n', stderr);
  funlockfile (stderr);
}

void
gbox_int_event (gbox_h *h, enum gbox_event ev, const char *buf, size_t len)
{
  if (h->event_cb) {
    h->event_cb (h, h->event_opaque, ev, buf, len);
    return;
  }

  switch (ev) {
  case GBOX_EVENT_LOG:
    if (h->verbose)
      write_line (NULL, NULL, buf, len);
    break;
  case GBOX_EVENT_DEBUG:
    if (h->verbose)
      write_line (program_name (h), "debug", buf, len);
    break;
  case GBOX_EVENT_TRACE:
    if (h->trace)
      write_line (program_name (h), "trace", buf, len);
    break;
  }
}

void
gbox_int_debug (gbox_h *h, const char *fs, ...)
{
  va_list args;
  char *msg;
  int len;

  if (!h->verbose)
    return;

  va_start (args, fs);
  len = vasprintf (&msg, fs, args);
  va_end (args);
  if (len == -1)
    return;
  gbox_int_event (h, GBOX_EVENT_DEBUG, msg, len);
  free (msg);
}

/* The errno names a daemon may send.  Unknown names map to 0. */
#define E(name) { #name, name }
static const struct {
  const char *name;
  int value;
} errno_table[] = {
  E (EPERM), E (ENOENT), E (ESRCH), E (EINTR), E (EIO), E (ENXIO),
  E (E2BIG), E (ENOEXEC), E (EBADF), E (ECHILD), E (EAGAIN), E (ENOMEM),
  E (EACCES), E (EFAULT), E (ENOTBLK), E (EBUSY), E (EEXIST), E (EXDEV),
  E (ENODEV), E (ENOTDIR), E (EISDIR), E (EINVAL), E (ENFILE), E (EMFILE),
  E (ENOTTY), E (ETXTBSY), E (EFBIG), E (ENOSPC), E (ESPIPE), E (EROFS),
  E (EMLINK), E (EPIPE), E (EDOM), E (ERANGE), E (EDEADLK),
  E (ENAMETOOLONG), E (ENOLCK), E (ENOSYS), E (ENOTEMPTY), E (ELOOP),
  E (ENOMSG), E (ENODATA), E (ENOSTR), E (ETIME), E (ENOLINK), E (EPROTO),
  E (EBADMSG), E (EOVERFLOW), E (EILSEQ), E (EUSERS), E (ENOTSOCK),
  E (EOPNOTSUPP), E (ENOTSUP), E (EADDRINUSE), E (ECONNREFUSED),
  E (ECONNRESET), E (ETIMEDOUT), E (EHOSTUNREACH), E (EALREADY),
  E (EINPROGRESS), E (ESTALE), E (EUCLEAN), E (EDQUOT), E (ENOMEDIUM),
  E (EMEDIUMTYPE), E (ECANCELED), E (ENOKEY), E (EKEYREJECTED),
  E (EOWNERDEAD), E (ENOTRECOVERABLE), E (ERFKILL), E (EHWPOISON),
  E (EWOULDBLOCK), E (ENOTUNIQ), E (EREMOTEIO), E (ENOPKG),
};
#undef E

int
gbox_int_errno_from_name (const char *name)
{
  size_t i;

  if (name == NULL || *name == '\0')
    return 0;
  for (i = 0; i < sizeof errno_table / sizeof errno_table[0]; ++i)
    if (strcmp (errno_table[i].name, name) == 0)
      return errno_table[i].value;
  return 0;
}
