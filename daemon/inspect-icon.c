/* guestbox - the icon of an inspected guest.
 * Copyright (C) 2026 the guestbox authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

/**
 * The guest's logo, found where libguestfs 1.48 looks for it (no
 * favicon, as virt-inspector asks): the distribution's logo file for
 * Fedora, the Red Hat family, Debian, Ubuntu, Mageia, openSUSE/SLES,
 * Void, ALT, Gentoo and OpenMandriva; for Windows 8 (6.2) the Windows
 * Live logo.  A Linux logo must be a regular file (symlinks followed
 * inside the guest tree) that libmagic calls "PNG image data, W x H"
 * with W and H between 16 and 1024, and no bigger than the size bound
 * libguestfs gives each distribution (4 * W * H when it gives none).
 * Anything else is no icon, not an error.  The whole file is read
 * here, in the appliance; only the bytes travel back.
 */

#include <config.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <magic.h>

#include "daemon.h"

/* A PNG named by PATH, checked; 0 with *BUF set, or -1 (no icon). */
static int
get_png (int rootfd, const char *path, size_t max_size, char **buf,
         size_t *len)
{
  CLEANUP_CLOSE int pfd = -1;
  CLEANUP_CLOSE int fd = -1;
  struct stat st;
  char proc[64];
  magic_t cookie;
  const char *desc;
  int w = 0, h = 0, ok = 0;

  pfd = open_in_root (rootfd, path, O_PATH, 0);
  if (pfd == -1 || fstat (pfd, &st) == -1 || !S_ISREG (st.st_mode))
    return -1;
  snprintf (proc, sizeof proc, "/proc/self/fd/%d", pfd);
  fd = open (proc, O_RDONLY | O_CLOEXEC | O_NOCTTY);
  if (fd == -1)
    return -1;
  cookie = magic_open (MAGIC_NONE | MAGIC_ERROR | MAGIC_RAW);
  if (cookie == NULL)
    return -1;
  if (magic_load (cookie, NULL) == 0 &&
      (desc = magic_descriptor (cookie, fd)) != NULL &&
      strncmp (desc, "PNG image data, ", 16) == 0 &&
      sscanf (desc + 16, "%d x %d", &w, &h) == 2 &&
      w >= 16 && h >= 16 && w <= 1024 && h <= 1024)
    ok = 1;
  magic_close (cookie);
  if (!ok)
    return -1;
  if (max_size == 0)
    max_size = 4 * (size_t) w * h;
  if ((uint64_t) st.st_size > max_size)
    return -1;
  *buf = read_file_in_root (rootfd, path, max_size + 1, len);
  if (*buf == NULL || *len > max_size) {
    free (*buf);
    *buf = NULL;
    return -1;
  }
  return 0;
}

static int
find_png (int rootfd, const char *const *paths, size_t max_size, char **buf,
          size_t *len)
{
  size_t i;

  for (i = 0; paths[i]; ++i)
    if (get_png (rootfd, paths[i], max_size, buf, len) == 0)
      return 0;
  return -1;
}

static bool
is (const char *distro, const char *const *names)
{
  size_t i;

  for (i = 0; names[i]; ++i)
    if (strcmp (distro, names[i]) == 0)
      return true;
  return false;
}

/* Windows 8: a 48x48 PNG of Windows Live, taken as it is. */
static int
icon_windows (int rootfd, const gbox_inspected_os *os, char **buf,
              size_t *len)
{
  char path[GBOX_PATH_MAX];
  struct stat st;

  if (os->major_version != 6 || os->minor_version != 2)
    return -1;
  if (windows_case_path (rootfd,
                         "/ProgramData/Microsoft/Windows Live/WLive48x48.png",
                         path, sizeof path) == -1 ||
      stat_in_root (rootfd, path, &st) == -1 || !S_ISREG (st.st_mode) ||
      st.st_size > 8192)
    return -1;
  *buf = read_file_in_root (rootfd, path, 8192 + 1, len);
  if (*buf == NULL || *len > 8192) {
    free (*buf);
    *buf = NULL;
    return -1;
  }
  return 0;
}

int
inspect_icon (int rootfd, const gbox_inspected_os *os, char **buf,
              size_t *len)
{
  static const char *const redhat[] = {
    "rhel", "redhat-based", "centos", "rocky", "scientificlinux",
    "oraclelinux", NULL
  };
  static const char *const suse[] = {
    "suse-based", "opensuse", "sles", NULL
  };
  static const char *const ubuntu_icons[] = {
    "/usr/share/icons/gnome/24x24/places/ubuntu-logo.png",
    "/usr/share/help/C/ubuntu-help/figures/ubuntu-logo.png", NULL
  };
  static const char *const suse_icons[] = {
    "/usr/share/icons/hicolor/48x48/apps/distributor.png",
    "/usr/share/icons/hicolor/24x24/apps/distributor.png", NULL
  };
  static const char *const mandriva_icons[] = {
    "/usr/share/icons/large/mandriva.png", "/usr/share/icons/mandriva.png",
    NULL
  };
  const char *d = os->distro;

  *buf = NULL;
  *len = 0;
  if (strcmp (os->type, "windows") == 0)
    return icon_windows (rootfd, os, buf, len);
  if (strcmp (os->type, "linux") != 0)
    return -1;
  if (strcmp (d, "fedora") == 0)
    return get_png (rootfd,
                    "/usr/share/icons/hicolor/96x96/apps/fedora-logo-icon.png",
                    0, buf, len);
  if (is (d, redhat))
    return get_png (rootfd, os->major_version < 7
                    ? "/usr/share/pixmaps/redhat/shadowman-transparent.png"
                    : "/usr/share/icons/hicolor/96x96/apps/system-logo-icon.png",
                    102400, buf, len);
  if (strcmp (d, "debian") == 0)
    return get_png (rootfd, "/usr/share/pixmaps/debian-logo.png", 2048,
                    buf, len);
  if (strcmp (d, "ubuntu") == 0)
    return find_png (rootfd, ubuntu_icons, 2048, buf, len);
  if (strcmp (d, "mageia") == 0)
    return get_png (rootfd, "/usr/share/icons/mageia.png", 10240, buf, len);
  if (is (d, suse))
    return find_png (rootfd, suse_icons, 10240, buf, len);
  if (strcmp (d, "voidlinux") == 0)
    return get_png (rootfd, "/usr/share/void-artwork/void-logo.png", 20480,
                    buf, len);
  if (strcmp (d, "altlinux") == 0)
    return get_png (rootfd, "/usr/share/icons/hicolor/48x48/apps/altlinux.png",
                    20480, buf, len);
  if (strcmp (d, "gentoo") == 0)
    return get_png (rootfd, "/usr/share/icons/gentoo/48x48/gentoo.png", 10240,
                    buf, len);
  if (strcmp (d, "openmandriva") == 0)
    return find_png (rootfd, mandriva_icons, 10240, buf, len);
  return -1;
}
