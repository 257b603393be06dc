/* guestbox - virt-edit: edit a file in a disk image.
 * Copyright (C) 2026 the guestbox authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

/**
 * virt-edit -a disk.img FILE...: each FILE (a symbolic link: the file
 * it resolves to in the guest) is downloaded to a private temp file on
 * the host, edited there (by $EDITOR or vi, or with -e by a fixed perl
 * script that runs EXPR on each line as $_ with $lineno set, reading
 * the copy on its stdin: no guest name reaches perl or a shell), and,
 * only when it changed, uploaded to a new name in the same
 * guest directory (mode 0600) that the appliance then gives the
 * original's owner, group, mode and SELinux label and renames over the
 * original (replace_file), keeping the original as FILE.EXT with -b.
 * The disks are opened read-write (an image that cannot be written is
 * refused before anything starts) but attached read-only through an
 * overlay, and the filesystems are mounted read-only, until a file has
 * really changed (then the overlay is committed and the disks are
 * read-write): a run that fails, or changes nothing, writes nothing to
 * the disks, not even a journal replay.
 */

#include <config.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stdbool.h>
#include <inttypes.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/wait.h>
#include <unistd.h>

#include "guestbox.h"
#include "guestbox-internal.h"
#include "cleanups.h"
#include "options.h"
#include "output.h"

static const char program[] = "virt-edit";

#define S_TYPE(mode) ((mode) & 0170000)

/* The size of a guest file is the guest's choice (a sparse file can
 * claim terabytes), while the host keeps two copies of it (downloaded
 * and edited) and the editor or perl reads it: files larger than this,
 * or than half the free space of the temporary directory, are refused
 * before anything is downloaded. */
#define MAX_EDIT_SIZE (UINT64_C(1) << 30)

static void __attribute__((noreturn))
usage (int status)
{
  if (status != EXIT_SUCCESS)
    fprintf (stderr, "Try '%s --help' for more information.\n", program);
  else
    printf ("%s: edit a file in a virtual machine disk image\n"
            "Usage:\n"
            "  %s [--options] -a disk.img [-a disk.img ...] file [file ...]\n"
            "Options:\n"
            "  -a|--add image       Add image\n"
            "  -c|--connect uri     Specify libvirt URI for -d option\n"
            "  -d|--domain guest    Add disks from libvirt guest\n"
            "  -b|--backup .ext     Keep the original as file.ext\n"
            "  -e|--edit|--expr expr  Non-interactive editing using a Perl\n"
            "                       expression\n"
            "  --echo-keys          Show keys typed on the terminal\n"
            "  --format[=raw|..]    Force disk format for -a option\n"
            "  --help               Display brief help\n"
            "  -i|--inspector       Mount the filesystems of the operating\n"
            "                       system found by inspection (default)\n"
            "  -m|--mount dev[:mnt[:opts[:fstype]]]\n"
            "                       Mount dev on mnt (if omitted, /)\n"
            "  --key ID:key:KEY     Key of a LUKS device (or ID:file:FILE)\n"
            "  --keys-from-stdin    Read LUKS keys from stdin\n"
            "  -v|--verbose         Verbose messages\n"
            "  -V|--version         Display version and exit\n"
            "  -x                   Trace each call to the appliance\n"
            "For more information, see the manpage %s(1).\n",
            program, program, program);
  exit (status);
}

/* The perl script of -e, as the libguestfs tool runs it: EXPR (from
 * the environment, so no quoting) on each line in $_, with $lineno
 * counting from 1; the result on stdout. */
static const char perl_script[] =
  "$lineno = 0; "
  "$expr = $ENV{virt_edit_expr}; "
  "while (<STDIN>) { "
  "  $lineno++; "
  "  eval $expr; "
  "  die if $@; "
  "  print STDOUT $_ or die \"print: $!\"; "
  "} "
  "close STDOUT or die \"close: $!\";";

/* Run ARGV (no shell, through the library's command runner) and wait,
 * with stdin from IN and stdout to OUT when they are not NULL (else
 * ours: the terminal of an editor), stderr ours.  0 if it exited with
 * status 0. */
