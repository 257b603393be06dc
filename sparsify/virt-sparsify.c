/* guestbox - virt-sparsify: make a disk image sparse.
 * Copyright (C) 2026 the guestbox authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

/**
 * Copying mode, virt-sparsify IN OUT: a throw-away qcow2 overlay over
 * IN (which is only ever read) is attached to the appliance with
 * discard and zero detection on, the free space of every filesystem is
 * zeroed there (zerofree for ext2/3/4, fill-and-remove for the others,
 * swap zeroed keeping its UUID and label), and then qemu-img convert
 * copies the overlay to OUT skipping zeros.  OUT is written under a
 * temporary name and renamed at the end; it is removed on failure and
 * on ^C.
 *
 * In-place mode, virt-sparsify --in-place DISK: DISK is attached with
 * discard=unmap, every filesystem is mounted and trimmed (FITRIM), swap
 * is discarded.  In both modes filesystems on LVM logical volumes are
 * treated like the others, and the free extents of each volume group
 * are zeroed (or discarded) through a temporary logical volume.  When the format or a filesystem cannot discard, the
 * exit status is 3.
 */

#include <config.h>

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/wait.h>
#include <rpc/xdr.h>

#include "guestbox.h"
#include "options.h"
#include "output.h"
#include "progress.h"

static const char program[] = "virt-sparsify";

/* Exit status when --in-place cannot discard (as libguestfs). */
#define EXIT_NOT_SUPPORTED 3

enum {
  OPT_CHECK_TMPDIR = GBOX_OPT_FIRST_FREE,
  OPT_COMPRESS,
  OPT_CONVERT,
  OPT_IGNORE,
  OPT_IN_PLACE,
  OPT_TMP,
};

enum check_tmpdir { CHECK_IGNORE, CHECK_CONTINUE, CHECK_WARN, CHECK_FAIL };

struct sp_opts {
  bool compress;
  bool in_place;
  bool quiet;
  const char *convert;          /* output format, NULL = input's */
  const char *options;          /* -o */
  const char *tmp;              /* --tmp */
  enum check_tmpdir check_tmpdir;
  char **ignore;
  size_t nr_ignore;
};

/* What the signal handler removes (async-signal-safe: fixed buffers). */
static char sig_out_tmp[PATH_MAX];
static char sig_overlay[PATH_MAX];
static char sig_tmpdir[PATH_MAX];
static volatile pid_t sig_child;
static struct sigaction old_actions[4];
static const int fatal_sigs[4] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT };

static void __attribute__((noreturn))
usage (int status)
{
  if (status != EXIT_SUCCESS)
    fprintf (stderr, "Try '%s --help' for more information.\n", program);
  else
    printf ("%s: make a virtual machine disk image sparse\n"
            "Usage:\n"
            "  %s [--options] indisk outdisk\n"
            "  %s [--options] --in-place disk\n"
            "Options:\n"
            "  --check-tmpdir ignore|continue|warn|fail\n"
            "                       Check the temporary directory has space\n"
            "  --compress           Compressed output (qcow2)\n"
            "  --convert format     Output format (default: the input's)\n"
            "  --format[=raw|..]    Format of the input disk\n"
            "  --help               Display brief help\n"
            "  --ignore fs|vg       Leave this filesystem or volume group alone\n"
            "  --in-place           Sparsify the disk in place\n"
            "  -o options           qemu-img create options of the output\n"
            "  -q|--quiet           No progress messages\n"
            "  --tmp dir            Directory of the temporary overlay\n"
            "  -v|--verbose         Verbose messages\n"
            "  -V|--version         Display version and exit\n"
            "  -x                   Trace each call to the appliance\n"
            "For more information, see the manpage %s(1).\n",
            program, program, program, program);
  exit (status);
}

static void
remove_temps (void)
{
  if (sig_child > 0)
    kill (sig_child, SIGKILL);
  if (sig_out_tmp[0])
    unlink (sig_out_tmp);
  if (sig_overlay[0])
    unlink (sig_overlay);
  if (sig_tmpdir[0])
    rmdir (sig_tmpdir);
}

