/* guestbox - a minimal QMP client.
 * Copyright (C) 2026 the guestbox authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

/**
 * Talks to qemu's QMP monitor on h->qmp_fd: the greeting and capability
 * negotiation, then one command at a time.  Replies are single lines of
 * JSON, parsed with json-c; asynchronous events are skipped.  A command
 * can carry a file descriptor (SCM_RIGHTS) for "getfd".  While waiting,
 * the console pipe is drained so that qemu never blocks on it.
 */

#include <config.h>

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>

#include <json.h>

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

/* LINE parsed: a JSON object (release with json_object_put), or NULL. */
static json_object *
parse_object (const char *line)
{
  json_object *o = json_tokener_parse (line);

  if (o && !json_object_is_type (o, json_type_object)) {
    json_object_put (o);
    o = NULL;
  }
  return o;
}

/* The string member NAME of the object O, copied, or NULL. */
static char *
string_member (json_object *o, const char *name)
{
  json_object *v;

  if (!json_object_object_get_ex (o, name, &v) ||
      !json_object_is_type (v, json_type_string))
    return NULL;
  return strdup (json_object_get_string (v));
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

  h->qmp_refused = false;
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
    json_object *reply, *v;

    if (!line)
      return -1;
    reply = parse_object (line);
    if (reply && json_object_object_get_ex (reply, "return", &v)) {
      if (h->trace)
        gbox_int_event (h, GBOX_EVENT_TRACE, line, strlen (line));
      json_object_put (reply);
      if (ret_json) {
        *ret_json = line;
        line = NULL;
      }
      return 0;
    }
    if (reply && json_object_object_get_ex (reply, "error", &v)) {
      CLEANUP_FREE char *desc = json_object_is_type (v, json_type_object) ?
        string_member (v, "desc") : NULL;

      gbox_int_error (h, "qemu: %s", desc ? desc : line);
      h->qmp_refused = true;
      json_object_put (reply);
      return -1;
    }
    /* An event (or anything else): skip it. */
    json_object_put (reply);
    if (h->trace)
      gbox_int_event (h, GBOX_EVENT_TRACE, line, strlen (line));
  }
}

int
gbox_int_qmp_handshake (gbox_h *h, unsigned timeout_ms, char **greetingp)
{
  CLEANUP_FREE char *greeting = read_line (h, timeout_ms);
  json_object *g;
  bool ok;

  if (!greeting)
    return -1;
  g = parse_object (greeting);
  ok = g && json_object_object_get_ex (g, "QMP", NULL);
  json_object_put (g);
  if (!ok) {
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
  json_object *o = parse_object (json), *ret;
  char *r = NULL;

  if (o && json_object_object_get_ex (o, "return", &ret) &&
      json_object_is_type (ret, json_type_object))
    r = string_member (ret, name);
  else if (o)
    r = string_member (o, name);
  json_object_put (o);
  return r;
}
