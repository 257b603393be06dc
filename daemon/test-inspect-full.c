/* guestbox - tests of the full inspection parsers (no VM).
 * Copyright (C) 2026 the guestbox authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

/**
 * The parts of inspect-linux.c, inspect-apps.c and inspect-windows.c
 * that work on a directory fd, run on fixture trees: distro and version
 * from os-release, lsb-release and the older release files, hostname
 * sources, the architecture from ELF and PE headers (a real binary,
 * every mapped machine, hostile headers), the dpkg / apk
 * / pacman / rpm parsers (with damaged input), the cleaning of guest
 * strings, the case-insensitive Windows system root and a junk hive.
 * Hostile files (a 100 MB sparse os-release, an /etc symlink loop)
 * must be refused quickly with a warning.
 */

#include <config.h>

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>

#include "daemon.h"
#define CHECK_QUIET
#include "check.h"

static char tmpdir[] = "/tmp/gbox-test-inspect-full-XXXXXX";

#define CHECK_STR(got, want, what)                                      \
  CHECK (strcmp ((got), (want)) == 0, "%s: got '%s', want '%s'",        \
         (what), (got), (want))

/* Create TREE/REL: a directory when CONTENT is NULL, else a file. */
static void
mk (const char *tree, const char *rel, const char *content)
{
  char path[4096];
  snprintf (path, sizeof path, "%s/%s%s", tmpdir, tree, rel);
  if (content == NULL) {
    if (mkdir (path, 0755) == -1 && errno != EEXIST)
      perror (path);
  }
  else {
    FILE *fp = fopen (path, "w");
    if (fp == NULL) {
      perror (path);
      return;
    }
    fputs (content, fp);
    fclose (fp);
  }
}

static int
open_tree (const char *tree)
{
  char path[4096];
  snprintf (path, sizeof path, "%s/%s", tmpdir, tree);
  return open (path, O_PATH | O_DIRECTORY | O_CLOEXEC);
}

static void
os_empty (gbox_inspected_os *os)
{
  memset (os, 0, sizeof *os);
  os->root = strdup ("");
  os->type = strdup ("");
  os->distro = strdup ("");
  os->product_name = strdup ("");
  os->product_variant = strdup ("");
  os->arch = strdup ("");
  os->hostname = strdup ("");
  os->build_id = strdup ("");
  os->osinfo = strdup ("");
  os->package_format = strdup ("");
  os->package_management = strdup ("");
  os->windows_systemroot = strdup ("");
  os->windows_current_control_set = strdup ("");
}

static bool
has_warning (const char *needle)
{
  size_t n, i;
  const char *const *w = inspect_warnings (&n);

  for (i = 0; i < n; ++i)
    if (strstr (w[i], needle))
      return true;
  return false;
}

/* One Linux tree: files to create, then the expected fields. */
struct linux_case {
  const char *name;
  const char *files[8][2];      /* path, content (NULL = directory) */
  const char *distro, *product, *hostname, *osinfo, *format, *manager;
  int major, minor;
};

