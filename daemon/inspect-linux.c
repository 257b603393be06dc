/* guestbox - Linux inspection: distro, version, hostname, architecture.
 * Copyright (C) 2026 the guestbox authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

/**
 * Given a directory fd of a Linux guest's tree (its root with /usr,
 * /var, ... mounted inside, or a fixture tree in --sysroot mode), fill
 * the distro fields of an inspected OS: /etc/os-release first (or
 * /usr/lib/os-release), then lsb-release and the distro's own
 * *-release / *_version files; the hostname; the package format and
 * manager; the osinfo short id; and the architecture of the guest's
 * binaries (inspect-arch.c).  Every file is read with a size bound inside the
 * tree; a file that is too big or unreadable gives a warning and the
 * next source is tried.
 */

#include <config.h>

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <strings.h>

#include "daemon.h"

/* Release files are small; anything bigger is not one. */
#define RELEASE_MAX (64 * 1024)
#define HOSTNAME_FILE_MAX (64 * 1024)

/* Distro ids: the os-release ID (or our own tag for older files) and
 * the name libguestfs uses. */
static const struct {
  const char *id;
  const char *distro;
} distro_ids[] = {
  { "alinux", "alibabacloudlinux" },
  { "almalinux", "alma" },
  { "alpine", "alpinelinux" },
  { "altlinux", "altlinux" },
  { "amzn", "amazonlinux" },
  { "arch", "archlinux" },
  { "azurelinux", "azurelinux" },
  { "centos", "centos" },
  { "circle", "circle" },
  { "coreos", "coreos" },
  { "debian", "debian" },
  { "fedora", "fedora" },
  { "frugalware", "frugalware" },
  { "gentoo", "gentoo" },
  { "kali", "kalilinux" },
  { "kylin", "kylin" },
  { "mageia", "mageia" },
  { "mariner", "mariner" },
  { "neokylin", "neokylin" },
  { "ol", "oraclelinux" },
  { "openEuler", "openeuler" },
  { "opencloudos", "opencloudos" },
  { "openmandriva", "openmandriva" },
  { "opensuse", "opensuse" },
  { "opensuse-leap", "opensuse" },
  { "opensuse-tumbleweed", "opensuse" },
  { "pardus", "pardus" },
  { "pld", "pldlinux" },
  { "rhel", "rhel" },
  { "rocky", "rocky" },
  { "sled", "sles" },
  { "sles", "sles" },
  { "tencentos", "tencentos" },
  { "ubuntu", "ubuntu" },
  { "void", "voidlinux" },
};

const char *
linux_distro_of_id (const char *id)
{
  size_t i;

  for (i = 0; i < sizeof distro_ids / sizeof distro_ids[0]; ++i)
    if (strcmp (distro_ids[i].id, id) == 0)
      return distro_ids[i].distro;
  return NULL;
}

/* Replace *FIELD with a cleaned copy of S (LEN bytes). */
static int
set_field (char **field, const char *s, size_t len)
{
  char *c = inspect_clean (s, len);

  if (c == NULL)
    return -1;
  free (*field);
  *field = c;
  return 0;
}

/* "12.4" -> 12, 4; "22.04" -> 22, 4; "3.18.4" -> 3, 18; "rolling" ->
 * nothing.  Returns true if a major number was found. */
bool
parse_version_numbers (const char *s, int *major, int *minor)
{
  char *end;
  long ma, mi = 0;

  while (*s == ' ' || *s == '"')
    s++;
  if (!isdigit ((unsigned char) *s))
    return false;
  errno = 0;
  ma = strtol (s, &end, 10);
  if (errno || ma < 0 || ma > 1000000)
    return false;
  if (*end == '.' && isdigit ((unsigned char) end[1])) {
    mi = strtol (end + 1, &end, 10);
    if (errno || mi < 0 || mi > 1000000)
      mi = 0;
  }
  *major = ma;
  *minor = mi;
  return true;
}

/* One KEY=VALUE line of an os-release / lsb-release file: unquote the
 * value into VAL (bounded).  Returns false for comments and junk. */
bool
parse_shell_assignment (const char *line, size_t len, char *key,
                        size_t keylen, char *val, size_t vallen)
{
  size_t i = 0, k = 0, v = 0;
  char quote = 0;

  while (i < len && isspace ((unsigned char) line[i]))
    i++;
  while (i < len && (isalnum ((unsigned char) line[i]) || line[i] == '_')) {
    if (k + 1 >= keylen)
      return false;
    key[k++] = line[i++];
  }
  key[k] = '\0';
  if (k == 0 || i >= len || line[i] != '=')
    return false;
  i++;
  for (; i < len; ++i) {
    char c = line[i];
    if (quote == 0 && (c == '"' || c == '\'')) {
      quote = c;
      continue;
    }
    if (quote && c == quote) {
      quote = 0;
      continue;
    }
    if (quote == '"' && c == '\\' && i + 1 < len) {
      c = line[++i];
    }
    else if (quote == 0 && (c == '#' || isspace ((unsigned char) c)))
      break;
    if (v + 1 >= vallen)
      break;
    val[v++] = c;
  }
  val[v] = '\0';
  return true;
}