static int
run_io (const char *const *argv, const char *in, const char *out)
{
  struct gbox_cmd c = {
    .argv = argv, .stdio = { 0, 1, 2 }, .stdio_set = 7, .program = program,
  };
  int infd = -1, outfd = -1, status, r;

  if (in && (infd = open (in, O_RDONLY | O_CLOEXEC)) == -1) {
    fprintf (stderr, "%s: error: %s: %s\n", program, in, strerror (errno));
    return -1;
  }
  if (out && (outfd = open (out, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
                            0600)) == -1) {
    fprintf (stderr, "%s: error: %s: %s\n", program, out, strerror (errno));
    if (infd >= 0)
      close (infd);
    return -1;
  }
  if (infd >= 0)
    c.stdio[0] = infd;
  if (outfd >= 0)
    c.stdio[1] = outfd;
  fflush (NULL);
  r = gbox_int_cmd_run (&c);
  if (infd >= 0)
    close (infd);
  if (outfd >= 0)
    close (outfd);
  if (r == -1) {
    fprintf (stderr, "%s: error: %s: %s\n", program, argv[0],
             strerror (errno));
    return -1;
  }
  status = c.status;
  gbox_int_cmd_free (&c);
  if (WIFEXITED (status) && WEXITSTATUS (status) == 0)
    return 0;
  if (WIFEXITED (status) && WEXITSTATUS (status) == 127)
    ;                           /* the runner said why */
  else if (WIFEXITED (status))
    fprintf (stderr, "%s: error: %s exited with status %d\n", program,
             argv[0], WEXITSTATUS (status));
  else if (WIFSIGNALED (status))
    fprintf (stderr, "%s: error: %s was killed by signal %d\n", program,
             argv[0], WTERMSIG (status));
  return -1;
}

static int
run (const char *const *argv)
{
  return run_io (argv, NULL, NULL);
}

/* Are the files A and B the same bytes?  1 yes, 0 no, -1 error. */
static int
same_contents (const char *a, const char *b)
{
  CLEANUP_FCLOSE FILE *fa = fopen (a, "re");
  CLEANUP_FCLOSE FILE *fb = fopen (b, "re");
  char ba[65536], bb[65536];

  if (fa == NULL || fb == NULL)
    return -1;
  for (;;) {
    size_t na = fread (ba, 1, sizeof ba, fa);
    size_t nb = fread (bb, 1, sizeof bb, fb);
    if (na != nb || memcmp (ba, bb, na) != 0)
      return 0;
    if (na == 0)
      return ferror (fa) || ferror (fb) ? -1 : 1;
  }
}

static int
copy_file (const char *from, const char *to)
{
  CLEANUP_FCLOSE FILE *in = fopen (from, "re");
  FILE *out = fopen (to, "we");
  char buf[65536];
  size_t n;

  if (in == NULL || out == NULL) {
    if (out)
      fclose (out);
    return -1;
  }
  while ((n = fread (buf, 1, sizeof buf, in)) > 0)
    if (fwrite (buf, 1, n, out) != n)
      break;
  if (ferror (in) | ferror (out)) {
    fclose (out);
    return -1;
  }
  return fclose (out);
}

/* A name for the new file, next to PATH: DIR/.gbox-edit-RANDOM. */
static char *
temp_name (const char *path)
{
  const char *slash = strrchr (path, '/');
  unsigned char rnd[8];
  char hex[17], *r;
  int fd;
  size_t i;

  fd = open ("/dev/urandom", O_RDONLY | O_CLOEXEC);
  if (fd == -1 || read (fd, rnd, sizeof rnd) != sizeof rnd) {
    if (fd >= 0)
      close (fd);
    return NULL;
  }
  close (fd);
  for (i = 0; i < sizeof rnd; ++i)
    snprintf (hex + 2 * i, 3, "%02x", rnd[i]);
  if (asprintf (&r, "%.*s/.gbox-edit-%s", (int) (slash - path), path,
                hex) == -1)
    return NULL;
  return r;
}

/* Mount the filesystems read-write, the first time a file is to be
 * written.  Until then they are mounted read-only, since mounting
 * read-write alone writes to the disk (an ext4 superblock's mount
 * count, time and state). */
static int
make_writable (gbox_h *h, struct gbox_opts *o)
{
  if (!o->readonly)
    return 0;
  /* The disks first: until now the guest wrote (a journal replayed on
   * mount) only to their overlays. */
  if (gbox_make_writable (h) == -1 || gbox_umount_all (h) == -1)
    return -1;
  o->readonly = false;
  return gbox_opts_mount (h, o);
}

/* Is there room in the guest directory of PATH for a new file of SIZE
 * bytes (the old file stays until the rename)?  Checked before the
 * filesystems are made writable, so that a full filesystem fails the
 * edit with nothing written (a failed upload removes its partial file,
 * but the read-write mount would already have changed the disk).  Blocks are counted as root sees them (bfree), with a
 * margin for the file's own metadata and a directory block; inodes
 * only where the filesystem counts them.  0, or -1 (printed). */