static void
fatal_signal (int sig)
{
  size_t i;

  remove_temps ();
  /* Then the library's handler (qemu, its temp dir), which re-raises. */
  for (i = 0; i < 4; ++i)
    if (fatal_sigs[i] == sig) {
      if (old_actions[i].sa_handler != SIG_DFL &&
          old_actions[i].sa_handler != SIG_IGN &&
          !(old_actions[i].sa_flags & SA_SIGINFO))
        old_actions[i].sa_handler (sig);
      break;
    }
  signal (sig, SIG_DFL);
  raise (sig);
}

static void
install_signal_handlers (void)
{
  struct sigaction sa;
  size_t i;

  gbox_install_signal_handlers ();
  memset (&sa, 0, sizeof sa);
  sa.sa_handler = fatal_signal;
  sigemptyset (&sa.sa_mask);
  for (i = 0; i < 4; ++i) {
    sigaction (fatal_sigs[i], NULL, &old_actions[i]);
    if (old_actions[i].sa_handler == SIG_IGN)
      continue;
    sigaction (fatal_sigs[i], &sa, NULL);
  }
}

static bool
is_ext (const char *type)
{
  return strcmp (type, "ext2") == 0 || strcmp (type, "ext3") == 0 ||
    strcmp (type, "ext4") == 0;
}

static bool
is_mountable (const char *type)
{
  static const char *const types[] = {
    "ext2", "ext3", "ext4", "xfs", "btrfs", "vfat", "msdos", "ntfs",
    "f2fs", "jfs", "reiserfs", "hfsplus", "nilfs2", NULL
  };
  size_t i;

  for (i = 0; types[i]; ++i)
    if (strcmp (type, types[i]) == 0)
      return true;
  return false;
}

static bool
ignored (struct sp_opts *so, const char *dev)
{
  size_t i;

  for (i = 0; i < so->nr_ignore; ++i)
    if (strcmp (so->ignore[i], dev) == 0)
      return true;
  return false;
}

static const char *
qemu_img (void)
{
  const char *q = getenv ("GBOX_QEMU_IMG");

  return q && *q ? q : "qemu-img";
}

/* Run qemu-img with ARGV.  Its stderr goes to ERRBUF (one line).  With
 * BAR, "-p" progress on its stdout "(NN.NN/100%)" drives the bar. */
static int
run_qemu_img (char *const argv[], struct gbox_progress_bar *bar,
              char *errbuf, size_t errlen)
{
  int opipe[2], epipe[2], status;
  pid_t pid;
  size_t elen = 0;
  char line[128];
  size_t llen = 0;
  bool oopen = true, eopen = true;

  errbuf[0] = '\0';
  if (pipe2 (opipe, O_CLOEXEC) == -1 || pipe2 (epipe, O_CLOEXEC) == -1) {
    snprintf (errbuf, errlen, "pipe: %s", strerror (errno));
    return -1;
  }
  pid = fork ();
  if (pid == -1) {
    snprintf (errbuf, errlen, "fork: %s", strerror (errno));
    return -1;
  }
  if (pid == 0) {
    int null = open ("/dev/null", O_RDONLY);
    if (null >= 0)
      dup2 (null, 0);
    dup2 (opipe[1], 1);
    dup2 (epipe[1], 2);
    execvp (argv[0], argv);
    fprintf (stderr, "%s: %s\n", argv[0], strerror (errno));
    _exit (127);
  }
  sig_child = pid;
  close (opipe[1]);
  close (epipe[1]);
  while (oopen || eopen) {
    fd_set rfds;
    char buf[512];
    ssize_t r;
    int maxfd = -1;

    FD_ZERO (&rfds);
    if (oopen) {
      FD_SET (opipe[0], &rfds);
      maxfd = opipe[0];
    }
    if (eopen) {
      FD_SET (epipe[0], &rfds);
      if (epipe[0] > maxfd)
        maxfd = epipe[0];
    }
    if (select (maxfd + 1, &rfds, NULL, NULL, NULL) == -1) {
      if (errno == EINTR)
        continue;
      break;
    }
    if (oopen && FD_ISSET (opipe[0], &rfds)) {
      r = read (opipe[0], buf, sizeof buf);
      if (r <= 0)
        oopen = false;
      else {
        ssize_t i;
        for (i = 0; i < r; ++i) {
          if (buf[i] == '\r' || buf[i] == '\n') {
            double pc;
            line[llen] = '\0';
            if (sscanf (line, " (%lf/100%%)", &pc) == 1 && pc >= 0 &&
                pc <= 100)
              gbox_progress_bar_update (bar, (uint64_t) (pc * 100), 10000);
            llen = 0;
          }
          else if (llen < sizeof line - 1)
            line[llen++] = buf[i];
        }
      }
    }
    if (eopen && FD_ISSET (epipe[0], &rfds)) {
      r = read (epipe[0], buf, sizeof buf);
      if (r <= 0)
        eopen = false;
      else {
        size_t n = (size_t) r < errlen - 1 - elen ? (size_t) r
          : errlen - 1 - elen;
        memcpy (errbuf + elen, buf, n);
        elen += n;
        errbuf[elen] = '\0';
      }
    }
  }
  close (opipe[0]);
  close (epipe[0]);
  while (waitpid (pid, &status, 0) == -1 && errno == EINTR)
    ;
  sig_child = 0;
  /* One line. */
  while (elen > 0 && (errbuf[elen-1] == '\n' || errbuf[elen-1] == ' '))
    errbuf[--elen] = '\0';
  for (size_t i = 0; i < elen; ++i)
    if (errbuf[i] == '\n')
      errbuf[i] = ' ';
  if (!WIFEXITED (status) || WEXITSTATUS (status) != 0) {
    if (elen == 0)
      snprintf (errbuf, errlen, "qemu-img failed (status %d)", status);
    return -1;
  }
  return 0;
}

