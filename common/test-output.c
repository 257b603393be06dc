/* guestbox - unit tests of common/output.c.
 * Copyright (C) 2026 the guestbox authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

/**
 * Table-driven tests of the formatting helpers: human sizes (against
 * hand-computed values and the host's own "ls -lh"), CSV quoting, mode
 * strings, ls times, and the ls -la listing, both against the output
 * the libguestfs virt-ls -l printed for a known image and against the
 * host's "ls -lan" on a directory made here.
 */

#include <config.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <inttypes.h>
#include <errno.h>
#include <fcntl.h>
#include <time.h>
#include <unistd.h>
#include <dirent.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/time.h>

#include <json.h>

#include "output.h"
#include "check.h"

static void
check_str (const char *what, const char *got, const char *expected)
{
  if (!CHECK (strcmp (got, expected) == 0, "%s -> [%s]", what, got))
    printf ("  expected: [%s]\n", expected);
}

/* Human sizes, round to nearest (virt-ls -h).  The first entries are
 * what libguestfs's virt-ls -lR -h printed for the reference image
 * (1024, 5000, 12288 and 2000000 bytes); the others are computed by
 * hand at the boundaries. */
static const struct {
  uint64_t n;
  const char *expected;
} human_tests[] = {
  { 1024, "1.0K" },
  { 5000, "4.9K" },
  { 12288, "12K" },
  { 2000000, "1.9M" },
  { 0, "0" },
  { 1, "1" },
  { 999, "999" },
  { 1023, "1023" },
  { 1025, "1.0K" },
  { 1075, "1.0K" },             /* 1.0498 */
  { 1076, "1.1K" },             /* 1.0508 */
  { 1536, "1.5K" },             /* exactly 1.5 */
  { 10188, "9.9K" },            /* 9.9492 */
  { 10189, "10K" },             /* 9.9502: rounds to 10.0, shown as 10 */
  { 10239, "10K" },
  { 10240, "10K" },
  { 10752, "10K" },             /* 10.5: ties go to even */
  { 11776, "12K" },             /* 11.5: ties go to even */
  { 1047552, "1023K" },
  { 1048064, "1.0M" },          /* 1023.5K rounds up to the next power */
  { 1048575, "1.0M" },
  { 1048576, "1.0M" },
  { 1073741824, "1.0G" },
  { UINT64_C (1099511627776), "1.0T" },
  { UINT64_C (1125899906842624), "1.0P" },
  { UINT64_C (1152921504606846976), "1.0E" },
  { UINT64_MAX, "16E" },
};

static void
test_human (void)
{
  char buf[GBOX_HUMAN_BUFLEN], what[64];
  size_t i;

  for (i = 0; i < sizeof human_tests / sizeof human_tests[0]; ++i) {
    snprintf (what, sizeof what, "human_size %" PRIu64, human_tests[i].n);
    check_str (what, gbox_human_size (human_tests[i].n, buf),
               human_tests[i].expected);
  }

  /* The "total" line of ls: 512-byte blocks shown as KiB, rounded up. */
  check_str ("ls total 0", gbox_human_readable (0, buf, 0, 512, 1024), "0");
  check_str ("ls total 1 block",
             gbox_human_readable (1, buf, 0, 512, 1024), "1");
  check_str ("ls total 25 blocks",
             gbox_human_readable (49, buf, 0, 512, 1024), "25");
  check_str ("ls total 50 blocks",
             gbox_human_readable (50, buf, 0, 512, 1024), "25");
  check_str ("1000-based SI",
             gbox_human_readable (1500, buf, GBOX_HUMAN_ROUND |
                                  GBOX_HUMAN_AUTOSCALE | GBOX_HUMAN_SI,
                                  1, 1), "1.5k");
}

/* The host's "ls -lh" uses the same arithmetic, rounding up: compare
 * on sparse files of boundary sizes. */
