/* guestbox - unit tests of common/options.c.
 * Copyright (C) 2026 the guestbox authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

/**
 * Table-driven tests of the shared option parsing, through the same
 * getopt_long loop a command runs: the --format rule (it applies to
 * the -a options after it; --format alone or --format=auto go back to
 * probing; a --format after the last -a is an error), -m
 * DEV[:MOUNTPOINT[:OPTIONS[:FSTYPE]]] with missing and empty parts,
 * the -i/-m and "no -a" checks, -v/-x counting, the --long-options /
 * --short-options lists, and gbox_opts_add_drives on a real handle
 * (no appliance is launched).
 */

#include <config.h>

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <unistd.h>

#include "guestbox.h"
#include "options.h"
#include "check.h"

static int
streq_null (const char *a, const char *b)
{
  if (a == NULL || b == NULL)
    return a == b;
  return strcmp (a, b) == 0;
}

#define S(x) ((x) ? (x) : "(null)")

static const char short_options[] = GBOX_OPTS_SHORT "lR";
static const struct option long_options[] = {
  GBOX_OPTS_LONG,
  { "long", no_argument, NULL, 'l' },
  { NULL, 0, NULL, 0 }
};

/* Run ARGV (NULL-terminated, without the program name) through the
 * command-style loop.  Returns the result of gbox_opts_check, or -2 if
 * an option was refused. */
static int
parse (struct gbox_opts *o, const char *const *args)
{
  char *argv[32];
  int argc = 0, c, r;

  argv[argc++] = (char *) "test-options";
  while (*args && argc < 31)
    argv[argc++] = (char *) *args++;
  argv[argc] = NULL;

  gbox_opts_init (o, "test-options", short_options, long_options, true);
  gbox_opts_set_argv (o, argc, argv);
  optind = 0;                   /* full getopt reinitialisation */
  opterr = 0;
  while ((c = getopt_long (argc, argv, short_options, long_options,
                           NULL)) != -1) {
    r = gbox_opts_handle (o, c, optarg);
    if (r == -1)
      return -2;
    if (r == 0 && c != 'l')
      return -2;
  }
  if (gbox_opts_old_style (o) == -1)
    return -2;
  return gbox_opts_check (o);
}

/* Drives: "SOURCE=FORMAT" pairs ("SOURCE=" for probing). */
static const struct {
  const char *args[12];
  int result;                   /* of parse () */
  const char *drives[4];
} drive_tests[] = {
  { { "-a", "x.img", NULL }, 0, { "x.img=", NULL } },
  { { "--add", "x.img", "--add=y.img", NULL }, 0,
    { "x.img=", "y.img=", NULL } },
  { { "--format=raw", "-a", "x", "-a", "y", NULL }, 0,
    { "x=raw", "y=raw", NULL } },
  { { "-a", "x", "--format=qcow2", "-a", "y", NULL }, 0,
    { "x=", "y=qcow2", NULL } },
  { { "--format=raw", "-a", "x", "--format", "-a", "y", NULL }, 0,
    { "x=raw", "y=", NULL } },
  { { "--format=raw", "-a", "x", "--format=auto", "-a", "y", NULL }, 0,
    { "x=raw", "y=", NULL } },
  { { "--format=raw", "-a", "x", "--format=", "-a", "y", NULL }, 0,
    { "x=raw", "y=", NULL } },
  { { "--format=raw", "--format=qcow2", "-a", "x", NULL }, 0,
    { "x=qcow2", NULL } },
  { { "--format=raw", "-a", "nbd://host/export", NULL }, 0,
    { "nbd://host/export=raw", NULL } },
  /* "--format VALUE" as well as "--format=VALUE". */
  { { "--format", "raw", "-a", "x", NULL }, 0, { "x=raw", NULL } },
  { { "--format", "qcow2", "-a", "x", "--format", "-a", "y", NULL }, 0,
    { "x=qcow2", "y=", NULL } },
  { { "-a", "x", "--format", "vmdk", "--add", "y", "-l", NULL }, 0,
    { "x=", "y=vmdk", NULL } },
  /* Old-style syntax: no -a, every word but the last is a disk. */
  { { "disk.img", "/etc/fstab", NULL }, 0, { "disk.img=", NULL } },
  { { "--format=raw", "d1", "-v", "d2", "/etc/fstab", NULL }, 0,
    { "d1=raw", "d2=raw", NULL } },
  { { "-a", "x", "/etc/fstab", "/etc/hosts", NULL }, 0, { "x=", NULL } },
  { { "/etc/fstab", NULL }, -1, { NULL } },
  /* A --format with no -a after it. */
  { { "-a", "x", "--format=raw", NULL }, -1, { "x=", NULL } },
  { { "--format=raw", NULL }, -1, { NULL } },
  /* No -a at all. */
  { { NULL }, -1, { NULL } },
  { { "-v", "-l", NULL }, -1, { NULL } },
  /* -i with -m. */
  { { "-a", "x", "-i", "-m", "/dev/sda1", NULL }, -1, { "x=", NULL } },
  /* An empty -a. */
  { { "-a", "", NULL }, -2, { NULL } },
};

