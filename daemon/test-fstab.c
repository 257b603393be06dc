/* guestbox - tests of the fstab parser and spec resolution.
 * Copyright (C) 2026 the guestbox authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

/**
 * Table-driven: fstab texts (including hostile lines) and the entries
 * expected, device name remapping (vd/hd/xvd -> sd), and resolution of
 * specs against a fixed filesystem list.
 */

#include <config.h>

#include <string.h>

#include "daemon.h"
#define CHECK_QUIET
#include "check.h"

struct parse_case {
  const char *name;
  const char *text;
  size_t nexpect;
  const char *expect[4][4];     /* spec, file, vfstype, options */
};

static void
test_parse (void)
{
  static char longline[10000];
  static const struct parse_case cases[] = {
    { "simple",
      "UUID=abc / ext4 defaults 0 1\n/dev/sda2 /boot ext2 ro 0 2\n", 2,
      { { "UUID=abc", "/", "ext4", "defaults" },
        { "/dev/sda2", "/boot", "ext2", "ro" } } },
    { "comments and blanks",
      "# comment\n\n   \n\t# indented comment\nLABEL=root / xfs rw 0 0\n", 1,
      { { "LABEL=root", "/", "xfs", "rw" } } },
    { "tabs and CR",
      "LABEL=x\t/home\t\text4\tnoatime\t0\t2\r\n", 1,
      { { "LABEL=x", "/home", "ext4", "noatime" } } },
    { "missing fields",
      "/dev/sda1\n/dev/sda2 /x\n/dev/sda3 /y ext4\n", 1,
      { { "/dev/sda3", "/y", "ext4", "defaults" } } },
    { "escapes",
      "LABEL=My\\040Disk /mnt/with\\040space vfat defaults 0 0\n"
      "/dev/sdb1 /a\\011tab ext4 defaults\n"
      "/dev/sdb2 /bad\\0 ext4 defaults\n"
      "/dev/sdb3 /nul\\000x ext4 defaults\n", 4,
      { { "LABEL=My Disk", "/mnt/with space", "vfat", "defaults" },
        { "/dev/sdb1", "/a\ttab", "ext4", "defaults" },
        { "/dev/sdb2", "/bad\\0", "ext4", "defaults" },
        { "/dev/sdb3", "/nul\\000x", "ext4", "defaults" } } },
    { "no final newline", "/dev/sda1 / ext4", 1,
      { { "/dev/sda1", "/", "ext4", "defaults" } } },
    { "empty", "", 0, { { NULL } } },
    { "only newlines", "\n\n\n", 0, { { NULL } } },
    { "long line skipped", NULL /* built below */, 1,
      { { "/dev/sda1", "/", "ext4", "defaults" } } },
  };
  size_t i, j;

  memset (longline, 'x', sizeof longline - 100);
  strcpy (longline + sizeof longline - 100, " /long ext4 defaults\n"
          "/dev/sda1 / ext4\n");

  for (i = 0; i < sizeof cases / sizeof cases[0]; ++i) {
    const char *text = cases[i].text ? cases[i].text : longline;
    struct fstab_entry e[8];
    ssize_t n = parse_fstab (text, strlen (text), e, 8);
    bool ok = n == (ssize_t) cases[i].nexpect;

    for (j = 0; ok && j < (size_t) n; ++j)
      ok = strcmp (e[j].spec, cases[i].expect[j][0]) == 0 &&
        strcmp (e[j].file, cases[i].expect[j][1]) == 0 &&
        strcmp (e[j].vfstype, cases[i].expect[j][2]) == 0 &&
        strcmp (e[j].options, cases[i].expect[j][3]) == 0;
    CHECK (ok, "parse_fstab: %s (got %zd entries)", cases[i].name, n);
    printf ("parse_fstab: %-20s %zd entries\n", cases[i].name, n);
    if (n > 0)
      free_fstab (e, n);
  }

  /* A NUL inside the text: that line is skipped, the rest parsed. */
  {
    static const char text[] = "/dev/sda1 / ext4\n/dev/sd\0b1 /x ext4\n"
      "/dev/sdc1 /y ext4\n";
    struct fstab_entry e[8];
    ssize_t n = parse_fstab (text, sizeof text - 1, e, 8);
    CHECK (n == 2 && strcmp (e[1].spec, "/dev/sdc1") == 0,
           "parse_fstab: line with a NUL skipped (%zd)", n);
    if (n > 0)
      free_fstab (e, n);
  }
  /* The MAX bound. */
  {
    const char *text = "a /1 ext4\nb /2 ext4\nc /3 ext4\n";
    struct fstab_entry e[2];
    ssize_t n = parse_fstab (text, strlen (text), e, 2);
    CHECK (n == 2, "parse_fstab: at most MAX entries (%zd)", n);
    free_fstab (e, n);
  }
}