static int
check_room (gbox_h *h, struct gbox_opts *o, const char *path, uint64_t size)
{
  CLEANUP_FREE char *dir = NULL;
  struct gbox_statvfs sv;
  uint64_t bs, need;
  char hs[GBOX_HUMAN_BUFLEN], hf[GBOX_HUMAN_BUFLEN];

  dir = strndup (path, strrchr (path, '/') == path ? 1
                 : (size_t) (strrchr (path, '/') - path));
  if (dir == NULL) {
    perror (program);
    return -1;
  }
  if (gbox_statvfs_path (h, dir, &sv) == -1) {
    gbox_opts_print_error (o, h);
    return -1;
  }
  bs = sv.frsize > 0 ? (uint64_t) sv.frsize : 4096;
  need = (size + bs - 1) / bs;
  need += need / 256 + 8;
  if ((uint64_t) sv.bfree < need ||
      (sv.files > 0 && sv.ffree < 1)) {
    fprintf (stderr, "%s: error: %s: no room for the edited file (%s) on "
             "its filesystem (%s free%s); nothing was written\n", program,
             path, gbox_human_size (size, hs),
             gbox_human_size ((uint64_t) sv.bfree * bs, hf),
             sv.files > 0 && sv.ffree < 1 ? ", no free inode" : "");
    return -1;
  }
  return 0;
}

/* The most symbolic links followed to the file to edit (as the
 * kernel's limit). */
#define MAX_SYMLINKS 40

/* Follow PATH while it is a symbolic link, in the guest: the file to
 * edit, with its lstat in *ST.  NULL after an error (printed). */
static char *
resolve (gbox_h *h, struct gbox_opts *o, const char *path,
         struct gbox_stat *st)
{
  char *cur = strdup (path);
  int hops;

  if (cur == NULL) {
    perror (program);
    return NULL;
  }
  for (hops = 0; ; ++hops) {
    CLEANUP_FREE char *target = NULL;
    char *next;

    if (gbox_lstat (h, cur, st) == -1) {
      gbox_opts_print_error (o, h);
      free (cur);
      return NULL;
    }
    if (S_TYPE (st->mode) != 0120000)
      return cur;
    if (hops == MAX_SYMLINKS) {
      fprintf (stderr, "%s: error: %s: too many levels of symbolic "
               "links\n", program, path);
      free (cur);
      return NULL;
    }
    target = gbox_readlink (h, cur);
    if (target == NULL) {
      gbox_opts_print_error (o, h);
      free (cur);
      return NULL;
    }
    if (target[0] == '/')
      next = strdup (target);
    else if (asprintf (&next, "%.*s/%s", (int) (strrchr (cur, '/') - cur),
                       cur, target) == -1)
      next = NULL;
    free (cur);
    if (next == NULL) {
      perror (program);
      return NULL;
    }
    cur = next;
  }
}