static const struct linux_case linux_cases[] = {
  { "debian",
    { { "/etc/os-release", "PRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\n"
        "NAME=\"Debian GNU/Linux\"\nVERSION_ID=\"12\"\nID=debian\n" },
      { "/etc/debian_version", "12.4\n" },
      { "/etc/hostname", "deb\n" } },
    "debian", "12.4", "deb", "debian12", "deb", "apt", 12, 4 },
  { "ubuntu-lsb",
    { { "/etc/lsb-release", "DISTRIB_ID=Ubuntu\nDISTRIB_RELEASE=20.04\n"
        "DISTRIB_DESCRIPTION=\"Ubuntu 20.04.6 LTS\"\n" },
      { "/etc/HOSTNAME", "  focal  \n" } },
    "ubuntu", "Ubuntu 20.04.6 LTS", "focal", "ubuntu20.04", "deb", "apt",
    20, 4 },
  { "fedora-release",
    { { "/etc/fedora-release", "Fedora release 20 (Heisenbug)\n" },
      { "/etc/sysconfig", NULL },
      { "/etc/sysconfig/network", "NETWORKING=yes\nHOSTNAME=\"f20.example\"\n" } },
    "fedora", "Fedora release 20 (Heisenbug)", "f20.example", "fedora20",
    "rpm", "yum", 20, 0 },
  { "centos",
    { { "/etc/redhat-release", "CentOS Linux release 7.9.2009 (Core)\n" } },
    "centos", "CentOS Linux release 7.9.2009 (Core)", "", "centos7.0",
    "rpm", "yum", 7, 9 },
  { "rhel9",
    { { "/etc/os-release", "ID=\"rhel\"\nVERSION_ID=\"9.2\"\n"
        "PRETTY_NAME=\"Red Hat Enterprise Linux 9.2 (Plow)\"\n" },
      { "/usr/bin", NULL }, { "/usr/bin/dnf-3", "#!/usr/bin/python3\n" },
      { "/usr/bin/dnf", "#!/usr/bin/python3\n" } },
    "rhel", "Red Hat Enterprise Linux 9.2 (Plow)", "", "rhel9.2", "rpm", "dnf",
    9, 2 },
  { "alpine-release",
    { { "/etc/alpine-release", "3.19.1\n" } },
    "alpinelinux", "3.19.1", "", "alpinelinux3.19", "apk", "apk", 3, 19 },
  { "suse",
    { { "/etc/SuSE-release", "openSUSE 13.1 (x86_64)\nVERSION = 13.1\n" } },
    "opensuse", "openSUSE 13.1 (x86_64)", "", "opensuse13.1", "rpm", "zypper",
    13, 1 },
  { "sles-os-release",
    { { "/usr/lib/os-release", "NAME=\"SLES\"\nVERSION_ID=\"15.5\"\n"
        "ID=\"sles\"\nPRETTY_NAME=\"SUSE Linux Enterprise Server 15 SP5\"\n" } },
    "sles", "SUSE Linux Enterprise Server 15 SP5", "", "sles15sp5", "rpm",
    "zypper", 15, 5 },
  { "arch",
    { { "/etc/os-release", "NAME=\"Arch Linux\"\nID=arch\nBUILD_ID=rolling\n"
        "PRETTY_NAME=\"Arch Linux\"\n" } },
    "archlinux", "Arch Linux", "", "archlinux", "pacman", "pacman", 0, 0 },
  { "unknown",
    { { "/etc/os-release", "ID=plan9\nVERSION_ID=4\n" } },
    "unknown", "", "", "", "", "", 0, 0 },
  { "quoting",
    { { "/etc/os-release", "# comment\nID='rocky' # trailing\n"
        "VERSION_ID=\"9.3\"\nPRETTY_NAME=\"Rocky \\\"Blue\\\" Onyx\"\n" } },
    "rocky", "Rocky \"Blue\" Onyx", "", "rocky9", "rpm", "yum", 9, 3 },
  { "cirros",
    { { "/etc/cirros", NULL }, { "/etc/cirros/version", "0.5.2\n" } },
    "cirros", "0.5.2", "", "cirros0.5", "", "", 0, 5 },
  { "cirros-br",
    { { "/etc/br-version", "2019.02.1\n" }, { "/usr/share", NULL },
      { "/usr/share/cirros", NULL }, { "/usr/share/cirros/logo", "  _\n" } },
    "cirros", "2019.02.1", "", "cirros2019.2", "", "", 2019, 2 },
  { "buildroot",
    { { "/etc/br-version", "2019.02.1\n" } },
    "buildroot", "2019.02.1", "", "buildroot2019.2", "", "", 2019, 2 },
};

static void
test_linux (void)
{
  size_t i, j;

  for (i = 0; i < sizeof linux_cases / sizeof linux_cases[0]; ++i) {
    const struct linux_case *c = &linux_cases[i];
    char tree[64];
    gbox_inspected_os os;
    int fd;

    snprintf (tree, sizeof tree, "/%s", c->name);
    mk (tree, "", NULL);
    mk (tree, "/etc", NULL);
    mk (tree, "/usr", NULL);
    mk (tree, "/usr/lib", NULL);
    for (j = 0; j < 8 && c->files[j][0]; ++j)
      mk (tree, c->files[j][0], c->files[j][1]);
    fd = open_tree (tree);
    os_empty (&os);
    inspect_warnings_reset ();
    CHECK (inspect_linux_details (fd, &os) == 0, "%s: details", c->name);
    CHECK_STR (os.type, "linux", c->name);
    CHECK_STR (os.distro, c->distro, c->name);
    CHECK_STR (os.product_name, c->product, c->name);
    CHECK_STR (os.hostname, c->hostname, c->name);
    CHECK_STR (os.osinfo, c->osinfo, c->name);
    CHECK_STR (os.package_format, c->format, c->name);
    CHECK_STR (os.package_management, c->manager, c->name);
    CHECK (os.major_version == c->major && os.minor_version == c->minor,
           "%s: version %d.%d, want %d.%d", c->name, os.major_version,
           os.minor_version, c->major, c->minor);
    printf ("ok - linux %s: %s %d.%d '%s'\n", c->name, os.distro,
            os.major_version, os.minor_version, os.product_name);
    xdr_free ((xdrproc_t) xdr_gbox_inspected_os, (char *) &os);
    close (fd);
  }
}