/* qemu-img info on FILE in FORMAT (never probed): the virtual size. */
static int
virtual_size (const char *file, const char *format, uint64_t *size)
{
  char *json = NULL;
  size_t len = 0;
  FILE *fp;
  int pfd[2], status;
  pid_t pid;
  const char *p;
  char buf[4096];
  ssize_t r;
  int ret = -1;

  if (pipe2 (pfd, O_CLOEXEC) == -1)
    return -1;
  pid = fork ();
  if (pid == -1)
    return -1;
  if (pid == 0) {
    int null = open ("/dev/null", O_RDWR);
    dup2 (pfd[1], 1);
    if (null >= 0) {
      dup2 (null, 0);
      dup2 (null, 2);
    }
    execlp (qemu_img (), qemu_img (), "info", "--output=json", "-f", format,
            file, (char *) NULL);
    _exit (127);
  }
  close (pfd[1]);
  fp = open_memstream (&json, &len);
  while ((r = read (pfd[0], buf, sizeof buf)) > 0 || (r == -1 && errno == EINTR))
    if (r > 0 && fp && len < 1024 * 1024)
      fwrite (buf, 1, r, fp);
  close (pfd[0]);
  if (fp)
    fclose (fp);
  while (waitpid (pid, &status, 0) == -1 && errno == EINTR)
    ;
  if (json && WIFEXITED (status) && WEXITSTATUS (status) == 0 &&
      (p = strstr (json, "\"virtual-size\":")) != NULL &&
      sscanf (p + 15, " %" SCNu64, size) == 1)
    ret = 0;
  free (json);
  return ret;
}

/* Blocks allocated to FILE, in bytes. */
static uint64_t
allocated (const char *file)
{
  struct stat st;

  return stat (file, &st) == 0 ? (uint64_t) st.st_blocks * 512 : 0;
}

static int
check_tmp_space (struct sp_opts *so, const char *dir, uint64_t vsize)
{
  struct statvfs sv;
  uint64_t avail;
  char hv[GBOX_HUMAN_BUFLEN], ha[GBOX_HUMAN_BUFLEN];

  if (so->check_tmpdir == CHECK_IGNORE)
    return 0;
  if (statvfs (dir, &sv) == -1) {
    fprintf (stderr, "%s: error: %s: %s\n", program, dir, strerror (errno));
    return -1;
  }
  avail = (uint64_t) sv.f_bavail * sv.f_frsize;
  if (avail >= vsize)
    return 0;
  gbox_human_size (vsize, hv);
  gbox_human_size (avail, ha);
  fprintf (stderr, "%s: %s: %s has %s free, but the temporary overlay may "
           "need up to %s (the virtual size of the disk) in the worst case "
           "(usually far less: only the free blocks that hold data are "
           "rewritten); use --tmp DIR or TMPDIR to choose another "
           "directory\n", program,
           so->check_tmpdir == CHECK_FAIL ? "error" : "warning", dir, ha, hv);
  if (so->check_tmpdir == CHECK_FAIL)
    return -1;
  if (so->check_tmpdir == CHECK_WARN && isatty (STDIN_FILENO)) {
    int c;
    fprintf (stderr, "Press RETURN to continue or ^C to quit.\n");
    while ((c = getchar ()) != EOF && c != '\n')
      ;
  }
  return 0;
}