/* Edit one guest file.  0 done (or unchanged), -1 error (printed). */
static int
edit_file (gbox_h *h, struct gbox_opts *o, const char *tmpdir,
           const char *path_arg, const char *expr, const char *backup_ext)
{
  CLEANUP_FREE char *orig = NULL, *work = NULL, *newname = NULL;
  CLEANUP_FREE char *backup = NULL, *workdir = NULL, *path = NULL;
  struct gbox_stat st;
  int fd, r, ret = -1;

  if (path_arg[0] != '/') {
    fprintf (stderr, "%s: error: %s: the file name must be an absolute "
             "path\n", program, path_arg);
    return -1;
  }
  path = resolve (h, o, path_arg, &st);
  if (path == NULL)
    return -1;
  if (S_TYPE (st.mode) != 0100000) {
    fprintf (stderr, "%s: error: %s: not a regular file\n", program, path);
    return -1;
  }
  {
    struct statvfs sv;
    uint64_t size = st.size < 0 ? 0 : (uint64_t) st.size, avail;
    char hs[GBOX_HUMAN_BUFLEN], hl[GBOX_HUMAN_BUFLEN];

    if (size > MAX_EDIT_SIZE) {
      fprintf (stderr, "%s: error: %s: the file is %s; virt-edit edits "
               "files of at most %s\n", program, path,
               gbox_human_size (size, hs),
               gbox_human_size (MAX_EDIT_SIZE, hl));
      return -1;
    }
    if (statvfs (tmpdir, &sv) == -1) {
      fprintf (stderr, "%s: error: %s: %s\n", program, tmpdir,
               strerror (errno));
      return -1;
    }
    avail = (uint64_t) sv.f_bavail * sv.f_frsize;
    if (size > avail / 2) {
      fprintf (stderr, "%s: error: %s: the file is %s, but %s has only %s "
               "free for the two copies that editing needs\n", program,
               path, gbox_human_size (size, hs), tmpdir,
               gbox_human_size (avail, hl));
      return -1;
    }
  }

  /* TMPDIR/orig is the downloaded copy; the editor gets TMPDIR/edit/NAME
   * (its own directory, so a guest file named "orig" is no clash), and
   * perl TMPDIR/edit/file on its stdin. */
  if (asprintf (&orig, "%s/orig", tmpdir) == -1 ||
      asprintf (&workdir, "%s/edit", tmpdir) == -1 ||
      asprintf (&work, "%s/%s", workdir,
                !expr && strrchr (path, '/')[1] ? strrchr (path, '/') + 1
                : "file") == -1) {
    perror (program);
    return -1;
  }
  if (gbox_register_temp_path (orig) == -1 ||
      gbox_register_temp_path (workdir) == -1 ||
      gbox_register_temp_path (work) == -1) {
    fprintf (stderr, "%s: error: %s: too many temporary files\n", program,
             work);
    goto out;
  }
  if (mkdir (workdir, 0700) == -1 && errno != EEXIST) {
    fprintf (stderr, "%s: error: %s: %s\n", program, workdir,
             strerror (errno));
    goto out;
  }
  fd = open (orig, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd == -1) {
    fprintf (stderr, "%s: error: %s: %s\n", program, orig, strerror (errno));
    goto out;
  }
  /* No more than the size the guest reported: a hostile appliance
   * cannot fill the temporary directory. */
  r = gbox_download_max (h, path, fd, st.size < 0 ? 0 : (uint64_t) st.size);
  if (close (fd) == -1 && r == 0) {
    fprintf (stderr, "%s: error: %s: %s\n", program, orig, strerror (errno));
    goto out;
  }
  if (r == -1) {
    gbox_opts_print_error (o, h);
    goto out;
  }
  if (expr) {
    const char *argv[] = { "perl", "-e", perl_script, NULL };
    if (setenv ("virt_edit_expr", expr, 1) == -1) {
      perror (program);
      goto out;
    }
    if (run_io (argv, orig, work) == -1)
      goto out;
  }
  else {
    const char *editor = getenv ("EDITOR");

    if (copy_file (orig, work) == -1 || chmod (work, 0600) == -1) {
      fprintf (stderr, "%s: error: %s: %s\n", program, work,
               strerror (errno));
      goto out;
    }
    if (editor == NULL || *editor == '\0')
      editor = "vi";
    /* The editor variable may hold arguments ("emacs -nw"), as for
     * every program that honours it: the shell splits it. */
    {
      CLEANUP_FREE char *cmd = NULL;
      if (asprintf (&cmd, "%s \"$1\"", editor) == -1) {
        perror (program);
        goto out;
      }
      const char *argv[] = { "/bin/sh", "-c", cmd, "sh", work, NULL };
      if (run (argv) == -1)
        goto out;
    }
  }

  r = same_contents (orig, work);
  if (r == -1) {
    fprintf (stderr, "%s: error: %s: %s\n", program, work, strerror (errno));
    goto out;
  }
  if (r == 1) {
    if (o->verbose)
      fprintf (stderr, "%s: debug: %s: unchanged, not uploaded\n", program,
               path);
    /* What the libguestfs tool says when the editor changed nothing. */
    if (!expr) {
      printf ("File not changed.\n");
      fflush (stdout);
    }
    ret = 0;
    goto out;
  }

  newname = temp_name (path);
  if (newname == NULL) {
    perror (program);
    goto out;
  }
  if (backup_ext && asprintf (&backup, "%s%s", path, backup_ext) == -1) {
    perror (program);
    goto out;
  }
  fd = open (work, O_RDONLY | O_CLOEXEC);
  if (fd == -1) {
    fprintf (stderr, "%s: error: %s: %s\n", program, work, strerror (errno));
    goto out;
  }
  {
    struct stat wst;
    if (fstat (fd, &wst) == -1) {
      fprintf (stderr, "%s: error: %s: %s\n", program, work,
               strerror (errno));
      close (fd);
      goto out;
    }
    if (check_room (h, o, path, (uint64_t) wst.st_size) == -1) {
      close (fd);
      goto out;
    }
  }
  if (make_writable (h, o) == -1) {
    close (fd);
    gbox_opts_print_error (o, h);
    goto out;
  }
  r = gbox_upload (h, fd, newname, 0600);
  close (fd);
  if (r == -1 || gbox_replace_file (h, newname, path, backup) == -1) {
    gbox_opts_print_error (o, h);
    goto out;
  }
  ret = 0;

 out:
  if (orig)
    unlink (orig);
  if (work)
    unlink (work);
  if (workdir)
    rmdir (workdir);
  if (work)
    gbox_unregister_temp_path (work);
  if (workdir)
    gbox_unregister_temp_path (workdir);
  if (orig)
    gbox_unregister_temp_path (orig);
  return ret;
}

