/* guestbox - virt-sparsify: make a disk image sparse.
 * Copyright (C) 2026 the guestbox authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

/**
 * Copying mode, virt-sparsify IN OUT: a throw-away qcow2 overlay over
 * IN (which is only ever read) is attached to the appliance with
 * discard and zero detection on, the free space of every filesystem is
 * zeroed there (zerofree for ext2/3/4; for the others a discard that
 * the 4 KiB clusters of the overlay turn into zero clusters, or, where
 * the discards would not cover every free block, fill-and-remove;
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

#include <json.h>

#include "guestbox.h"
#include "guestbox-internal.h"
#include "cleanups.h"
#include "appliance-internal.h"
#include "options.h"
#include "output.h"
#include "progress.h"
#include "fstypes.h"

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
  OPT_MACHINE_READABLE,
  OPT_ZERO,
  OPT_COLOR,
  OPT_WRAP,
  OPT_DEBUG_GC,
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
  bool check_tmpdir_given;
  char **ignore;
  size_t nr_ignore;
  char **zero;                  /* --zero */
  size_t nr_zero;
  mode_t umask;                 /* of the process, for new outputs */
  bool discard_zeroes;          /* our overlay: discards read as zeros */
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
            "  --color|--colours    Accepted (no colours are used)\n"
            "  --compress           Compressed output (qcow2)\n"
            "  --convert format     Output format (default: the input's)\n"
            "  --debug-gc           Accepted and ignored\n"
            "  --echo-keys          Show keys typed on the terminal\n"
            "  --format[=raw|..]    Format of the input disk\n"
            "  --help               Display brief help\n"
            "  --ignore fs|vg       Leave this filesystem or volume group alone\n"
            "  --in-place           Sparsify the disk in place\n"
            "  --key ID:key:KEY     Key of a LUKS device (or ID:file:FILE)\n"
            "  --keys-from-stdin    Read LUKS keys from stdin\n"
            "  --machine-readable[=format]\n"
            "                       What this virt-sparsify can do\n"
            "  -o options           qemu-img create options of the output\n"
            "  -q|--quiet           No progress messages\n"
            "  --tmp dir|block|prebuilt:file\n"
            "                       Where the temporary overlay goes\n"
            "  -v|--verbose         Verbose messages\n"
            "  -V|--version         Display version and exit\n"
            "  --wrap               Accepted (messages are not wrapped)\n"
            "  -x                   Trace each call to the appliance\n"
            "  --zero fs            Zero this filesystem (or device)\n"
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
listed (char **list, size_t n, const char *dev)
{
  size_t i;

  for (i = 0; i < n; ++i)
    if (strcmp (list[i], dev) == 0)
      return true;
  return false;
}

static bool
ignored (struct sp_opts *so, const char *dev)
{
  return listed (so->ignore, so->nr_ignore, dev);
}

static const char *
qemu_img (void)
{
  const char *q = getenv ("GBOX_QEMU_IMG");

  return q && *q ? q : "qemu-img";
}

/* qemu-img -p progress on stdout: "(NN.NN/100%)" drives the bar. */
static void
qemu_img_progress (void *bar, const char *line)
{
  double pc;

  if (sscanf (line, " (%lf/100%%)", &pc) == 1 && pc >= 0 && pc <= 100)
    gbox_progress_bar_update (bar, (uint64_t) (pc * 100), 10000);
}

/* Run qemu-img with ARGV.  Its stderr goes to ERRBUF (one line).  With
 * BAR, "-p" progress on its stdout drives the bar. */
static int
run_qemu_img (char *const argv[], struct gbox_progress_bar *bar,
              char *errbuf, size_t errlen)
{
  struct gbox_cmd c = {
    .argv = (const char *const *) argv, .err_max = errlen - 1,
    .out_line = bar ? qemu_img_progress : NULL, .opaque = bar,
    .child = &sig_child,
  };
  size_t elen, i;
  bool ok;

  errbuf[0] = '\0';
  if (gbox_int_cmd_run (&c) == -1) {
    snprintf (errbuf, errlen, "%s: %s", argv[0], strerror (errno));
    return -1;
  }
  ok = gbox_int_cmd_ok (&c);
  elen = c.err_len;
  memcpy (errbuf, c.err, elen + 1);
  /* One line. */
  while (elen > 0 && (errbuf[elen-1] == '\n' || errbuf[elen-1] == ' '))
    errbuf[--elen] = '\0';
  for (i = 0; i < elen; ++i)
    if (errbuf[i] == '\n')
      errbuf[i] = ' ';
  if (!ok && elen == 0)
    snprintf (errbuf, errlen, "qemu-img failed (status %d)", c.status);
  gbox_int_cmd_free (&c);
  return ok ? 0 : -1;
}

