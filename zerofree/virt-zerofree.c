/* guestbox - virt-zerofree: zero the free space of filesystems.
 * Copyright (C) 2026 the guestbox authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

/**
 * virt-zerofree -a disk.img [--filesystem DEV ...]: boots the appliance
 * with the disks writable and, for every filesystem (or the named ones),
 * overwrites free space that is not already zero with zeros, so that
 * the image compresses and sparsifies well.  ext2/3/4 filesystems are
 * done unmounted by the daemon with libext2fs (only free blocks that
 * are not zero are written); other filesystems are mounted and filled
 * with a file of zeros that is then removed (skipped with --ext-only),
 * or, on a raw image file whose host filesystem punches holes, their
 * free space is discarded (fstrim), which qemu turns into holes: the
 * same zeros without writing them through the emulated CPU.
 * One line per filesystem reports what was scanned and zeroed.
 */

#include <config.h>

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <rpc/xdr.h>

#include "guestbox.h"
#include "options.h"
#include "output.h"
#include "progress.h"
#include "fstypes.h"

static const char program[] = "virt-zerofree";

enum {
  OPT_DRY_RUN = GBOX_OPT_FIRST_FREE,
  OPT_EXT_ONLY,
  OPT_FILESYSTEM,
  OPT_FSCK,
};

struct zf_opts {
  bool dry_run;
  bool ext_only;
  bool fsck;
  bool quiet;
  char **filesystems;           /* --filesystem list, or NULL = all */
  size_t nr_filesystems;
  bool *discard;                /* per drive: its discards read as zeros */
  size_t nr_drives;
};

/* Whether discards into drive SOURCE (format FORMAT) read back as
 * zeros: a raw regular file on a host filesystem that punches holes
 * (probed past the end of the file, which changes nothing).  qemu
 * ignores a discard that the file cannot punch, so anything else is
 * filled. */
static bool
discard_zeroes (const char *source, const char *format)
{
  struct stat st;
  off_t past;
  int fd, r;

  if (format == NULL || strcmp (format, "raw") != 0)
    return false;
  fd = open (source, O_WRONLY | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY);
  if (fd == -1)
    return false;
  if (fstat (fd, &st) == -1 || !S_ISREG (st.st_mode)) {
    close (fd);
    return false;
  }
  past = (st.st_size + 65535) / 65536 * 65536 + 65536;
  r = fallocate (fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, past, 65536);
  close (fd);
  return r == 0;
}

/* The drive index of user device DEV (/dev/sdX or /dev/sdXN), or -1. */
static long
drive_of_device (const char *dev)
{
  const char *p;
  long i = 0;

  if (strncmp (dev, "/dev/sd", 7) != 0)
    return -1;
  for (p = dev + 7; *p >= 'a' && *p <= 'z'; ++p) {
    if (i > 100000)
      return -1;
    i = i * 26 + (*p - 'a' + 1);
  }
  if (p == dev + 7)
    return -1;
  return i - 1;
}

static void __attribute__((noreturn))
usage (int status)
{
  if (status != EXIT_SUCCESS)
    fprintf (stderr, "Try '%s --help' for more information.\n", program);
  else
    printf ("%s: zero the free space of the filesystems of a disk image\n"
            "Usage:\n"
            "  %s [--options] -a disk.img [-a disk.img ...]\n"
            "Options:\n"
            "  -a|--add image       Add image\n"
            "  -c|--connect uri     Specify libvirt URI for -d option\n"
            "  -d|--domain guest    Add disks from libvirt guest\n"
            "  --dry-run            Count what would be zeroed, write nothing\n"
            "  --echo-keys          Show keys typed on the terminal\n"
            "  --ext-only           Only ext2/3/4 filesystems\n"
            "  --filesystem dev     Only this filesystem (repeatable)\n"
            "  --format[=raw|..]    Force disk format for -a option\n"
            "  --fsck               Check and repair ext filesystems first\n"
            "  --help               Display brief help\n"
            "  --key ID:key:KEY     Key of a LUKS device (or ID:file:FILE)\n"
            "  --keys-from-stdin    Read LUKS keys from stdin\n"
            "  -q|--quiet           No progress bars\n"
            "  -v|--verbose         Verbose messages\n"
            "  -V|--version         Display version and exit\n"
            "  -x                   Trace each call to the appliance\n"
            "For more information, see the manpage %s(1).\n",
            program, program, program);
  exit (status);
}

