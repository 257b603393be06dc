/* guestbox - a minimal QMP client.
 * Copyright (C) 2026 the guestbox authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

/**
 * Talks to qemu's QMP monitor on h->qmp_fd: the greeting and capability
 * negotiation, then one command at a time.  Replies are single lines of
 * JSON; asynchronous events are skipped.  Only the few members we need
 * are looked at, so no JSON library is needed.  A command can carry a
 * file descriptor (SCM_RIGHTS) for "getfd".  While waiting, the
 * console pipe is drained so that qemu never blocks on it.
 */

#include <config.h>

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>

#include "guestbox-internal.h"
#include "cleanups.h"

/* Longest reply line accepted. */
#define QMP_LINE_MAX (1024 * 1024)
/* Timeout of one command. */
#define QMP_TIMEOUT_MS 30000

/* Read one line (without the newline) into a malloc'd string. */
static char *
read_line (gbox_h *h, unsigned timeout_ms)
{
  uint64_t deadline = gbox_int_now_ms () + timeout_ms;
  char *buf = NULL;
  size_t len = 0, alloc = 0;

  for (;;) {
    struct pollfd pfd[2];
    int r, n = 1;
    uint64_t now = gbox_int_now_ms ();
    char c;
    ssize_t got;

    if (now >= deadline) {
      gbox_int_error (h, "qemu monitor did not answer within %u ms",
                      timeout_ms);
      free (buf);
      return NULL;
    }
    pfd[0].fd = h->qmp_fd;
    pfd[0].events = POLLIN;
    if (h->console_fd >= 0) {
      pfd[1].fd = h->console_fd;
      pfd[1].events = POLLIN;
      n = 2;
    }
    r = poll (pfd, n, (int) (deadline - now));
    if (r == -1) {
      if (errno == EINTR)
        continue;
      gbox_int_perror (h, "poll");
      free (buf);
      return NULL;
    }
    if (n == 2 && pfd[1].revents)
      gbox_int_read_console (h);
    if (!pfd[0].revents)
      continue;

    /* Byte by byte: replies are short and rare. */
    got = read (h->qmp_fd, &c, 1);
    if (got == -1 && (errno == EINTR || errno == EAGAIN))
      continue;
    if (got <= 0) {
      gbox_int_error (h, "qemu monitor closed the connection");
      free (buf);
      return NULL;
    }
    if (c == '\n') {
      if (len > 0 && buf[len - 1] == '\r')
        len--;
      if (!buf && !(buf = strdup (""))) {
        gbox_int_perror (h, "strdup");
        return NULL;
      }
      buf[len] = '\0';
      return buf;
    }
    if (len + 2 > alloc) {
      size_t na = alloc ? alloc * 2 : 256;
      char *nb;

      if (na > QMP_LINE_MAX) {
        gbox_int_error (h, "qemu monitor sent an over-long line");
        free (buf);
        return NULL;
      }
      nb = realloc (buf, na);
      if (!nb) {
        gbox_int_perror (h, "realloc");
        free (buf);
        return NULL;
      }
      buf = nb;
      alloc = na;
    }
    buf[len++] = c;
  }
}

/* The first member name of the JSON object in LINE ("return", "error",
 * "event", "QMP", "timestamp"), copied into KEY. */
static void
first_key (const char *line, char *key, size_t keylen)
{
  const char *p = line;
  size_t n = 0;

  key[0] = '\0';
  while (*p == ' ' || *p == '\t')
    p++;
  if (*p++ != '{')
    return;
  while (*p == ' ' || *p == '\t')
    p++;
  if (*p++ != '"')
    return;
  while (*p && *p != '"' && n + 1 < keylen)
    key[n++] = *p++;
  key[n] = '\0';
}

/* The unescaped string value of the first "NAME": "..." in LINE. */
static char *
string_member (const char *line, const char *name)
{
  char pat[64];
  const char *p;
  char *out, *q;

  snprintf (pat, sizeof pat, "\"%s\"", name);
  p = strstr (line, pat);
  if (!p)
    return NULL;
  p += strlen (pat);
  while (*p == ' ' || *p == ':')
    p++;
  if (*p++ != '"')
    return NULL;
  out = q = malloc (strlen (p) + 1);
  if (!out)
    return NULL;
  while (*p && *p != '"') {
    if (*p == '\\' && p[1]) {
      p++;
      switch (*p) {
      case 'n': *q++ = '\n'; break;
      case 't': *q++ = '\t'; break;
      case 'u':                 /* keep it readable; rare in messages */
        *q++ = '?';
        if (strlen (p) >= 5)
          p += 4;
        break;
      default: *q++ = *p;
      }
      p++;
    }
    else
      *q++ = *p++;
  }
  *q = '\0';
  return out;
}