static void
test_drives (void)
{
  size_t i, j;

  for (i = 0; i < sizeof drive_tests / sizeof drive_tests[0]; ++i) {
    struct gbox_opts o;
    char desc[256] = "", got[256] = "", expected[256] = "";
    int r = parse (&o, drive_tests[i].args);

    for (j = 0; drive_tests[i].args[j]; ++j) {
      strncat (desc, " ", sizeof desc - strlen (desc) - 1);
      strncat (desc, drive_tests[i].args[j], sizeof desc - strlen (desc) - 1);
    }
    if (r != -2) {
      for (j = 0; j < o.nr_drives; ++j)
        snprintf (got + strlen (got), sizeof got - strlen (got), "%s=%s ",
                  o.drives[j].source, S (o.drives[j].format));
      for (j = 0; drive_tests[i].drives[j]; ++j)
        snprintf (expected + strlen (expected),
                  sizeof expected - strlen (expected), "%s ",
                  drive_tests[i].drives[j]);
      /* Probing shows as "(null)". */
      for (char *p = expected; (p = strstr (p, "= ")) != NULL; p++) {
        memmove (p + 7, p + 1, strlen (p + 1) + 1);
        memcpy (p + 1, "(null)", 6);
      }
    }
    CHECK (r == drive_tests[i].result && strcmp (got, expected) == 0,
           "args [%s] -> drives [%s]", desc, got);
    if (r != drive_tests[i].result)
      printf ("  result %d, expected %d\n", r, drive_tests[i].result);
    gbox_opts_free (&o);
  }
}

static const struct {
  const char *arg;
  int ok;
  const char *device, *mountpoint, *options, *fstype;
} mount_tests[] = {
  { "/dev/sda1", 1, "/dev/sda1", "/", NULL, NULL },
  { "/dev/sda1:/boot", 1, "/dev/sda1", "/boot", NULL, NULL },
  { "/dev/sda1:/boot:ro,noatime", 1, "/dev/sda1", "/boot", "ro,noatime", NULL },
  { "/dev/sda1:/:acl:ext4", 1, "/dev/sda1", "/", "acl", "ext4" },
  { "/dev/VG/LV:/var:::", 1, "/dev/VG/LV", "/var", NULL, ":" },
  { "/dev/sda1::ro", 1, "/dev/sda1", "/", "ro", NULL },
  { "/dev/sda1:::xfs", 1, "/dev/sda1", "/", NULL, "xfs" },
  { "/dev/sda1:/mnt::", 1, "/dev/sda1", "/mnt", NULL, NULL },
  { "/dev/sda1:", 1, "/dev/sda1", "/", NULL, NULL },
  { "/dev/sda1:/a:b:c:d", 1, "/dev/sda1", "/a", "b", "c:d" },
  { "btrfsvol:/dev/sda3/root", 1, "btrfsvol:/dev/sda3/root", "/", NULL, NULL },
  { "btrfsvol:/dev/sda3/home:/home:ro", 1, "btrfsvol:/dev/sda3/home", "/home",
    "ro", NULL },
  { "", 0, NULL, NULL, NULL, NULL },
  { ":/boot", 0, NULL, NULL, NULL, NULL },
  { "::", 0, NULL, NULL, NULL, NULL },
  { "/dev/sda1:boot", 0, NULL, NULL, NULL, NULL },
};