/* A 100 MB (sparse) os-release is refused without being read; the
 * one in /usr/lib is used instead.  A real binary gives the arch. */
static void
test_hostile_linux (void)
{
  char path[4096];
  gbox_inspected_os os;
  uint64_t t0;
  int fd;

  mk ("/big", "", NULL);
  mk ("/big", "/etc", NULL);
  mk ("/big", "/usr", NULL);
  mk ("/big", "/usr/lib", NULL);
  mk ("/big", "/usr/bin", NULL);
  snprintf (path, sizeof path, "%s/big/etc/os-release", tmpdir);
  mk ("/big", "/etc/os-release", "");
  CHECK (truncate (path, 100 * 1024 * 1024) == 0, "truncate: %m");
  mk ("/big", "/usr/lib/os-release", "ID=fedora\nVERSION_ID=40\n");
  {
    /* /usr/bin/ls: a copy of a real binary of this host. */
    char cmd[8192];
    snprintf (cmd, sizeof cmd, "cp /bin/ls %s/big/usr/bin/ls", tmpdir);
    CHECK (system (cmd) == 0, "cp /bin/ls");
  }
  fd = open_tree ("/big");
  os_empty (&os);
  inspect_warnings_reset ();
  t0 = now_ms ();
  CHECK (inspect_linux_details (fd, &os) == 0, "big: details");
  CHECK (now_ms () - t0 < 5000, "big os-release took %llu ms",
         (unsigned long long) (now_ms () - t0));
  CHECK_STR (os.distro, "fedora", "big os-release: fallback");
  CHECK (os.major_version == 40, "big: major %d", os.major_version);
  CHECK (has_warning ("/etc/os-release: File too large (ignored)"),
         "big os-release: no warning");
#if defined (__x86_64__)
  CHECK_STR (os.arch, "x86_64", "arch of /usr/bin/ls");
#endif
  printf ("ok - 100 MB os-release refused, arch '%s'\n", os.arch);
  xdr_free ((xdrproc_t) xdr_gbox_inspected_os, (char *) &os);
  close (fd);
}

/* Write LEN bytes of DATA to arch/NAME; return it opened for reading. */
static int
arch_file (const char *name, const void *data, size_t len)
{
  char path[4096];
  int fd;

  snprintf (path, sizeof path, "%s/arch/%s", tmpdir, name);
  fd = open (path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd == -1 || write (fd, data, len) != (ssize_t) len) {
    CHECK (false, "%s: %m", path);
    if (fd >= 0)
      close (fd);
    return -1;
  }
  return fd;
}

static void
check_arch (const char *name, const void *data, size_t len, const char *want)
{
  int fd = arch_file (name, data, len);
  const char *got;

  if (fd == -1)
    return;
  got = executable_arch (fd, name);
  CHECK ((got == NULL && want == NULL) ||
         (got && want && strcmp (got, want) == 0),
         "%s: got %s, want %s", name, got ? got : "NULL",
         want ? want : "NULL");
  close (fd);
}

static void
put16 (unsigned char *p, unsigned v, bool big_endian)
{
  p[big_endian ? 1 : 0] = v & 0xff;
  p[big_endian ? 0 : 1] = (v >> 8) & 0xff;
}

static void
put32le (unsigned char *p, uint32_t v)
{
  p[0] = v & 0xff;
  p[1] = (v >> 8) & 0xff;
  p[2] = (v >> 16) & 0xff;
  p[3] = v >> 24;
}

/* An ELF header: CLASS (1, 2), DATA (1 LSB, 2 MSB), TYPE, MACHINE. */
static void
make_elf (unsigned char h[64], int class, int data, unsigned type,
          unsigned machine)
{
  memset (h, 0, 64);
  memcpy (h, "\x7f" "ELF", 4);
  h[4] = class;
  h[5] = data;
  h[6] = 1;
  put16 (h + 16, type, data == 2);
  put16 (h + 18, machine, data == 2);
}

/* A PE file: the DOS header with e_lfanew = LFANEW, "PE\0\0", the COFF
 * header with MACHINE and the optional header's MAGIC. */
