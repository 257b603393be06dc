/* guestbox - test the handle's settings, errors and utilities.
 * Copyright (C) 2026 the guestbox authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

/**
 * Table-driven checks of: handle defaults and the GBOX_* environment,
 * setters, the error state, errno names, JSON quoting, rmtree, the
 * console ring and its tail, and the cleanup attributes.
 */

#include <config.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "guestbox-internal.h"
#include "cleanups.h"
#include "test-helpers.h"
#include "libvirt.h"

static const char *env_vars[] = {
  "GBOX_MEMSIZE", "GBOX_ACCEL", "GBOX_QEMU", "LIBGUESTFS_QEMU", "GBOX_APPEND",
  "LIBGUESTFS_APPEND", "GBOX_PATH", "LIBGUESTFS_PATH", "GBOX_DEBUG",
  "GBOX_TRACE", "GBOX_SNAPSHOT", "GBOX_LAUNCH_TIMEOUT", "GBOX_CALL_TIMEOUT",
  "LIBGUESTFS_MEMSIZE", "LIBGUESTFS_BACKEND_SETTINGS", "LIBGUESTFS_HV",
  "LIBGUESTFS_DEBUG", "LIBGUESTFS_TRACE",
};

static void
clear_env (void)
{
  size_t i;

  for (i = 0; i < sizeof env_vars / sizeof env_vars[0]; ++i)
    unsetenv (env_vars[i]);
}

static void
check_defaults (void)
{
  gbox_h *h;

  clear_env ();
  h = gbox_create ();
  CHECK (h->verbose == 0 && h->trace == 0, "default: not verbose, no trace");
  CHECK (h->memsize == 512, "default: memsize 512");
  CHECK (strcmp (h->accel, "auto") == 0, "default: accel auto");
  CHECK (strcmp (h->qemu, QEMU) == 0, "default: qemu %s", QEMU);
  CHECK (h->append == NULL && h->path == NULL, "default: no append, no path");
  CHECK (h->snapshot, "default: snapshot on");
  CHECK (h->launch_timeout == 120 && h->call_timeout == 600,
         "default: timeouts 120 s and 600 s");
  CHECK (h->fd == -1 && h->qmp_fd == -1 && h->console_fd == -1,
         "default: no fds");
  CHECK (h->state == GBOX_STATE_CONFIG, "default: state config");
  CHECK (strcmp (gbox_last_error (h), "") == 0, "no error yet: \"\"");
  gbox_close (h);

  setenv ("GBOX_MEMSIZE", "2048", 1);
  setenv ("GBOX_ACCEL", "tcg", 1);
  setenv ("LIBGUESTFS_QEMU", "/opt/qemu-lg", 1);
  setenv ("LIBGUESTFS_APPEND", "quiet", 1);
  setenv ("GBOX_PATH", "/opt/appliance", 1);
  setenv ("LIBGUESTFS_PATH", "/opt/other", 1);
  setenv ("GBOX_DEBUG", "1", 1);
  setenv ("GBOX_TRACE", "1", 1);
  setenv ("GBOX_SNAPSHOT", "0", 1);
  setenv ("GBOX_LAUNCH_TIMEOUT", "30", 1);
  setenv ("GBOX_CALL_TIMEOUT", "7", 1);
  h = gbox_create ();
  CHECK (h->memsize == 2048, "env: GBOX_MEMSIZE");
  CHECK (strcmp (h->accel, "tcg") == 0, "env: GBOX_ACCEL");
  CHECK (strcmp (h->qemu, "/opt/qemu-lg") == 0, "env: LIBGUESTFS_QEMU");
  CHECK (strcmp (h->append, "quiet") == 0, "env: LIBGUESTFS_APPEND");
  CHECK (strcmp (h->path, "/opt/appliance") == 0,
         "env: GBOX_PATH wins over LIBGUESTFS_PATH");
  CHECK (h->verbose && h->trace, "env: GBOX_DEBUG, GBOX_TRACE");
  CHECK (!h->snapshot, "env: GBOX_SNAPSHOT=0");
  CHECK (h->launch_timeout == 30 && h->call_timeout == 7, "env: timeouts");
  gbox_close (h);

  setenv ("GBOX_QEMU", "/opt/qemu-gb", 1);
  setenv ("GBOX_MEMSIZE", "lots", 1);
  setenv ("GBOX_CALL_TIMEOUT", "-5", 1);
  h = gbox_create ();
  CHECK (strcmp (h->qemu, "/opt/qemu-gb") == 0,
         "env: GBOX_QEMU wins over LIBGUESTFS_QEMU");
  CHECK (h->memsize == 512 && h->call_timeout == 600,
         "env: invalid numbers keep the defaults");
  gbox_close (h);
  clear_env ();
}