static void
test_mount_parsing (void)
{
  size_t i;

  for (i = 0; i < sizeof mount_tests / sizeof mount_tests[0]; ++i) {
    struct gbox_opts_mount m;
    char err[256] = "", got[512], expected[512];
    int r = gbox_opts_parse_mount (mount_tests[i].arg, &m, err, sizeof err);

    if (r == 0)
      snprintf (got, sizeof got, "ok dev=%s mp=%s opts=%s type=%s",
                S (m.device), S (m.mountpoint), S (m.options), S (m.fstype));
    else
      snprintf (got, sizeof got, "error");
    if (mount_tests[i].ok)
      snprintf (expected, sizeof expected, "ok dev=%s mp=%s opts=%s type=%s",
                S (mount_tests[i].device), S (mount_tests[i].mountpoint),
                S (mount_tests[i].options), S (mount_tests[i].fstype));
    else
      snprintf (expected, sizeof expected, "error");
    CHECK (strcmp (got, expected) == 0, "-m '%s' -> %s",
           mount_tests[i].arg, got);
    if (r == -1)
      printf ("  (message: %s)\n", err);
    if (r == -1 && err[0] == '\0') {
      check_failures++;
      printf ("FAIL: no error message\n");
    }
    if (r == 0)
      gbox_opts_free_mount (&m);
  }
}

static void
test_mount_options (void)
{
  static const char *const args[] = {
    "-a", "x", "-m", "/dev/sda2", "--mount", "/dev/sda1:/boot:ro", NULL
  };
  struct gbox_opts o;
  int r = parse (&o, args);

  CHECK (r == 0 && o.nr_mounts == 2 &&
         strcmp (o.mounts[0].device, "/dev/sda2") == 0 &&
         strcmp (o.mounts[0].mountpoint, "/") == 0 &&
         strcmp (o.mounts[1].mountpoint, "/boot") == 0 &&
         streq_null (o.mounts[1].options, "ro"),
         "-m list kept in command-line order");
  gbox_opts_free (&o);
}

static void
test_flags (void)
{
  static const char *const args[] = {
    "-v", "-a", "x", "--verbose", "-x", "-i", "-vv", NULL
  };
  struct gbox_opts o;
  char got[64];
  int r = parse (&o, args);

  snprintf (got, sizeof got, "verbose=%d trace=%d inspect=%d",
            o.verbose, o.trace, o.inspect);
  CHECK (r == 0 && strcmp (got, "verbose=4 trace=1 inspect=1") == 0,
         "-v --verbose -vv -x -i -> %s", got);
  gbox_opts_free (&o);
}

/* --key selectors: ID:key:KEY and ID:file:FILENAME, exactly three
 * fields; --keys-from-stdin, --echo-keys. */