/* The JSON description qemu and qemu-img get instead of a file name:
 * json:{"driver":FORMAT,"file":{"driver":"file"|"host_device",
 * "filename":PATH}} (plus "read-only" when READONLY), so that no name
 * is ever read as a protocol ("nbd:...", "json:...") or probed.
 * Returns NULL on error (errno set). */
static char *
image_json (const char *format, const char *path, bool readonly)
{
  json_object *top = json_object_new_object ();
  json_object *file = json_object_new_object ();
  struct stat st;
  char *r = NULL;

  if (top == NULL || file == NULL) {
    json_object_put (top);
    json_object_put (file);
    errno = ENOMEM;
    return NULL;
  }
  json_object_object_add (file, "driver", json_object_new_string (
    stat (path, &st) == 0 && S_ISBLK (st.st_mode) ? "host_device" : "file"));
  json_object_object_add (file, "filename", json_object_new_string (path));
  json_object_object_add (top, "driver", json_object_new_string (format));
  if (readonly) {
    json_object_object_add (file, "read-only", json_object_new_boolean (1));
    json_object_object_add (top, "read-only", json_object_new_boolean (1));
  }
  json_object_object_add (top, "file", file);
  if (asprintf (&r, "json:%s", json_object_to_json_string_ext (
                  top, JSON_C_TO_STRING_PLAIN |
                  JSON_C_TO_STRING_NOSLASHESCAPE)) == -1)
    r = NULL;
  json_object_put (top);
  return r;
}

/* The "virtual-size" of the image itself in qemu-img info's JSON (the
 * top-level member: since qemu 8 the same name also appears, earlier,
 * in the nested "children" entries, which describe the file). */
static int
sp_parse_virtual_size (const char *json, uint64_t *size)
{
  json_object *top = json_tokener_parse (json), *v;
  int ret = -1;

  if (top && json_object_is_type (top, json_type_object) &&
      json_object_object_get_ex (top, "virtual-size", &v) &&
      json_object_is_type (v, json_type_int) &&
      json_object_get_int64 (v) >= 0) {
    *size = (uint64_t) json_object_get_int64 (v);
    ret = 0;
  }
  json_object_put (top);
  return ret;
}

