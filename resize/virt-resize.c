/* guestbox - virt-resize: copy a disk to a larger (or smaller) one.
 * Copyright (C) 2026 the guestbox authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

/**
 * virt-resize [options] IN OUT: OUT exists already (truncate -s,
 * qemu-img create).  The steps, in this order so that a run that fails
 * or is killed never leaves an OUT that looks complete:
 *
 *  1. boot the appliance with IN read-only and OUT read-write; read the
 *     source table (part_get_layout) and the content of each partition
 *     (content_info, from the superblocks);
 *  2. plan (plan.c) and print the summary; stop here with --dry-run;
 *  3. wipe the places where OUT's table lives (part_wipe);
 *  4. copy the boot loader gap and each partition, skipping zero blocks:
 *     on the host when IN and OUT are both raw files (opaque bytes, read
 *     with SEEK_DATA/SEEK_HOLE), else in the appliance (copy_range);
 *  5. grow the content (resize_content: resize2fs, xfs_growfs, btrfs,
 *     ntfsresize, mkswap keeping UUID and label) through a loop device
 *     over the partition's range, as no table exists yet;
 *  6. write the target table last (part_set_layout), sector 0 last of
 *     all.
 */

#include <config.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <time.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/ioctl.h>
#include <linux/fs.h>
#include <rpc/xdr.h>

#include "guestbox.h"
#include "guestbox-internal.h"
#include "appliance-internal.h"
#include "cleanups.h"
#include "options.h"
#include "output.h"
#include "progress.h"
#include "resize.h"
#include "fstypes.h"

static const char program[] = "virt-resize";

enum {
  OPT_ALIGN_FIRST = GBOX_OPT_FIRST_FREE,
  OPT_DELETE,
  OPT_EXPAND,
  OPT_IGNORE,
  OPT_LV_EXPAND,
  OPT_MACHINE_READABLE,
  OPT_NO_EXPAND_CONTENT,
  OPT_NO_SPARSE,
  OPT_NTFSRESIZE_FORCE,
  OPT_OUTPUT_FORMAT,
  OPT_RESIZE,
  OPT_SHRINK,
  OPT_ALIGNMENT,
  OPT_NO_EXTRA_PARTITION,
  OPT_RESIZE_FORCE,
  OPT_NO_COPY_BOOT_LOADER,
  OPT_UNKNOWN_FILESYSTEMS,
  OPT_COLOR,
  OPT_WRAP,
};

enum unknown_fs { UNKNOWN_FS_IGNORE, UNKNOWN_FS_WARN, UNKNOWN_FS_ERROR };

/* The requests of the command line, applied once the table is known. */
struct request {
  int opt;
  char *arg;
};

struct settings {
  struct request *reqs;
  size_t nreqs;
  enum rz_align_first align_first;
  uint32_t alignment;           /* --alignment sectors, 0: the default */
  bool dry_run, quiet, machine, sparse, expand_content, ntfs_force;
  bool no_extra, copy_boot_loader;
  enum unknown_fs unknown_fs;
  FILE *machine_fp;             /* --machine-readable[=FORMAT] */
  const char *in_format, *out_format;
  const char *in, *out;
};

static void __attribute__((noreturn))
usage (int status)
{
  if (status != EXIT_SUCCESS)
    fprintf (stderr, "Try '%s --help' for more information.\n", program);
  else
    printf ("%s: resize a virtual machine disk\n"
            "Usage:\n"
            "  %s [--options] indisk outdisk\n"
            "Options:\n"
            "  --align-first auto|never|always\n"
            "                       Align the first partition (default auto)\n"
            "  --alignment sectors  Partition alignment (default: 1 MiB)\n"
            "  --color|--colours    Accepted (no colours are used)\n"
            "  -d|--debug           Debug messages (as -v)\n"
            "  --delete part        Delete partition\n"
            "  --expand part        Expand partition to take the surplus\n"
            "  --format format      Format of the input disk\n"
            "  --help               Display brief help\n"
            "  --ignore part        Ignore partition (not copied)\n"
            "  --lv-expand|--LV-expand|--lvexpand|--LVexpand lv\n"
            "                       Expand logical volume /dev/VG/LV\n"
            "  --machine-readable[=format]\n"
            "                       Make output machine readable\n"
            "  -n|--dry-run|--dryrun\n"
            "                       Only print the summary of changes\n"
            "  --no-copy-boot-loader\n"
            "                       Do not copy the boot loader area\n"
            "  --no-expand-content  Do not expand the content of partitions\n"
            "  --no-extra-partition Do not create an extra partition\n"
            "  --no-sparse          Write zero blocks too\n"
            "  --ntfsresize-force   Resize NTFS even when marked for chkdsk\n"
            "  --output-format format\n"
            "                       Format of the output disk\n"
            "  -q|--quiet           No summary, no progress messages\n"
            "  --resize part=size   Resize partition (SIZE, +SIZE, -SIZE, N%%)\n"
            "  --resize-force part=size\n"
            "                       Resize, even shrinking below the content\n"
            "  --shrink part        Shrink partition to make up a deficit\n"
            "  --unknown-filesystems ignore|warn|error\n"
            "                       When a filesystem cannot be expanded\n"
            "  -v|--verbose         Verbose messages\n"
            "  -V|--version         Display version and exit\n"
            "  --wrap               Accepted (messages are not wrapped)\n"
            "  -x                   Trace each call to the appliance\n"
            "For more information, see the manpage %s(1).\n",
            program, program, program);
  exit (status);
}