static void
test_human_against_ls (void)
{
  static const uint64_t sizes[] = {
    0, 1, 1023, 1024, 1025, 1127, 1536, 10137, 10138, 10240, 10241,
    1048575, 1048576, 1048577, 1073741823, 1073741825,
    UINT64_C (10995116277760), UINT64_C (1125899906842623),
  };
  char dir[] = "/tmp/test-output-XXXXXX";
  char path[64], cmd[128], line[256], buf[GBOX_HUMAN_BUFLEN], what[64];
  size_t i;

  if (mkdtemp (dir) == NULL) {
    perror ("mkdtemp");
    exit (EXIT_FAILURE);
  }
  snprintf (path, sizeof path, "%s/f", dir);
  for (i = 0; i < sizeof sizes / sizeof sizes[0]; ++i) {
    FILE *fp;
    char field[64] = "";
    int fd = open (path, O_WRONLY | O_CREAT | O_TRUNC, 0644);

    if (fd == -1 || ftruncate (fd, sizes[i]) == -1) {
      /* A filesystem that cannot hold the size: nothing to compare. */
      printf ("skip: ls -lh %" PRIu64 ": %s\n", sizes[i], strerror (errno));
      if (fd >= 0)
        close (fd);
      continue;
    }
    close (fd);
    snprintf (cmd, sizeof cmd, "LC_ALL=C ls -lh %s", path);
    fp = popen (cmd, "r");
    if (fp == NULL || fgets (line, sizeof line, fp) == NULL ||
        sscanf (line, "%*s %*s %*s %*s %63s", field) != 1) {
      printf ("FAIL: cannot run: %s\n", cmd);
      check_failures++;
    }
    if (fp)
      pclose (fp);
    snprintf (what, sizeof what, "ceiling %" PRIu64 " (host ls -lh)",
              sizes[i]);
    check_str (what,
               gbox_human_readable (sizes[i], buf,
                                    GBOX_HUMAN_CEILING |
                                    GBOX_HUMAN_AUTOSCALE |
                                    GBOX_HUMAN_BASE_1024 | GBOX_HUMAN_SI,
                                    1, 1),
               field);
  }
  unlink (path);
  rmdir (dir);
}

static void
test_csv (void)
{
  static const struct {
    const char *in, *expected;
  } tests[] = {
    { "abc", "abc" },
    { "", "" },
    { "/etc/fstab", "/etc/fstab" },
    { "/dir with space", "\"/dir with space\"" },
    { "a,b", "\"a,b\"" },
    { "say \"hi\"", "\"say \"\"hi\"\"\"" },
    { "\"", "\"\"\"\"" },
    { "line\nbreak", "\"line\nbreak\"" },
    { "cr\rhere", "\"cr\rhere\"" },
    { "tab\there", "tab\there" },
  };
  size_t i;

  for (i = 0; i < sizeof tests / sizeof tests[0]; ++i) {
    char *q = gbox_csv_quote (tests[i].in);
    char what[64];

    snprintf (what, sizeof what, "csv %zu", i);
    check_str (what, q ? q : "(null)", tests[i].expected);
    free (q);
  }
}

static void
test_mode (void)
{
  static const struct {
    uint64_t mode;
    const char *expected;
    char type;
  } tests[] = {
    { 0100644, "-rw-r--r--", '-' },
    { 0104755, "-rwsr-xr-x", '-' },
    { 0104644, "-rwSr--r--", '-' },
    { 0102755, "-rwxr-sr-x", '-' },
    { 0102745, "-rwxr-Sr-x", '-' },
    { 0041777, "drwxrwxrwt", 'd' },
    { 0041776, "drwxrwxrwT", 'd' },
    { 0040700, "drwx------", 'd' },
    { 0120777, "lrwxrwxrwx", 'l' },
    { 0010644, "prw-r--r--", 'p' },
    { 0140755, "srwxr-xr-x", 's' },
    { 0060660, "brw-rw----", 'b' },
    { 0020620, "crw--w----", 'c' },
    { 0000000, "?---------", 'u' },
  };
  size_t i;

  for (i = 0; i < sizeof tests / sizeof tests[0]; ++i) {
    char buf[11], what[64], type[2];

    snprintf (what, sizeof what, "mode 0%" PRIo64, tests[i].mode);
    gbox_mode_string (tests[i].mode, buf);
    check_str (what, buf, tests[i].expected);
    type[0] = gbox_file_type_char (tests[i].mode);
    type[1] = '\0';
    snprintf (what, sizeof what, "type 0%" PRIo64, tests[i].mode);
    check_str (what, type, (char[2]) { tests[i].type, '\0' });
  }
}

/* The time of the reference run: 2026-11-21 12:45:37 UTC. */
#define REF_NOW INT64_C (1795265137)
#define HALF_YEAR (31556952 / 2)