/* Read a small text file of the guest; NULL (and maybe a warning) if
 * it is absent, too big or not a regular file. */
static char *
read_small (int rootfd, const char *path, size_t max, size_t *len)
{
  char *text = read_file_in_root (rootfd, path, max, len);

  if (text == NULL && errno != ENOENT && errno != ENOTDIR)
    inspect_warning ("%s: %s%s", path, strerror (errno),
                     errno == EFBIG ? " (ignored)" : "");
  return text;
}

/* First line, trimmed. */
static size_t
first_line (const char *text, size_t len, const char **start)
{
  const char *nl;
  size_t l;

  while (len > 0 && isspace ((unsigned char) *text)) {
    text++;
    len--;
  }
  nl = memchr (text, '\n', len);
  l = nl ? (size_t) (nl - text) : len;
  while (l > 0 && isspace ((unsigned char) text[l - 1]))
    l--;
  *start = text;
  return l;
}

/* Parse os-release or lsb-release text.  Returns 1 when a known
 * distro was found. */
static int
parse_release_vars (const char *text, size_t len, bool lsb,
                    gbox_inspected_os *os)
{
  size_t pos = 0;
  char id[128] = "", version[128] = "", pretty[1024] = "";
  const char *distro;

  while (pos < len) {
    const char *nl = memchr (text + pos, '\n', len - pos);
    size_t ll = nl ? (size_t) (nl - (text + pos)) : len - pos;
    char key[64], val[1024];

    if (ll <= 4096 &&
        parse_shell_assignment (text + pos, ll, key, sizeof key,
                                val, sizeof val)) {
      if (strcmp (key, lsb ? "DISTRIB_ID" : "ID") == 0)
        snprintf (id, sizeof id, "%s", val);
      else if (strcmp (key, lsb ? "DISTRIB_RELEASE" : "VERSION_ID") == 0)
        snprintf (version, sizeof version, "%s", val);
      else if (strcmp (key, lsb ? "DISTRIB_DESCRIPTION" : "PRETTY_NAME") == 0)
        snprintf (pretty, sizeof pretty, "%s", val);
      else if (!lsb && strcmp (key, "BUILD_ID") == 0)
        set_field (&os->build_id, val, strlen (val));
    }
    pos += ll + 1;
  }
  if (lsb) {
    /* lsb-release ids are capitalised: "Ubuntu", "LinuxMint". */
    size_t i;
    for (i = 0; id[i]; ++i)
      id[i] = tolower ((unsigned char) id[i]);
  }
  distro = linux_distro_of_id (id);
  if (distro == NULL)
    return 0;
  set_field (&os->distro, distro, strlen (distro));
  if (pretty[0])
    set_field (&os->product_name, pretty, strlen (pretty));
  parse_version_numbers (version, &os->major_version, &os->minor_version);
  return 1;
}

/* Older release files: "Fedora release 20 (Heisenbug)", "3.18.4". */
static const struct {
  const char *path;
  const char *distro;
  const char *must_contain;     /* NULL: any */
} release_files[] = {
  { "/etc/alpine-release", "alpinelinux", NULL },
  { "/etc/arch-release", "archlinux", NULL },
  { "/etc/fedora-release", "fedora", NULL },
  { "/etc/rocky-release", "rocky", NULL },
  { "/etc/almalinux-release", "alma", NULL },
  { "/etc/centos-release", "centos", NULL },
  { "/etc/oracle-release", "oraclelinux", NULL },
  { "/etc/redhat-release", "rhel", NULL },
  { "/etc/SuSE-release", "opensuse", "openSUSE" },
  { "/etc/SuSE-release", "sles", NULL },
  { "/etc/gentoo-release", "gentoo", NULL },
  { "/etc/mageia-release", "mageia", NULL },
  { "/etc/altlinux-release", "altlinux", NULL },
  { "/etc/frugalware-release", "frugalware", NULL },
  { "/etc/pardus-release", "pardus", NULL },
  { "/etc/debian_version", "debian", NULL },
  { "/etc/slackware-version", "slackware", NULL },
  { "/etc/cirros/version", "cirros", NULL },
  /* Buildroot; CirrOS when it has its logo. */
  { "/etc/br-version", "buildroot", NULL },
};

static bool
is_file_in_root (int rootfd, const char *path)
{
  struct stat st;
  return stat_in_root (rootfd, path, &st) == 0 && S_ISREG (st.st_mode);
}