static void __attribute__((format (printf, 2, 3)))
say (struct sp_opts *so, const char *fs, ...)
{
  va_list args;

  if (so->quiet)
    return;
  va_start (args, fs);
  vprintf (fs, args);
  va_end (args);
  fflush (stdout);
}

/* Zero (copying) or trim (in place) every filesystem.  Returns 0, -1
 * on error, or 1 when something could not be discarded (in place). */
static int
sparsify_filesystems (gbox_h *h, struct gbox_opts *o, struct sp_opts *so,
                      struct gbox_progress_bar *bar)
{
  struct gbox_list_filesystems_ret fsl;
  size_t i;
  int ret = 0;

  memset (&fsl, 0, sizeof fsl);
  if (gbox_list_filesystems (h, &fsl) == -1) {
    gbox_opts_print_error (o, h);
    return -1;
  }
  for (i = 0; i < fsl.filesystems.filesystems_len && ret != -1; ++i) {
    const struct gbox_filesystem *fs = &fsl.filesystems.filesystems_val[i];
    const char *dev = fs->device, *type = fs->type;
    char hb[GBOX_HUMAN_BUFLEN];
    uint64_t bytes = 0;

    if (ignored (so, dev)) {
      say (so, "%s: ignored\n", dev);
      continue;
    }
    if (strcmp (type, "swap") == 0) {
      say (so, "%s: %s swap\n", dev, so->in_place ? "Discarding" : "Zeroing");
      gbox_progress_bar_set_label (bar, dev);
      if (gbox_zero_swap (h, dev, so->in_place) == -1) {
        gbox_progress_bar_done (bar);
        if (so->in_place && gbox_last_errno (h) == EOPNOTSUPP) {
          gbox_opts_print_error (o, h);
          ret = 1;
          continue;
        }
        gbox_opts_print_error (o, h);
        ret = -1;
      }
      gbox_progress_bar_done (bar);
      continue;
    }
    if (strcmp (type, "LVM2_member") == 0) {
      /* Its logical volumes are in the list; its free extents are
       * handled per volume group (sparsify_vgs). */
      if (o->verbose)
        fprintf (stderr, "%s: %s: LVM physical volume\n", program, dev);
      continue;
    }
    if (!is_mountable (type)) {
      if (o->verbose)
        fprintf (stderr, "%s: %s: %s: skipped\n", program, dev, type);
      continue;
    }

    /* Copying mode, ext: zerofree on the unmounted filesystem. */
    if (!so->in_place && is_ext (type)) {
      struct gbox_zerofree_ret zr;

      say (so, "%s: Zeroing free space (%s)\n", dev, type);
      gbox_progress_bar_set_label (bar, dev);
      if (gbox_zerofree (h, dev, 0, &zr) == 0) {
        gbox_progress_bar_done (bar);
        continue;
      }
      gbox_progress_bar_done (bar);
      if (gbox_last_errno (h) != EUCLEAN) {
        gbox_opts_print_error (o, h);
        ret = -1;
        continue;
      }
      /* Not clean: mounting replays the journal (into the overlay),
       * then fill. */
      if (o->verbose)
        fprintf (stderr, "%s: %s: not clean, filling it instead\n",
                 program, dev);
    }

    if (gbox_mount (h, dev, "/", so->in_place ? "discard" : "", type) == -1) {
      gbox_opts_print_error (o, h);
      ret = -1;
      continue;
    }
    gbox_progress_bar_set_label (bar, dev);
    if (so->in_place) {
      say (so, "%s: Trimming (%s)\n", dev, type);
      if (gbox_fstrim (h, "/", &bytes) == -1) {
        if (gbox_last_errno (h) == EOPNOTSUPP) {
          fprintf (stderr, "%s: error: %s: the filesystem (%s) cannot "
                   "discard its free space, so it cannot be sparsified in "
                   "place; use copying mode\n", program, dev, type);
          ret = 1;
        }
        else {
          gbox_opts_print_error (o, h);
          ret = -1;
        }
      }
      else if (o->verbose) {
        gbox_human_size (bytes, hb);
        fprintf (stderr, "%s: %s: %s trimmed\n", program, dev, hb);
      }
    }
    else {
      say (so, "%s: Filling free space with zeros (%s)\n", dev, type);
      if (gbox_zero_free_space (h, "/", &bytes) == -1) {
        gbox_opts_print_error (o, h);
        ret = -1;
      }
    }
    gbox_progress_bar_done (bar);
    if (gbox_umount_all (h) == -1 && ret != -1) {
      gbox_opts_print_error (o, h);
      ret = -1;
    }
  }
  xdr_free ((xdrproc_t) xdr_gbox_list_filesystems_ret, (char *) &fsl);
  return ret;
}