static void
check_setters (void)
{
  gbox_h *h = gbox_create ();
  int r;

  gbox_set_verbose (h, 5);
  CHECK (gbox_get_verbose (h) == 1, "set_verbose/get_verbose");
  gbox_set_trace (h, 1);
  CHECK (gbox_get_trace (h) == 1, "set_trace/get_trace");
  CHECK (gbox_set_memsize (h, 64) == -1 && gbox_last_errno (h) == EINVAL,
         "set_memsize 64 refused");
  CHECK (gbox_set_memsize (h, 1024) == 0 && h->memsize == 1024,
         "set_memsize 1024");
  r = gbox_set_accel (h, "xen");
  CHECK (r == -1, "set_accel xen refused: %s", gbox_last_error (h));
  CHECK (gbox_set_accel (h, "kvm") == 0 && strcmp (h->accel, "kvm") == 0,
         "set_accel kvm");
  CHECK (gbox_set_qemu (h, "/x/qemu") == 0 && strcmp (h->qemu, "/x/qemu") == 0,
         "set_qemu");
  CHECK (gbox_set_append (h, "a=b") == 0 && strcmp (h->append, "a=b") == 0,
         "set_append");
  CHECK (gbox_set_append (h, NULL) == 0 && h->append == NULL,
         "set_append NULL clears");
  CHECK (gbox_set_path (h, "/p") == 0 && strcmp (h->path, "/p") == 0,
         "set_path");
  gbox_set_launch_timeout (h, 5);
  gbox_set_call_timeout (h, 9);
  CHECK (h->launch_timeout == 5 && h->call_timeout == 9, "set timeouts");
  gbox_set_program (h, "virt-test");
  CHECK (strcmp (h->program, "virt-test") == 0, "set_program");
  gbox_close (h);
}

static void
check_errors (void)
{
  gbox_h *h = gbox_create ();
  const struct {
    const char *name;
    int value;
  } names[] = {
    { "ENOENT", ENOENT }, { "EACCES", EACCES }, { "EIO", EIO },
    { "ENOSPC", ENOSPC }, { "EROFS", EROFS }, { "ECANCELED", ECANCELED },
    { "ENOTDIR", ENOTDIR }, { "EINVAL", EINVAL }, { "ELOOP", ELOOP },
    { "", 0 }, { "ENOTANERRNO", 0 }, { "enoent", 0 },
  };
  size_t i;

  for (i = 0; i < sizeof names / sizeof names[0]; ++i)
    CHECK (gbox_int_errno_from_name (names[i].name) == names[i].value,
           "errno name \"%s\" -> %d", names[i].name, names[i].value);
  CHECK (gbox_int_errno_from_name (NULL) == 0, "errno name NULL -> 0");

  gbox_int_error (h, "thing: %s", "broke");
  CHECK (strcmp (gbox_last_error (h), "thing: broke") == 0 &&
         gbox_last_errno (h) == 0, "gbox_int_error");
  errno = EACCES;
  gbox_int_perror (h, "open: %s", "/x");
  CHECK (errno == EACCES, "gbox_int_perror keeps errno");
  CHECK (strcmp (gbox_last_error (h), "open: /x: Permission denied") == 0 &&
         gbox_last_errno (h) == EACCES, "gbox_int_perror: %s",
         gbox_last_error (h));
  gbox_int_set_error (h, EIO, "disk: failed");
  CHECK (strcmp (gbox_last_error (h), "disk: failed") == 0 &&
         gbox_last_errno (h) == EIO, "gbox_int_set_error");
  gbox_close (h);
}

