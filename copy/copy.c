/* guestbox - virt-tar-out, virt-tar-in, virt-copy-out, virt-copy-in.
 * Copyright (C) 2026 the guestbox authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

/**
 * Whole directories out of and into a disk image.  One source built
 * four times (COPY_COMMAND picks the command):
 *
 *   virt-tar-out -a IMG DIR OUT.tar    tar made in the appliance (bsdtar),
 *                                      streamed to OUT (or stdout)
 *   virt-tar-in -a IMG IN.tar DIR      unpacked in the appliance
 *   virt-copy-out -a IMG PATH... LOCALDIR
 *   virt-copy-in -a IMG LOCAL... DIR
 *
 * virt-copy-out unpacks the appliance's tar with bsdtar on the host,
 * inside LOCALDIR: names with "..", absolute names and names reached
 * through a symlink are refused, so a guest's "etc -> /etc" cannot make
 * it write outside LOCALDIR; owners are not restored.  virt-copy-in
 * packs the local files with bsdtar on the host and the appliance
 * unpacks them.  Writing commands refuse an image they cannot open for
 * writing and unmount cleanly before they exit.
 */

#include <config.h>

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <libgen.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "guestbox.h"
#include "guestbox-internal.h"
#include "cleanups.h"
#include "options.h"

#define TAR_OUT 1
#define TAR_IN 2
#define COPY_OUT 3
#define COPY_IN 4

#if COPY_COMMAND == TAR_OUT
static const char program[] = "virt-tar-out";
#define WRITES 0
#elif COPY_COMMAND == TAR_IN
static const char program[] = "virt-tar-in";
#define WRITES 1
#elif COPY_COMMAND == COPY_OUT
static const char program[] = "virt-copy-out";
#define WRITES 0
#elif COPY_COMMAND == COPY_IN
static const char program[] = "virt-copy-in";
#define WRITES 1
#else
#error "COPY_COMMAND must be TAR_OUT, TAR_IN, COPY_OUT or COPY_IN"
#endif

static void __attribute__((noreturn))
usage (int status)
{
  if (status != EXIT_SUCCESS) {
    fprintf (stderr, "Try '%s --help' for more information.\n", program);
    exit (status);
  }
#if COPY_COMMAND == TAR_OUT
  printf ("%s: pack a directory of a disk image into a tarball\n"
          "Usage:\n"
          "  %s [--options] -a disk.img /dir files.tar\n"
          "  %s [--options] -a disk.img /dir - | gzip > files.tar.gz\n",
          program, program, program);
#elif COPY_COMMAND == TAR_IN
  printf ("%s: unpack a tarball into a disk image\n"
          "Usage:\n"
          "  %s [--options] -a disk.img data.tar /destination\n"
          "  zcat data.tar.gz | %s [--options] -a disk.img - /destination\n",
          program, program, program);
#elif COPY_COMMAND == COPY_OUT
  printf ("%s: copy files and directories out of a disk image\n"
          "Usage:\n"
          "  %s [--options] -a disk.img /file|dir [/file|dir ...] localdir\n",
          program, program);
#else
  printf ("%s: copy files and directories into a disk image\n"
          "Usage:\n"
          "  %s [--options] -a disk.img file|dir [file|dir ...] /destination\n",
          program, program);
#endif
  printf ("Options:\n"
          "  -a|--add image       Add image\n"
          "  -c|--connect uri     Specify libvirt URI for -d option\n"
          "  -d|--domain guest    Add disks from libvirt guest\n"
#if COPY_COMMAND == TAR_OUT
          "  --acls               Save POSIX ACLs\n"
          "  --bzip2              Compress with bzip2\n"
          "  --exclude pattern    Leave out files matching the wildcard\n"
#endif
          "  --format[=raw|..]    Force disk format for -a option\n"
#if COPY_COMMAND == TAR_OUT
          "  -z|--gzip            Compress with gzip\n"
#endif
          "  --help               Display brief help\n"
          "  -i|--inspector       Mount the filesystems of the operating\n"
          "                       system found by inspection (default)\n"
#if COPY_COMMAND == TAR_OUT
          "  --lzop               Compress with lzop\n"
#endif
          "  -m|--mount dev[:mnt[:opts[:fstype]]]\n"
          "                       Mount dev on mnt (if omitted, /)\n"
#if COPY_COMMAND == TAR_OUT
          "  --numeric-owner      Only numeric owners and groups\n"
          "  --selinux            Save SELinux labels\n"
#endif
          "  -v|--verbose         Verbose messages\n"
          "  -V|--version         Display version and exit\n"
          "  -x                   Trace each call to the appliance\n"
#if COPY_COMMAND == TAR_OUT
          "  --xattrs             Save extended attributes\n"
          "  --xz                 Compress with xz\n"
#endif
          "For more information, see the manpage %s(1).\n", program);
  exit (status);
}