static void
test_times (void)
{
  static const struct {
    int64_t sec, nsec;
    const char *expected;
  } tests[] = {
    { REF_NOW - 60, 0, "Nov 21 12:44" },
    { INT64_C (1704164645), 0, "Jan  2  2024" },
    { INT64_C (1425445567), 0, "Mar  4  2015" },
    { REF_NOW - HALF_YEAR, 0, "May 22  2026" },      /* exactly: old */
    { REF_NOW - HALF_YEAR, 1, "May 22 21:51" },      /* just after: recent */
    { REF_NOW + 10, 0, "Nov 21  2026" },             /* future: year */
    { REF_NOW, 0, "Nov 21  2026" },                  /* now itself: not before now */
    { 0, 0, "Jan  1  1970" },
  };
  size_t i;
  char buf[64], what[64];

  for (i = 0; i < sizeof tests / sizeof tests[0]; ++i) {
    snprintf (what, sizeof what, "ls time %" PRIi64 ".%" PRIi64,
              tests[i].sec, tests[i].nsec);
    gbox_format_ls_time (tests[i].sec, tests[i].nsec, REF_NOW, 0,
                         buf, sizeof buf);
    check_str (what, buf, tests[i].expected);
  }

  setenv ("TZ", "UTC", 1);
  tzset ();
  gbox_format_iso_time (INT64_C (1704164645), buf, sizeof buf);
  check_str ("iso time UTC", buf, "2024-01-02 03:04:05");
  setenv ("TZ", "EST5", 1);
  tzset ();
  gbox_format_iso_time (INT64_C (1704164645), buf, sizeof buf);
  check_str ("iso time EST5", buf, "2024-01-01 22:04:05");
  setenv ("TZ", "UTC", 1);
  tzset ();
}

static void
test_dev (void)
{
  static const unsigned pairs[][2] = {
    { 8, 0 }, { 8, 1 }, { 4, 64 }, { 259, 65536 }, { 4095, 255 },
    { 4096, 1048575 },
  };
  size_t i;

  for (i = 0; i < sizeof pairs / sizeof pairs[0]; ++i) {
    uint64_t dev = makedev (pairs[i][0], pairs[i][1]);
    char got[64], expected[64], what[64];

    snprintf (got, sizeof got, "%" PRIu64 ",%" PRIu64,
              gbox_dev_major (dev), gbox_dev_minor (dev));
    snprintf (expected, sizeof expected, "%u,%u", pairs[i][0], pairs[i][1]);
    snprintf (what, sizeof what, "dev 0x%" PRIx64, dev);
    check_str (what, got, expected);
  }
}

static char *
listing_ns (const struct gbox_ls_entry *e, size_t n, bool total,
            int64_t now, int64_t now_nsec)
{
  char *buf = NULL;
  size_t len = 0;
  FILE *fp = open_memstream (&buf, &len);

  if (fp == NULL ||
      gbox_print_ls_la (fp, e, n, total, now, now_nsec) == -1) {
    perror ("gbox_print_ls_la");
    exit (EXIT_FAILURE);
  }
  fclose (fp);
  return buf;
}

static char *
listing (const struct gbox_ls_entry *e, size_t n, bool total, int64_t now)
{
  return listing_ns (e, n, total, now, 0);
}

static struct gbox_stat
mkstat (uint64_t mode, int64_t nlink, int64_t uid, int64_t gid,
        int64_t size, int64_t blocks, int64_t mtime, uint64_t rdev)
{
  struct gbox_stat st;

  memset (&st, 0, sizeof st);
  st.mode = mode;
  st.nlink = nlink;
  st.uid = uid;
  st.gid = gid;
  st.size = size;
  st.blocks = blocks;
  st.mtime = mtime;
  st.rdev = rdev;
  return st;
}

/* The reference image (see test-virt-ls-options.sh for how it is
 * built): libguestfs's "virt-ls -l /etc" printed exactly this. */