/* Zero (copying) or discard (in place) the free extents of every LVM
 * volume group.  Returns 0, -1 on error, or 1 when something could not
 * be discarded (in place). */
static int
sparsify_vgs (gbox_h *h, struct gbox_opts *o, struct sp_opts *so,
              struct gbox_progress_bar *bar)
{
  struct gbox_list_vgs_ret vl;
  size_t i;
  int ret = 0;

  memset (&vl, 0, sizeof vl);
  if (gbox_list_vgs (h, &vl) == -1) {
    gbox_opts_print_error (o, h);
    return -1;
  }
  for (i = 0; i < vl.vgs.gbox_str_list_len && ret != -1; ++i) {
    const char *vg = vl.vgs.gbox_str_list_val[i];
    char hb[GBOX_HUMAN_BUFLEN];
    uint64_t bytes = 0;

    if (ignored (so, vg)) {
      say (so, "%s: ignored\n", vg);
      continue;
    }
    say (so, "%s: %s free space in the volume group\n", vg,
         so->in_place ? "Discarding" : "Zeroing");
    gbox_progress_bar_set_label (bar, vg);
    if (gbox_zero_vg_free (h, vg, so->in_place, &bytes) == -1) {
      gbox_progress_bar_done (bar);
      if (so->in_place && gbox_last_errno (h) == EOPNOTSUPP) {
        gbox_opts_print_error (o, h);
        ret = 1;
        continue;
      }
      gbox_opts_print_error (o, h);
      ret = -1;
      continue;
    }
    gbox_progress_bar_done (bar);
    if (o->verbose) {
      gbox_human_size (bytes, hb);
      fprintf (stderr, "%s: %s: %s of free extents %s\n", program, vg, hb,
               so->in_place ? "discarded" : "zeroed");
    }
  }
  xdr_free ((xdrproc_t) xdr_gbox_list_vgs_ret, (char *) &vl);
  return ret;
}

static gbox_h *
new_handle (struct gbox_opts *o, struct gbox_progress_bar *bar)
{
  gbox_h *h = gbox_create ();

  if (h == NULL) {
    fprintf (stderr, "%s: error: cannot create handle: %s\n",
             program, strerror (errno));
    exit (EXIT_FAILURE);
  }
  gbox_opts_setup_handle (h, o);
  gbox_set_progress_callback (h, gbox_progress_bar_callback, bar);
  return h;
}

static int
in_place (struct gbox_opts *o, struct sp_opts *so,
          struct gbox_progress_bar *bar, const char *disk)
{
  gbox_h *h = new_handle (o, bar);
  const char *fmt;
  int r;

  if (gbox_add_drive (h, disk, o->format, 0) == -1) {
    gbox_opts_print_error (o, h);
    gbox_close (h);
    return EXIT_FAILURE;
  }
  fmt = gbox_drive_format (h, 0);
  if (!fmt || (strcmp (fmt, "raw") != 0 && strcmp (fmt, "qcow2") != 0)) {
    fprintf (stderr, "%s: error: %s: the %s format cannot discard (only "
             "raw and qcow2 can be sparsified in place); use copying "
             "mode\n", program, disk, fmt ? fmt : "unknown");
    gbox_close (h);
    return EXIT_NOT_SUPPORTED;
  }
  if (gbox_drive_set_discard (h, 0, 1) == -1 || gbox_launch (h) == -1) {
    gbox_opts_print_error (o, h);
    gbox_close (h);
    return EXIT_FAILURE;
  }
  r = sparsify_filesystems (h, o, so, bar);
  if (r != -1) {
    int rv = sparsify_vgs (h, o, so, bar);
    if (rv != 0 && r != -1)
      r = rv;
  }
  if (gbox_shutdown (h) == -1) {
    gbox_opts_print_error (o, h);
    r = -1;
  }
  gbox_close (h);
  if (r == 0)
    say (so, "Sparsify in-place operation completed with no errors.\n");
  return r == 0 ? EXIT_SUCCESS : r == 1 ? EXIT_NOT_SUPPORTED : EXIT_FAILURE;
}