static size_t
make_pe (unsigned char *buf, size_t size, uint32_t lfanew, unsigned machine,
         unsigned magic)
{
  memset (buf, 0, size);
  buf[0] = 'M';
  buf[1] = 'Z';
  put32le (buf + 0x3c, lfanew);
  if ((uint64_t) lfanew + 26 <= size) {
    memcpy (buf + lfanew, "PE\0\0", 4);
    put16 (buf + lfanew + 4, machine, false);
    put16 (buf + lfanew + 24, magic, false);
  }
  return size;
}

static void
test_executable_headers (void)
{
  /* Every mapped ELF machine in both classes and byte orders:
   * { machine, 32 LSB, 32 MSB, 64 LSB, 64 MSB }. */
  static const struct {
    unsigned machine;
    const char *a[4];
  } elf[] = {
    { 3, { "i386", "i386", "i386", "i386" } },
    { 6, { "i386", "i386", "i386", "i386" } },
    { 62, { "x86_64", "x86_64", "x86_64", "x86_64" } },
    { 183, { "aarch64", "aarch64", "aarch64", "aarch64" } },
    { 40, { "arm", "arm", "arm", "arm" } },
    { 20, { "ppc", "ppc", "ppc", "ppc" } },
    { 21, { "ppc64le", "ppc64", "ppc64le", "ppc64" } },
    { 22, { "s390", "s390", "s390x", "s390x" } },
    { 243, { "riscv32", "riscv32", "riscv64", "riscv64" } },
    { 258, { "loongarch32", "loongarch32", "loongarch64", "loongarch64" } },
    { 43, { "sparc64", "sparc64", "sparc64", "sparc64" } },
    { 2, { "sparc", "sparc", "sparc", "sparc" } },
    { 18, { "sparc", "sparc", "sparc", "sparc" } },
    { 8, { "mips", "mips", "mips64", "mips64" } },
    { 10, { "mips", "mips", "mips64", "mips64" } },
    { 50, { "ia64", "ia64", "ia64", "ia64" } },
    { 0x9026, { "alpha", "alpha", "alpha", "alpha" } },
    { 41, { "alpha", "alpha", "alpha", "alpha" } },
    { 0, { NULL, NULL, NULL, NULL } },          /* EM_NONE */
    { 4, { NULL, NULL, NULL, NULL } },          /* m68k: not mapped */
    { 0xffff, { NULL, NULL, NULL, NULL } },
  };
  /* { machine, optional header magic, arch }: libguestfs 1.48 names
   * PE32 i386 and PE32+ x86_64, whatever the machine. */
  static const struct {
    unsigned machine, magic;
    const char *arch;
  } pe[] = {
    { 0x14c, 0x10b, "i386" }, { 0x8664, 0x20b, "x86_64" },
    { 0xaa64, 0x20b, "x86_64" }, { 0x1c0, 0x10b, "i386" },
    { 0x1c2, 0x10b, "i386" }, { 0x1c4, 0x10b, "i386" },
    { 0x200, 0x20b, "x86_64" }, { 0x14c, 0x107, NULL },
    { 0x8664, 0, NULL },
  };
  unsigned char h[64], buf[512];
  char name[64];
  size_t i, len;
  int c, d, fd, dirfd;

  mk ("/arch", "", NULL);
  for (i = 0; i < sizeof elf / sizeof elf[0]; ++i)
    for (c = 1; c <= 2; ++c)
      for (d = 1; d <= 2; ++d) {
        make_elf (h, c, d, 3, elf[i].machine);
        snprintf (name, sizeof name, "elf-%u-%d-%s", elf[i].machine,
                  c * 32, d == 1 ? "lsb" : "msb");
        check_arch (name, h, sizeof h, elf[i].a[(c - 1) * 2 + (d - 1)]);
      }
  for (i = 0; i < sizeof pe / sizeof pe[0]; ++i) {
    len = make_pe (buf, sizeof buf, 0x80, pe[i].machine, pe[i].magic);
    snprintf (name, sizeof name, "pe-%#x-%#x", pe[i].machine, pe[i].magic);
    check_arch (name, buf, len, pe[i].arch);
  }
  printf ("ok - ELF and PE headers of every machine\n");

  /* ELF types: relocatable, executable and shared object only. */
  make_elf (h, 2, 1, 1, 62);
  check_arch ("elf-rel", h, sizeof h, "x86_64");
  make_elf (h, 2, 1, 2, 62);
  check_arch ("elf-exec", h, sizeof h, "x86_64");
  make_elf (h, 2, 1, 4, 62);
  check_arch ("elf-core", h, sizeof h, NULL);
  make_elf (h, 2, 1, 0, 62);
  check_arch ("elf-none", h, sizeof h, NULL);
  /* A 32-bit header is 52 bytes; 20 are enough for the machine. */
  make_elf (h, 1, 1, 2, 3);
  check_arch ("elf-20", h, 20, "i386");
  check_arch ("elf-19", h, 19, NULL);
  check_arch ("elf-4", h, 4, NULL);
  check_arch ("elf-3", h, 3, NULL);
  check_arch ("empty", "", 0, NULL);
  make_elf (h, 0, 1, 2, 62);
  check_arch ("elf-class-0", h, sizeof h, NULL);
  make_elf (h, 3, 1, 2, 62);
  check_arch ("elf-class-3", h, sizeof h, NULL);
  make_elf (h, 2, 0, 2, 62);
  check_arch ("elf-data-0", h, sizeof h, NULL);
  make_elf (h, 2, 3, 2, 62);
  check_arch ("elf-data-3", h, sizeof h, NULL);
  make_elf (h, 2, 1, 2, 62);
  h[3] = 'f';
  check_arch ("elf-magic", h, sizeof h, NULL);
  check_arch ("text", "#!/bin/sh\necho hello, world\n", 28, NULL);

  /* Hostile PE headers. */
  make_pe (buf, sizeof buf, 0x80, 0x8664, 0x20b);
  check_arch ("pe-63", buf, 63, NULL);
  check_arch ("pe-2", buf, 2, NULL);
  check_arch ("pe-sig-only", buf, 0x84, NULL);
  check_arch ("pe-no-magic", buf, 0x80 + 25, NULL);
  check_arch ("pe-magic-at-end", buf, 0x80 + 26, "x86_64");
  buf[0x83] = 1;
  check_arch ("pe-signature", buf, sizeof buf, NULL);
  len = make_pe (buf, sizeof buf, 0x1000, 0x8664, 0x20b);
  check_arch ("pe-lfanew-past-end", buf, len, NULL);
  len = make_pe (buf, sizeof buf, 0x80000000, 0x8664, 0x20b);
  check_arch ("pe-lfanew-negative", buf, len, NULL);
  len = make_pe (buf, sizeof buf, 0xffffffff, 0x8664, 0x20b);
  check_arch ("pe-lfanew-minus-1", buf, len, NULL);
  len = make_pe (buf, sizeof buf, 0x7fffffff, 0x8664, 0x20b);
  check_arch ("pe-lfanew-huge", buf, len, NULL);
  len = make_pe (buf, sizeof buf, sizeof buf - 26, 0x14c, 0x10b);
  check_arch ("pe-at-the-end", buf, len, "i386");
  /* The PE header overlapping the DOS header (e_lfanew at 4). */
  len = make_pe (buf, sizeof buf, 4, 0x14c, 0x10b);
  check_arch ("pe-lfanew-4", buf, len, "i386");
  /* The DOS header alone, its e_lfanew pointing at itself ("MZ"). */
  memset (buf, 0, sizeof buf);
  memcpy (buf, "MZ", 2);
  check_arch ("pe-lfanew-0", buf, sizeof buf, NULL);
  /* e_lfanew at 1 MiB, in a sparse file, is read. */
  fd = arch_file ("pe-far", buf, 64);
  if (fd >= 0) {
    const char *got;

    put32le (buf + 0x3c, 0x100000);
    CHECK (pwrite (fd, buf, 64, 0) == 64, "pe-far: %m");
    memset (buf, 0, 26);
    memcpy (buf, "PE\0\0", 4);
    put16 (buf + 4, 0xaa64, false);
    put16 (buf + 24, 0x20b, false);
    CHECK (pwrite (fd, buf, 26, 0x100000) == 26, "pe-far: %m");
    got = executable_arch (fd, "pe-far");
    CHECK (got && strcmp (got, "x86_64") == 0, "pe-far: got %s",
           got ? got : "NULL");
    close (fd);
  }
  printf ("ok - short and hostile ELF and PE headers\n");

  /* Through the guest tree: a directory, a fifo (never opened: this
   * would block), a missing file, a text file and a dangling symlink
   * are skipped; the first executable answers. */
  {
    static const char *const paths[] = {
      "/dir", "/fifo", "/missing", "/text", "/dangling", "/elf-19",
      "/elf-62-64-lsb", "/pe-0x14c-0x10b", NULL
    };
    static const char *const none[] = {
      "/dir", "/fifo", "/missing", "/text", "/dangling", "/elf-core", NULL
    };
    char path[4096];
    char *arch;

    mk ("/arch", "/dir", NULL);
    snprintf (path, sizeof path, "%s/arch/fifo", tmpdir);
    CHECK (mkfifo (path, 0644) == 0, "mkfifo: %m");
    snprintf (path, sizeof path, "%s/arch/dangling", tmpdir);
    CHECK (symlink ("nowhere", path) == 0, "symlink: %m");
    dirfd = open_tree ("/arch");
    alarm (30);                 /* a fifo read would block: fail */
    arch = inspect_binary_arch (dirfd, paths);
    CHECK (arch && strcmp (arch, "x86_64") == 0,
           "first executable in the tree: got %s", arch ? arch : "NULL");
    free (arch);
    arch = inspect_binary_arch (dirfd, none);
    CHECK (arch == NULL, "no executable in the tree: got %s", arch);
    free (arch);
    alarm (0);
    close (dirfd);
  }
  printf ("ok - directory, fifo, missing, text and symlink skipped\n");
}