/* Messages: "PROGRAM: error: ..." on one line. */
static void
error_msg (const char *fs, ...) __attribute__((format (printf, 1, 2)));
static void
error_msg (const char *fs, ...)
{
  va_list args;

  fprintf (stderr, "%s: error: ", program);
  va_start (args, fs);
  vfprintf (stderr, fs, args);
  va_end (args);
  fputc ('\n', stderr);
}

#if COPY_COMMAND == COPY_OUT || COPY_COMMAND == COPY_IN || \
  COPY_COMMAND == TAR_OUT
/* A host bsdtar (or compressor) run (the library's command runner): ARGV in directory
 * DIRFD (-1: here), stdin IN, stdout OUT (-1: /dev/null), stderr kept in
 * ERRFD for the message. */
static pid_t
spawn_bsdtar (const char *const *argv, int dirfd, int in, int out, int errfd)
{
  struct gbox_cmd c = {
    .argv = argv, .dir_fd = dirfd > 2 ? dirfd : 0,
    .stdio = { in, out, errfd },
    .stdio_set = (in >= 0 ? 1 : 0) | (out >= 0 ? 2 : 0) | 4,
  };

  return gbox_int_cmd_start (&c);
}

/* Wait for bsdtar (or PROG).  0, or -1 with its first error line
 * printed. */
static int
wait_program (pid_t pid, int errfd, const char *what, const char *prog)
{
  char buf[1024];
  struct gbox_cmd c = { .argv = NULL };
  int status;
  ssize_t r;

  if (gbox_int_cmd_wait (&c, pid) == -1) {
    error_msg ("waitpid: %s", strerror (errno));
    return -1;
  }
  status = c.status;
  if (WIFEXITED (status) && WEXITSTATUS (status) == 0)
    return 0;
  r = pread (errfd, buf, sizeof buf - 1, 0);
  buf[r > 0 ? r : 0] = '\0';
  buf[strcspn (buf, "\n")] = '\0';
  for (r = 0; buf[r]; ++r)
    if ((unsigned char) buf[r] < 0x20 || buf[r] == 0x7f)
      buf[r] = '?';
  if (WIFEXITED (status) && WEXITSTATUS (status) == 127 &&
      strcmp (prog, "bsdtar") == 0)
    error_msg ("%s: bsdtar could not be run (install libarchive-tools)",
               what);
  else if (buf[0])
    error_msg ("%s: %s", what, buf);
  else
    error_msg ("%s: %s failed", what, prog);
  return -1;
}
#endif

#if COPY_COMMAND == COPY_OUT || COPY_COMMAND == COPY_IN
static int
wait_bsdtar (pid_t pid, int errfd, const char *what)
{
  return wait_program (pid, errfd, what, "bsdtar");
}

/* The last component of a guest or local path, "" for "/".  Returns a
 * pointer into a malloc'd copy (*COPY). */
static const char *
last_name (const char *path, char **copy)
{
  char *p;
  size_t l;

  *copy = strdup (path);
  if (*copy == NULL)
    return NULL;
  l = strlen (*copy);
  while (l > 1 && (*copy)[l - 1] == '/')
    (*copy)[--l] = '\0';
  p = strrchr (*copy, '/');
  p = p ? p + 1 : *copy;
  return p;
}