static int
copying (struct gbox_opts *o, struct sp_opts *so,
         struct gbox_progress_bar *bar, const char *in, const char *out)
{
  gbox_h *h;
  char *informat = NULL, *backing = NULL, *qin = NULL;
  const char *tmpbase, *outformat;
  uint64_t vsize = 0;
  char err[4096], hin[GBOX_HUMAN_BUFLEN], hout[GBOX_HUMAN_BUFLEN];
  struct stat st1, st2;
  int r = EXIT_FAILURE, fd;

  if (stat (out, &st2) == 0 && stat (in, &st1) == 0 &&
      st1.st_dev == st2.st_dev && st1.st_ino == st2.st_ino) {
    fprintf (stderr, "%s: error: %s: the output is the input disk\n",
             program, out);
    return EXIT_FAILURE;
  }
  if (strncmp (in, "nbd:", 4) == 0 || strncmp (in, "nbd+", 4) == 0) {
    fprintf (stderr, "%s: error: %s: copying mode reads local files only\n",
             program, in);
    return EXIT_FAILURE;
  }

  /* Check and probe the input (safely) without launching. */
  h = new_handle (o, bar);
  if (gbox_add_drive (h, in, o->format, 1) == -1) {
    gbox_opts_print_error (o, h);
    gbox_close (h);
    return EXIT_FAILURE;
  }
  informat = strdup (gbox_drive_format (h, 0));
  gbox_close (h);
  if (informat == NULL) {
    perror ("strdup");
    return EXIT_FAILURE;
  }
  outformat = so->convert ? so->convert : informat;
  if (so->compress && strcmp (outformat, "qcow2") != 0) {
    fprintf (stderr, "%s: error: --compress needs qcow2 output (use "
             "--convert qcow2)\n", program);
    goto out;
  }
  if (virtual_size (in, informat, &vsize) == -1) {
    fprintf (stderr, "%s: error: %s: cannot read the disk image (format "
             "%s)\n", program, in, informat);
    goto out;
  }

  tmpbase = so->tmp ? so->tmp : getenv ("TMPDIR");
  if (!tmpbase || !*tmpbase)
    tmpbase = "/var/tmp";
  if (check_tmp_space (so, tmpbase, vsize) == -1)
    goto out;
  if ((size_t) snprintf (sig_tmpdir, sizeof sig_tmpdir,
                         "%s/virt-sparsify.XXXXXX", tmpbase)
      >= sizeof sig_tmpdir || mkdtemp (sig_tmpdir) == NULL) {
    fprintf (stderr, "%s: error: %s: cannot make a temporary directory: "
             "%s\n", program, tmpbase, strerror (errno));
    sig_tmpdir[0] = '\0';
    goto out;
  }
  if ((size_t) snprintf (sig_overlay, sizeof sig_overlay, "%s/overlay.qcow2",
                         sig_tmpdir) >= sizeof sig_overlay) {
    fprintf (stderr, "%s: error: %s: name too long\n", program, tmpbase);
    sig_overlay[0] = '\0';
    goto out;
  }

  /* The overlay: its backing node is the input, named exactly (format
   * given, never probed) and read-only. */
  {
    char *absin = realpath (in, NULL);
    char *q = absin ? malloc (2 * strlen (absin) + 3) : NULL;
    size_t j = 0;
    const char *p;

    if (q == NULL) {
      fprintf (stderr, "%s: error: %s: %s\n", program, in, strerror (errno));
      free (absin);
      goto out;
    }
    q[j++] = '"';
    for (p = absin; *p; ++p) {
      if (*p == '"' || *p == '\\')
        q[j++] = '\\';
      q[j++] = *p;
    }
    q[j++] = '"';
    q[j] = '\0';
    free (absin);
    qin = q;
  }
  if (asprintf (&backing, "json:{\"driver\":\"%s\",\"read-only\":true,"
                "\"file\":{\"driver\":\"file\",\"filename\":%s,"
                "\"read-only\":true}}", informat, qin) == -1) {
    backing = NULL;
    goto out;
  }
  {
    char *const argv[] = {
      (char *) qemu_img (), (char *) "create", (char *) "-q",
      (char *) "-f", (char *) "qcow2", (char *) "-o", (char *) "compat=1.1",
      (char *) "-b", backing, (char *) "-F", informat, sig_overlay, NULL
    };
    if (run_qemu_img (argv, NULL, err, sizeof err) == -1) {
      fprintf (stderr, "%s: error: %s: cannot make the overlay: %s\n",
               program, in, err);
      goto out;
    }
  }