static void
test_keys (void)
{
  static const char *const good[] = {
    "-a", "x", "--key", "/dev/sda2:key:secret", "--key",
    "1234-abcd:file:/tmp/k", "--keys-from-stdin", "--echo-keys", NULL
  };
  static const char *const bad[][5] = {
    { "-a", "x", "--key", "/dev/sda2:secret", NULL },
    { "-a", "x", "--key", "/dev/sda2:key:a:b", NULL },
    { "-a", "x", "--key", ":key:secret", NULL },
    { "-a", "x", "--key", "/dev/sda2:key:", NULL },
    { "-a", "x", "--key", "/dev/sda2:clevis:x", NULL },
  };
  struct gbox_opts o;
  size_t i;
  int r = parse (&o, good);

  CHECK (r == 0 && o.nr_keys == 2 &&
         strcmp (o.keys[0].id, "/dev/sda2") == 0 && !o.keys[0].is_file &&
         strcmp (o.keys[0].value, "secret") == 0 &&
         strcmp (o.keys[1].id, "1234-abcd") == 0 && o.keys[1].is_file &&
         strcmp (o.keys[1].value, "/tmp/k") == 0 &&
         o.keys_from_stdin && o.echo_keys, "--key selectors parsed");
  gbox_opts_free (&o);
  CHECK (o.keys == NULL && o.nr_keys == 0, "keys freed");
  for (i = 0; i < sizeof bad / sizeof bad[0]; ++i) {
    r = parse (&o, bad[i]);
    CHECK (r == -2, "--key %s refused", bad[i][3]);
    gbox_opts_free (&o);
  }
}

static char *
capture_long (const struct option *lo)
{
  char *buf = NULL;
  size_t len = 0;
  FILE *fp = open_memstream (&buf, &len);

  gbox_opts_print_long_options (fp, lo);
  fclose (fp);
  return buf;
}

static void
test_option_lists (void)
{
  char *buf = NULL;
  size_t len = 0;
  FILE *fp;

  buf = capture_long (long_options);
  CHECK (strcmp (buf, "--add\n--blocksize\n--format\n--help\n--inspector\n"
                 "--mount\n--verbose\n--version\n--echo-keys\n--key\n"
                 "--keys-from-stdin\n--connect\n--domain\n--long\n") == 0,
         "--long-options lists every long option but itself:\n%s", buf);
  free (buf);

  fp = open_memstream (&buf, &len);
  gbox_opts_print_short_options (fp, short_options);
  fclose (fp);
  CHECK (strcmp (buf, "-a\n-c\n-d\n-i\n-m\n-v\n-V\n-x\n-l\n-R\n") == 0,
         "--short-options lists each letter:\n%s", buf);
  free (buf);
}

/* gbox_opts_add_drives on a handle (no launch): every -a is added in
 * order; a missing file is an error with a message on the handle. */
static void
test_add_drives (void)
{
  char img[] = "/tmp/test-options-XXXXXX";
  const char *args[] = { "--format=raw", "-a", img, "-a", img, NULL };
  const char *bad[] = { "-a", "/nonexistent/disk.img", NULL };
  struct gbox_opts o;
  gbox_h *h;
  int fd, r;

  fd = mkstemp (img);
  if (fd == -1 || ftruncate (fd, 1024 * 1024) == -1) {
    perror ("mkstemp");
    exit (EXIT_FAILURE);
  }
  close (fd);

  parse (&o, args);
  h = gbox_create ();
  if (h == NULL) {
    perror ("gbox_create");
    exit (EXIT_FAILURE);
  }
  r = gbox_opts_add_drives (h, &o, 1);
  CHECK (r == 0 && gbox_nr_drives (h) == 2,
         "add_drives adds both -a (%s)",
         r == -1 ? gbox_last_error (h) : "ok");
  gbox_close (h);
  gbox_opts_free (&o);

  parse (&o, bad);
  h = gbox_create ();
  if (h == NULL) {
    perror ("gbox_create");
    exit (EXIT_FAILURE);
  }
  r = gbox_opts_add_drives (h, &o, 1);
  CHECK (r == -1 && gbox_last_error (h) != NULL &&
         strstr (gbox_last_error (h), "/nonexistent/disk.img") != NULL,
         "add_drives of a missing file fails naming it (%s)",
         S (gbox_last_error (h)));
  gbox_close (h);
  gbox_opts_free (&o);
  unlink (img);
}

int
main (void)
{
  test_drives ();
  test_mount_parsing ();
  test_mount_options ();
  test_flags ();
  test_keys ();
  test_option_lists ();
  test_add_drives ();

  return check_finish ("test-options");
}