static void
test_mountable (void)
{
  static const struct {
    const char *spec, *file, *type, *options;
    bool expect;
  } cases[] = {
    { "UUID=a", "/", "ext4", "defaults", true },
    { "/dev/sda2", "/boot", "ext2", "defaults", true },
    { "/dev/sda3", "none", "swap", "sw", false },
    { "/dev/sda3", "swap", "swap", "sw", false },
    { "proc", "/proc", "proc", "defaults", false },
    { "tmpfs", "/tmp", "tmpfs", "defaults", false },
    { "devpts", "/dev/pts", "devpts", "gid=5", false },
    { "server:/x", "/nfs", "nfs", "defaults", false },
    { "none", "/x", "ext4", "defaults", false },
    { "/srv/a", "/b", "none", "bind", false },
    { "/srv/a", "/b", "ext4", "rw,bind", false },
    { "LABEL=data", "/data", "xfs", "nofail", true },
  };
  size_t i;

  for (i = 0; i < sizeof cases / sizeof cases[0]; ++i) {
    struct fstab_entry e = {
      (char *) cases[i].spec, (char *) cases[i].file,
      (char *) cases[i].type, (char *) cases[i].options
    };
    CHECK (fstab_entry_is_mountable (&e) == cases[i].expect,
           "mountable: %s %s %s", cases[i].spec, cases[i].file,
           cases[i].type);
  }
  printf ("fstab_entry_is_mountable: %zu cases\n", i);
}

static void
test_remap (void)
{
  static const struct {
    const char *in, *out;       /* out NULL: not a device name */
  } cases[] = {
    { "/dev/sda", "/dev/sda" }, { "/dev/sda1", "/dev/sda1" },
    { "/dev/vda", "/dev/sda" }, { "/dev/vdb2", "/dev/sdb2" },
    { "/dev/hda1", "/dev/sda1" }, { "/dev/hdc", "/dev/sdc" },
    { "/dev/xvda", "/dev/sda" }, { "/dev/xvdc12", "/dev/sdc12" },
    { "/dev/sdaa3", "/dev/sdaa3" },
    { "/dev/nvme0n1p1", NULL }, { "/dev/mapper/vg-root", NULL },
    { "/dev/sd", NULL }, { "/dev/sda1b", NULL }, { "/dev/sdA1", NULL },
    { "/dev/sdabcd1", NULL }, { "/dev/sda0", NULL }, { "sda1", NULL },
    { "/dev/sda12345678", NULL }, { "", NULL },
  };
  size_t i;

  for (i = 0; i < sizeof cases / sizeof cases[0]; ++i) {
    char buf[64];
    bool r = remap_device_name (cases[i].in, buf, sizeof buf);
    CHECK (cases[i].out ? (r && strcmp (buf, cases[i].out) == 0) : !r,
           "remap %s -> %s (got %s)", cases[i].in,
           cases[i].out ? cases[i].out : "(none)", r ? buf : "(none)");
  }
  printf ("remap_device_name: %zu cases\n", i);
}

static void
test_resolve (void)
{
  static struct gbd_fs fs[] = {
    { "/dev/sda1", "/dev/sdc1", "ext4", "root", "0b2f-11aa", "pu-1", "rootpart" },
    { "/dev/sda2", "/dev/sdc2", "vfat", "EFI", "ABCD-1234", "pu-2", "esp" },
    { "/dev/sdb", "/dev/sda", "xfs", "data", "dead-beef", "", "" },
    { "/dev/sdb9", "/dev/sda9", "swap", "", "", "", "" },
  };
  static const struct {
    const char *spec;
    ssize_t expect;
  } cases[] = {
    { "UUID=0b2f-11aa", 0 }, { "UUID=0B2F-11AA", 0 },
    { "UUID=\"0b2f-11aa\"", 0 }, { "UUID=abcd-1234", 1 },
    { "UUID=", -1 }, { "UUID=nope", -1 },
    { "LABEL=root", 0 }, { "LABEL=ROOT", -1 }, { "LABEL=data", 2 },
    { "LABEL=", -1 },
    { "PARTUUID=PU-2", 1 }, { "PARTLABEL=esp", 1 }, { "PARTLABEL=", -1 },
    { "/dev/disk/by-uuid/dead-beef", 2 }, { "/dev/disk/by-label/EFI", 1 },
    { "/dev/disk/by-partuuid/pu-1", 0 }, { "/dev/disk/by-partlabel/x", -1 },
    { "/dev/sda1", 0 }, { "/dev/vda2", 1 }, { "/dev/hdb", 2 },
    { "/dev/xvdb", 2 }, { "/dev/sda3", -1 }, { "/dev/sdc1", -1 },
    { "/dev/mapper/root", -1 }, { "", -1 }, { "tmpfs", -1 },
  };
  size_t i;

  for (i = 0; i < sizeof cases / sizeof cases[0]; ++i) {
    ssize_t r = resolve_fstab_spec (cases[i].spec, fs, 4);
    CHECK (r == cases[i].expect, "resolve %s: expected %zd, got %zd",
           cases[i].spec, cases[i].expect, r);
  }
  printf ("resolve_fstab_spec: %zu cases\n", i);
}

int
main (void)
{
  test_parse ();
  test_mountable ();
  test_remap ();
  test_resolve ();
  return check_finish ("test-fstab");
}