  /* Zero the free space in the appliance, through the overlay. */
  h = new_handle (o, bar);
  if (gbox_add_drive (h, sig_overlay, "qcow2", 0) == -1 ||
      gbox_drive_set_discard (h, 0, 1) == -1 ||
      gbox_launch (h) == -1) {
    gbox_opts_print_error (o, h);
    gbox_close (h);
    goto out;
  }
  if (sparsify_filesystems (h, o, so, bar) != 0 ||
      sparsify_vgs (h, o, so, bar) != 0) {
    gbox_close (h);
    goto out;
  }
  if (gbox_shutdown (h) == -1) {
    gbox_opts_print_error (o, h);
    gbox_close (h);
    goto out;
  }
  gbox_close (h);

  /* Copy to a temporary name next to OUT, then rename. */
  if ((size_t) snprintf (sig_out_tmp, sizeof sig_out_tmp, "%s.tmp.XXXXXX",
                         out) >= sizeof sig_out_tmp) {
    fprintf (stderr, "%s: error: %s: name too long\n", program, out);
    sig_out_tmp[0] = '\0';
    goto out;
  }
  fd = mkstemp (sig_out_tmp);
  if (fd == -1) {
    fprintf (stderr, "%s: error: %s: %s\n", program, sig_out_tmp,
             strerror (errno));
    sig_out_tmp[0] = '\0';
    goto out;
  }
  close (fd);
  say (so, "Copying to %s (%s)\n", out, outformat);
  {
    char *argv[20];
    size_t n = 0;

    argv[n++] = (char *) qemu_img ();
    argv[n++] = (char *) "convert";
    if (gbox_progress_bar_enabled (bar))
      argv[n++] = (char *) "-p";
    argv[n++] = (char *) "-f";
    argv[n++] = (char *) "qcow2";
    argv[n++] = sig_overlay;
    argv[n++] = (char *) "-O";
    argv[n++] = (char *) outformat;
    if (so->compress)
      argv[n++] = (char *) "-c";
    if (so->options) {
      argv[n++] = (char *) "-o";
      argv[n++] = (char *) so->options;
    }
    argv[n++] = sig_out_tmp;
    argv[n] = NULL;
    gbox_progress_bar_set_label (bar, "copy");
    if (run_qemu_img (argv, bar, err, sizeof err) == -1) {
      gbox_progress_bar_done (bar);
      fprintf (stderr, "%s: error: %s: copying failed: %s\n", program, out,
               err);
      goto out;
    }
    gbox_progress_bar_update (bar, 1, 1);
    gbox_progress_bar_done (bar);
  }
  /* On disk before the name says it is complete. */
  fd = open (sig_out_tmp, O_RDONLY | O_CLOEXEC);
  if (fd == -1 || fsync (fd) == -1) {
    fprintf (stderr, "%s: error: %s: sync: %s\n", program, out,
             strerror (errno));
    if (fd >= 0)
      close (fd);
    goto out;
  }
  close (fd);
  if (rename (sig_out_tmp, out) == -1) {
    fprintf (stderr, "%s: error: %s: rename: %s\n", program, out,
             strerror (errno));
    goto out;
  }
  sig_out_tmp[0] = '\0';
  gbox_human_size (allocated (in), hin);
  gbox_human_size (allocated (out), hout);
  say (so, "Sparsify operation completed with no errors (allocated: %s "
       "-> %s).\n", hin, hout);
  r = EXIT_SUCCESS;

 out:
  remove_temps ();
  sig_overlay[0] = sig_tmpdir[0] = sig_out_tmp[0] = '\0';
  free (informat);
  free (backing);
  free (qin);
  return r;
}