/* NBD URIs to blockdev JSON, JSON quoting, and string members of QMP
 * replies (json-c: \uXXXX decoded, nested members not mistaken for
 * top-level ones). */
static void
check_json (void)
{
  const struct {
    const char *uri, *json;             /* json NULL: refused */
    const char *msg;                    /* then: part of the error */
  } cases[] = {
    { "nbd://example.com",
      "{\"driver\":\"nbd\",\"server\":{\"type\":\"inet\","
      "\"host\":\"example.com\",\"port\":\"10809\"}}", NULL },
    { "nbd://127.0.0.1:10810/disk%20one",
      "{\"driver\":\"nbd\",\"server\":{\"type\":\"inet\","
      "\"host\":\"127.0.0.1\",\"port\":\"10810\"},\"export\":\"disk one\"}", NULL },
    { "nbd+tcp://[::1]:99/e",
      "{\"driver\":\"nbd\",\"server\":{\"type\":\"inet\","
      "\"host\":\"::1\",\"port\":\"99\"},\"export\":\"e\"}", NULL },
    { "nbd+unix:///exp?socket=/tmp/a%20%22b.sock",
      "{\"driver\":\"nbd\",\"server\":{\"type\":\"unix\","
      "\"path\":\"/tmp/a \\\"b.sock\"},\"export\":\"exp\"}", NULL },
    { "nbd://?socket=/tmp/s",
      "{\"driver\":\"nbd\",\"server\":{\"type\":\"unix\","
      "\"path\":\"/tmp/s\"}}", NULL },
    { "nbd:///?socket=/tmp/x&socket=/tmp/y",
      "{\"driver\":\"nbd\",\"server\":{\"type\":\"unix\","
      "\"path\":\"/tmp/y\"}}", NULL },
    /* Ports at the ends of the range, IPv6 literals. */
    { "nbd://h:1/",
      "{\"driver\":\"nbd\",\"server\":{\"type\":\"inet\","
      "\"host\":\"h\",\"port\":\"1\"}}", NULL },
    { "nbd://h:65535/x",
      "{\"driver\":\"nbd\",\"server\":{\"type\":\"inet\","
      "\"host\":\"h\",\"port\":\"65535\"},\"export\":\"x\"}", NULL },
    { "nbd://[::1]/",
      "{\"driver\":\"nbd\",\"server\":{\"type\":\"inet\","
      "\"host\":\"::1\",\"port\":\"10809\"}}", NULL },
    { "nbd://[fe80::1:2]:10810/exp",
      "{\"driver\":\"nbd\",\"server\":{\"type\":\"inet\","
      "\"host\":\"fe80::1:2\",\"port\":\"10810\"},\"export\":\"exp\"}", NULL },
    /* Unix sockets: no export, an escaped '&', other parameters. */
    { "nbd+unix:///?socket=/run/nbd.sock",
      "{\"driver\":\"nbd\",\"server\":{\"type\":\"unix\","
      "\"path\":\"/run/nbd.sock\"}}", NULL },
    { "nbd+unix:///?socket=/tmp/a%26b",
      "{\"driver\":\"nbd\",\"server\":{\"type\":\"unix\","
      "\"path\":\"/tmp/a&b\"}}", NULL },
    { "nbd+unix:///disk?other=1&socket=/s",
      "{\"driver\":\"nbd\",\"server\":{\"type\":\"unix\","
      "\"path\":\"/s\"},\"export\":\"disk\"}", NULL },
    { "nbd://h/a%2Fb",
      "{\"driver\":\"nbd\",\"server\":{\"type\":\"inet\","
      "\"host\":\"h\",\"port\":\"10809\"},\"export\":\"a/b\"}", NULL },
    /* JSON escapes: a control character; UTF-8 kept. */
    { "nbd+unix:///caf%C3%A9?socket=/t%01%5C",
      "{\"driver\":\"nbd\",\"server\":{\"type\":\"unix\","
      "\"path\":\"/t\\u0001\\\\\"},\"export\":\"caf\xc3\xa9\"}", NULL },
    { "nbd+unix:///export", NULL, "needs ?socket=PATH" },
    { "nbd+unix:///?socket=", NULL, "needs ?socket=PATH" },
    { "nbd://", NULL, "no host name" },
    { "nbd:///exp", NULL, "no host name" },
    { "nbd://h:0/", NULL, "bad port number" },
    { "nbd://h:65536/", NULL, "bad port number" },
    { "nbd://h:99999999999/", NULL, "bad port number" },
    { "nbd://h:abc/", NULL, "bad port number" },
    { "nbd://h:/", NULL, "bad port number" },
    { "nbd://[::1]:x/", NULL, "bad port number" },
    { "nbd://[::1/", NULL, "bad IPv6 address" },
    { "nbd://h/ex port", NULL, "not a valid URI" },
    { "nbd://u@h/x", NULL, "no user name or #fragment" },
    { "nbd://h/x#frag", NULL, "no user name or #fragment" },
    { "http://h/", NULL, "not an NBD URI" },
    { "nbdx://h/", NULL, "not an NBD URI" },
  };
  gbox_h *h = gbox_create ();
  CLEANUP_FREE char *s1 = NULL, *s2 = NULL, *s3 = NULL, *s4 = NULL;
  size_t i;

  for (i = 0; i < sizeof cases / sizeof cases[0]; ++i) {
    CLEANUP_FREE char *j = gbox_int_nbd_json (h, cases[i].uri);

    if (cases[i].json)
      CHECK (j && strcmp (j, cases[i].json) == 0, "%s -> %s (got %s)",
             cases[i].uri, cases[i].json, j ? j : gbox_last_error (h));
    else
      CHECK (j == NULL && test_contains (gbox_last_error (h), cases[i].uri)
             && test_contains (gbox_last_error (h), cases[i].msg),
             "%s refused (%s): %s", cases[i].uri, cases[i].msg,
             j ? j : gbox_last_error (h));
  }
  gbox_close (h);

  /* libvirt's NBD network disks become URIs that parse back: names with
   * spaces, '&' and '#' escaped, an IPv6 host in brackets. */
  {
    static const char xml[] =
      "<domain><devices>"
      "<disk type='network'><source protocol='nbd' name='my disk#1'>"
      "<host transport='unix' socket='/run/a b&amp;c.sock'/></source>"
      "<target dev='vda'/></disk>"
      "<disk type='network'><source protocol='nbd' name='e'>"
      "<host name='::1' port='10810'/></source><target dev='vdb'/></disk>"
      "<disk type='network'><source protocol='nbd'>"
      "<host name='example.com'/></source><target dev='vdc'/></disk>"
      "</devices></domain>";
    static const char *const want[] = {
      "{\"driver\":\"nbd\",\"server\":{\"type\":\"unix\","
      "\"path\":\"/run/a b&c.sock\"},\"export\":\"my disk#1\"}",
      "{\"driver\":\"nbd\",\"server\":{\"type\":\"inet\","
      "\"host\":\"::1\",\"port\":\"10810\"},\"export\":\"e\"}",
      "{\"driver\":\"nbd\",\"server\":{\"type\":\"inet\","
      "\"host\":\"example.com\",\"port\":\"10809\"}}",
    };
    struct gbox_libvirt_domain dom = { 0 };
    char *err = NULL;

    h = gbox_create ();
    CHECK (gbox_libvirt_parse_disks (xml, &dom, &err) == 0 &&
           dom.nr_disks == 3, "libvirt network disks parsed (%s)",
           err ? err : "");
    for (i = 0; i < dom.nr_disks && i < 3; ++i) {
      CLEANUP_FREE char *j = gbox_int_nbd_json (h, dom.disks[i].source);
      CHECK (j && strcmp (j, want[i]) == 0, "libvirt disk %s -> %s (got %s)",
             dom.disks[i].source, want[i], j ? j : gbox_last_error (h));
    }
    gbox_libvirt_free_domain (&dom);
    free (err);
    gbox_close (h);
  }

  s1 = gbox_int_qmp_string ("{\"status\":\"caf\\u00e9 \\u0001\"}", "status");
  CHECK (s1 && strcmp (s1, "caf\xc3\xa9 \x01") == 0, "\\u escapes decoded");
  s2 = gbox_int_qmp_string ("{\"return\":{\"child\":{\"status\":\"no\"},"
                            "\"status\":\"yes\"}}", "status");
  CHECK (s2 && strcmp (s2, "yes") == 0, "the top-level member: %s",
         s2 ? s2 : "NULL");
  s3 = gbox_int_qmp_string ("{\"return\":{\"child\":{\"status\":\"no\"}}}",
                            "status");
  CHECK (s3 == NULL, "a nested member is not the top-level one");
  s4 = gbox_int_qmp_string ("{\"status\":1", "status");
  CHECK (s4 == NULL, "truncated JSON gives nothing");
}