#endif

#if COPY_COMMAND == COPY_OUT
/* Unpack the tar of guest directory REMOTE into the directory DIRFD
 * with bsdtar, safely (see the top of the file). */
static int
unpack_remote_dir (gbox_h *h, struct gbox_opts *o, const char *remote,
                   int dirfd)
{
  static const char *const argv[] = {
    "bsdtar", "-x", "-f", "-", "--no-same-owner", "--no-xattrs",
    "--no-acls", "--no-fflags", NULL
  };
  CLEANUP_CLOSE int errfd = memfd_create ("bsdtar-stderr", MFD_CLOEXEC);
  int pfd[2], r, w;
  pid_t pid;

  if (errfd == -1 || pipe2 (pfd, O_CLOEXEC) == -1) {
    error_msg ("pipe: %s", strerror (errno));
    return -1;
  }
  pid = spawn_bsdtar (argv, dirfd, pfd[0], -1, errfd);
  close (pfd[0]);
  if (pid == -1) {
    close (pfd[1]);
    error_msg ("fork: %s", strerror (errno));
    return -1;
  }
  r = gbox_tar_out (h, remote, pfd[1], NULL);
  close (pfd[1]);
  w = wait_bsdtar (pid, errfd, remote);
  if (w == -1)
    return -1;                  /* bsdtar's error explains the stop */
  if (r == -1) {
    gbox_opts_print_error (o, h);
    return -1;
  }
  return 0;
}
#endif

#if COPY_COMMAND == TAR_OUT
/* "compress:gzip", "numericowner:true", ... as guestfish takes them. */
static int
parse_optarg (const char *arg, struct gbox_tar_options *t, char ***excl,
              size_t *nexcl)
{
  const char *v = strchr (arg, ':');
  size_t kl;
  bool yes;

  if (v == NULL)
    return -1;
  kl = v - arg;
  v++;
  yes = strcmp (v, "true") == 0 || strcmp (v, "1") == 0 ||
    strcmp (v, "yes") == 0;
  if (kl == 8 && strncmp (arg, "compress", kl) == 0)
    t->compress = v;
  else if (kl == 12 && strncmp (arg, "numericowner", kl) == 0)
    t->numeric_owner = yes;
  else if (kl == 6 && strncmp (arg, "xattrs", kl) == 0)
    t->xattrs = yes;
  else if (kl == 7 && strncmp (arg, "selinux", kl) == 0)
    t->selinux = yes;
  else if (kl == 4 && strncmp (arg, "acls", kl) == 0)
    t->acls = yes;
  else if (kl == 8 && strncmp (arg, "excludes", kl) == 0) {
    /* Space-separated wildcards. */
    char *copy = strdup (v), *tok, *save = NULL;
    if (copy == NULL)
      return -1;
    for (tok = strtok_r (copy, " ", &save); tok;
         tok = strtok_r (NULL, " ", &save)) {
      char **n = realloc (*excl, (*nexcl + 1) * sizeof *n);
      if (n == NULL || (n[*nexcl] = strdup (tok)) == NULL) {
        if (n)
          *excl = n;
        free (copy);
        return -1;
      }
      *excl = n;
      (*nexcl)++;
    }
    free (copy);
  }
  else
    return -1;
  return 0;
}

/* The host program for compression C, when it is on the PATH: it
 * compresses many times faster than the appliance's emulated CPU.
 * NULL: the appliance compresses. */
static const char *
host_compressor (const char *c)
{
  static const char *const progs[] = {
    "gzip", "bzip2", "xz", "lzop", "compress", NULL
  };
  const char *path = getenv ("PATH");
  size_t i;

  if (c == NULL || path == NULL)
    return NULL;
  for (i = 0; progs[i]; ++i)
    if (strcmp (c, progs[i]) == 0)
      break;
  if (progs[i] == NULL)
    return NULL;
  while (*path) {
    size_t n = strcspn (path, ":");
    CLEANUP_FREE char *f = NULL;

    if (n > 0 && asprintf (&f, "%.*s/%s", (int) n, path, progs[i]) != -1 &&
        access (f, X_OK) == 0)
      return progs[i];
    path += n + (path[n] == ':');
  }
  return NULL;
}