static int
parse_release_file (int rootfd, gbox_inspected_os *os)
{
  size_t i;

  for (i = 0; i < sizeof release_files / sizeof release_files[0]; ++i) {
    CLEANUP_FREE char *text = NULL;
    const char *line, *p;
    size_t len, ll;

    text = read_small (rootfd, release_files[i].path, RELEASE_MAX, &len);
    if (text == NULL)
      continue;
    if (release_files[i].must_contain &&
        strstr (text, release_files[i].must_contain) == NULL)
      continue;
    ll = first_line (text, len, &line);
    set_field (&os->distro, release_files[i].distro,
               strlen (release_files[i].distro));
    if (strcmp (release_files[i].distro, "buildroot") == 0 &&
        is_file_in_root (rootfd, "/usr/share/cirros/logo"))
      set_field (&os->distro, "cirros", 6);
    /* redhat-release also names CentOS and others. */
    if (strcmp (release_files[i].distro, "rhel") == 0 &&
        ll >= 6 && strncmp (line, "CentOS", 6) == 0)
      set_field (&os->distro, "centos", 6);
    if (strcmp (release_files[i].distro, "archlinux") != 0)
      set_field (&os->product_name, line, ll);
    /* Version: the first digit run of the line. */
    for (p = line; p < line + ll && !isdigit ((unsigned char) *p); ++p)
      ;
    if (p < line + ll) {
      char buf[64];
      size_t n = 0;
      while (p < line + ll && n + 1 < sizeof buf &&
             (isdigit ((unsigned char) *p) || *p == '.'))
        buf[n++] = *p++;
      buf[n] = '\0';
      parse_version_numbers (buf, &os->major_version, &os->minor_version);
    }
    return 1;
  }
  return 0;
}

/* Debian's os-release has only the major version: the point release
 * ("12.4") in /etc/debian_version gives the minor version and, as
 * libguestfs reports it, the product name. */
static void
debian_point_release (int rootfd, gbox_inspected_os *os)
{
  CLEANUP_FREE char *text = NULL;
  const char *line;
  size_t len, ll;
  int ma, mi;

  text = read_small (rootfd, "/etc/debian_version", RELEASE_MAX, &len);
  if (text && parse_version_numbers (text, &ma, &mi) &&
      ma == os->major_version) {
    os->minor_version = mi;
    ll = first_line (text, len, &line);
    set_field (&os->product_name, line, ll);
  }
}

static void
package_info (int rootfd, gbox_inspected_os *os)
{
  static const struct {
    const char *distro, *format, *manager;
  } pk[] = {
    { "debian", "deb", "apt" }, { "ubuntu", "deb", "apt" },
    { "kalilinux", "deb", "apt" }, { "pardus", "deb", "apt" },
    { "fedora", "rpm", "dnf" }, { "rhel", "rpm", "dnf" },
    { "centos", "rpm", "dnf" }, { "rocky", "rpm", "dnf" },
    { "alma", "rpm", "dnf" }, { "oraclelinux", "rpm", "dnf" },
    { "amazonlinux", "rpm", "dnf" }, { "mageia", "rpm", "urpmi" },
    { "openmandriva", "rpm", "dnf" }, { "altlinux", "rpm", "apt" },
    { "opensuse", "rpm", "zypper" }, { "sles", "rpm", "zypper" },
    { "alpinelinux", "apk", "apk" }, { "archlinux", "pacman", "pacman" },
    { "frugalware", "pacman", "pacman-g2" }, { "gentoo", "ebuild", "portage" },
    { "voidlinux", "xbps", "xbps" }, { "pldlinux", "rpm", "poldek" },
  };
  size_t i;

  for (i = 0; i < sizeof pk / sizeof pk[0]; ++i) {
    if (strcmp (os->distro, pk[i].distro) == 0) {
      set_field (&os->package_format, pk[i].format, strlen (pk[i].format));
      set_field (&os->package_management, pk[i].manager,
                 strlen (pk[i].manager));
      break;
    }
  }
  /* dnf or yum: whichever the guest has (dnf only when its program is
   * there, as libguestfs decides). */
  if (strcmp (os->package_management, "dnf") == 0 &&
      !is_file_in_root (rootfd, "/usr/bin/dnf") &&
      !is_file_in_root (rootfd, "/usr/bin/dnf5"))
    set_field (&os->package_management, "yum", 3);
}

/* The osinfo short id, as libguestfs 1.48 derives it: a few
 * distributions by name, then DISTRO + MAJOR.MINOR. */