static void
test_clean (void)
{
  static const struct {
    const char *in;
    size_t len, max;
    bool multi;
    const char *out;
  } t[] = {
    { "plain", 5, 100, false, "plain" },
    { "tab\there\nnl", 11, 100, false, "tab here nl" },
    { "keep\nlines\r\n", 13, 100, true, "keep\nlines\n" },
    { "bell\a esc\033", 10, 100, false, "bell? esc?" },
    { "bad \xff\xfe utf8", 13, 100, false, "bad ?? utf8" },
    { "overlong \xc0\xaf", 11, 100, false, "overlong ??" },
    { "surrogate \xed\xa0\x80", 13, 100, false, "surrogate ???" },
    { "caf\xc3\xa9", 5, 100, false, "caf\xc3\xa9" },
    { "caf\xc3\xa9", 5, 5, false, "caf" },   /* no half character */
    { "nul\0hidden", 10, 100, false, "nul" },
    { "abcdef", 6, 4, false, "abc" },
  };
  size_t i;

  for (i = 0; i < sizeof t / sizeof t[0]; ++i) {
    char *c = inspect_clean_max (t[i].in, t[i].len, t[i].max, t[i].multi);
    CHECK (c && strcmp (c, t[i].out) == 0, "clean #%zu: got '%s'", i,
           c ? c : "NULL");
    free (c);
  }
  printf ("ok - %zu string cleaning cases\n", i);
}

