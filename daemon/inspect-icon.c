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
 * Three icons are converted with the programs libguestfs runs, here in
 * the appliance: CirrOS's text logo (/usr/share/cirros/logo, a regular
 * file of "ASCII text", at most 1024 bytes) drawn by pbmtext | pnmtopng; Windows XP's
 * bitmap 143 and Windows 7's bitmap 6801 (its top 55 rows) from the
 * resources of explorer.exe (at most 4,000,000 bytes; on Windows 7
 * SysWOW64's first), through wrestool | bmptopnm [| pamcut] | pnmtopng.
 * As with libguestfs's shell pipeline, the last program's exit status
 * decides.  Anything else is no icon, not an error.  The whole file is
 * read here, in the appliance; only the bytes travel back.
 */

#include <config.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/wait.h>
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

/* The longest a conversion may take, and the most it may print. */
#define CONVERT_TIMEOUT_MS 30000
#define CONVERT_MAX (1024 * 1024)
/* libguestfs's bound on explorer.exe. */
#define EXPLORER_MAX 4000000
#define CIRROS_LOGO_MAX 1024
#define MAX_STAGES 4

/* Run the pipeline STAGES (NULL-terminated argv's), the first reading
 * INFD, the last writing into *BUF (at most CONVERT_MAX bytes); stderr
 * goes nowhere.  0 when the last program exits 0 and printed something,
 * else -1 (every child is killed and reaped either way). */
static int
run_pipeline (const char *const *const *stages, size_t n, int infd,
              char **buf, size_t *len)
{
  pid_t pids[MAX_STAGES];
  int in = infd, out[2] = { -1, -1 }, devnull, status = 0, ret = -1;
  size_t i, started = 0, got = 0;
  char *b = NULL;
  uint64_t deadline = now_ms () + CONVERT_TIMEOUT_MS;
  bool ok = true;

  *buf = NULL;
  *len = 0;
  if (n == 0 || n > MAX_STAGES)
    return -1;
  devnull = open ("/dev/null", O_WRONLY | O_CLOEXEC);
  if (devnull == -1)
    return -1;
  for (i = 0; i < n; ++i) {
    if (pipe2 (out, O_CLOEXEC) == -1) {
      ok = false;
      break;
    }
    pids[i] = fork ();
    if (pids[i] == -1) {
      close (out[0]);
      close (out[1]);
      ok = false;
      break;
    }
    if (pids[i] == 0) {
      if (dup2 (in, 0) == -1 || dup2 (out[1], 1) == -1 ||
          dup2 (devnull, 2) == -1)
        _exit (127);
      execvp (stages[i][0], (char *const *) stages[i]);
      _exit (127);
    }
    started++;
    close (out[1]);
    if (in != infd)
      close (in);
    in = out[0];
  }
  if (ok) {
    b = malloc (CONVERT_MAX + 1);
    ok = b != NULL;
  }
  while (ok) {
    struct pollfd pfd = { .fd = in, .events = POLLIN };
    uint64_t now = now_ms ();
    ssize_t r;

    if (now >= deadline ||
        poll (&pfd, 1, (int) (deadline - now)) == 0) {
      debug ("icon: %s: timed out", stages[0][0]);
      ok = false;
      break;
    }
    r = read (in, b + got, CONVERT_MAX + 1 - got);
    if (r == -1 && (errno == EINTR || errno == EAGAIN))
      continue;
    if (r <= 0)
      break;
    got += (size_t) r;
    if (got > CONVERT_MAX) {
      ok = false;
      break;
    }
  }
  if (in != infd)
    close (in);
  close (devnull);
  for (i = 0; i < started; ++i) {
    if (!ok)
      kill (pids[i], SIGKILL);
    while (waitpid (pids[i], &status, 0) == -1 && errno == EINTR)
      ;
  }
  /* STATUS is the last program's. */
  if (ok && started == n && got > 0 && WIFEXITED (status) &&
      WEXITSTATUS (status) == 0) {
    *buf = b;
    *len = got;
    b = NULL;
    ret = 0;
  }
  free (b);
  return ret;
}

/* PATH (already resolved in the guest) opened for reading when it is a
 * regular file (not followed when it is a symlink, as libguestfs's
 * is_file) of at most MAX bytes; -1 otherwise. */
static int
open_small_regular (int rootfd, const char *path, off_t max, bool follow)
{
  struct stat st;
  int fd;

  if ((follow ? stat_in_root (rootfd, path, &st)
       : lstat_in_root (rootfd, path, &st)) == -1 ||
      !S_ISREG (st.st_mode) || st.st_size > max)
    return -1;
  fd = open_in_root (rootfd, path, O_RDONLY | O_NOCTTY, 0);
  if (fd == -1)
    return -1;
  if (fstat (fd, &st) == -1 || !S_ISREG (st.st_mode) || st.st_size > max) {
    close (fd);
    return -1;
  }
  return fd;
}

/* CirrOS: its logo is ASCII art, drawn as libguestfs draws it. */
static int
icon_cirros (int rootfd, char **buf, size_t *len)
{
  static const char *const pbmtext[] = { "pbmtext", NULL };
  static const char *const pnmtopng[] = { "pnmtopng", NULL };
  static const char *const *const stages[] = { pbmtext, pnmtopng };
  CLEANUP_CLOSE int fd = -1;
  magic_t cookie;
  const char *desc;
  bool ascii = false;

  /* libguestfs's file(1) check calls a symlink "symbolic link". */
  fd = open_small_regular (rootfd, "/usr/share/cirros/logo",
                           CIRROS_LOGO_MAX, false);
  if (fd == -1)
    return -1;
  cookie = magic_open (MAGIC_NONE | MAGIC_ERROR | MAGIC_RAW);
  if (cookie == NULL)
    return -1;
  if (magic_load (cookie, NULL) == 0 &&
      (desc = magic_descriptor (cookie, fd)) != NULL &&
      strncmp (desc, "ASCII text", 10) == 0)
    ascii = true;
  magic_close (cookie);
  if (!ascii || lseek (fd, 0, SEEK_SET) == -1)
    return -1;
  return run_pipeline (stages, 2, fd, buf, len);
}

/* Windows XP (5.1) and 7 (6.1): a bitmap of explorer.exe. */
static int
icon_explorer (int rootfd, const gbox_inspected_os *os, bool xp, char **buf,
               size_t *len)
{
  static const char *const wres_xp[] = {
    "wrestool", "-x", "--type=2", "--name=143", "/proc/self/fd/0", NULL
  };
  static const char *const wres_7[] = {
    "wrestool", "-x", "--type=2", "--name=6801", "/proc/self/fd/0", NULL
  };
  static const char *const bmptopnm[] = { "bmptopnm", NULL };
  static const char *const pamcut[] = { "pamcut", "-bottom", "54", NULL };
  static const char *const pnmtopng[] = { "pnmtopng", NULL };
  static const char *const *const xp_stages[] = {
    wres_xp, bmptopnm, pnmtopng
  };
  static const char *const *const w7_stages[] = {
    wres_7, bmptopnm, pamcut, pnmtopng
  };
  static const char *const xp_names[] = { "explorer.exe", NULL };
  static const char *const w7_names[] = {
    "SysWOW64/explorer.exe", "explorer.exe", NULL
  };
  const char *const *names = xp ? xp_names : w7_names;
  CLEANUP_CLOSE int fd = -1;
  size_t i;

  if (os->windows_systemroot == NULL || os->windows_systemroot[0] == '\0')
    return -1;
  for (i = 0; names[i] && fd == -1; ++i) {
    char want[GBOX_PATH_MAX], path[GBOX_PATH_MAX];
    struct stat st;

    if ((size_t) snprintf (want, sizeof want, "%s/%s",
                           os->windows_systemroot, names[i]) >= sizeof want ||
        windows_case_path (rootfd, want, path, sizeof path) == -1 ||
        lstat_in_root (rootfd, path, &st) == -1 || !S_ISREG (st.st_mode))
      continue;
    /* The first regular file found is the one (too big: no icon). */
    fd = open_small_regular (rootfd, path, EXPLORER_MAX, false);
    if (fd == -1)
      return -1;
  }
  if (fd == -1)
    return -1;
  if (xp)
    return run_pipeline (xp_stages, 3, fd, buf, len);
  return run_pipeline (w7_stages, 4, fd, buf, len);
}

/* Windows 8: a 48x48 PNG of Windows Live, taken as it is. */
static int
icon_windows (int rootfd, const gbox_inspected_os *os, char **buf,
              size_t *len)
{
  char path[GBOX_PATH_MAX];
  struct stat st;

  if (os->major_version == 5 && os->minor_version == 1)
    return icon_explorer (rootfd, os, true, buf, len);
  if (os->major_version == 6 && os->minor_version == 1)
    return icon_explorer (rootfd, os, false, buf, len);
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
  if (strcmp (d, "cirros") == 0)
    return icon_cirros (rootfd, buf, len);
  return -1;
}