static int
write_all (gbox_h *h, const char *buf, size_t len)
{
  while (len > 0) {
    ssize_t r = send (h->qmp_fd, buf, len, MSG_NOSIGNAL);
    if (r == -1) {
      if (errno == EINTR)
        continue;
      gbox_int_perror (h, "qemu monitor");
      return -1;
    }
    buf += r;
    len -= r;
  }
  return 0;
}

/* Send the first byte of CMD with FD attached (SCM_RIGHTS), as "getfd"
 * wants it. */
static int
send_with_fd (gbox_h *h, const char *cmd, int fd)
{
  struct msghdr msg;
  struct iovec iov;
  union {
    char buf[CMSG_SPACE (sizeof (int))];
    struct cmsghdr align;
  } u;
  struct cmsghdr *cmsg;
  ssize_t r;

  memset (&msg, 0, sizeof msg);
  memset (&u, 0, sizeof u);
  iov.iov_base = (void *) cmd;
  iov.iov_len = 1;
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = u.buf;
  msg.msg_controllen = sizeof u.buf;
  cmsg = CMSG_FIRSTHDR (&msg);
  cmsg->cmsg_level = SOL_SOCKET;
  cmsg->cmsg_type = SCM_RIGHTS;
  cmsg->cmsg_len = CMSG_LEN (sizeof (int));
  memcpy (CMSG_DATA (cmsg), &fd, sizeof (int));
  do
    r = sendmsg (h->qmp_fd, &msg, MSG_NOSIGNAL);
  while (r == -1 && errno == EINTR);
  if (r != 1) {
    gbox_int_perror (h, "qemu monitor: sending a file descriptor");
    return -1;
  }
  return 0;
}

static int
command (gbox_h *h, const char *cmd, int fd, char **ret_json,
         unsigned timeout_ms)
{
  size_t off = 0;

  if (h->qmp_fd < 0) {
    gbox_int_error (h, "qemu monitor is not connected");
    return -1;
  }
  if (h->trace)
    gbox_int_event (h, GBOX_EVENT_TRACE, cmd, strlen (cmd));
  if (fd >= 0) {
    if (send_with_fd (h, cmd, fd) == -1)
      return -1;
    off = 1;
  }
  if (write_all (h, cmd + off, strlen (cmd) - off) == -1 ||
      write_all (h, "\n", 1) == -1)
    return -1;

  for (;;) {
    CLEANUP_FREE char *line = read_line (h, timeout_ms);
    char key[32];

    if (!line)
      return -1;
    first_key (line, key, sizeof key);
    if (strcmp (key, "return") == 0) {
      if (h->trace)
        gbox_int_event (h, GBOX_EVENT_TRACE, line, strlen (line));
      if (ret_json) {
        *ret_json = line;
        line = NULL;
      }
      return 0;
    }
    if (strcmp (key, "error") == 0) {
      CLEANUP_FREE char *desc = string_member (line, "desc");
      gbox_int_error (h, "qemu: %s", desc ? desc : line);
      return -1;
    }
    /* An event (or anything else): skip it. */
    if (h->trace)
      gbox_int_event (h, GBOX_EVENT_TRACE, line, strlen (line));
  }
}

int
gbox_int_qmp_handshake (gbox_h *h, unsigned timeout_ms, char **greetingp)
{
  CLEANUP_FREE char *greeting = read_line (h, timeout_ms);
  char key[32];

  if (!greeting)
    return -1;
  first_key (greeting, key, sizeof key);
  if (strcmp (key, "QMP") != 0) {
    gbox_int_error (h, "qemu monitor: unexpected greeting: %.100s", greeting);
    return -1;
  }
  if (command (h, "{\"execute\":\"qmp_capabilities\"}", -1, NULL,
               timeout_ms) == -1)
    return -1;
  if (greetingp) {
    *greetingp = greeting;
    greeting = NULL;
  }
  return 0;
}

int
gbox_int_qmp (gbox_h *h, const char *cmd, char **ret_json)
{
  return command (h, cmd, -1, ret_json, QMP_TIMEOUT_MS);
}

int
gbox_int_qmp_fd (gbox_h *h, const char *cmd, int fd, char **ret_json)
{
  return command (h, cmd, fd, ret_json, QMP_TIMEOUT_MS);
}

char *
gbox_int_qmp_string (const char *json, const char *name)
{
  return string_member (json, name);
}