static const char dpkg_status[] =
  "Package: zlib1g\nStatus: install ok installed\nArchitecture: amd64\n"
  "Source: zlib (1:1.2.13.dfsg-1)\nVersion: 1:1.2.13.dfsg-1\n"
  "Description: compression library - runtime\n zlib is a library.\n .\n"
  " More.\nHomepage: http://zlib.net/\n\n"
  "Package: gone\nStatus: deinstall ok config-files\nVersion: 1.0\n\n"
  "Package: half\nStatus: install ok half-installed\nVersion: 1.0\n\n"
  "Package: noversion\nStatus: install ok installed\n\n"
  "Junk line without colon\n\n"
  "Package: libedit2\nStatus: installed ok\nVersion: 3.1-20221030-2\n\n"
  "Package: badepoch\nStatus: install ok installed\nVersion: x:1.0-1\n\n"
  "Package: adduser\nStatus: install ok installed\nVersion: 3.134\n"
  "Architecture: all\nDescription: add and remove users";

static void
test_dpkg (void)
{
  struct app_list l = { 0 };

  parse_dpkg_status (dpkg_status, sizeof dpkg_status - 1, &l);
  /* As libguestfs reads it: "half-installed" contains "installed", a
   * bad epoch or a missing blank line after the last paragraph drops
   * the package. */
  CHECK (l.n == 3, "dpkg: %zu packages, want 3", l.n);
  if (l.n == 3) {
    gbox_application *z = &l.v[0], *a = &l.v[1], *e = &l.v[2];
    CHECK_STR (z->name, "zlib1g", "dpkg name");
    CHECK (z->epoch == 1, "dpkg epoch %d", z->epoch);
    CHECK_STR (z->app_version, "1.2.13.dfsg", "dpkg version");
    CHECK_STR (z->release, "1", "dpkg release");
    CHECK_STR (z->source_package, "zlib", "dpkg source");
    CHECK_STR (z->summary, "compression library - runtime", "dpkg summary");
    CHECK_STR (z->description, "zlib is a library.\n.\nMore.", "dpkg desc");
    CHECK_STR (z->url, "http://zlib.net/", "dpkg url");
    CHECK_STR (a->name, "half", "dpkg half-installed");
    CHECK_STR (a->app_version, "1.0", "dpkg version without release");
    CHECK_STR (a->release, "", "dpkg no release");
    CHECK_STR (e->name, "libedit2", "dpkg 'installed ok'");
    CHECK_STR (e->app_version, "3.1", "dpkg version at the first '-'");
    CHECK_STR (e->release, "20221030-2", "dpkg release after the first '-'");
  }
  app_list_free (&l);
  printf ("ok - dpkg status\n");
}