int
main (int argc, char *argv[])
{
  static const char short_options[] = GBOX_OPTS_SHORT "b:e:";
  static const struct option long_options[] = {
    GBOX_OPTS_LONG,
    { "backup", required_argument, NULL, 'b' },
    { "edit", required_argument, NULL, 'e' },
    { "expr", required_argument, NULL, 'e' },
    { NULL, 0, NULL, 0 }
  };
  struct gbox_opts o;
  const char *expr = NULL, *backup_ext = NULL;
  char tmpdir[4096];
  const char *t;
  unsigned errors = 0;
  gbox_h *h;
  int c, r;

  gbox_opts_init (&o, program, short_options, long_options, false);
  gbox_opts_set_argv (&o, argc, argv);

  while ((c = getopt_long (argc, argv, short_options, long_options,
                           NULL)) != -1) {
    r = gbox_opts_handle (&o, c, optarg);
    if (r == 1)
      continue;
    if (r == -1)
      usage (EXIT_FAILURE);
    switch (c) {
    case 'b':
      if (backup_ext) {
        fprintf (stderr, "%s: error: -b given more than once\n", program);
        usage (EXIT_FAILURE);
      }
      if (optarg[0] == '\0' || strchr (optarg, '/')) {
        fprintf (stderr, "%s: error: -b '%s': the backup extension must "
                 "be a non-empty name suffix without '/'\n", program, optarg);
        usage (EXIT_FAILURE);
      }
      backup_ext = optarg;
      break;
    case 'e':
      if (expr) {
        fprintf (stderr, "%s: error: -e given more than once\n", program);
        usage (EXIT_FAILURE);
      }
      expr = optarg;
      break;
    case GBOX_OPT_HELP:
      usage (EXIT_SUCCESS);
    default:
      usage (EXIT_FAILURE);
    }
  }
  if (gbox_opts_old_style (&o) == -1 || gbox_opts_check (&o) == -1)
    usage (EXIT_FAILURE);
  if (optind >= argc) {
    fprintf (stderr, "%s: error: no file name given\n", program);
    usage (EXIT_FAILURE);
  }

  gbox_install_signal_handlers ();

  h = gbox_opts_new_handle (&o);

  t = getenv ("TMPDIR");
  snprintf (tmpdir, sizeof tmpdir, "%s/virt-edit.XXXXXX",
            t && *t ? t : "/tmp");
  if (mkdtemp (tmpdir) == NULL) {
    fprintf (stderr, "%s: error: %s: %s\n", program, tmpdir,
             strerror (errno));
    exit (EXIT_FAILURE);
  }
  /* Registered first: removed last, after the files in it. */
  gbox_register_temp_path (tmpdir);

  /* Opened read-write (an image we may not write is refused here) but
   * attached read-only, through an overlay, and the filesystems are
   * mounted read-only, until something is written (make_writable). */
  o.readonly = true;
  if (gbox_opts_add_drives (h, &o, GBOX_DRIVE_WRITE_LATER) == -1 ||
      gbox_launch (h) == -1 ||
      gbox_opts_mount (h, &o) == -1) {
    gbox_opts_print_error (&o, h);
    gbox_close (h);
    gbox_opts_free (&o);
    rmdir (tmpdir);
    exit (EXIT_FAILURE);
  }

  for (; optind < argc; optind++) {
    char *path = gbox_opts_guest_path (h, &o, argv[optind]);

    if (path == NULL)
      gbox_opts_print_error (&o, h);
    if (path == NULL ||
        edit_file (h, &o, tmpdir, path, expr, backup_ext) == -1)
      errors++;
    free (path);
  }

  /* Everything written reaches the image before we say it worked. */
  if (gbox_umount_all (h) == -1 || gbox_shutdown (h) == -1) {
    gbox_opts_print_error (&o, h);
    errors++;
  }
  gbox_close (h);
  gbox_opts_free (&o);
  rmdir (tmpdir);
  exit (errors == 0 ? EXIT_SUCCESS : EXIT_FAILURE);
}