static void
human (uint64_t bytes, char *buf)
{
  gbox_human_size (bytes, buf);
}

static int
zero_ext (gbox_h *h, struct gbox_opts *o, struct zf_opts *zo,
          struct gbox_progress_bar *bar, const char *dev, const char *type)
{
  struct gbox_zerofree_ret r;
  char hz[GBOX_HUMAN_BUFLEN], hs[GBOX_HUMAN_BUFLEN];

  if (zo->fsck && !zo->dry_run) {
    struct gbox_e2fsck_ret f;
    int st;

    if (gbox_e2fsck (h, dev, 1, &f) == -1) {
      gbox_opts_print_error (o, h);
      return -1;
    }
    st = f.status;
    if (st >= 4) {
      fprintf (stderr, "%s: error: %s: e2fsck could not repair the "
               "filesystem (exit status %d)\n", program, dev, st);
      if (o->verbose)
        fprintf (stderr, "%s", f.output);
      xdr_free ((xdrproc_t) xdr_gbox_e2fsck_ret, (char *) &f);
      return -1;
    }
    if (st != 0)
      printf ("%s: e2fsck repaired the filesystem (exit status %d)\n",
              dev, st);
    xdr_free ((xdrproc_t) xdr_gbox_e2fsck_ret, (char *) &f);
  }

  gbox_progress_bar_set_label (bar, dev);
  if (gbox_zerofree (h, dev, zo->dry_run, &r) == -1) {
    gbox_progress_bar_done (bar);
    gbox_opts_print_error (o, h);
    return -1;
  }
  gbox_progress_bar_done (bar);
  human ((uint64_t) r.zeroed * r.block_size, hz);
  human ((uint64_t) r.scanned * r.block_size, hs);
  printf ("%s: %s: %" PRIu64 " free blocks of %" PRIu64 " bytes scanned "
          "(%s), %" PRIu64 " %s (%s)\n", dev, type,
          (uint64_t) r.scanned, (uint64_t) r.block_size, hs,
          (uint64_t) r.zeroed, zo->dry_run ? "would be zeroed" : "zeroed", hz);
  return 0;
}

static int
zero_fill (gbox_h *h, struct gbox_opts *o, struct zf_opts *zo,
           struct gbox_progress_bar *bar, const char *dev, const char *type)
{
  uint64_t bytes = 0;
  char hb[GBOX_HUMAN_BUFLEN];
  int r = 0;

  if (gbox_mount (h, dev, "/", zo->dry_run ? "ro" : "", type) == -1) {
    gbox_opts_print_error (o, h);
    return -1;
  }
  if (zo->dry_run) {
    struct gbox_statvfs sv;

    if (gbox_statvfs_path (h, "/", &sv) == -1) {
      gbox_opts_print_error (o, h);
      r = -1;
    }
    else {
      human ((uint64_t) sv.bfree * sv.frsize, hb);
      printf ("%s: %s: %s of free space would be filled with zeros\n",
              dev, type, hb);
    }
  }
  else {
    long d = drive_of_device (dev);

    gbox_progress_bar_set_label (bar, dev);
    if (d >= 0 && (size_t) d < zo->nr_drives && zo->discard[d]) {
      if (gbox_discard_free_space (h, "/", &bytes) == 0) {
        gbox_progress_bar_done (bar);
        if (o->verbose)
          fprintf (stderr, "%s: %s: zeroed by discard (fstrim), %" PRIu64
                   " bytes\n", program, dev, bytes);
        human (bytes, hb);
        printf ("%s: %s: free space discarded (%s)\n", dev, type, hb);
        goto umount;
      }
      if (gbox_last_errno (h) != EOPNOTSUPP) {
        gbox_progress_bar_done (bar);
        gbox_opts_print_error (o, h);
        r = -1;
        goto umount;
      }
      if (o->verbose)
        fprintf (stderr, "%s: %s: not discarded (%s): filling with zeros\n",
                 program, dev, gbox_last_error (h));
    }
    else if (o->verbose)
      fprintf (stderr, "%s: %s: filling with zeros (the disk's discards "
               "would not read back as zeros)\n", program, dev);
    if (gbox_zero_free_space (h, "/", &bytes) == -1) {
      gbox_progress_bar_done (bar);
      gbox_opts_print_error (o, h);
      r = -1;
    }
    else {
      gbox_progress_bar_done (bar);
      human (bytes, hb);
      printf ("%s: %s: free space filled with zeros (%s)\n", dev, type, hb);
    }
  }
 umount:
  if (gbox_umount_all (h) == -1) {
    gbox_opts_print_error (o, h);
    r = -1;
  }
  return r;
}