static void
test_apk_pacman (void)
{
  static const char apk[] =
    "C:Q1=\nP:musl\nV:1.2.4-r2\nA:x86_64\nT:the musl c library\n"
    "U:https://musl.libc.org/\no:musl\n\nV:orphan-1\n\nP:nover\n";
  static const char desc[] =
    "%NAME%\nglibc\n\n%VERSION%\n2:2.38-3\n\n%DESC%\nGNU C Library\n\n"
    "%URL%\nhttps://www.gnu.org/software/libc\n\n%ARCH%\nx86_64\n\n"
    "%BASE%\nglibc\n\n%PACKAGER%\nSomeone <x@example.org>\n";
  struct app_list l = { 0 };

  parse_apk_installed (apk, sizeof apk - 1, &l);
  /* The record without a name and the last one without its blank
   * line do not count. */
  CHECK (l.n == 1, "apk: %zu packages, want 1", l.n);
  if (l.n >= 1) {
    CHECK_STR (l.v[0].name, "musl", "apk name");
    CHECK_STR (l.v[0].app_version, "1.2.4", "apk version");
    CHECK_STR (l.v[0].release, "2", "apk release");
    CHECK_STR (l.v[0].description, "the musl c library", "apk description");
    CHECK_STR (l.v[0].arch, "x86_64", "apk arch");
    CHECK_STR (l.v[0].url, "https://musl.libc.org/", "apk url");
  }
  app_list_free (&l);

  parse_pacman_desc (desc, sizeof desc - 1, &l);
  CHECK (l.n == 1, "pacman: %zu packages", l.n);
  if (l.n == 1) {
    CHECK_STR (l.v[0].name, "glibc", "pacman name");
    CHECK (l.v[0].epoch == 2, "pacman epoch %d", l.v[0].epoch);
    CHECK_STR (l.v[0].app_version, "2.38", "pacman version");
    CHECK_STR (l.v[0].release, "3", "pacman release");
    CHECK_STR (l.v[0].description, "GNU C Library", "pacman desc");
  }
  app_list_free (&l);
  printf ("ok - apk and pacman\n");
}

/* Build an rpm header blob: tag/type/string triples. */
static size_t
rpm_blob (unsigned char *buf, const uint32_t *tags, const char *const *vals,
          size_t n)
{
  size_t i, dl = 0, off = 8 + 16 * n;
  unsigned char *data = buf + off;

  for (i = 0; i < n; ++i) {
    uint32_t e[4] = { htobe32 (tags[i]), htobe32 (6), htobe32 (dl),
                      htobe32 (1) };
    memcpy (buf + 8 + 16 * i, e, 16);
    strcpy ((char *) data + dl, vals[i]);
    dl += strlen (vals[i]) + 1;
  }
  {
    uint32_t h[2] = { htobe32 (n), htobe32 (dl) };
    memcpy (buf, h, 8);
  }
  return off + dl;
}