/* The tar of DIR from the appliance, uncompressed, through the host
 * program PROG into FD. */
static int
tar_out_compressed (gbox_h *h, struct gbox_opts *o, const char *dir, int fd,
                    const struct gbox_tar_options *t, const char *prog)
{
  const char *argv[] = { prog, "-c", NULL };
  struct gbox_tar_options plain = *t;
  CLEANUP_CLOSE int errfd = memfd_create ("compress-stderr", MFD_CLOEXEC);
  int pfd[2], r;
  pid_t pid;

  plain.compress = "";
  if (errfd == -1 || pipe2 (pfd, O_CLOEXEC) == -1) {
    error_msg ("pipe: %s", strerror (errno));
    return -1;
  }
  pid = spawn_bsdtar (argv, -1, pfd[0], fd, errfd);
  close (pfd[0]);
  if (pid == -1) {
    close (pfd[1]);
    error_msg ("fork: %s", strerror (errno));
    return -1;
  }
  r = gbox_tar_out (h, dir, pfd[1], &plain);
  close (pfd[1]);
  if (r == -1) {
    /* The appliance's error is the one reported. */
    gbox_opts_print_error (o, h);
    kill (pid, SIGTERM);
    wait_program (pid, errfd, prog, prog);
    return -1;
  }
  return wait_program (pid, errfd, prog, prog);
}

static int
run (gbox_h *h, struct gbox_opts *o, int argc, char **argv,
     struct gbox_tar_options *t)
{
  const char *dir = argv[0], *out = argv[1];
  const char *prog = host_compressor (t->compress);
  int fd, r;
  bool to_stdout = strcmp (out, "-") == 0;
  struct stat st = { 0 }, now;
  bool regular = false;

  (void) argc;
  if (to_stdout)
    fd = STDOUT_FILENO;
  else {
    fd = open (out, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
    if (fd == -1) {
      error_msg ("%s: %s", out, strerror (errno));
      return -1;
    }
    regular = fstat (fd, &st) == 0 && S_ISREG (st.st_mode);
  }
  if (prog)
    r = tar_out_compressed (h, o, dir, fd, t, prog);
  else {
    r = gbox_tar_out (h, dir, fd, t);
    if (r == -1)
      gbox_opts_print_error (o, h);
  }
  if (!to_stdout) {
    if (close (fd) == -1 && r == 0) {
      error_msg ("%s: %s", out, strerror (errno));
      r = -1;
    }
    /* Nothing that looks like a whole archive is left behind: the
     * partial file is removed, but only if OUT is still the regular
     * file written to (never a device such as /dev/null, a FIFO, or
     * a file put in its place meanwhile). */
    if (r == -1 && regular && lstat (out, &now) == 0 &&
        S_ISREG (now.st_mode) && now.st_dev == st.st_dev &&
        now.st_ino == st.st_ino)
      unlink (out);
  }
  return r;
}

#elif COPY_COMMAND == TAR_IN
static int writable_for (gbox_h *h, struct gbox_opts *o, const char *dir);

static int
run (gbox_h *h, struct gbox_opts *o, int argc, char **argv,
     struct gbox_tar_options *t)
{
  const char *in = argv[0], *dir = argv[1];
  int fd, r;