static int
do_zerofree (gbox_h *h, struct gbox_opts *o, struct zf_opts *zo,
             struct gbox_progress_bar *bar)
{
  struct gbox_list_filesystems_ret fsl;
  size_t i, j;
  int errors = 0;

  /* md RAID arrays (read-write unless --dry-run), LVM, and the LUKS
   * devices opened with their keys: their filesystems are zeroed too. */
  if (gbox_opts_storage (h, o) == -1) {
    gbox_opts_print_error (o, h);
    return -1;
  }
  memset (&fsl, 0, sizeof fsl);
  if (gbox_list_filesystems (h, &fsl) == -1) {
    gbox_opts_print_error (o, h);
    return -1;
  }

  /* Every --filesystem must exist. */
  for (j = 0; j < zo->nr_filesystems; ++j) {
    bool found = false;
    for (i = 0; i < fsl.filesystems.filesystems_len; ++i)
      if (strcmp (fsl.filesystems.filesystems_val[i].device,
                  zo->filesystems[j]) == 0)
        found = true;
    if (!found) {
      fprintf (stderr, "%s: error: %s: no such filesystem (the disks "
               "hold:", program, zo->filesystems[j]);
      for (i = 0; i < fsl.filesystems.filesystems_len; ++i)
        fprintf (stderr, " %s", fsl.filesystems.filesystems_val[i].device);
      fprintf (stderr, "%s)\n", i == 0 ? " none" : "");
      errors++;
    }
  }
  if (errors) {
    xdr_free ((xdrproc_t) xdr_gbox_list_filesystems_ret, (char *) &fsl);
    return -1;
  }

  for (i = 0; i < fsl.filesystems.filesystems_len; ++i) {
    const struct gbox_filesystem *fs = &fsl.filesystems.filesystems_val[i];
    bool named = zo->nr_filesystems == 0;

    for (j = 0; j < zo->nr_filesystems; ++j)
      if (strcmp (fs->device, zo->filesystems[j]) == 0)
        named = true;
    if (!named)
      continue;

    if (gbox_fstype_has (fs->type, GBOX_FS_EXT)) {
      if (zero_ext (h, o, zo, bar, fs->device, fs->type) == -1)
        errors++;
    }
    else if (gbox_fstype_has (fs->type, GBOX_FS_FILL) && !zo->ext_only) {
      if (zero_fill (h, o, zo, bar, fs->device, fs->type) == -1)
        errors++;
    }
    else if (zo->nr_filesystems > 0) {
      fprintf (stderr, "%s: error: %s: cannot zero a filesystem of type "
               "%s%s\n", program, fs->device, fs->type,
               zo->ext_only ? " (--ext-only)" : "");
      errors++;
    }
    else if (o->verbose)
      fprintf (stderr, "%s: %s: %s: skipped\n", program, fs->device,
               fs->type);
  }
  xdr_free ((xdrproc_t) xdr_gbox_list_filesystems_ret, (char *) &fsl);
  return errors ? -1 : 0;
}

