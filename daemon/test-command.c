/* guestbox - unit test of the daemon's command runner (no VM).
 * Copyright (C) 2026 the guestbox authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

/**
 * command_run (command.c) on real programs: exit statuses, stdout and
 * stderr kept apart or together, the bounds on what is kept (a child
 * that writes more never blocks), standard input from a file, the
 * working directory, a program that does not exist (127), the time
 * limit (a child that sleeps is killed, and so is its time), and
 * run_command's one-line stderr built on it.
 */

#include <config.h>

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

#include "daemon.h"
#include "check.h"

static const char *
S (const char *s)
{
  return s ? s : "(null)";
}

int
main (void)
{
  char tmpl[] = "/tmp/gbox-test-command-XXXXXX", path[300];
  uint64_t t0;
  int r, fd, dirfd;

  {
    const char *argv[] = { "sh", "-c", "echo out; echo err >&2; exit 3",
                           NULL };
    struct command c = COMMAND_INIT (argv);
    c.out_max = c.err_max = 100;
    r = command_run (&c);
    CHECK (r == 3 && strcmp (S (c.out), "out\n") == 0 &&
           strcmp (S (c.err), "err\n") == 0,
           "status 3, stdout and stderr apart: %d '%s' '%s'", r, S (c.out),
           S (c.err));
    free (c.out);
    free (c.err);
  }
  {
    const char *argv[] = { "sh", "-c", "echo out; echo err >&2", NULL };
    struct command c = COMMAND_INIT (argv);
    c.out_max = 100;
    c.err_to_out = true;
    r = command_run (&c);
    CHECK (r == 0 && strcmp (S (c.out), "out\nerr\n") == 0 && c.err == NULL,
           "stderr into stdout: '%s'", S (c.out));
    free (c.out);
  }
  {
    const char *argv[] = { "sh", "-c", "yes | head -c 10000000", NULL };
    struct command c = COMMAND_INIT (argv);
    c.out_max = 10;
    r = command_run (&c);
    CHECK (r == 0 && strcmp (S (c.out), "y\ny\ny\ny\ny\n") == 0,
           "10 MB written, 10 bytes kept, no block: status %d", r);
    free (c.out);
  }
  {
    const char *argv[] = { "gbox-no-such-program", NULL };
    struct command c = COMMAND_INIT (argv);
    c.err_max = 200;
    r = command_run (&c);
    CHECK (r == 127 && strstr (S (c.err), "gbox-no-such-program") != NULL,
           "a missing program: %d '%s'", r, S (c.err));
    free (c.err);
  }
  {
    const char *argv[] = { "sh", "-c", "sleep 30; echo late", NULL };
    struct command c = COMMAND_INIT (argv);
    c.out_max = 100;
    c.timeout_ms = 300;
    t0 = now_ms ();
    r = command_run (&c);
    CHECK (r == 128 + SIGKILL && c.timed_out && now_ms () - t0 < 5000 &&
           strcmp (S (c.out), "") == 0,
           "a time limit of 300 ms: status %d after %" PRIu64 " ms", r,
           now_ms () - t0);
    free (c.out);
  }
  {
    const char *argv[] = { "sleep", "30", NULL };
    struct command c = COMMAND_INIT (argv);
    c.timeout_ms = 200;
    t0 = now_ms ();
    r = command_run (&c);
    CHECK (r == 128 + SIGKILL && c.timed_out && now_ms () - t0 < 5000,
           "a time limit with nothing captured: status %d", r);
  }
  {
    const char *argv[] = { "true", NULL };
    struct command c = COMMAND_INIT (argv);
    c.timeout_ms = 5000;
    r = command_run (&c);
    CHECK (r == 0 && !c.timed_out, "within its time limit: status %d", r);
  }

  if (mkdtemp (tmpl) == NULL) {
    perror ("mkdtemp");
    return 1;
  }
  snprintf (path, sizeof path, "%s/in", tmpl);
  fd = open (path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd == -1 || write (fd, "from stdin\n", 11) != 11) {
    perror (path);
    return 1;
  }
  lseek (fd, 0, SEEK_SET);
  dirfd = open (tmpl, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  {
    const char *argv[] = { "sh", "-c", "cat; ls", NULL };
    struct command c = COMMAND_INIT (argv);
    c.in = fd;
    c.dirfd = dirfd;
    c.out_max = 100;
    r = command_run (&c);
    CHECK (r == 0 && strcmp (S (c.out), "from stdin\nin\n") == 0,
           "standard input and working directory: '%s'", S (c.out));
    free (c.out);
  }
  close (fd);
  close (dirfd);
  unlink (path);
  rmdir (tmpl);

  {
    const char *argv[] = { "sh", "-c",
                           "echo a; printf 'b\\tc\\n\\033d\\n\\n' >&2; exit 1",
                           NULL };
    char *err = NULL;
    r = run_command (&err, argv);
    CHECK (r == 1 && strcmp (S (err), "b c ?d") == 0,
           "run_command: status %d, stderr as one line '%s'", r, S (err));
    free (err);
  }
  {
    char s[] = "first\nsecond\n";
    command_one_line (s, true);
    CHECK (strcmp (s, "first") == 0, "the first line only: '%s'", s);
  }
  return check_finish ("test-command");
}