static void
osinfo_id (gbox_inspected_os *os)
{
  char buf[128] = "";
  const char *d = os->distro;
  int ma = os->major_version, mi = os->minor_version;

  if (strcmp (d, "centos") == 0 && ma >= 8)
    snprintf (buf, sizeof buf, "centos%d", ma);
  else if (strcmp (d, "centos") == 0 && ma == 7)
    snprintf (buf, sizeof buf, "centos7.0");
  else if (strcmp (d, "centos") == 0 && ma == 6)
    snprintf (buf, sizeof buf, "centos6.%d", mi);
  else if (strcmp (d, "rocky") == 0 && ma >= 8)
    snprintf (buf, sizeof buf, "rocky%d", ma);
  else if (strcmp (d, "debian") == 0 && ma >= 4)
    snprintf (buf, sizeof buf, "debian%d", ma);
  else if (strcmp (d, "fedora") == 0 || strcmp (d, "mageia") == 0)
    snprintf (buf, sizeof buf, "%s%d", d, ma);
  else if (strcmp (d, "sles") == 0)
    snprintf (buf, sizeof buf, mi ? "sles%dsp%d" : "sles%d", ma, mi);
  else if (strcmp (d, "ubuntu") == 0)
    snprintf (buf, sizeof buf, "ubuntu%d.%02d", ma, mi);
  else if (strcmp (d, "archlinux") == 0 || strcmp (d, "gentoo") == 0 ||
           strcmp (d, "voidlinux") == 0)
    snprintf (buf, sizeof buf, "%s", d);
  else if (strcmp (d, "altlinux") == 0)
    snprintf (buf, sizeof buf, ma >= 8 ? "alt%d.%d" : "altlinux%d.%d", ma, mi);
  else if (d[0] && strcmp (d, "unknown") != 0 && (ma > 0 || mi > 0))
    snprintf (buf, sizeof buf, "%s%d.%d", d, ma, mi);
  if (buf[0])
    set_field (&os->osinfo, buf, strlen (buf));
}

static void
hostname_info (int rootfd, gbox_inspected_os *os)
{
  static const char *const files[] = { "/etc/hostname", "/etc/HOSTNAME" };
  size_t i, len;

  for (i = 0; i < 2; ++i) {
    CLEANUP_FREE char *text = NULL;
    const char *line;
    size_t ll;

    text = read_small (rootfd, files[i], HOSTNAME_FILE_MAX, &len);
    if (text == NULL)
      continue;
    ll = first_line (text, len, &line);
    if (ll > 0 && ll <= 255) {
      set_field (&os->hostname, line, ll);
      return;
    }
  }
  /* Red Hat: HOSTNAME= in /etc/sysconfig/network. */
  {
    CLEANUP_FREE char *text = NULL;
    size_t pos = 0;

    text = read_small (rootfd, "/etc/sysconfig/network", RELEASE_MAX, &len);
    while (text && pos < len) {
      const char *nl = memchr (text + pos, '\n', len - pos);
      size_t ll = nl ? (size_t) (nl - (text + pos)) : len - pos;
      char key[64], val[256];

      if (parse_shell_assignment (text + pos, ll, key, sizeof key,
                                  val, sizeof val) &&
          strcmp (key, "HOSTNAME") == 0 && val[0]) {
        set_field (&os->hostname, val, strlen (val));
        return;
      }
      pos += ll + 1;
    }
  }
}

int
inspect_linux_details (int rootfd, gbox_inspected_os *os)
{
  static const char *const bins[] = {
    "/bin/ls", "/usr/bin/ls", "/bin/bash", "/usr/bin/bash", "/bin/sh",
    "/bin/busybox", "/usr/bin/env", "/bin/rpm", "/usr/bin/true",
    "/bin/true", "/sbin/init", NULL
  };
  CLEANUP_FREE char *text = NULL;
  CLEANUP_FREE char *arch = NULL;
  size_t len;
  int found = 0;

  set_field (&os->type, "linux", 5);
  text = read_small (rootfd, "/etc/os-release", RELEASE_MAX, &len);
  if (text == NULL)
    text = read_small (rootfd, "/usr/lib/os-release", RELEASE_MAX, &len);
  if (text)
    found = parse_release_vars (text, len, false, os);
  if (!found) {
    free (text);
    text = read_small (rootfd, "/etc/lsb-release", RELEASE_MAX, &len);
    if (text)
      found = parse_release_vars (text, len, true, os);
  }
  if (!found)
    found = parse_release_file (rootfd, os);
  if (found && strcmp (os->distro, "debian") == 0 && os->minor_version == 0)
    debian_point_release (rootfd, os);
  if (!found)
    set_field (&os->distro, "unknown", 7);
  /* Arch Linux has no version. */
  if (strcmp (os->distro, "archlinux") == 0) {
    os->major_version = 0;
    os->minor_version = 0;
  }

  package_info (rootfd, os);
  osinfo_id (os);
  hostname_info (rootfd, os);
  arch = inspect_binary_arch (rootfd, bins);
  if (arch)
    set_field (&os->arch, arch, strlen (arch));
  return 0;
}