static void
test_ls_la_reference (void)
{
  const int64_t t = REF_NOW;    /* files made at the time of the run */
  struct gbox_stat dot = mkstat (040755, 2, 0, 0, 1024, 2, t, 0);
  struct gbox_stat dotdot = mkstat (040755, 8, 0, 0, 1024, 2, t, 0);
  struct gbox_stat fstab = mkstat (0100644, 1, 0, 0, 29, 2,
                                   INT64_C (1704164645), 0);
  struct gbox_stat hostname = mkstat (0100644, 1, 12345, 54321, 7, 2, t, 0);
  struct gbox_stat osrel = mkstat (0100644, 1, 0, 0, 95, 2, t, 0);
  const struct gbox_ls_entry etc[] = {
    { ".", &dot, NULL },
    { "..", &dotdot, NULL },
    { "fstab", &fstab, NULL },
    { "hostname", &hostname, NULL },
    { "os-release", &osrel, NULL },
  };
  struct gbox_stat root = mkstat (040755, 8, 0, 0, 1024, 2, t, 0);
  /* The appliance's own root, which the reference showed as "..". */
  struct gbox_stat aroot = mkstat (040755, 15, 0, 0, 4096, 8, t + 40, 0);
  struct gbox_stat hidden = mkstat (0100644, 1, 0, 0, 2, 2, t, 0);
  struct gbox_stat blk = mkstat (060644, 1, 0, 0, 0, 0, t, makedev (8, 1));
  struct gbox_stat chr = mkstat (020644, 1, 0, 0, 0, 0, t, makedev (4, 64));
  struct gbox_stat lnk = mkstat (0120777, 1, 0, 0, 12, 0, t, 0);
  struct gbox_stat fifo = mkstat (010644, 1, 0, 0, 0, 0, t, 0);
  struct gbox_stat spc = mkstat (0100644, 1, 1000, 1000, 3, 2, t, 0);
  struct gbox_stat lf = mkstat (040700, 2, 0, 0, 12288, 24, t, 0);
  struct gbox_stat old = mkstat (0100644, 1, 0, 0, 4, 2,
                                 INT64_C (1425445567), 0);
  struct gbox_stat usr = mkstat (040755, 3, 0, 0, 1024, 2, t, 0);
  struct gbox_stat sub = mkstat (040755, 2, 0, 0, 1024, 2, t, 0);
  const struct gbox_ls_entry top[] = {
    { ".", &root, NULL },
    { "..", &aroot, NULL },
    { ".hidden", &hidden, NULL },
    { "bin", &sub, NULL },
    { "blkdev", &blk, NULL },
    { "chardev", &chr, NULL },
    { "dangling", &lnk, "/nonexistent" },
    { "dir with space", &sub, NULL },
    { "emptydir", &sub, NULL },
    { "etc", &sub, NULL },
    { "fifo", &fifo, NULL },
    { "file with space", &spc, NULL },
    { "link", &lnk, "etc/hostname" },
    { "lost+found", &lf, NULL },
    { "oldfile", &old, NULL },
    { "usr", &usr, NULL },
  };
  const struct gbox_ls_entry one = { "/etc/hostname", &hostname, NULL };
  char *out;

  out = listing (etc, 5, true, t + 30);
  check_str ("ls -la /etc of the reference image", out,
             "total 5\n"
             "drwxr-xr-x 2     0     0 1024 Nov 21 12:45 .\n"
             "drwxr-xr-x 8     0     0 1024 Nov 21 12:45 ..\n"
             "-rw-r--r-- 1     0     0   29 Jan  2  2024 fstab\n"
             "-rw-r--r-- 1 12345 54321    7 Nov 21 12:45 hostname\n"
             "-rw-r--r-- 1     0     0   95 Nov 21 12:45 os-release\n");
  free (out);

  /* One file given on the command line: no total, no padding. */
  out = listing (&one, 1, false, t + 30);
  check_str ("ls -la of one file", out,
             "-rw-r--r-- 1 12345 54321 7 Nov 21 12:45 /etc/hostname\n");
  free (out);

  /* Devices, links, the "total" line: exactly what the reference
   * "virt-ls -l /" printed. */
  out = listing (top, sizeof top / sizeof top[0], true, t + 100);
  check_str ("ls -la / of the reference image", out,
             "total 25\n"
             "drwxr-xr-x  8    0    0  1024 Nov 21 12:45 .\n"
             "drwxr-xr-x 15    0    0  4096 Nov 21 12:46 ..\n"
             "-rw-r--r--  1    0    0     2 Nov 21 12:45 .hidden\n"
             "drwxr-xr-x  2    0    0  1024 Nov 21 12:45 bin\n"
             "brw-r--r--  1    0    0 8,  1 Nov 21 12:45 blkdev\n"
             "crw-r--r--  1    0    0 4, 64 Nov 21 12:45 chardev\n"
             "lrwxrwxrwx  1    0    0    12 Nov 21 12:45 dangling -> /nonexistent\n"
             "drwxr-xr-x  2    0    0  1024 Nov 21 12:45 dir with space\n"
             "drwxr-xr-x  2    0    0  1024 Nov 21 12:45 emptydir\n"
             "drwxr-xr-x  2    0    0  1024 Nov 21 12:45 etc\n"
             "prw-r--r--  1    0    0     0 Nov 21 12:45 fifo\n"
             "-rw-r--r--  1 1000 1000     3 Nov 21 12:45 file with space\n"
             "lrwxrwxrwx  1    0    0    12 Nov 21 12:45 link -> etc/hostname\n"
             "drwx------  2    0    0 12288 Nov 21 12:45 lost+found\n"
             "-rw-r--r--  1    0    0     4 Mar  4  2015 oldfile\n"
             "drwxr-xr-x  3    0    0  1024 Nov 21 12:45 usr\n");
  free (out);

  /* A device wider than every size widens the size column. */
  {
    struct gbox_stat bigdev = mkstat (020600, 1, 0, 0, 0, 0, t,
                                      makedev (259, 65536));
    struct gbox_stat small = mkstat (0100600, 1, 0, 0, 5, 8, t, 0);
    const struct gbox_ls_entry e[] = {
      { "nvme", &bigdev, NULL },
      { "small", &small, NULL },
    };
    out = listing (e, 2, true, t + 30);
    check_str ("ls -la wide device", out,
               "total 4\n"
               "crw------- 1 0 0 259, 65536 Nov 21 12:45 nvme\n"
               "-rw------- 1 0 0          5 Nov 21 12:45 small\n");
    free (out);
  }
}