  (void) argc;
  if (strcmp (in, "-") == 0)
    fd = STDIN_FILENO;
  else {
    fd = open (in, O_RDONLY | O_CLOEXEC);
    if (fd == -1) {
      error_msg ("%s: %s", in, strerror (errno));
      return -1;
    }
  }
  r = writable_for (h, o, dir);
  if (r == 0) {
    r = gbox_tar_in (h, fd, dir, t);
    if (r == -1)
      gbox_opts_print_error (o, h);
  }
  if (fd != STDIN_FILENO)
    close (fd);
  return r;
}

#elif COPY_COMMAND == COPY_OUT
static int
copy_out_one (gbox_h *h, struct gbox_opts *o, const char *remote,
              int localfd, const char *localdir)
{
  CLEANUP_FREE char *copy = NULL;
  struct gbox_stat st;
  const char *name;
  struct stat lst;
  int fd, r;

  if (gbox_stat_path (h, remote, &st) == -1) {
    gbox_opts_print_error (o, h);
    return -1;
  }
  name = last_name (remote, &copy);
  if (name == NULL) {
    error_msg ("%s", strerror (errno));
    return -1;
  }
  if (S_ISDIR (st.mode)) {
    CLEANUP_CLOSE int dirfd = -1;

    if (name[0] == '\0' || strcmp (name, ".") == 0 ||
        strcmp (name, "..") == 0)
      return unpack_remote_dir (h, o, remote, localfd);
    if (mkdirat (localfd, name, 0755) == -1 && errno != EEXIST) {
      error_msg ("%s/%s: %s", localdir, name, strerror (errno));
      return -1;
    }
    /* Never through a symlink already in LOCALDIR. */
    dirfd = openat (localfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
                    O_CLOEXEC);
    if (dirfd == -1) {
      error_msg ("%s/%s: %s", localdir, name, strerror (errno));
      return -1;
    }
    return unpack_remote_dir (h, o, remote, dirfd);
  }
  if (!S_ISREG (st.mode)) {
    error_msg ("%s: not a regular file or directory", remote);
    return -1;
  }
  if (fstatat (localfd, name, &lst, AT_SYMLINK_NOFOLLOW) == 0 &&
      !S_ISREG (lst.st_mode)) {
    error_msg ("%s/%s: exists and is not a regular file", localdir, name);
    return -1;
  }
  fd = openat (localfd, name, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW |
               O_CLOEXEC, 0644);
  if (fd == -1) {
    error_msg ("%s/%s: %s", localdir, name, strerror (errno));
    return -1;
  }
  r = gbox_download (h, remote, fd);
  if (r == -1)
    gbox_opts_print_error (o, h);
  if (close (fd) == -1 && r == 0) {
    error_msg ("%s/%s: %s", localdir, name, strerror (errno));
    r = -1;
  }
  return r;
}

static int
run (gbox_h *h, struct gbox_opts *o, int argc, char **argv,
     struct gbox_tar_options *t)
{
  const char *localdir = argv[argc - 1];
  CLEANUP_CLOSE int localfd = -1;
  int i;

  (void) t;
  localfd = open (localdir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (localfd == -1) {
    error_msg ("%s: %s", localdir, strerror (errno));
    return -1;
  }
  for (i = 0; i < argc - 1; ++i)
    if (copy_out_one (h, o, argv[i], localfd, localdir) == -1)
      return -1;
  return 0;
}

#else /* COPY_IN */
static int writable_for (gbox_h *h, struct gbox_opts *o, const char *dir);

static int
copy_in_one (gbox_h *h, struct gbox_opts *o, const char *local,
             const char *dir)
{
  CLEANUP_FREE char *copy = NULL, *parent = NULL;
  CLEANUP_CLOSE int errfd = memfd_create ("bsdtar-stderr", MFD_CLOEXEC);
  const char *name, *argv[12];
  struct stat st;
  int pfd[2], r, w;
  size_t n = 0;
  pid_t pid;

  if (lstat (local, &st) == -1) {
    error_msg ("%s: %s", local, strerror (errno));
    return -1;
  }
  name = last_name (local, &copy);
  parent = strdup (local);
  if (name == NULL || parent == NULL) {
    error_msg ("%s", strerror (errno));
    return -1;
  }
  argv[n++] = "bsdtar";
  argv[n++] = "-c";
  argv[n++] = "-f";
  argv[n++] = "-";
  argv[n++] = "--no-fflags";
  argv[n++] = "-C";
  argv[n++] = name[0] ? dirname (parent) : "/";
  argv[n++] = "--";
  argv[n++] = name[0] ? name : ".";
  argv[n] = NULL;

  if (errfd == -1 || pipe2 (pfd, O_CLOEXEC) == -1) {
    error_msg ("pipe: %s", strerror (errno));
    return -1;
  }
  pid = spawn_bsdtar (argv, -1, -1, pfd[1], errfd);
  close (pfd[1]);
  if (pid == -1) {
    close (pfd[0]);
    error_msg ("fork: %s", strerror (errno));
    return -1;
  }
  r = gbox_tar_in (h, pfd[0], dir, NULL);
  close (pfd[0]);
  if (r == -1)
    kill (pid, SIGTERM);
  w = wait_bsdtar (pid, errfd, local);
  if (r == -1) {
    gbox_opts_print_error (o, h);
    return -1;
  }
  return w;
}

static int
run (gbox_h *h, struct gbox_opts *o, int argc, char **argv,
     struct gbox_tar_options *t)
{
  const char *dir = argv[argc - 1];
  int i;