static void
test_rpm (void)
{
  static const uint32_t tags[] = { 1000, 1001, 1002, 1022, 1004 };
  static const char *const vals[] = {
    "bash", "5.2.26", "1.fc39", "x86_64", "The GNU Bourne Again shell"
  };
  unsigned char blob[4096];
  struct app_list l = { 0 };
  size_t len;

  len = rpm_blob (blob, tags, vals, 5);
  CHECK (parse_rpm_header (blob, len, &l) == 0, "rpm: parse");
  CHECK (l.n == 1, "rpm: %zu packages", l.n);
  if (l.n == 1) {
    CHECK_STR (l.v[0].name, "bash", "rpm name");
    CHECK_STR (l.v[0].app_version, "5.2.26", "rpm version");
    CHECK_STR (l.v[0].release, "1.fc39", "rpm release");
    CHECK_STR (l.v[0].summary, "The GNU Bourne Again shell", "rpm summary");
  }
  /* Damaged: truncated, index count beyond the blob, offsets outside
   * the data, no NUL at the end of the data. */
  CHECK (parse_rpm_header (blob, 7, &l) == -1, "rpm: 7 bytes");
  CHECK (parse_rpm_header (blob, len - 10, &l) == -1, "rpm: truncated");
  {
    unsigned char bad[64] = { 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 8 };
    CHECK (parse_rpm_header (bad, sizeof bad, &l) == -1, "rpm: huge il");
  }
  {
    unsigned char bad[4096];
    uint32_t off = htobe32 (100000);
    len = rpm_blob (bad, tags, vals, 5);
    memcpy (bad + 8 + 8, &off, 4);          /* name offset outside */
    bad[len - 1] = 'x';                     /* unterminated summary */
    CHECK (parse_rpm_header (bad, len, &l) == -1, "rpm: bad offsets");
    CHECK (l.n == 1, "rpm: a bad header adds nothing (%zu)", l.n);
  }
  app_list_free (&l);
  printf ("ok - rpm headers\n");
}

static void
test_windows (void)
{
  char out[4096];
  gbox_inspected_os os;
  int fd;

  mk ("/win", "", NULL);
  mk ("/win", "/WINDOWS", NULL);
  mk ("/win", "/WINDOWS/SYSTEM32", NULL);
  mk ("/win", "/WINDOWS/SYSTEM32/CONFIG", NULL);
  mk ("/win", "/WINDOWS/SYSTEM32/CONFIG/software", "regf but not really");
  fd = open_tree ("/win");
  CHECK (windows_find_systemroot (fd, out, sizeof out) == 1,
         "windows: system root not found");
  CHECK_STR (out, "/WINDOWS", "windows systemroot case");
  CHECK (windows_case_path (fd, "/windows/system32/config/SOFTWARE", out,
                            sizeof out) == 0, "case path");
  CHECK_STR (out, "/WINDOWS/SYSTEM32/CONFIG/software", "case path");

  os_empty (&os);
  free (os.windows_systemroot);
  os.windows_systemroot = strdup ("/WINDOWS");
  inspect_warnings_reset ();
  CHECK (inspect_windows_details (fd, &os, NULL, 0) == 0, "junk hive");
  CHECK (has_warning ("software: not a valid registry hive"),
         "junk hive: no warning");
  CHECK (has_warning ("SYSTEM: registry hive not found"),
         "missing hive: no warning");
  CHECK_STR (os.distro, "windows", "windows distro");
  CHECK_STR (os.product_name, "", "junk hive: no product");
  xdr_free ((xdrproc_t) xdr_gbox_inspected_os, (char *) &os);
  close (fd);

  /* boot.ini names the system root (WINNT here). */
  mk ("/nt", "", NULL);
  mk ("/nt", "/winnt", NULL);
  mk ("/nt", "/winnt/system32", NULL);
  mk ("/nt", "/winnt/system32/config", NULL);
  mk ("/nt", "/boot.ini", "[boot loader]\r\ntimeout=30\r\n"
      "default=multi(0)disk(0)rdisk(0)partition(1)\\WINNT\r\n");
  fd = open_tree ("/nt");
  CHECK (windows_find_systemroot (fd, out, sizeof out) == 1, "boot.ini");
  CHECK_STR (out, "/winnt", "boot.ini systemroot");
  close (fd);

  /* Not Windows. */
  fd = open_tree ("/debian");
  CHECK (windows_find_systemroot (fd, out, sizeof out) == 0, "not windows");
  close (fd);
  printf ("ok - windows system roots and a junk hive\n");
}

int
main (void)
{
  char cmd[4096];

  if (mkdtemp (tmpdir) == NULL) {
    perror ("mkdtemp");
    return 1;
  }
  test_linux ();
  test_hostile_linux ();
  test_executable_headers ();
  test_clean ();
  test_dpkg ();
  test_apk_pacman ();
  test_rpm ();
  test_windows ();

  snprintf (cmd, sizeof cmd, "rm -rf %s", tmpdir);
  if (system (cmd) != 0)
    fprintf (stderr, "warning: cannot remove %s\n", tmpdir);
  return check_finish ("test-inspect-full");
}