/* Compare with the host's own "ls -lan" on a directory made here. */
static void
test_ls_la_against_host_ls (void)
{
  /* The listing shows "..": make it a private directory, so that its
   * time cannot move (as /tmp's does when others use it) between the
   * two listings. */
  char parent[] = "/tmp/test-output-ls-XXXXXX";
  char dir[sizeof parent + 4];
  char path[512], cmd[512];
  static const char *names[] = {
    "plain", "big", "old", "future", "exec", "link", "fifo", "sub",
    "name with space", "-dash", "#hash", ".dot", "chr",
  };
  const size_t nr = sizeof names / sizeof names[0];
  struct gbox_stat sts[sizeof names / sizeof names[0] + 2];
  struct gbox_ls_entry e[sizeof names / sizeof names[0] + 2];
  char links[sizeof names / sizeof names[0] + 2][256];
  struct timespec now;
  char *expected = NULL, *out;
  size_t len = 0, i, n = 0;
  FILE *fp, *mem;
  int fd, c;

  if (mkdtemp (parent) == NULL) {
    perror ("mkdtemp");
    exit (EXIT_FAILURE);
  }
  snprintf (dir, sizeof dir, "%s/d", parent);
  if (mkdir (dir, 0700) == -1) {
    perror (dir);
    exit (EXIT_FAILURE);
  }
  for (i = 0; i < nr; ++i) {
    snprintf (path, sizeof path, "%s/%s", dir, names[i]);
    if (strcmp (names[i], "link") == 0)
      c = symlink ("plain", path);
    else if (strcmp (names[i], "fifo") == 0)
      c = mkfifo (path, 0640);
    else if (strcmp (names[i], "sub") == 0)
      c = mkdir (path, 01777);
    else if (strcmp (names[i], "chr") == 0) {
      c = mknod (path, S_IFCHR | 0600, makedev (136, 1234));
      if (c == -1) {            /* not root: leave it out */
        printf ("skip: mknod: %s\n", strerror (errno));
        continue;
      }
    }
    else {
      fd = open (path, O_WRONLY | O_CREAT, 0644);
      c = fd;
      if (fd >= 0) {
        if (strcmp (names[i], "big") == 0)
          c = ftruncate (fd, 123456789);
        else if (write (fd, names[i], strlen (names[i])) == -1)
          c = -1;
        close (fd);
      }
      if (strcmp (names[i], "exec") == 0)
        chmod (path, 04755);
      /* Ids wider than the others (only root may give files away). */
      if (strcmp (names[i], "plain") == 0 && chown (path, 12345, 654321))
        printf ("skip: chown: %s\n", strerror (errno));
      if (strcmp (names[i], "old") == 0) {
        struct timeval tv[2] = { { 1425445567, 0 }, { 1425445567, 0 } };
        utimes (path, tv);
      }
      if (strcmp (names[i], "future") == 0) {
        struct timeval tv[2] = { { time (NULL) + 86400 * 3, 0 },
                                 { time (NULL) + 86400 * 3, 0 } };
        utimes (path, tv);
      }
    }
    if (c == -1) {
      perror (path);
      exit (EXIT_FAILURE);
    }
  }

  /* What ls says (numeric ids, C locale, UTC), and what we say from
   * lstat of the same entries, sorted like ls. */
  snprintf (cmd, sizeof cmd, "cd %s && LC_ALL=C TZ=UTC ls -lan", dir);
  clock_gettime (CLOCK_REALTIME, &now);
  fp = popen (cmd, "r");
  mem = open_memstream (&expected, &len);
  if (fp == NULL || mem == NULL) {
    perror ("popen");
    exit (EXIT_FAILURE);
  }
  while ((c = getc (fp)) != EOF)
    putc (c, mem);
  pclose (fp);
  fclose (mem);

  {
    DIR *d = opendir (dir);
    struct dirent *de;
    static char namebuf[sizeof names / sizeof names[0] + 2][256];

    while (d && (de = readdir (d)) != NULL && n < nr + 2) {
      struct stat st;

      snprintf (path, sizeof path, "%s/%s", dir, de->d_name);
      if (lstat (path, &st) == -1) {
        perror (path);
        exit (EXIT_FAILURE);
      }
      snprintf (namebuf[n], sizeof namebuf[n], "%s", de->d_name);
      sts[n] = mkstat (st.st_mode, st.st_nlink, st.st_uid, st.st_gid,
                       st.st_size, st.st_blocks, st.st_mtim.tv_sec,
                       st.st_rdev);
      sts[n].mtime_nsec = st.st_mtim.tv_nsec;
      e[n].name = namebuf[n];
      e[n].st = &sts[n];
      e[n].link = NULL;
      if (S_ISLNK (st.st_mode)) {
        ssize_t r = readlink (path, links[n], sizeof links[n] - 1);
        links[n][r < 0 ? 0 : r] = '\0';
        e[n].link = links[n];
      }
      n++;
    }
    if (d)
      closedir (d);
  }
  /* Sort by name, as ls does in the C locale. */
  for (i = 1; i < n; ++i) {
    size_t j;
    for (j = i; j > 0 && strcmp (e[j - 1].name, e[j].name) > 0; --j) {
      struct gbox_ls_entry tmp = e[j];
      e[j] = e[j - 1];
      e[j - 1] = tmp;
    }
  }
  out = listing_ns (e, n, true, now.tv_sec, now.tv_nsec);
  check_str ("ls -la against host ls -lan", out, expected);
  free (out);
  free (expected);

  for (i = 0; i < nr; ++i) {
    snprintf (path, sizeof path, "%s/%s", dir, names[i]);
    if (strcmp (names[i], "sub") == 0)
      rmdir (path);
    else
      unlink (path);
  }
  rmdir (dir);
  rmdir (parent);
}