/* The host command runner: capture, bounds, lines, exit status,
 * timeout, a program that does not exist. */
static void
count_line (void *opaque, const char *line)
{
  char *last = opaque;

  snprintf (last, 64, "%s", line);
}

static void
check_command (void)
{
  const char *echo[] = { "sh", "-c", "printf 'out1\\rout2\\n'; "
                         "printf 'err' >&2; exit 3", NULL };
  const char *big[] = { "sh", "-c", "head -c 100000 /dev/zero", NULL };
  const char *slow[] = { "sleep", "30", NULL };
  const char *none[] = { "/nonexistent/program", NULL };
  const char *fds[] = { "sh", "-c", "ls /proc/self/fd", NULL };
  char last[64] = "";
  struct gbox_cmd c = { .argv = echo, .out_max = 100, .err_max = 100,
                        .out_line = count_line, .opaque = last };
  uint64_t t0;
  int fd = open ("/dev/null", O_RDONLY);  /* not inherited */

  CHECK (gbox_int_cmd_run (&c) == 0 && !gbox_int_cmd_ok (&c) &&
         WIFEXITED (c.status) && WEXITSTATUS (c.status) == 3,
         "exit status 3");
  CHECK (c.out && strcmp (c.out, "out1\rout2\n") == 0 &&
         c.out_len == 10, "stdout captured");
  CHECK (c.err && strcmp (c.err, "err") == 0, "stderr captured");
  CHECK (strcmp (last, "out2") == 0, "stdout lines delivered: %s", last);
  gbox_int_cmd_free (&c);

  memset (&c, 0, sizeof c);
  c.argv = big;
  c.out_max = 1000;
  CHECK (gbox_int_cmd_run (&c) == 0 && gbox_int_cmd_ok (&c) &&
         c.out_len == 1000 && c.err == NULL,
         "stdout bounded, the rest drained (%zu bytes kept)", c.out_len);
  gbox_int_cmd_free (&c);

  memset (&c, 0, sizeof c);
  c.argv = slow;
  c.timeout_ms = 300;
  t0 = gbox_int_now_ms ();
  CHECK (gbox_int_cmd_run (&c) == 0 && c.timed_out && !gbox_int_cmd_ok (&c) &&
         gbox_int_now_ms () - t0 < 5000, "timeout kills the program");
  gbox_int_cmd_free (&c);

  memset (&c, 0, sizeof c);
  c.argv = none;
  c.err_max = 200;
  CHECK (gbox_int_cmd_run (&c) == 0 && WIFEXITED (c.status) &&
         WEXITSTATUS (c.status) == 127 && c.err &&
         test_contains (c.err, "/nonexistent/program: "),
         "a missing program: 127 and a message (%s)", c.err ? c.err : "");
  gbox_int_cmd_free (&c);

  memset (&c, 0, sizeof c);
  c.argv = fds;
  c.out_max = 200;
  CHECK (gbox_int_cmd_run (&c) == 0 && gbox_int_cmd_ok (&c) && c.out &&
         strcmp (c.out, "0\n1\n2\n3\n") == 0,
         "only 0, 1, 2 inherited (and ls's own): %s", c.out ? c.out : "");
  gbox_int_cmd_free (&c);

  /* Descriptor 3 passed; the caller's streams and directory. */
  {
    const char *fd3[] = { "sh", "-c", "head -c 5 <&3", NULL };
    const char *pwd[] = { "sh", "-c", "pwd; cat; echo e >&2", NULL };
    char dir[] = "/tmp/gbox-test-XXXXXX", buf[256] = "";
    int p_in[2], p_out[2], p_err[2], dfd;
    pid_t pid;
    ssize_t n;

    memset (&c, 0, sizeof c);
    c.argv = fd3;
    c.fd3 = open ("/proc/self/exe", O_RDONLY | O_CLOEXEC);
    c.out_max = 100;
    CHECK (c.fd3 > 2 && gbox_int_cmd_run (&c) == 0 && gbox_int_cmd_ok (&c) &&
           c.out_len == 5 && memcmp (c.out, "\177ELF", 4) == 0,
           "descriptor 3 is the one passed");
    gbox_int_cmd_free (&c);
    close (c.fd3);

    CHECK (mkdtemp (dir) != NULL && pipe2 (p_in, O_CLOEXEC) == 0 &&
           pipe2 (p_out, O_CLOEXEC) == 0 && pipe2 (p_err, O_CLOEXEC) == 0,
           "pipes and a directory");
    dfd = open (dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    memset (&c, 0, sizeof c);
    c.argv = pwd;
    c.dir_fd = dfd;
    c.stdio[0] = p_in[0];
    c.stdio[1] = p_out[1];
    c.stdio[2] = p_err[1];
    c.stdio_set = 7;
    pid = gbox_int_cmd_start (&c);
    close (p_in[0]);
    close (p_out[1]);
    close (p_err[1]);
    CHECK (pid > 0 && write (p_in[1], "in\n", 3) == 3, "started, fed");
    close (p_in[1]);
    CHECK (gbox_int_cmd_wait (&c, pid) == 0 && gbox_int_cmd_ok (&c),
           "waited: exit 0");
    n = read (p_out[0], buf, sizeof buf - 1);
    buf[n > 0 ? n : 0] = '\0';
    {
      char want[128];
      snprintf (want, sizeof want, "%s\nin\n", dir);
      CHECK (strcmp (buf, want) == 0,
             "its directory and stdin are ours, stdout our pipe: %s", buf);
    }
    n = read (p_err[0], buf, sizeof buf - 1);
    buf[n > 0 ? n : 0] = '\0';
    CHECK (strcmp (buf, "e\n") == 0, "stderr our pipe: %s", buf);
    close (p_out[0]);
    close (p_err[0]);
    close (dfd);
    rmdir (dir);

    /* A failed exec named with the program's prefix. */
    if (pipe2 (p_err, O_CLOEXEC) == 0) {
      memset (&c, 0, sizeof c);
      c.argv = none;
      c.stdio[2] = p_err[1];
      c.stdio_set = 4;
      c.program = "virt-test";
      CHECK (gbox_int_cmd_run (&c) == 0 && WIFEXITED (c.status) &&
             WEXITSTATUS (c.status) == 127, "a missing program: 127");
      close (p_err[1]);
      n = read (p_err[0], buf, sizeof buf - 1);
      buf[n > 0 ? n : 0] = '\0';
      CHECK (strncmp (buf, "virt-test: error: /nonexistent/program: ", 40)
             == 0, "its message is ours: %s", buf);
      close (p_err[0]);
    }
  }
  if (fd >= 0)
    close (fd);
}

static void
check_rmtree (void)
{
  char *dir = test_mkdtemp ();
  char path[4096];
  const char *dirs[] = { "a", "a/b", "a/b/c", "d" };
  const char *files[] = { "f", "a/f", "a/b/c/f", "d/.hidden" };
  struct stat st;
  size_t i;
  int fd;

  for (i = 0; i < 4; ++i) {
    snprintf (path, sizeof path, "%s/%s", dir, dirs[i]);
    mkdir (path, 0755);
  }
  for (i = 0; i < 4; ++i) {
    snprintf (path, sizeof path, "%s/%s", dir, files[i]);
    fd = open (path, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
    close (fd);
  }
  /* A symlink to outside must be removed, not followed. */
  snprintf (path, sizeof path, "%s/a/link", dir);
  symlink ("/etc", path);
  snprintf (path, sizeof path, "%s/d", dir);
  chmod (path, 0);              /* root ignores this; others get EACCES */

  CHECK (gbox_int_rmtree (dir) == 0 || getuid () != 0, "rmtree succeeds");
  snprintf (path, sizeof path, "%s/d", dir);
  chmod (path, 0755);
  gbox_int_rmtree (dir);
  CHECK (stat (dir, &st) == -1 && errno == ENOENT, "rmtree removed the tree");
  CHECK (stat ("/etc/passwd", &st) == 0, "rmtree did not follow the symlink");
  CHECK (gbox_int_rmtree (dir) == 0, "rmtree of a missing dir is ok");
  free (dir);
}

static void
check_console (void)
{
  gbox_h *h = gbox_create ();
  char buf[256];
  int i, p[2];

  if (pipe (p) == -1)
    abort ();
  h->console_fd = p[0];
  for (i = 0; i < 3000; ++i)
    dprintf (p[1], "line %d\n", i);
  close (p[1]);
  for (i = 0; i < 1000 && h->console_fd >= 0; ++i)
    gbox_int_read_console (h);
  CHECK (h->console_fd == -1, "console: EOF closes the console fd");
  CHECK (h->console_pos > GBOX_CONSOLE_TAIL,
         "console: %zu bytes seen", h->console_pos);
  gbox_int_console_tail (h, 3, buf, sizeof buf);
  CHECK (strcmp (buf, "line 2997\nline 2998\nline 2999") == 0,
         "console tail of 3 lines after the ring wrapped: \"%s\"", buf);
  gbox_int_console_tail (h, 100, buf, 12);
  CHECK (strcmp (buf, "8\nline 2999") == 0,
         "console tail is cut to the buffer: \"%s\"", buf);
  gbox_close (h);

  h = gbox_create ();
  gbox_int_console_tail (h, 5, buf, sizeof buf);
  CHECK (strcmp (buf, "") == 0, "console tail with no console is empty");
  gbox_close (h);
}


static void
check_cleanups (void)
{
  char *saved;
  int fd_saved;
  struct stat st;

  {
    CLEANUP_FREE char *s = strdup ("x");
    CLEANUP_FREE_STRING_LIST char **list = calloc (3, sizeof (char *));
    CLEANUP_CLOSE int fd = open ("/dev/null", O_RDONLY | O_CLOEXEC);
    CLEANUP_FCLOSE FILE *fp = fopen ("/dev/null", "r");
    CLEANUP_XDR_FREE (gbox_version_ret) struct gbox_version_ret v = { 0 };

    list[0] = strdup ("a");
    list[1] = strdup ("b");
    v.daemon_version = strdup ("1.0");
    saved = s;
    fd_saved = fd;
  }
  (void) saved;
  CHECK (fstat (fd_saved, &st) == -1 && errno == EBADF,
         "CLEANUP_CLOSE closed the fd");
}

int
main (int argc, char *argv[])
{
  check_defaults ();
  check_setters ();
  check_errors ();
  check_json ();
  check_command ();
  check_rmtree ();
  check_console ();
  check_cleanups ();
  return check_finish ("test-utils");
}