  (void) t;
  if (writable_for (h, o, dir) == -1)
    return -1;
  for (i = 0; i < argc - 1; ++i)
    if (copy_in_one (h, o, argv[i], dir) == -1)
      return -1;
  return 0;
}
#endif

#if WRITES
/* The disks are attached read-only (through an overlay) until the
 * first write: they become writable here, unless the destination is
 * known not to be a directory (the write then fails with the usual
 * message), so that a run that fails before writing leaves the images
 * byte-for-byte as they were. */
static int
writable_for (gbox_h *h, struct gbox_opts *o, const char *dir)
{
  if (gbox_is_dir (h, dir) == 0)
    return 0;
  if (gbox_make_writable (h) == -1) {
    gbox_opts_print_error (o, h);
    return -1;
  }
  return 0;
}
#endif

int
main (int argc, char *argv[])
{
  enum {
    ACLS_OPTION = GBOX_OPT_FIRST_FREE, BZIP2_OPTION, EXCLUDE_OPTION,
    LZOP_OPTION, NUMERIC_OWNER_OPTION, SELINUX_OPTION, XATTRS_OPTION,
    XZ_OPTION,
  };
#if COPY_COMMAND == TAR_OUT
  static const char short_options[] = GBOX_OPTS_SHORT "z";
#else
  static const char short_options[] = GBOX_OPTS_SHORT;
#endif
  static const struct option long_options[] = {
    GBOX_OPTS_LONG,
#if COPY_COMMAND == TAR_OUT
    { "acls", no_argument, NULL, ACLS_OPTION },
    { "bzip2", no_argument, NULL, BZIP2_OPTION },
    { "exclude", required_argument, NULL, EXCLUDE_OPTION },
    { "gzip", no_argument, NULL, 'z' },
    { "lzop", no_argument, NULL, LZOP_OPTION },
    { "numeric-owner", no_argument, NULL, NUMERIC_OWNER_OPTION },
    { "selinux", no_argument, NULL, SELINUX_OPTION },
    { "xattrs", no_argument, NULL, XATTRS_OPTION },
    { "xz", no_argument, NULL, XZ_OPTION },
#endif
    { NULL, 0, NULL, 0 }
  };
  struct gbox_opts o;
  struct gbox_tar_options t = { 0 };
  char **excludes = NULL;
  size_t nr_excludes = 0;
  int c, r, nargs;
  gbox_h *h;

  gbox_opts_init (&o, program, short_options, long_options, !WRITES);
  gbox_opts_set_argv (&o, argc, argv);

  while ((c = getopt_long (argc, argv, short_options, long_options,
                           NULL)) != -1) {
    r = gbox_opts_handle (&o, c, optarg);
    if (r == 1)
      continue;
    if (r == -1)
      usage (EXIT_FAILURE);
    switch (c) {
    case 'z': t.compress = "gzip"; break;
    case BZIP2_OPTION: t.compress = "bzip2"; break;
    case XZ_OPTION: t.compress = "xz"; break;
    case LZOP_OPTION: t.compress = "lzop"; break;
    case NUMERIC_OWNER_OPTION: t.numeric_owner = 1; break;
    case XATTRS_OPTION: t.xattrs = 1; break;
    case SELINUX_OPTION: t.selinux = 1; break;
    case ACLS_OPTION: t.acls = 1; break;
    case EXCLUDE_OPTION: {
      char **n = realloc (excludes, (nr_excludes + 1) * sizeof *n);
      if (n == NULL || (n[nr_excludes] = strdup (optarg)) == NULL) {
        error_msg ("%s", strerror (errno));
        exit (EXIT_FAILURE);
      }
      excludes = n;
      nr_excludes++;
      break;
    }
    case GBOX_OPT_HELP:
      usage (EXIT_SUCCESS);
    default:
      usage (EXIT_FAILURE);
    }
  }

  if (gbox_opts_check (&o) == -1)
    usage (EXIT_FAILURE);
  nargs = argc - optind;
#if COPY_COMMAND == TAR_OUT
  /* DIR OUT, then guestfish's optional arguments (compress:gzip ...). */
  {
    int i;
    for (i = optind + 2; i < argc; ++i)
      if (parse_optarg (argv[i], &t, &excludes, &nr_excludes) == -1) {
        error_msg ("unknown optional argument '%s' (expected compress:, "
                   "numericowner:, excludes:, xattrs:, selinux: or acls:)",
                   argv[i]);
        usage (EXIT_FAILURE);
      }
    if (nargs > 2)
      nargs = 2;
  }
  if (nargs != 2) {
    error_msg ("expected a directory and an output file ('-' for stdout)");
    usage (EXIT_FAILURE);
  }
  if (argv[optind][0] != '/') {
    error_msg ("%s: the directory must be an absolute path", argv[optind]);
    usage (EXIT_FAILURE);
  }
#elif COPY_COMMAND == TAR_IN
  if (nargs != 2) {
    error_msg ("expected an input tar file ('-' for stdin) and a directory");
    usage (EXIT_FAILURE);
  }
  if (argv[optind + 1][0] != '/') {
    error_msg ("%s: the directory must be an absolute path",
               argv[optind + 1]);
    usage (EXIT_FAILURE);
  }
#elif COPY_COMMAND == COPY_OUT
  if (nargs < 2) {
    error_msg ("expected guest files or directories and a local directory");
    usage (EXIT_FAILURE);
  }
#else
  if (nargs < 2) {
    error_msg ("expected local files or directories and a guest directory");
    usage (EXIT_FAILURE);
  }
  if (argv[argc - 1][0] != '/') {
    error_msg ("%s: the destination must be an absolute path",
               argv[argc - 1]);
    usage (EXIT_FAILURE);
  }
#endif
  t.excludes = excludes;
  t.nr_excludes = nr_excludes;

  /* A reader or a bsdtar that goes away is an error, not a signal. */
  signal (SIGPIPE, SIG_IGN);
  gbox_install_signal_handlers ();
  h = gbox_opts_new_handle (&o);
  if (gbox_opts_add_drives (h, &o, WRITES ? GBOX_DRIVE_WRITE_LATER : 1)
      == -1 ||
      gbox_launch (h) == -1 ||
      gbox_opts_mount (h, &o) == -1) {
    gbox_opts_print_error (&o, h);
    gbox_close (h);
    gbox_opts_free (&o);
    exit (EXIT_FAILURE);
  }

  r = run (h, &o, nargs, &argv[optind], &t);

#if WRITES
  /* Unmount cleanly: the filesystem is consistent on disk. */
  if (gbox_umount_all (h) == -1 || gbox_shutdown (h) == -1) {
    if (r == 0)
      gbox_opts_print_error (&o, h);
    r = -1;
  }
#endif
  gbox_close (h);
  gbox_opts_free (&o);
  while (nr_excludes > 0)
    free (excludes[--nr_excludes]);
  free (excludes);
  exit (r == 0 ? EXIT_SUCCESS : EXIT_FAILURE);
}