/* JSON strings from guest bytes: valid UTF-8 is kept, anything else
 * (stray continuation bytes, overlong forms, surrogates, truncated
 * sequences, code points past U+10FFFF) becomes U+FFFD, and control
 * characters are escaped by json-c. */
static void
test_json_utf8 (void)
{
  static const struct {
    const char *in, *expected;
  } t[] = {
    { "plain", "\"plain\"" },
    { "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80", "\"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80\"" },
    { "a\xff" "b", "\"a\xef\xbf\xbd" "b\"" },
    { "\x80", "\"\xef\xbf\xbd\"" },
    { "\xc0\xaf", "\"\xef\xbf\xbd\xef\xbf\xbd\"" },
    { "\xed\xa0\x80", "\"\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\"" },
    { "\xf4\x90\x80\x80", "\"\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\"" },
    { "x\xe2\x82", "\"x\xef\xbf\xbd\xef\xbf\xbd\"" },
    { "esc\x1b\x07", "\"esc\\u001b\\u0007\"" },
  };
  size_t i;

  for (i = 0; i < sizeof t / sizeof t[0]; ++i) {
    json_object *o = gbox_json_new_string (t[i].in);

    if (!CHECK (o != NULL, "gbox_json_new_string #%zu", i))
      continue;
    check_str ("json string",
               json_object_to_json_string_ext (o, JSON_C_TO_STRING_PLAIN),
               t[i].expected);
    json_object_put (o);
  }
}

int
main (void)
{
  setenv ("TZ", "UTC", 1);
  tzset ();

  test_human ();
  test_human_against_ls ();
  test_csv ();
  test_mode ();
  test_times ();
  test_dev ();
  test_ls_la_reference ();
  test_ls_la_against_host_ls ();
  test_json_utf8 ();

  return check_finish ("test-output");
}