int
main (int argc, char *argv[])
{
  static const char short_options[] = "o:qvVx";
  static const struct option long_options[] = {
    { "check-tmpdir", required_argument, NULL, OPT_CHECK_TMPDIR },
    { "compress", no_argument, NULL, OPT_COMPRESS },
    { "convert", required_argument, NULL, OPT_CONVERT },
    { "format", optional_argument, NULL, GBOX_OPT_FORMAT },
    { "help", no_argument, NULL, GBOX_OPT_HELP },
    { "ignore", required_argument, NULL, OPT_IGNORE },
    { "in-place", no_argument, NULL, OPT_IN_PLACE },
    { "inplace", no_argument, NULL, OPT_IN_PLACE },
    { "long-options", no_argument, NULL, GBOX_OPT_LONG_OPTIONS },
    { "quiet", no_argument, NULL, 'q' },
    { "short-options", no_argument, NULL, GBOX_OPT_SHORT_OPTIONS },
    { "tmp", required_argument, NULL, OPT_TMP },
    { "verbose", no_argument, NULL, 'v' },
    { "version", no_argument, NULL, 'V' },
    { NULL, 0, NULL, 0 }
  };
  struct gbox_opts o;
  struct sp_opts so = { .check_tmpdir = CHECK_WARN };
  struct gbox_progress_bar *bar;
  int c, r;
  char **nl;

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
    case OPT_CHECK_TMPDIR:
      if (strcmp (optarg, "ignore") == 0)
        so.check_tmpdir = CHECK_IGNORE;
      else if (strcmp (optarg, "continue") == 0)
        so.check_tmpdir = CHECK_CONTINUE;
      else if (strcmp (optarg, "warn") == 0)
        so.check_tmpdir = CHECK_WARN;
      else if (strcmp (optarg, "fail") == 0)
        so.check_tmpdir = CHECK_FAIL;
      else {
        fprintf (stderr, "%s: error: --check-tmpdir: unknown value '%s' "
                 "(ignore, continue, warn or fail)\n", program, optarg);
        usage (EXIT_FAILURE);
      }
      break;
    case OPT_COMPRESS:
      so.compress = true;
      break;
    case OPT_CONVERT:
      if (!*optarg || strlen (optarg) > 32 ||
          strspn (optarg, "abcdefghijklmnopqrstuvwxyz0123456789-_")
          != strlen (optarg)) {
        fprintf (stderr, "%s: error: --convert: invalid format '%s'\n",
                 program, optarg);
        usage (EXIT_FAILURE);
      }
      so.convert = optarg;
      break;
    case OPT_IGNORE:
      nl = realloc (so.ignore, (so.nr_ignore + 1) * sizeof *so.ignore);
      if (nl == NULL) {
        perror ("realloc");
        exit (EXIT_FAILURE);
      }
      so.ignore = nl;
      so.ignore[so.nr_ignore++] = optarg;
      break;
    case OPT_IN_PLACE:
      so.in_place = true;
      break;
    case 'o':
      so.options = optarg;
      break;
    case 'q':
      so.quiet = true;
      break;
    case OPT_TMP:
      so.tmp = optarg;
      break;
    case GBOX_OPT_HELP:
      usage (EXIT_SUCCESS);
    default:
      usage (EXIT_FAILURE);
    }
  }

  if (so.in_place) {
    if (argc - optind != 1) {
      fprintf (stderr, "%s: error: --in-place takes one disk image\n",
               program);
      usage (EXIT_FAILURE);
    }
    if (so.convert || so.compress || so.options || so.tmp) {
      fprintf (stderr, "%s: error: --in-place cannot be used with "
               "--convert, --compress, -o or --tmp\n", program);
      usage (EXIT_FAILURE);
    }
  }
  else if (argc - optind != 2) {
    fprintf (stderr, "%s: error: expected an input and an output disk "
             "image\n", program);
    usage (EXIT_FAILURE);
  }

  install_signal_handlers ();
  bar = gbox_progress_bar_new (!so.quiet);
  if (so.in_place)
    r = in_place (&o, &so, bar, argv[optind]);
  else
    r = copying (&o, &so, bar, argv[optind], argv[optind + 1]);
  gbox_progress_bar_free (bar);
  free (so.ignore);
  gbox_opts_free (&o);
  exit (r);
}