int
main (int argc, char *argv[])
{
  static const char short_options[] = "a:c:d:qvVx";
  static const struct option long_options[] = {
    { "add", required_argument, NULL, 'a' },
    { "blocksize", required_argument, NULL, GBOX_OPT_BLOCKSIZE },
    { "dry-run", no_argument, NULL, OPT_DRY_RUN },
    { "echo-keys", no_argument, NULL, GBOX_OPT_ECHO_KEYS },
    { "ext-only", no_argument, NULL, OPT_EXT_ONLY },
    { "filesystem", required_argument, NULL, OPT_FILESYSTEM },
    { "format", optional_argument, NULL, GBOX_OPT_FORMAT },
    { "fsck", no_argument, NULL, OPT_FSCK },
    { "help", no_argument, NULL, GBOX_OPT_HELP },
    { "key", required_argument, NULL, GBOX_OPT_KEY },
    { "keys-from-stdin", no_argument, NULL, GBOX_OPT_KEYS_FROM_STDIN },
    { "long-options", no_argument, NULL, GBOX_OPT_LONG_OPTIONS },
    { "quiet", no_argument, NULL, 'q' },
    { "short-options", no_argument, NULL, GBOX_OPT_SHORT_OPTIONS },
    { "verbose", no_argument, NULL, 'v' },
    { "version", no_argument, NULL, 'V' },
    GBOX_OPTS_LIBVIRT_LONG,
    { NULL, 0, NULL, 0 }
  };
  struct gbox_opts o;
  struct zf_opts zo = { 0 };
  struct gbox_progress_bar *bar;
  gbox_h *h;
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
    case OPT_DRY_RUN:
      zo.dry_run = true;
      break;
    case OPT_EXT_ONLY:
      zo.ext_only = true;
      break;
    case OPT_FSCK:
      zo.fsck = true;
      break;
    case 'q':
      zo.quiet = true;
      break;
    case OPT_FILESYSTEM:
      if (strncmp (optarg, "/dev/", 5) != 0 || strlen (optarg) > 255) {
        fprintf (stderr, "%s: error: --filesystem %s: expected a device "
                 "name such as /dev/sda1\n", program, optarg);
        usage (EXIT_FAILURE);
      }
      nl = realloc (zo.filesystems,
                    (zo.nr_filesystems + 1) * sizeof *zo.filesystems);
      if (nl == NULL) {
        perror ("realloc");
        exit (EXIT_FAILURE);
      }
      zo.filesystems = nl;
      zo.filesystems[zo.nr_filesystems++] = optarg;
      break;
    case GBOX_OPT_HELP:
      usage (EXIT_SUCCESS);
    default:
      usage (EXIT_FAILURE);
    }
  }

  /* --dry-run writes nothing: arrays and LUKS devices open read-only. */
  o.readonly = zo.dry_run;
  if (gbox_opts_check (&o) == -1)
    usage (EXIT_FAILURE);
  if (optind < argc) {
    fprintf (stderr, "%s: error: extra argument '%s' on the command line\n",
             program, argv[optind]);
    usage (EXIT_FAILURE);
  }

  gbox_install_signal_handlers ();

  h = gbox_opts_new_handle (&o);
  bar = gbox_progress_bar_new (!zo.quiet);
  /* Always asked for: progress messages also show the daemon is busy. */
  gbox_set_progress_callback (h, gbox_progress_bar_callback, bar);

  r = gbox_opts_add_drives (h, &o, zo.dry_run);
  if (r == 0 && !zo.dry_run) {
    size_t i;

    zo.nr_drives = gbox_nr_drives (h);
    zo.discard = calloc (zo.nr_drives + 1, sizeof *zo.discard);
    if (zo.discard == NULL) {
      perror ("calloc");
      exit (EXIT_FAILURE);
    }
    for (i = 0; i < zo.nr_drives && i < o.nr_drives && r == 0; ++i)
      if (discard_zeroes (o.drives[i].source, gbox_drive_format (h, i))) {
        zo.discard[i] = true;
        r = gbox_drive_set_discard (h, i, 1);
      }
  }
  if (r == -1 || gbox_launch (h) == -1) {
    gbox_opts_print_error (&o, h);
    gbox_close (h);
    gbox_progress_bar_free (bar);
    gbox_opts_free (&o);
    exit (EXIT_FAILURE);
  }

  r = do_zerofree (h, &o, &zo, bar);

  /* The shutdown syncs the disks: a failure there is a failure. */
  if (gbox_shutdown (h) == -1) {
    gbox_opts_print_error (&o, h);
    r = -1;
  }
  gbox_close (h);
  gbox_progress_bar_free (bar);
  free (zo.filesystems);
  free (zo.discard);
  gbox_opts_free (&o);
  exit (r == 0 ? EXIT_SUCCESS : EXIT_FAILURE);
}