/* qemu-img info on FILE in FORMAT (never probed): the virtual size. */
static int
virtual_size (const char *file, const char *format, uint64_t *size)
{
  CLEANUP_FREE char *desc = image_json (format, file, true);
  const char *argv[] = { qemu_img (), "info", "--output=json", desc, NULL };
  struct gbox_cmd c = { .argv = argv, .out_max = 1024 * 1024 };
  int ret = -1;

  if (desc == NULL || gbox_int_cmd_run (&c) == -1)
    return -1;
  if (gbox_int_cmd_ok (&c) && c.out_len < c.out_max &&
      sp_parse_virtual_size (c.out, size) == 0)
    ret = 0;
  gbox_int_cmd_free (&c);
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

  /* md RAID arrays read-write, LVM, and the LUKS devices opened with
   * their keys, as the libguestfs virt-sparsify opens them. */
  if (gbox_opts_storage (h, o) == -1) {
    gbox_opts_print_error (o, h);
    return -1;
  }
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
    if (listed (so->zero, so->nr_zero, dev)) {
      /* --zero: the whole device, whatever it holds. */
      say (so, "Zeroing %s\n", dev);
      gbox_progress_bar_set_label (bar, dev);
      if (gbox_zero_device (h, dev) == -1) {
        gbox_opts_print_error (o, h);
        ret = -1;
      }
      gbox_progress_bar_done (bar);
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
    if (!gbox_fstype_has (type, GBOX_FS_TRIM)) {
      /* Any other filesystem the appliance can mount is treated the
       * same (minix, ufs, ...); what it cannot mount is left alone, as
       * libguestfs does. */
      if (strcmp (type, "unknown") == 0 || *type == '\0' ||
          strcmp (type, "crypto_LUKS") == 0 ||
          gbox_mount (h, dev, "/", so->in_place ? "discard" : "", type)
          == -1) {
        if (o->verbose)
          fprintf (stderr, "%s: %s: %s: skipped\n", program, dev, type);
        continue;
      }
      if (gbox_umount_all (h) == -1) {
        gbox_opts_print_error (o, h);
        ret = -1;
        continue;
      }
    }

    /* Copying mode, ext: zerofree on the unmounted filesystem. */
    if (!so->in_place && gbox_fstype_has (type, GBOX_FS_EXT)) {
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
        if (gbox_last_errno (h) == EOPNOTSUPP ||
            gbox_last_errno (h) == ENOTTY) {
          /* libguestfs's warning; the exit status is 3. */
          fprintf (stderr, "%s: warning: fstrim operation is not supported "
                   "on %s (%s).  Suppress this warning using '--ignore %s', "
                   "or use copying mode instead.\n", program, dev, type, dev);
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
    else if (so->discard_zeroes &&
             gbox_discard_free_space (h, "/", &bytes) == 0) {
      /* The overlay turns the discards into zero clusters. */
      say (so, "%s: Discarding free space (%s)\n", dev, type);
      if (o->verbose) {
        gbox_human_size (bytes, hb);
        fprintf (stderr, "%s: %s: zeroed by discard (fstrim), %s\n",
                 program, dev, hb);
      }
    }
    else if (so->discard_zeroes && gbox_last_errno (h) != EOPNOTSUPP) {
      gbox_opts_print_error (o, h);
      ret = -1;
    }
    else {
      if (o->verbose && so->discard_zeroes)
        fprintf (stderr, "%s: %s: not discarded (%s): filling with zeros\n",
                 program, dev, gbox_last_error (h));
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
  gbox_h *h = gbox_opts_new_handle (o);

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

/* Where the overlay goes (--tmp): a directory, a block device, or a
 * prebuilt qcow2 whose backing file is the input. */
enum tmp_kind { TMP_DIR, TMP_BLOCKDEV, TMP_PREBUILT };

static int
tmp_place (struct sp_opts *so, enum tmp_kind *kind, const char **path)
{
  struct stat st;
  const char *t = so->tmp;

  if (t == NULL) {
    t = getenv ("TMPDIR");
    if (!t || !*t)
      t = "/var/tmp";
    *kind = TMP_DIR;
    *path = t;
    return 0;
  }
  if (strncmp (t, "prebuilt:", 9) == 0) {
    gbox_h *h;
    char *fmt = NULL, *backing = NULL;
    int r = 0;

    *kind = TMP_PREBUILT;
    *path = t + 9;
    if (stat (*path, &st) == -1) {
      fprintf (stderr, "%s: error: --tmp prebuilt:file: %s: file does not "
               "exist\n", program, *path);
      return -1;
    }
    h = gbox_create ();
    if (h == NULL || gbox_int_probe_format (h, *path, &fmt, &backing) == -1) {
      fprintf (stderr, "%s: error: --tmp prebuilt:file: %s: %s\n", program,
               *path, h ? gbox_last_error (h) : strerror (errno));
      r = -1;
    }
    else if (strcmp (fmt, "qcow2") != 0) {
      fprintf (stderr, "%s: error: --tmp prebuilt:file: %s: file format is "
               "not qcow2\n", program, *path);
      r = -1;
    }
    else if (backing == NULL) {
      fprintf (stderr, "%s: error: --tmp prebuilt:file: %s: file does not "
               "have backing file\n", program, *path);
      r = -1;
    }
    free (fmt);
    free (backing);
    if (h)
      gbox_close (h);
    return r;
  }
  if (stat (t, &st) == 0 && S_ISDIR (st.st_mode)) {
    *kind = TMP_DIR;
    *path = t;
    return 0;
  }
  if (stat (t, &st) == 0 && S_ISBLK (st.st_mode)) {
    *kind = TMP_BLOCKDEV;
    *path = t;
    return 0;
  }
  fprintf (stderr, "%s: error: --tmp parameter must point to a directory, "
           "block device or prebuilt file\n", program);
  return -1;
}

/* The output: a new or existing regular file is written under a
 * temporary name next to it and renamed at the end (new files get
 * 0644 less the umask, as qemu-img would create them; an existing
 * file keeps its mode); a block device (an LV) is written in place.  A
 * symbolic link is followed: its target is what is written. */
struct output {
  char *path;                   /* OUT, symbolic links resolved */
  bool blockdev;
  bool exists;
  struct stat st;               /* when it exists */
};

static int
resolve_output (const char *out, struct output *o)
{
  struct stat lst;

  memset (o, 0, sizeof *o);
  if (lstat (out, &lst) == 0 && S_ISLNK (lst.st_mode)) {
    o->path = realpath (out, NULL);
    if (o->path == NULL) {
      fprintf (stderr, "%s: error: %s: the symbolic link's target: %s\n",
               program, out, strerror (errno));
      return -1;
    }
  }
  else
    o->path = strdup (out);
  if (o->path == NULL) {
    perror ("strdup");
    return -1;
  }
  if (stat (o->path, &o->st) == 0) {
    o->exists = true;
    if (S_ISBLK (o->st.st_mode))
      o->blockdev = true;
    else if (!S_ISREG (o->st.st_mode)) {
      fprintf (stderr, "%s: error: output ‘%s’ cannot be a character device, "
               "it must be a regular file\n", program, out);
      return -1;
    }
  }
  return 0;
}

/* Make the empty target of the copy at PATH (a temporary file, or the
 * block device) in FORMAT, VSIZE bytes. */
static int
create_target (struct sp_opts *so, const char *name, const char *path,
               bool blockdev, const char *format, uint64_t vsize)
{
  char err[4096], size[32];
  char *argv[16];
  size_t n = 0;

  if (strcmp (format, "raw") == 0 && so->options == NULL) {
    if (blockdev)
      return 0;
    if (truncate (path, (off_t) vsize) == -1) {
      fprintf (stderr, "%s: error: %s: %s\n", program, path, strerror (errno));
      return -1;
    }
    return 0;
  }
  /* qemu-img create has no JSON form: PATH is absolute, and a name
   * that starts with '/' is never read as a protocol. */
  if (path[0] != '/') {
    fprintf (stderr, "%s: error: %s: not an absolute path\n", program, path);
    return -1;
  }
  snprintf (size, sizeof size, "%" PRIu64, vsize);
  argv[n++] = (char *) qemu_img ();
  argv[n++] = (char *) "create";
  argv[n++] = (char *) "-q";
  argv[n++] = (char *) "-f";
  argv[n++] = (char *) format;
  if (so->options) {
    argv[n++] = (char *) "-o";
    argv[n++] = (char *) so->options;
  }
  argv[n++] = (char *) path;
  argv[n++] = size;
  argv[n] = NULL;
  if (run_qemu_img (argv, NULL, err, sizeof err) == -1) {
    fprintf (stderr, "%s: error: %s: cannot create the output: %s\n",
             program, name, err);
    return -1;
  }
  return 0;
}

static int
copying (struct gbox_opts *o, struct sp_opts *so,
         struct gbox_progress_bar *bar, const char *in, const char *out)
{
  gbox_h *h;
  char *informat = NULL, *backing = NULL, *absin = NULL, *src = NULL;
  char *dst = NULL, *absout = NULL;
  const char *tmpbase, *outformat, *overlay;
  enum tmp_kind tmpkind;
  struct output op = { 0 };
  uint64_t vsize = 0;
  char err[4096], hin[GBOX_HUMAN_BUFLEN], hout[GBOX_HUMAN_BUFLEN];
  struct stat st1, st2;
  int r = EXIT_FAILURE, fd;

  if (stat (out, &st2) == 0 && stat (in, &st1) == 0 &&
      ((st1.st_dev == st2.st_dev && st1.st_ino == st2.st_ino) ||
       (S_ISBLK (st1.st_mode) && S_ISBLK (st2.st_mode) &&
        st1.st_rdev == st2.st_rdev))) {
    fprintf (stderr, "%s: error: %s: the output is the input disk\n",
             program, out);
    return EXIT_FAILURE;
  }
  if (strncmp (in, "nbd:", 4) == 0 || strncmp (in, "nbd+", 4) == 0) {
    fprintf (stderr, "%s: error: %s: copying mode reads local files only\n",
             program, in);
    return EXIT_FAILURE;
  }
  if (resolve_output (out, &op) == -1)
    goto out;

  /* Check and probe the input (safely) without launching. */
  h = new_handle (o, bar);
  if (gbox_add_drive (h, in, o->format, 1) == -1) {
    gbox_opts_print_error (o, h);
    gbox_close (h);
    goto out;
  }
  informat = strdup (gbox_drive_format (h, 0));
  gbox_close (h);
  absin = realpath (in, NULL);
  if (informat == NULL || absin == NULL) {
    fprintf (stderr, "%s: error: %s: %s\n", program, in, strerror (errno));
    goto out;
  }
  outformat = so->convert ? so->convert : informat;
  if (so->compress && strcmp (outformat, "qcow2") != 0) {
    fprintf (stderr, "%s: error: --compress needs qcow2 output (use "
             "--convert qcow2)\n", program);
    goto out;
  }
  if (virtual_size (absin, informat, &vsize) == -1) {
    fprintf (stderr, "%s: error: %s: cannot read the disk image (format "
             "%s)\n", program, in, informat);
    goto out;
  }
  if (o->verbose)
    fprintf (stderr, "%s: debug: input disk virtual size is %" PRIu64
             " bytes\n", program, vsize);

  if (tmp_place (so, &tmpkind, &tmpbase) == -1)
    goto out;
  if (tmpkind == TMP_DIR) {
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
    if ((size_t) snprintf (sig_overlay, sizeof sig_overlay,
                           "%s/overlay.qcow2", sig_tmpdir)
        >= sizeof sig_overlay) {
      fprintf (stderr, "%s: error: %s: name too long\n", program, tmpbase);
      sig_overlay[0] = '\0';
      goto out;
    }
    overlay = sig_overlay;
  }
  else
    overlay = tmpbase;

  /* The overlay: its backing node is the input, named exactly (format
   * given, never probed) and read-only.  A prebuilt one is used as it
   * is. */
  /* Only our own overlay has clusters as small as a filesystem block. */
  so->discard_zeroes = tmpkind != TMP_PREBUILT;
  if (tmpkind != TMP_PREBUILT) {
    char *abso = realpath (tmpkind == TMP_DIR ? sig_tmpdir : overlay, NULL);
    char *opath = NULL;

    /* qemu-img create has no JSON form: an absolute name, never read
     * as a protocol. */
    if (abso != NULL && tmpkind == TMP_DIR) {
      if (asprintf (&opath, "%s/overlay.qcow2", abso) == -1)
        opath = NULL;
    }
    else
      opath = abso ? strdup (abso) : NULL;
    free (abso);
    backing = image_json (informat, absin, true);
    if (backing == NULL || opath == NULL) {
      fprintf (stderr, "%s: error: %s: %s\n", program, in, strerror (errno));
      free (opath);
      goto out;
    }
    {
      char *const argv[] = {
        (char *) qemu_img (), (char *) "create", (char *) "-q",
        (char *) "-f", (char *) "qcow2", (char *) "-o",
        /* Clusters no larger than a filesystem block: the guest's
         * discards of free blocks then become whole zero clusters. */
        (char *) "compat=1.1,cluster_size=4096",
        (char *) "-b", backing, (char *) "-F", informat, opath, NULL
      };
      if (run_qemu_img (argv, NULL, err, sizeof err) == -1) {
        fprintf (stderr, "%s: error: %s: cannot make the overlay: %s\n",
                 program, in, err);
        free (opath);
        goto out;
      }
    }
    free (opath);
  }

  /* Zero the free space in the appliance, through the overlay. */
  h = new_handle (o, bar);
  if (gbox_add_drive (h, overlay, "qcow2", 0) == -1 ||
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

  /* The target: a temporary file next to OUT (renamed at the end), or
   * the block device itself. */
  if (op.blockdev)
    absout = strdup (op.path);
  else {
    char *dir = strdup (op.path), *slash, *base;
    const char *name;

    if (dir == NULL)
      goto nomem;
    slash = strrchr (dir, '/');
    name = slash ? slash + 1 : dir;
    if (slash == dir)
      base = strdup ("/");
    else {
      if (slash)
        *slash = '\0';
      base = realpath (slash ? dir : ".", NULL);
    }
    if (base == NULL ||
        (size_t) snprintf (sig_out_tmp, sizeof sig_out_tmp,
                           "%s/%s.tmp.XXXXXX",
                           strcmp (base, "/") == 0 ? "" : base, name)
        >= sizeof sig_out_tmp) {
      fprintf (stderr, "%s: error: %s: %s\n", program, out,
               base ? "name too long" : strerror (errno));
      sig_out_tmp[0] = '\0';
      free (base);
      free (dir);
      goto out;
    }
    free (base);
    free (dir);
    fd = mkstemp (sig_out_tmp);
    if (fd == -1) {
      fprintf (stderr, "%s: error: %s: %s\n", program, sig_out_tmp,
               strerror (errno));
      sig_out_tmp[0] = '\0';
      goto out;
    }
    /* The mode a new file gets from qemu-img (0644 less the umask), or
     * the mode (and owner, where allowed) of the file it replaces. */
    if (op.exists) {
      if (fchown (fd, op.st.st_uid, op.st.st_gid) == -1 && o->verbose)
        fprintf (stderr, "%s: debug: %s: keeping the owner: %s\n", program,
                 out, strerror (errno));
      fchmod (fd, op.st.st_mode & 07777);
    }
    else
      fchmod (fd, 0644 & ~so->umask);
    close (fd);
    absout = strdup (sig_out_tmp);
  }
  if (absout == NULL)
    goto nomem;
  if (create_target (so, out, absout, op.blockdev, outformat, vsize) == -1)
    goto out;
  src = image_json ("qcow2", overlay, true);
  dst = image_json (outformat, absout, false);
  if (src == NULL || dst == NULL)
    goto nomem;

  say (so, "Copying to %s (%s)\n", out, outformat);
  {
    char *argv[20];
    size_t n = 0;

    argv[n++] = (char *) qemu_img ();
    argv[n++] = (char *) "convert";
    if (gbox_progress_bar_enabled (bar))
      argv[n++] = (char *) "-p";
    /* Into the target made above; a new one is all zeros. */
    argv[n++] = (char *) "-n";
    if (!op.blockdev)
      argv[n++] = (char *) "--target-is-zero";
    argv[n++] = src;
    argv[n++] = (char *) "-O";
    argv[n++] = (char *) outformat;
    if (so->compress)
      argv[n++] = (char *) "-c";
    argv[n++] = dst;
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
  fd = open (absout, O_RDONLY | O_CLOEXEC);
  if (fd == -1 || fsync (fd) == -1) {
    fprintf (stderr, "%s: error: %s: sync: %s\n", program, out,
             strerror (errno));
    if (fd >= 0)
      close (fd);
    goto out;
  }
  close (fd);
  if (!op.blockdev) {
    if (rename (sig_out_tmp, op.path) == -1) {
      fprintf (stderr, "%s: error: %s: rename: %s\n", program, out,
               strerror (errno));
      goto out;
    }
    sig_out_tmp[0] = '\0';
  }
  gbox_human_size (allocated (in), hin);
  gbox_human_size (allocated (op.path), hout);
  say (so, "Sparsify operation completed with no errors (allocated: %s "
       "-> %s).\n", hin, hout);
  r = EXIT_SUCCESS;
  goto out;

 nomem:
  fprintf (stderr, "%s: error: %s\n", program, strerror (errno));
 out:
  remove_temps ();
  sig_overlay[0] = sig_tmpdir[0] = sig_out_tmp[0] = '\0';
  free (informat);
  free (backing);
  free (absin);
  free (absout);
  free (src);
  free (dst);
  free (op.path);
  return r;
}

int
main (int argc, char *argv[])
{
  static const char short_options[] = "o:qvVx";
  static const struct option long_options[] = {
    { "check-tmpdir", required_argument, NULL, OPT_CHECK_TMPDIR },
    { "color", no_argument, NULL, OPT_COLOR },
    { "colors", no_argument, NULL, OPT_COLOR },
    { "colour", no_argument, NULL, OPT_COLOR },
    { "colours", no_argument, NULL, OPT_COLOR },
    { "compress", no_argument, NULL, OPT_COMPRESS },
    { "convert", required_argument, NULL, OPT_CONVERT },
    { "debug-gc", no_argument, NULL, OPT_DEBUG_GC },
    { "echo-keys", no_argument, NULL, GBOX_OPT_ECHO_KEYS },
    { "format", optional_argument, NULL, GBOX_OPT_FORMAT },
    { "help", no_argument, NULL, GBOX_OPT_HELP },
    { "ignore", required_argument, NULL, OPT_IGNORE },
    { "in-place", no_argument, NULL, OPT_IN_PLACE },
    { "inplace", no_argument, NULL, OPT_IN_PLACE },
    { "key", required_argument, NULL, GBOX_OPT_KEY },
    { "keys-from-stdin", no_argument, NULL, GBOX_OPT_KEYS_FROM_STDIN },
    { "long-options", no_argument, NULL, GBOX_OPT_LONG_OPTIONS },
    { "machine-readable", optional_argument, NULL, OPT_MACHINE_READABLE },
    { "quiet", no_argument, NULL, 'q' },
    { "short-options", no_argument, NULL, GBOX_OPT_SHORT_OPTIONS },
    { "tmp", required_argument, NULL, OPT_TMP },
    { "verbose", no_argument, NULL, 'v' },
    { "version", no_argument, NULL, 'V' },
    { "wrap", no_argument, NULL, OPT_WRAP },
    { "zero", required_argument, NULL, OPT_ZERO },
    { NULL, 0, NULL, 0 }
  };
  struct gbox_opts o;
  struct sp_opts so = { .check_tmpdir = CHECK_WARN };
  FILE *machine = NULL;
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
      /* The words and abbreviations libguestfs takes. */
      so.check_tmpdir_given = true;
      if (strcmp (optarg, "ignore") == 0 || strcmp (optarg, "i") == 0)
        so.check_tmpdir = CHECK_IGNORE;
      else if (strcmp (optarg, "continue") == 0 ||
               strcmp (optarg, "cont") == 0 || strcmp (optarg, "c") == 0)
        so.check_tmpdir = CHECK_CONTINUE;
      else if (strcmp (optarg, "warn") == 0 ||
               strcmp (optarg, "warning") == 0 || strcmp (optarg, "w") == 0)
        so.check_tmpdir = CHECK_WARN;
      else if (strcmp (optarg, "fail") == 0 || strcmp (optarg, "f") == 0 ||
               strcmp (optarg, "error") == 0)
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
    case OPT_ZERO:
      nl = realloc (so.zero, (so.nr_zero + 1) * sizeof *so.zero);
      if (nl == NULL) {
        perror ("realloc");
        exit (EXIT_FAILURE);
      }
      so.zero = nl;
      so.zero[so.nr_zero++] = optarg;
      break;
    case OPT_MACHINE_READABLE:
      optarg = (char *) gbox_opts_optional_value (
        &o, optarg, gbox_opts_is_machine_readable_word);
      machine = gbox_opts_machine_readable (program, optarg);
      if (machine == NULL)
        usage (EXIT_FAILURE);
      break;
    case OPT_COLOR: case OPT_WRAP: case OPT_DEBUG_GC:
      /* Accepted for libguestfs's command lines: guestbox prints no
       * colours and does not wrap, and has no OCaml GC to debug. */
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

  /* --machine-readable alone: what this virt-sparsify can do, in
   * libguestfs's words (ntfs and btrfs when the appliance gets the
   * host's programs for them). */
  if (machine && optind == argc) {
    char *p;

    fputs ("virt-sparsify\nlinux-swap\nzero\ncheck-tmpdir\nin-place\n"
           "tmp-option\n", machine);
    if ((p = gbox_app_find_program ("ntfs-3g")) != NULL) {
      fputs ("ntfs\n", machine);
      free (p);
    }
    if ((p = gbox_app_find_program ("btrfs")) != NULL) {
      fputs ("btrfs\n", machine);
      free (p);
    }
    if (fflush (machine) == EOF || ferror (machine))
      exit (EXIT_FAILURE);
    exit (EXIT_SUCCESS);
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
    if (so.check_tmpdir_given) {
      fprintf (stderr, "%s: error: you cannot use --in-place and "
               "--check-tmpdir options together\n", program);
      usage (EXIT_FAILURE);
    }
  }
  else if (argc - optind != 2) {
    fprintf (stderr, "%s: error: expected an input and an output disk "
             "image\n", program);
    usage (EXIT_FAILURE);
  }

  so.umask = umask (022);
  umask (so.umask);
  install_signal_handlers ();
  bar = gbox_progress_bar_new (!so.quiet);
  if (so.in_place)
    r = in_place (&o, &so, bar, argv[optind]);
  else
    r = copying (&o, &so, bar, argv[optind], argv[optind + 1]);
  gbox_progress_bar_free (bar);
  free (so.ignore);
  free (so.zero);
  gbox_opts_free (&o);
  exit (r);
}