static double t_start;

static double
now (void)
{
  struct timespec ts;

  clock_gettime (CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void
machine_message (const struct settings *s, const char *type, const char *msg)
{
  char ts[64];
  time_t t = time (NULL);
  struct tm tm;

  if (!s->machine)
    return;
  gmtime_r (&t, &tm);
  strftime (ts, sizeof ts, "%Y-%m-%dT%H:%M:%S+00:00", &tm);
  fputs ("{ \"message\": ", s->machine_fp);
  gbox_json_write_string (s->machine_fp, msg);
  fprintf (s->machine_fp, ", \"timestamp\": \"%s\", \"type\": \"%s\" }\n",
           ts, type);
  fflush (s->machine_fp);
}

/* "[  12.3] Copying /dev/sda1" progress lines, unless -q. */
static void
phase (const struct settings *s, const char *fs, ...)
{
  char msg[512];
  va_list ap;

  va_start (ap, fs);
  vsnprintf (msg, sizeof msg, fs, ap);
  va_end (ap);
  machine_message (s, "message", msg);
  if (!s->quiet && !s->machine)
    printf ("[%6.1f] %s\n", now () - t_start, msg);
  fflush (stdout);
}

static void
info (const struct settings *s, const char *fs, ...)
{
  char msg[1024];
  va_list ap;

  va_start (ap, fs);
  vsnprintf (msg, sizeof msg, fs, ap);
  va_end (ap);
  machine_message (s, "info", msg);
  printf ("%s: %s\n\n", program, msg);
}

/* virt-resize's name of the way TYPE is grown, or "?". */
static const char *
method (const char *type)
{
  const struct gbox_fstype *t = gbox_fstype_find (type);

  return t && t->grow ? t->grow : "?";
}

static void
print_summary (const struct settings *s, const struct rz_plan *p)
{
  size_t i;
  char h1[32], h2[32];

  printf ("**********\n\nSummary of changes:\n\n");
  if (p->first_moved)
    info (s, "The first partition will be moved to %" PRIu64
          " bytes (aligned to 1 MiB).", p->parts[0].new_start);
  for (i = 0; i < p->nparts; ++i) {
    const struct rz_part *r = &p->parts[i];
    char num[64] = "";

    if (r->op != RZ_DELETE && r->new_num != r->src->num)
      snprintf (num, sizeof num, "  It will be /dev/sda%d on the target.",
                r->new_num);
    if (r->op == RZ_DELETE)
      info (s, "%s: This partition will be deleted.", r->name);
    else if (r->op == RZ_IGNORE)
      info (s, "%s: This partition will be created, but the contents will "
            "be ignored (ie. not copied to the target).%s", r->name, num);
    else if (r->new_size == r->src->size ||
             (r->extended && r->new_size == r->src->size))
      info (s, "%s: This partition will be left alone.%s", r->name, num);
    else if (r->resize_content && strcmp (r->type, "LVM2_member") == 0)
      info (s, "%s: This partition will be resized from %s to %s.  The LVM "
            "PV on %s will be expanded using the ‘pvresize’ method.%s",
            r->name, rz_human (r->src->size, h1, sizeof h1),
            rz_human (r->new_size, h2, sizeof h2), r->name, num);
    else if (r->resize_content && strcmp (r->type, "swap") == 0)
      info (s, "%s: This partition will be resized from %s to %s.  The swap "
            "space on %s will be re-made using the ‘mkswap’ method, keeping "
            "its UUID and label.%s", r->name,
            rz_human (r->src->size, h1, sizeof h1),
            rz_human (r->new_size, h2, sizeof h2), r->name, num);
    else if (r->resize_content)
      info (s, "%s: This partition will be resized from %s to %s.  The "
            "filesystem %s on %s will be expanded using the ‘%s’ method.%s",
            r->name, rz_human (r->src->size, h1, sizeof h1),
            rz_human (r->new_size, h2, sizeof h2), r->type, r->name,
            method (r->type), num);
    else
      info (s, "%s: This partition will be resized from %s to %s.%s",
            r->name, rz_human (r->src->size, h1, sizeof h1),
            rz_human (r->new_size, h2, sizeof h2), num);
  }
  for (i = 0; i < p->nparts; ++i) {
    size_t k;
    for (k = 0; k < p->parts[i].nlvs; ++k)
      info (s, "%s: This logical volume will be expanded to maximum size.  "
            "The filesystem on it will be expanded.", p->parts[i].lvs[k]);
  }
  if (p->extra)
    info (s, "There is a surplus of %s.  An extra partition will be created "
          "for the surplus.", rz_human ((uint64_t) p->surplus, h1, sizeof h1));
  else if (p->surplus >= 512 * 1024)
    info (s, "There is a surplus of %s.  The surplus space will be left "
          "unused at the end of the disk.",
          rz_human ((uint64_t) p->surplus, h1, sizeof h1));
  printf ("**********\n");
  fflush (stdout);
}

/* Apply the command-line requests to the plan.  -1 after an error. */
static int
apply_requests (const struct settings *s, struct rz_plan *p)
{
  size_t i;

  for (i = 0; i < s->nreqs; ++i) {
    const struct request *q = &s->reqs[i];
    CLEANUP_FREE char *name = strdup (q->arg);
    char *eq = NULL;
    struct rz_part *r;

    if (!name) {
      perror ("strdup");
      return -1;
    }
    if (q->opt == OPT_LV_EXPAND)
      continue;
    if (q->opt == OPT_RESIZE || q->opt == OPT_RESIZE_FORCE) {
      eq = strchr (name, '=');
      if (!eq) {
        fprintf (stderr, "%s: error: --resize %s: expected PART=SIZE\n",
                 program, q->arg);
        return -1;
      }
      *eq++ = '\0';
    }
    r = rz_plan_find (p, name);
    if (!r) {
      fprintf (stderr, "%s: error: %s: no such partition on the input disk\n",
               program, name);
      return -1;
    }
    switch (q->opt) {
    case OPT_RESIZE: case OPT_RESIZE_FORCE:
      if (rz_parse_size_req (eq, &r->req) == -1) {
        fprintf (stderr, "%s: error: --resize %s: invalid size '%s'\n",
                 program, q->arg, eq);
        return -1;
      }
      /* --resize-force: the content's size no longer limits a shrink
       * (whatever lies past the new end is lost), and the content is
       * not resized. */
      if (q->opt == OPT_RESIZE_FORCE) {
        r->content_size = 0;
        r->type[0] = '\0';
      }
      break;
    case OPT_EXPAND: r->expand = true; break;
    case OPT_SHRINK: r->shrink = true; break;
    case OPT_DELETE: r->op = RZ_DELETE; break;
    case OPT_IGNORE: r->op = RZ_IGNORE; break;
    }
  }
  return 0;
}

static int
read_all_at (int fd, void *buf, size_t len, uint64_t off)
{
  size_t done = 0;

  while (done < len) {
    ssize_t r = pread (fd, (char *) buf + done, len - done, off + done);
    if (r == -1 && errno == EINTR)
      continue;
    if (r <= 0) {
      if (r == 0)
        memset ((char *) buf + done, 0, len - done); /* past EOF: zeros */
      return r == 0 ? 0 : -1;
    }
    done += r;
  }
  return 0;
}

static int
write_all_at (int fd, const void *buf, size_t len, uint64_t off)
{
  size_t done = 0;

  while (done < len) {
    ssize_t r = pwrite (fd, (const char *) buf + done, len - done, off + done);
    if (r == -1 && errno == EINTR)
      continue;
    if (r <= 0)
      return -1;
    done += r;
  }
  return 0;
}

/* Host copy of raw bytes: LEN bytes from IFD at SOFF to OFD at DOFF.
 * Holes are skipped with SEEK_DATA/SEEK_HOLE; zero blocks of the data
 * are not written (unless !SPARSE, then everything is written). */
static int
host_copy (const struct settings *s, int ifd, uint64_t soff, int ofd,
           uint64_t doff, uint64_t len, struct gbox_progress_bar *bar,
           uint64_t *written)
{
  static unsigned char *buf;
  const size_t bufsize = 4 * 1024 * 1024, blk = 4096;
  uint64_t pos = soff, end = soff + len;

  if (!buf && !(buf = malloc (bufsize))) {
    perror ("malloc");
    return -1;
  }
  while (pos < end) {
    uint64_t dend = end;
    if (s->sparse) {
      off_t d = lseek (ifd, pos, SEEK_DATA);
      if (d == -1 && errno == ENXIO)
        break;                          /* only a hole is left */
      if (d != -1) {
        off_t hh;
        if ((uint64_t) d >= end)
          break;
        pos = d;
        hh = lseek (ifd, pos, SEEK_HOLE);
        if (hh != -1 && (uint64_t) hh < end)
          dend = hh;
      }
    }
    while (pos < dend) {
      size_t n = dend - pos < bufsize ? dend - pos : bufsize, o;
      if (read_all_at (ifd, buf, n, pos) == -1) {
        fprintf (stderr, "%s: error: %s: read: %s\n", program, s->in,
                 strerror (errno));
        return -1;
      }
      for (o = 0; o < n; ) {
        size_t b = n - o < blk ? n - o : blk, run;
        bool zero = true;
        size_t k;
        for (k = 0; k < b && zero; k += 8)
          if (b - k >= 8 ? *(uint64_t *) (buf + o + k) != 0
              : buf[o + k] != 0)
            zero = false;
        if (zero && s->sparse) {
          o += b;
          continue;
        }
        run = b;
        if (write_all_at (ofd, buf + o, run, doff + (pos - soff) + o) == -1) {
          fprintf (stderr, "%s: error: %s: write: %s\n", program, s->out,
                   strerror (errno));
          return -1;
        }
        *written += run;
        o += run;
      }
      pos += n;
      gbox_progress_bar_update (bar, pos - soff, len);
    }
  }
  gbox_progress_bar_update (bar, len, len);
  return 0;
}

static uint64_t
file_size (const char *path, int fd)
{
  struct stat st;
  uint64_t sz = 0;

  if (fstat (fd, &st) == -1)
    return 0;
  if (S_ISBLK (st.st_mode)) {
    if (ioctl (fd, BLKGETSIZE64, &sz) == -1)
      return 0;
    return sz;
  }
  (void) path;
  return st.st_size;
}

static int
random_guid (char *buf, size_t len)
{
  unsigned char u[16];
  int fd = open ("/dev/urandom", O_RDONLY | O_CLOEXEC);

  if (fd == -1 || read (fd, u, 16) != 16) {
    if (fd >= 0)
      close (fd);
    return -1;
  }
  close (fd);
  u[7] = (u[7] & 0x0f) | 0x40;  /* version 4, as text field 3 */
  u[8] = (u[8] & 0x3f) | 0x80;
  snprintf (buf, len, "%02X%02X%02X%02X-%02X%02X-%02X%02X-%02X%02X-"
            "%02X%02X%02X%02X%02X%02X", u[0], u[1], u[2], u[3], u[4], u[5],
            u[6], u[7], u[8], u[9], u[10], u[11], u[12], u[13], u[14], u[15]);
  return 0;
}

/* Is FILE a local raw image (so that the host may copy its bytes)? */
static bool
is_local_raw (gbox_h *h, const char *file, const char *format)
{
  CLEANUP_FREE char *probed = NULL, *backing = NULL;

  if (strncmp (file, "nbd:", 4) == 0 || strncmp (file, "nbd+", 4) == 0)
    return false;
  if (format)
    return strcmp (format, "raw") == 0;
  if (gbox_int_probe_format (h, file, &probed, &backing) == -1)
    return false;
  return strcmp (probed, "raw") == 0;
}

/* The copy of one range: on the host, or in the appliance. */
static int
copy_range (gbox_h *h, const struct settings *s, bool host, int ifd, int ofd,
            uint64_t soff, uint64_t doff, uint64_t len,
            struct gbox_progress_bar *bar, uint64_t *written)
{
  uint64_t w = 0;

  if (len == 0)
    return 0;
  if (host)
    return host_copy (s, ifd, soff, ofd, doff, len, bar, written);
  if (gbox_copy_range (h, "/dev/sda", soff, "/dev/sdb", doff, len,
                       s->sparse, &w) == -1) {
    fprintf (stderr, "%s: error: copy: %s\n", program, gbox_last_error (h));
    return -1;
  }
  *written += w;
  return 0;
}

/* Each --lv-expand LV: find the physical volume (a partition of the
 * input) that holds it.  -1 after an error. */
static int
find_lvs (gbox_h *h, const struct settings *s, struct rz_plan *p)
{
  size_t i, j;

  for (i = 0; i < s->nreqs; ++i) {
    const char *lv = s->reqs[i].arg;
    bool found = false;
    if (s->reqs[i].opt != OPT_LV_EXPAND)
      continue;
    for (j = 0; j < p->nparts && !found; ++j) {
      struct rz_part *r = &p->parts[j];
      char **n;
      if (r->op != RZ_KEEP || strcmp (r->type, "LVM2_member") != 0)
        continue;
      if (gbox_lv_expand (h, "/dev/sda", r->src->start, r->src->size, lv,
                          1) == -1) {
        if (gbox_last_errno (h) == EINVAL) {
          fprintf (stderr, "%s: error: --lv-expand %s\n", program,
                   gbox_last_error (h));
          return -1;
        }
        continue;
      }
      n = realloc (r->lvs, (r->nlvs + 1) * sizeof *n);
      if (!n) {
        perror ("realloc");
        return -1;
      }
      r->lvs = n;
      r->lvs[r->nlvs++] = (char *) lv;
      /* The PV is made to fill its partition even if that did not grow. */
      r->resize_content = true;
      found = true;
    }
    if (!found) {
      fprintf (stderr, "%s: error: --lv-expand %s: no such logical volume "
               "in a physical volume on a partition of the input disk\n",
               program, lv);
      return -1;
    }
  }
  return 0;
}

static int
do_resize (gbox_h *h, const struct settings *s)
{
  struct gbox_part_get_layout_ret lret;
  struct rz_plan plan;
  struct gbox_progress_bar *bar = NULL;
  char err[1024], h1[32];
  uint64_t out_size, written = 0, copied = 0, gap_end;
  size_t i;
  int r = -1, ifd = -1, ofd = -1;
  bool host;
  double t0, dt;

  memset (&lret, 0, sizeof lret);
  memset (&plan, 0, sizeof plan);

  if (gbox_part_get_layout (h, "/dev/sda", &lret) == -1) {
    fprintf (stderr, "%s: error: %s: %s\n", program, s->in,
             gbox_last_error (h));
    goto out;
  }
  if (gbox_device_size (h, "/dev/sdb", &out_size) == -1) {
    fprintf (stderr, "%s: error: %s: %s\n", program, s->out,
             gbox_last_error (h));
    goto out;
  }
  if (rz_layout_check (&lret.layout, err, sizeof err) == -1) {
    fprintf (stderr, "%s: error: %s: %s\n", program, s->in, err);
    goto out;
  }
  if (rz_plan_init (&plan, &lret.layout, out_size) == -1) {
    perror ("malloc");
    goto out;
  }
  plan.align_first = s->align_first;
  plan.align_sectors = s->alignment;
  plan.expand_content = s->expand_content;
  for (i = 0; i < plan.nparts; ++i) {
    struct rz_part *p = &plan.parts[i];
    struct gbox_content_info_ret ci;
    if (p->extended)
      continue;
    if (gbox_content_info (h, "/dev/sda", p->src->start, p->src->size,
                           &ci) == -1) {
      fprintf (stderr, "%s: error: %s: %s: %s\n", program, s->in, p->name,
               gbox_last_error (h));
      goto out;
    }
    snprintf (p->type, sizeof p->type, "%s", ci.type);
    snprintf (p->uuid, sizeof p->uuid, "%s", ci.uuid);
    snprintf (p->label, sizeof p->label, "%s", ci.label);
    p->content_size = ci.content_size;
    xdr_free ((xdrproc_t) xdr_gbox_content_info_ret, (char *) &ci);
  }
  if (apply_requests (s, &plan) == -1)
    goto out;
  if (rz_plan_compute (&plan, err, sizeof err) == -1) {
    fprintf (stderr, "%s: error: %s\n", program, err);
    goto out;
  }
  /* An md RAID member keeps its size: with metadata 1.0 or 0.90 its
   * superblock is at its end (a new size loses it), and the array spans
   * members that are not resized with it. */
  for (i = 0; i < plan.nparts; ++i) {
    const struct rz_part *p = &plan.parts[i];
    if (p->op == RZ_KEEP && !p->extended && p->new_size != p->src->size &&
        strcmp (p->type, "linux_raid_member") == 0) {
      fprintf (stderr, "%s: error: %s: a member of an md RAID array cannot "
               "be resized (the array would lose it); leave it alone, or "
               "use --resize-force if you know the array allows it\n",
               program, p->name);
      goto out;
    }
  }
  if (find_lvs (h, s, &plan) == -1)
    goto out;
  /* --no-extra-partition: the surplus stays unused. */
  if (s->no_extra && plan.extra) {
    gbox_partition *x = &plan.out.parts.parts_val[--plan.out.parts.parts_len];
    free (x->type_guid);
    free (x->part_guid);
    free (x->name);
    memset (x, 0, sizeof *x);
    plan.extra = false;
  }
  /* --no-copy-boot-loader: no boot code in the new table either. */
  if (!s->copy_boot_loader && plan.out.bootcode.bootcode_val)
    memset (plan.out.bootcode.bootcode_val, 0, plan.out.bootcode.bootcode_len);
  /* A filesystem that grows but that virt-resize cannot expand
   * (--unknown-filesystems). */
  for (i = 0; i < plan.nparts && s->unknown_fs != UNKNOWN_FS_IGNORE; ++i) {
    const struct rz_part *p = &plan.parts[i];
    if (p->op != RZ_KEEP || p->extended || p->new_size <= p->src->size ||
        p->type[0] == '\0' || strcmp (p->type, "unknown") == 0 ||
        strcmp (method (p->type), "?") != 0)
      continue;
    fprintf (stderr, "%s: %s: unknown/unavailable method for expanding the "
             "%s filesystem on %s\n", program,
             s->unknown_fs == UNKNOWN_FS_ERROR ? "error" : "warning",
             p->type, p->name);
    if (s->unknown_fs == UNKNOWN_FS_ERROR)
      goto out;
  }
  if (plan.extra && strcmp (plan.out.label, "gpt") == 0) {
    gbox_partition *x = &plan.out.parts.parts_val[plan.out.parts.parts_len - 1];
    char g[40];
    if (random_guid (g, sizeof g) == -1) {
      perror ("/dev/urandom");
      goto out;
    }
    free (x->part_guid);
    x->part_guid = strdup (g);
  }
  if (!s->quiet)
    print_summary (s, &plan);
  if (s->dry_run) {
    r = 0;
    goto out;
  }

  /* From here on OUT is written.  Its table first goes away. */
  phase (s, "Setting up the output disk %s", s->out);
  if (gbox_part_wipe (h, "/dev/sdb") == -1) {
    fprintf (stderr, "%s: error: %s: %s\n", program, s->out,
             gbox_last_error (h));
    goto out;
  }

  host = is_local_raw (h, s->in, s->in_format) &&
    is_local_raw (h, s->out, s->out_format);
  if (host) {
    ifd = open (s->in, O_RDONLY | O_CLOEXEC);
    ofd = open (s->out, O_WRONLY | O_CLOEXEC);
    if (ifd == -1 || ofd == -1) {
      fprintf (stderr, "%s: error: %s: %s\n", program,
               ifd == -1 ? s->in : s->out, strerror (errno));
      goto out;
    }
    if (file_size (s->in, ifd) < lret.layout.disk_size ||
        file_size (s->out, ofd) < out_size) {
      fprintf (stderr, "%s: error: the disk images changed size while "
               "virt-resize was running\n", program);
      goto out;
    }
  }
  bar = gbox_progress_bar_new (!s->quiet && !s->machine);
  if (!host)
    gbox_set_progress_callback (h, gbox_progress_bar_callback, bar);
  t0 = now ();

  /* The boot loader's gap: between the table and the first partition
   * (both on the source and the target). */
  gap_end = UINT64_MAX;
  for (i = 0; i < plan.nparts; ++i) {
    const struct rz_part *p = &plan.parts[i];
    uint64_t st = p->logical ? p->src->ebr : p->src->start;
    if (st < gap_end)
      gap_end = st;
    if (p->op != RZ_DELETE && p->new_start < gap_end)
      gap_end = p->new_start;
  }
  {
    uint64_t gap_start = strcmp (plan.out.label, "gpt") == 0 ? 34 * 512 : 512;
    if (s->copy_boot_loader && gap_end != UINT64_MAX && gap_end > gap_start) {
      phase (s, "Copying the boot loader area (%s)",
             rz_human (gap_end - gap_start, h1, sizeof h1));
      gbox_progress_bar_set_label (bar, "boot area");
      if (copy_range (h, s, host, ifd, ofd, gap_start, gap_start,
                      gap_end - gap_start, bar, &written) == -1)
        goto out;
      gbox_progress_bar_done (bar);
      copied += gap_end - gap_start;
    }
  }
  for (i = 0; i < plan.nparts; ++i) {
    const struct rz_part *p = &plan.parts[i];
    if (p->op != RZ_KEEP || p->extended)
      continue;
    phase (s, "Copying %s", p->name);
    gbox_progress_bar_set_label (bar, p->name);
    if (copy_range (h, s, host, ifd, ofd, p->src->start, p->new_start,
                    p->copy_size, bar, &written) == -1)
      goto out;
    gbox_progress_bar_done (bar);
    copied += p->copy_size;
  }
  if (host && fdatasync (ofd) == -1) {
    fprintf (stderr, "%s: error: %s: fsync: %s\n", program, s->out,
             strerror (errno));
    goto out;
  }
  dt = now () - t0;
  if (gbox_get_verbose (h))
    fprintf (stderr, "%s: debug: copied %" PRIu64 " bytes (%" PRIu64
             " written, the rest zeros) in %.2f s (%s) = %.1f MB/s\n",
             program, copied, written, dt, host ? "host" : "appliance",
             dt > 0 ? copied / dt / 1e6 : 0.0);

  for (i = 0; i < plan.nparts; ++i) {
    const struct rz_part *p = &plan.parts[i];
    if (p->op != RZ_KEEP || !p->resize_content)
      continue;
    phase (s, "Expanding %s using the ‘%s’ method", p->name, method (p->type));
    if (strcmp (p->type, "LVM2_member") == 0) {
      size_t k;
      if (gbox_lv_expand (h, "/dev/sdb", p->new_start, p->new_size, "", 0)
          == -1) {
        fprintf (stderr, "%s: error: %s: %s\n", program, p->name,
                 gbox_last_error (h));
        goto out;
      }
      for (k = 0; k < p->nlvs; ++k) {
        phase (s, "Expanding %s", p->lvs[k]);
        if (gbox_lv_expand (h, "/dev/sdb", p->new_start, p->new_size,
                            p->lvs[k], 0) == -1) {
          fprintf (stderr, "%s: error: %s: %s\n", program, p->lvs[k],
                   gbox_last_error (h));
          goto out;
        }
      }
      continue;
    }
    if (gbox_resize_content (h, "/dev/sdb", p->new_start, p->new_size,
                             p->type, s->ntfs_force ?
                             GBOX_RESIZE_NTFS_FORCE : 0) == -1) {
      fprintf (stderr, "%s: error: %s: %s\n", program, p->name,
               gbox_last_error (h));
      goto out;
    }
  }

  /* Last: the table. */
  phase (s, "Writing the partition table");
  if (gbox_part_set_layout (h, "/dev/sdb", &plan.out) == -1 ||
      gbox_sync (h) == -1) {
    fprintf (stderr, "%s: error: %s: %s\n", program, s->out,
             gbox_last_error (h));
    goto out;
  }
  r = 0;
  if (!s->quiet && !s->machine) {
    printf ("\n%s: Resize operation completed with no errors.  Before deleting "
            "the old disk, carefully check that the resized disk boots and "
            "works correctly.\n", program);
  }
  machine_message (s, "message", "Resize operation completed with no errors");

 out:
  gbox_set_progress_callback (h, NULL, NULL);
  if (bar) {
    gbox_progress_bar_done (bar);
    gbox_progress_bar_free (bar);
  }
  if (ifd >= 0)
    close (ifd);
  if (ofd >= 0)
    close (ofd);
  rz_plan_free (&plan);
  xdr_free ((xdrproc_t) xdr_gbox_part_get_layout_ret, (char *) &lret);
  return r;
}

int
main (int argc, char *argv[])
{
  static const char short_options[] = "dnqvVx";
  static const struct option long_options[] = {
    { "align-first", required_argument, NULL, OPT_ALIGN_FIRST },
    { "alignment", required_argument, NULL, OPT_ALIGNMENT },
    { "color", no_argument, NULL, OPT_COLOR },
    { "colors", no_argument, NULL, OPT_COLOR },
    { "colour", no_argument, NULL, OPT_COLOR },
    { "colours", no_argument, NULL, OPT_COLOR },
    { "debug", no_argument, NULL, 'd' },
    { "delete", required_argument, NULL, OPT_DELETE },
    { "dry-run", no_argument, NULL, 'n' },
    { "dryrun", no_argument, NULL, 'n' },
    { "expand", required_argument, NULL, OPT_EXPAND },
    { "format", required_argument, NULL, GBOX_OPT_FORMAT },
    { "help", no_argument, NULL, GBOX_OPT_HELP },
    { "ignore", required_argument, NULL, OPT_IGNORE },
    { "long-options", no_argument, NULL, GBOX_OPT_LONG_OPTIONS },
    { "lv-expand", required_argument, NULL, OPT_LV_EXPAND },
    { "LV-expand", required_argument, NULL, OPT_LV_EXPAND },
    { "lvexpand", required_argument, NULL, OPT_LV_EXPAND },
    { "LVexpand", required_argument, NULL, OPT_LV_EXPAND },
    { "machine-readable", optional_argument, NULL, OPT_MACHINE_READABLE },
    { "no-copy-boot-loader", no_argument, NULL, OPT_NO_COPY_BOOT_LOADER },
    { "no-expand-content", no_argument, NULL, OPT_NO_EXPAND_CONTENT },
    { "no-extra-partition", no_argument, NULL, OPT_NO_EXTRA_PARTITION },
    { "no-sparse", no_argument, NULL, OPT_NO_SPARSE },
    { "ntfsresize-force", no_argument, NULL, OPT_NTFSRESIZE_FORCE },
    { "output-format", required_argument, NULL, OPT_OUTPUT_FORMAT },
    { "quiet", no_argument, NULL, 'q' },
    { "resize", required_argument, NULL, OPT_RESIZE },
    { "resize-force", required_argument, NULL, OPT_RESIZE_FORCE },
    { "short-options", no_argument, NULL, GBOX_OPT_SHORT_OPTIONS },
    { "shrink", required_argument, NULL, OPT_SHRINK },
    { "unknown-filesystems", required_argument, NULL,
      OPT_UNKNOWN_FILESYSTEMS },
    { "verbose", no_argument, NULL, 'v' },
    { "version", no_argument, NULL, 'V' },
    { "wrap", no_argument, NULL, OPT_WRAP },
    { NULL, 0, NULL, 0 }
  };
  struct gbox_opts o;
  struct settings s = {
    .align_first = RZ_ALIGN_AUTO, .sparse = true, .expand_content = true,
    .copy_boot_loader = true, .unknown_fs = UNKNOWN_FS_WARN,
    .machine_fp = stdout,
  };
  gbox_h *h;
  int c, r;

  t_start = now ();
  gbox_opts_init (&o, program, short_options, long_options, false);
  gbox_opts_set_argv (&o, argc, argv);

  while ((c = getopt_long (argc, argv, short_options, long_options,
                           NULL)) != -1) {
    switch (c) {
    case 'v': case 'x': case 'V':
    case GBOX_OPT_LONG_OPTIONS: case GBOX_OPT_SHORT_OPTIONS:
      if (gbox_opts_handle (&o, c, optarg) == -1)
        usage (EXIT_FAILURE);
      break;
    case 'd':
      /* libguestfs's debug messages of virt-resize itself: -v here. */
      o.verbose++;
      break;
    case OPT_ALIGNMENT: {
      char *end;
      long n;

      errno = 0;
      n = strtol (optarg, &end, 10);
      if (errno || end == optarg || *end || n < 1) {
        fprintf (stderr, "%s: error: --alignment: '%s': alignment cannot "
                 "be < 1\n", program, optarg);
        usage (EXIT_FAILURE);
      }
      /* Up to 1 TiB: the planner's sizes stay far from overflow. */
      if (n > (1L << 31)) {
        fprintf (stderr, "%s: error: --alignment %ld: the alignment cannot "
                 "be more than %ld sectors\n", program, n, 1L << 31);
        usage (EXIT_FAILURE);
      }
      s.alignment = (uint32_t) n;
      break;
    }
    case OPT_NO_EXTRA_PARTITION:
      s.no_extra = true;
      break;
    case OPT_NO_COPY_BOOT_LOADER:
      s.copy_boot_loader = false;
      break;
    case OPT_UNKNOWN_FILESYSTEMS:
      if (strcmp (optarg, "ignore") == 0)
        s.unknown_fs = UNKNOWN_FS_IGNORE;
      else if (strcmp (optarg, "warn") == 0)
        s.unknown_fs = UNKNOWN_FS_WARN;
      else if (strcmp (optarg, "error") == 0)
        s.unknown_fs = UNKNOWN_FS_ERROR;
      else {
        fprintf (stderr, "%s: error: unknown --unknown-filesystems: %s "
                 "(ignore, warn or error)\n", program, optarg);
        usage (EXIT_FAILURE);
      }
      break;
    case OPT_COLOR: case OPT_WRAP:
      /* Accepted for libguestfs's command lines: no colours, no
       * wrapping here. */
      break;
    case GBOX_OPT_FORMAT:
      s.in_format = optarg;
      break;
    case OPT_OUTPUT_FORMAT:
      s.out_format = optarg;
      break;
    case OPT_ALIGN_FIRST:
      if (strcmp (optarg, "auto") == 0)
        s.align_first = RZ_ALIGN_AUTO;
      else if (strcmp (optarg, "never") == 0)
        s.align_first = RZ_ALIGN_NEVER;
      else if (strcmp (optarg, "always") == 0)
        s.align_first = RZ_ALIGN_ALWAYS;
      else {
        fprintf (stderr, "%s: error: --align-first: expected auto, never or "
                 "always, not '%s'\n", program, optarg);
        usage (EXIT_FAILURE);
      }
      break;
    case OPT_DELETE: case OPT_EXPAND: case OPT_IGNORE: case OPT_RESIZE:
    case OPT_SHRINK: case OPT_LV_EXPAND: case OPT_RESIZE_FORCE: {
      struct request *n = realloc (s.reqs, (s.nreqs + 1) * sizeof *n);
      if (!n) {
        perror ("realloc");
        exit (EXIT_FAILURE);
      }
      s.reqs = n;
      s.reqs[s.nreqs].opt = c;
      s.reqs[s.nreqs++].arg = optarg;
      break;
    }
    case OPT_MACHINE_READABLE:
      optarg = (char *) gbox_opts_optional_value (
        &o, optarg, gbox_opts_is_machine_readable_word);
      s.machine_fp = gbox_opts_machine_readable (program, optarg);
      if (s.machine_fp == NULL)
        usage (EXIT_FAILURE);
      s.machine = true;
      break;
    case OPT_NO_EXPAND_CONTENT:
      s.expand_content = false;
      break;
    case OPT_NO_SPARSE:
      s.sparse = false;
      break;
    case OPT_NTFSRESIZE_FORCE:
      s.ntfs_force = true;
      break;
    case 'n':
      s.dry_run = true;
      break;
    case 'q':
      s.quiet = true;
      break;
    case GBOX_OPT_HELP:
      usage (EXIT_SUCCESS);
    default:
      usage (EXIT_FAILURE);
    }
  }

  /* --machine-readable alone: what this virt-resize can do. */
  if (s.machine && optind == argc) {
    /* libguestfs's capability lines, in its order. */
    static const char *const features[] = { "ntfs", "btrfs", "xfs" };
    size_t i;

    /* libguestfs's lines, then the filesystems this appliance can
     * expand (from the host's programs it takes). */
    fputs ("virt-resize\nntfsresize-force\n32bitok\n128-sector-alignment\n"
           "alignment\nalign-first\ninfile-uri\n", s.machine_fp);
    for (i = 0; i < sizeof features / sizeof features[0]; ++i) {
      char *p = gbox_app_find_program (
        gbox_fstype_find (features[i])->grow_program);
      if (p)
        fprintf (s.machine_fp, "%s\n", features[i]);
      free (p);
    }
    if (fflush (s.machine_fp) == EOF || ferror (s.machine_fp))
      exit (EXIT_FAILURE);
    exit (EXIT_SUCCESS);
  }
  if (argc - optind != 2) {
    fprintf (stderr, "%s: error: expecting two disk names (input and "
             "output) on the command line\n", program);
    usage (EXIT_FAILURE);
  }
  s.in = argv[optind];
  s.out = argv[optind + 1];
  if (strcmp (s.in, s.out) == 0) {
    fprintf (stderr, "%s: error: the input and output disks are the same "
             "file\n", program);
    usage (EXIT_FAILURE);
  }

  gbox_install_signal_handlers ();
  h = gbox_opts_new_handle (&o);
  /* Copies and resize2fs of big disks take longer than a usual call. */
  gbox_set_call_timeout (h, 24 * 3600);

  {
    struct stat a, b;
    if (stat (s.in, &a) == 0 && stat (s.out, &b) == 0 &&
        a.st_dev == b.st_dev && a.st_ino == b.st_ino) {
      fprintf (stderr, "%s: error: the input and output disks are the same "
               "file\n", program);
      gbox_close (h);
      exit (EXIT_FAILURE);
    }
  }
  phase (&s, "Examining %s", s.in);
  if (gbox_add_drive (h, s.in, s.in_format, 1) == -1 ||
      gbox_add_drive (h, s.out, s.out_format, s.dry_run) == -1 ||
      gbox_launch (h) == -1) {
    const char *e = gbox_last_error (h);
    const char *hint = e ? strstr (e, "(--format=") : NULL;

    /* The output disk's format is given with --output-format. */
    if (hint && strstr (e, s.out) == e && gbox_nr_drives (h) == 1)
      fprintf (stderr, "%s: error: %.*s(--output-format=%s\n", program,
               (int) (hint - e), e, hint + strlen ("(--format="));
    else
      gbox_opts_print_error (&o, h);
    gbox_close (h);
    gbox_opts_free (&o);
    free (s.reqs);
    exit (EXIT_FAILURE);
  }

  r = do_resize (h, &s);

  gbox_close (h);
  gbox_opts_free (&o);
  free (s.reqs);
  exit (r == 0 ? EXIT_SUCCESS : EXIT_FAILURE);
}
