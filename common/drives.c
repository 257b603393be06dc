/* guestbox - the user's disks.
 * Copyright (C) 2026 the guestbox authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

/**
 * Adding disks: checking the source, probing its format with our own
 * header reader (never letting qemu probe), NBD URIs, the throw-away
 * overlays of read-only disks, and hot-adding them all to the running
 * appliance as scsi-hd devices on the virtio-scsi controller.
 *
 * Format policy: --format wins and then the image may use what that
 * format allows (a qcow2 backing file, for example).  Without --format
 * the header decides; a probed image that names another file (a qcow2
 * or QED backing file, a qcow2 external data file, vmdk extents in a
 * text or embedded descriptor) is refused, and every probed non-raw
 * image is opened with its backing
 * disabled, so a hostile header can never make qemu open another host
 * file.  Read-only disks are attached through a qcow2 overlay in the
 * temp dir whose backing node we give qemu explicitly (read-only); the
 * guest may write (journal replays) but the image is never written.
 */

#include <config.h>

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>

#include "guestbox-internal.h"
#include "cleanups.h"

static void
free_drive (struct gbox_drive *d)
{
  free (d->source);
  free (d->format);
  free (d->nbd_json);
  if (d->overlay) {
    unlink (d->overlay);
    free (d->overlay);
  }
}

void
gbox_int_free_drives (gbox_h *h)
{
  size_t i;

  for (i = 0; i < h->nr_drives; ++i)
    free_drive (&h->drives[i]);
  free (h->drives);
  h->drives = NULL;
  h->nr_drives = 0;
}

size_t
gbox_nr_drives (gbox_h *h)
{
  return h->nr_drives;
}

const char *
gbox_drive_format (gbox_h *h, size_t i)
{
  return i < h->nr_drives ? h->drives[i].format : NULL;
}

int
gbox_drive_set_discard (gbox_h *h, size_t i, int discard)
{
  if (h->state != GBOX_STATE_CONFIG) {
    gbox_int_error (h, "drive_set_discard: drives must be set up before "
                    "launch");
    return -1;
  }
  if (i >= h->nr_drives) {
    gbox_int_error (h, "drive_set_discard: no drive %zu", i);
    return -1;
  }
  if (h->drives[i].readonly) {
    gbox_int_error (h, "%s: discard needs a read-write drive",
                    h->drives[i].source);
    return -1;
  }
  h->drives[i].discard = discard != 0;
  return 0;
}

int
gbox_drive_set_blocksize (gbox_h *h, size_t i, unsigned blocksize)
{
  if (i >= h->nr_drives) {
    gbox_int_error (h, "drive_set_blocksize: no drive %zu", i);
    return -1;
  }
  if (blocksize != 512 && blocksize != 4096) {
    gbox_int_error (h, "%s: block size %u: expected 512 or 4096",
                    h->drives[i].source, blocksize);
    return -1;
  }
  h->drives[i].blocksize = blocksize;
  return 0;
}

static uint64_t
be64 (const unsigned char *p)
{
  uint64_t v = 0;
  int i;

  for (i = 0; i < 8; ++i)
    v = (v << 8) | p[i];
  return v;
}

static uint32_t
be32 (const unsigned char *p)
{
  return ((uint32_t) p[0] << 24) | (p[1] << 16) | (p[2] << 8) | p[3];
}

static uint32_t
le32 (const unsigned char *p)
{
  return p[0] | (p[1] << 8) | (p[2] << 16) | ((uint32_t) p[3] << 24);
}

static uint64_t
le64 (const unsigned char *p)
{
  return le32 (p) | ((uint64_t) le32 (p + 4) << 32);
}

/* Whether the VHDX on FD is a differencing image: its metadata region
 * (found through the region table at 192 KiB, or its copy at 256 KiB)
 * has a parent locator, or its file parameters say HasParent.  Every
 * offset comes from the image: each is checked before use. */
static bool
vhdx_has_parent (int fd)
{
  /* {8B7CA206-4790-4B9A-B8FE-575F050F886E}: the metadata region. */
  static const unsigned char metadata_guid[16] = {
    0x06, 0xa2, 0x7c, 0x8b, 0x90, 0x47, 0x9a, 0x4b,
    0xb8, 0xfe, 0x57, 0x5f, 0x05, 0x0f, 0x88, 0x6e
  };
  /* {A8D35F2D-B30B-454D-ABF7-D3D84834AB0C}: the parent locator. */
  static const unsigned char parent_guid[16] = {
    0x2d, 0x5f, 0xd3, 0xa8, 0x0b, 0xb3, 0x4d, 0x45,
    0xab, 0xf7, 0xd3, 0xd8, 0x48, 0x34, 0xab, 0x0c
  };
  /* {CAA16737-FA36-4D43-B3B6-33F0AA44E76B}: the file parameters. */
  static const unsigned char params_guid[16] = {
    0x37, 0x67, 0xa1, 0xca, 0x36, 0xfa, 0x43, 0x4d,
    0xb3, 0xb6, 0x33, 0xf0, 0xaa, 0x44, 0xe7, 0x6b
  };
  unsigned char rt[4096], md[65536], pv[8];
  uint64_t md_off = 0;
  uint32_t i, n, md_len = 0;
  int copy;

  for (copy = 0; copy < 2 && md_off == 0; ++copy) {
    if (pread (fd, rt, sizeof rt, copy == 0 ? 192 * 1024 : 256 * 1024)
        != (ssize_t) sizeof rt || memcmp (rt, "regi", 4) != 0)
      continue;
    n = le32 (rt + 8);
    for (i = 0; i < n && i < (sizeof rt - 16) / 32; ++i) {
      const unsigned char *e = rt + 16 + i * 32;
      if (memcmp (e, metadata_guid, 16) == 0) {
        md_off = le64 (e + 16);
        md_len = le32 (e + 24);
        break;
      }
    }
  }
  if (md_off == 0 || md_off > INT64_MAX - sizeof md || md_len < 32 ||
      pread (fd, md, sizeof md, (off_t) md_off) < 32 ||
      memcmp (md, "metadata", 8) != 0)
    return false;
  n = md[10] | (md[11] << 8);
  for (i = 0; i < n && i < (sizeof md - 32) / 32; ++i) {
    const unsigned char *e = md + 32 + i * 32;
    uint32_t off = le32 (e + 16);
    if (memcmp (e, parent_guid, 16) == 0)
      return true;
    /* File parameters: block size, then flags; bit 1 is HasParent. */
    if (memcmp (e, params_guid, 16) == 0 && off <= md_len - 8 &&
        pread (fd, pv, 8, (off_t) (md_off + off)) == 8 &&
        (le32 (pv + 4) & 2))
      return true;
  }
  return false;
}

int
gbox_int_probe_format (gbox_h *h, const char *filename,
                       char **format, char **backing)
{
  unsigned char hdr[512];
  CLEANUP_CLOSE int fd = -1;
  ssize_t n;
  const char *fmt = "raw";

  *format = NULL;
  *backing = NULL;
  fd = open (filename, O_RDONLY | O_CLOEXEC);
  if (fd == -1) {
    gbox_int_perror (h, "%s", filename);
    return -1;
  }
  memset (hdr, 0, sizeof hdr);
  n = pread (fd, hdr, sizeof hdr, 0);
  if (n == -1) {
    gbox_int_perror (h, "%s: read", filename);
    return -1;
  }

  if (n >= 72 && memcmp (hdr, "QFI\xfb", 4) == 0) {
    uint64_t off = be64 (hdr + 8);
    uint32_t len = be32 (hdr + 16);

    fmt = "qcow2";
    if (off != 0 && len != 0) {
      char name[1024];
      size_t l = len < sizeof name - 1 ? len : sizeof name - 1;
      ssize_t r = pread (fd, name, l, (off_t) off);

      if (r < 0 || (off_t) off < 0)
        r = 0;
      name[r] = '\0';
      *backing = strdup (r > 0 ? name : "(unreadable)");
    }
    /* A version 3 header can name an external data file (incompatible
     * feature bit 2), which qemu opens like a backing file. */
    else if (be32 (hdr + 4) >= 3 && n >= 80 && (be64 (hdr + 72) & 4))
      *backing = strdup ("(qcow2 external data file)");
  }
  else if (n >= 4 && memcmp (hdr, "QFI\xfb", 4) == 0)
    fmt = "qcow2";              /* truncated header: qemu will say so */
  else if (n >= 4 && memcmp (hdr, "KDMV", 4) == 0) {
    uint64_t capacity = 0, desc_offset = 0;
    int i;

    for (i = 7; n >= 36 && i >= 0; --i) {
      capacity = (capacity << 8) | hdr[12 + i];
      desc_offset = (desc_offset << 8) | hdr[28 + i];
    }
    fmt = "vmdk";
    /* A sparse header of capacity 0 makes qemu read its embedded
     * descriptor as a descriptor file: extents naming other files. */
    if (capacity == 0 && desc_offset != 0)
      *backing = strdup ("(vmdk embedded descriptor naming extent files)");
    /* A delta link (a snapshot of another vmdk) names its parent in
     * the embedded descriptor. */
    else if (desc_offset != 0 && desc_offset < UINT64_MAX / 512) {
      char desc[8192];
      ssize_t r = pread (fd, desc, sizeof desc - 1, (off_t) (desc_offset * 512));

      if (r > 0) {
        desc[r] = '\0';
        if (memmem (desc, r, "parentFileNameHint", 18) != NULL)
          *backing = strdup ("(vmdk delta link naming its parent file)");
      }
    }
  }
  else if (n >= 21 && memcmp (hdr, "# Disk DescriptorFile", 21) == 0) {
    /* A text descriptor names other files (extents): only with
     * --format=vmdk. */
    fmt = "vmdk";
    *backing = strdup ("(vmdk descriptor naming extent files)");
  }
  else if (n >= 68 && be32 (hdr + 64) == 0x7f10dabe) {
    fmt = "vdi";
    /* Image type (little-endian, after the signature, version and
     * header size): 3 undo and 4 differencing images have a parent. */
    if (n >= 80 && (hdr[76] == 3 || hdr[76] == 4) && hdr[77] == 0 &&
        hdr[78] == 0 && hdr[79] == 0)
      *backing = strdup ("(VDI differencing image: its parent is another "
                         "file)");
  }
  else if (n >= 8 && memcmp (hdr, "vhdxfile", 8) == 0) {
    fmt = "vhdx";
    if (vhdx_has_parent (fd))
      *backing = strdup ("(VHDX differencing image: its parent is another "
                         "file)");
  }
  else if (n >= 8 && memcmp (hdr, "conectix", 8) == 0) {
    fmt = "vpc";
    /* Disk type (big-endian) 4: differencing, with a parent. */
    if (n >= 64 && be32 (hdr + 60) == 4)
      *backing = strdup ("(VHD differencing image: its parent is another "
                         "file)");
  }
  else if (n >= 4 && memcmp (hdr, "QED\0", 4) == 0)
    fmt = "qed";

  *format = strdup (fmt);
  if (!*format) {
    gbox_int_perror (h, "strdup");
    free (*backing);
    *backing = NULL;
    return -1;
  }
  return 0;
}

/* Append S to the JSON being built in *BUF, JSON-quoted. */
static int
append_quoted (gbox_h *h, char **buf, const char *s)
{
  CLEANUP_FREE char *q = gbox_int_json_quote (s);
  char *nb;

  if (!q) {
    gbox_int_perror (h, "malloc");
    return -1;
  }
  nb = gbox_int_asprintf (h, "%s%s", *buf ? *buf : "", q);
  if (!nb)
    return -1;
  free (*buf);
  *buf = nb;
  return 0;
}

static int
append_str (gbox_h *h, char **buf, const char *s)
{
  char *nb = gbox_int_asprintf (h, "%s%s", *buf ? *buf : "", s);

  if (!nb)
    return -1;
  free (*buf);
  *buf = nb;
  return 0;
}

/* Percent-decode S (URI component) into a new string. */
static char *
uri_decode (const char *s, size_t len)
{
  char *out = malloc (len + 1), *q = out;
  size_t i;

  if (!out)
    return NULL;
  for (i = 0; i < len; ++i) {
    if (s[i] == '%' && i + 2 < len &&
        isxdigit ((unsigned char) s[i+1]) &&
        isxdigit ((unsigned char) s[i+2])) {
      char hex[3] = { s[i+1], s[i+2], 0 };
      *q++ = (char) strtol (hex, NULL, 16);
      i += 2;
    }
    else
      *q++ = s[i];
  }
  *q = '\0';
  return out;
}

/* The forms accepted:
 *   nbd://HOST[:PORT][/EXPORT]
 *   nbd+unix:///[EXPORT]?socket=PATH
 *   nbd://?socket=PATH and nbd:///EXPORT?socket=PATH (libguestfs tools)
 */
char *
gbox_int_nbd_json (gbox_h *h, const char *source)
{
  const char *p, *query, *path_start, *auth_end;
  CLEANUP_FREE char *host = NULL, *port = NULL, *export = NULL, *sock = NULL;
  char *json = NULL;
  bool is_unix;

  if (strncmp (source, "nbd+unix://", 11) == 0) {
    is_unix = true;
    p = source + 11;
  }
  else if (strncmp (source, "nbd://", 6) == 0) {
    is_unix = false;
    p = source + 6;
  }
  else if (strncmp (source, "nbd+tcp://", 10) == 0) {
    is_unix = false;
    p = source + 10;
  }
  else {
    gbox_int_error (h, "%s: not an NBD URI (nbd://HOST[:PORT][/EXPORT] or "
                    "nbd+unix:///EXPORT?socket=PATH)", source);
    return NULL;
  }

  query = strchr (p, '?');
  auth_end = p + strcspn (p, "/?");
  path_start = *auth_end == '/' ? auth_end + 1 : NULL;

  if (query) {
    const char *q = query + 1;
    while (*q) {
      size_t len = strcspn (q, "&");
      if (strncmp (q, "socket=", 7) == 0) {
        free (sock);
        sock = uri_decode (q + 7, len - 7);
      }
      q += len;
      if (*q == '&')
        q++;
    }
  }
  if (path_start) {
    size_t len = (query ? (size_t) (query - path_start) : strlen (path_start));
    export = uri_decode (path_start, len);
  }
  if (auth_end > p) {
    const char *colon = NULL, *c;

    if (*p == '[') {             /* [IPv6]:port */
      const char *rb = memchr (p, ']', auth_end - p);
      if (!rb) {
        gbox_int_error (h, "%s: bad IPv6 address in NBD URI", source);
        return NULL;
      }
      host = strndup (p + 1, rb - p - 1);
      if (rb + 1 < auth_end && rb[1] == ':')
        colon = rb + 1;
    }
    else {
      for (c = p; c < auth_end; ++c)
        if (*c == ':')
          colon = c;
      host = strndup (p, (colon ? colon : auth_end) - p);
    }
    if (colon)
      port = strndup (colon + 1, auth_end - colon - 1);
  }

  if (sock)
    is_unix = true;
  if (is_unix && (!sock || !*sock)) {
    gbox_int_error (h, "%s: NBD over a Unix socket needs ?socket=PATH",
                    source);
    return NULL;
  }
  if (!is_unix && (!host || !*host)) {
    gbox_int_error (h, "%s: NBD URI has no host name", source);
    return NULL;
  }
  if (port) {
    char *end;
    long v = strtol (port, &end, 10);
    if (!*port || *end || v <= 0 || v > 65535) {
      gbox_int_error (h, "%s: bad port number in NBD URI", source);
      return NULL;
    }
  }

  if (append_str (h, &json, "{\"driver\":\"nbd\",\"server\":{") == -1)
    goto err;
  if (is_unix) {
    if (append_str (h, &json, "\"type\":\"unix\",\"path\":") == -1 ||
        append_quoted (h, &json, sock) == -1)
      goto err;
  }
  else {
    if (append_str (h, &json, "\"type\":\"inet\",\"host\":") == -1 ||
        append_quoted (h, &json, host) == -1 ||
        append_str (h, &json, ",\"port\":") == -1 ||
        append_quoted (h, &json, port ? port : "10809") == -1)
      goto err;
  }
  if (append_str (h, &json, "}") == -1)
    goto err;
  if (export && *export) {
    if (append_str (h, &json, ",\"export\":") == -1 ||
        append_quoted (h, &json, export) == -1)
      goto err;
  }
  if (append_str (h, &json, "}") == -1)
    goto err;
  return json;

 err:
  free (json);
  return NULL;
}

static bool
is_nbd_uri (const char *s)
{
  return strncmp (s, "nbd://", 6) == 0 || strncmp (s, "nbd+unix://", 11) == 0
    || strncmp (s, "nbd+tcp://", 10) == 0;
}

static bool
valid_format (const char *f)
{
  size_t i;

  if (!*f || strlen (f) > 32)
    return false;
  for (i = 0; f[i]; ++i)
    if (!((f[i] >= 'a' && f[i] <= 'z') || (f[i] >= '0' && f[i] <= '9') ||
          f[i] == '-' || f[i] == '_'))
      return false;
  return true;
}

int
gbox_add_drive (gbox_h *h, const char *source, const char *format,
                int readonly)
{
  struct gbox_drive d = { 0 };
  struct gbox_drive *nd;

  if (h->state != GBOX_STATE_CONFIG) {
    gbox_int_error (h, "add_drive: drives must be added before launch");
    return -1;
  }
  if (!source || !*source) {
    gbox_int_error (h, "add_drive: empty disk name");
    return -1;
  }
  if (h->nr_drives >= GBOX_MAX_DRIVES) {
    gbox_int_error (h, "%s: too many disks (at most %d in one appliance)",
                    source, GBOX_MAX_DRIVES);
    return -1;
  }
  if (format && (!*format || strcmp (format, "auto") == 0))
    format = NULL;
  if (format && !valid_format (format)) {
    gbox_int_error (h, "%s: invalid format '%s'", source, format);
    return -1;
  }

  d.readonly = readonly != 0;
  d.format_explicit = format != NULL;

  if (is_nbd_uri (source)) {
    d.is_nbd = true;
    d.nbd_json = gbox_int_nbd_json (h, source);
    if (!d.nbd_json)
      return -1;
    /* An NBD export is raw unless the user says otherwise: its contents
     * are not probed. */
    d.format = strdup (format ? format : "raw");
  }
  else {
    struct stat st;
    CLEANUP_FREE char *probed = NULL, *backing = NULL;

    if (stat (source, &st) == -1) {
      gbox_int_perror (h, "%s", source);
      return -1;
    }
    if (S_ISDIR (st.st_mode)) {
      gbox_int_error (h, "%s: is a directory, not a disk image", source);
      h->last_errno = EISDIR;
      return -1;
    }
    if (!S_ISREG (st.st_mode) && !S_ISBLK (st.st_mode)) {
      gbox_int_error (h, "%s: not a regular file or block device", source);
      return -1;
    }
    if (access (source, readonly ? R_OK : R_OK | W_OK) == -1) {
      gbox_int_perror (h, "%s", source);
      return -1;
    }
    if (S_ISREG (st.st_mode) && st.st_size == 0) {
      gbox_int_error (h, "%s: the disk image is empty (0 bytes)", source);
      return -1;
    }
    if (!format) {
      if (gbox_int_probe_format (h, source, &probed, &backing) == -1)
        return -1;
      if (backing) {
        gbox_int_error (h, "%s: the image (probed as %s) refers to another "
                        "file '%s'; it is not opened unless you give the "
                        "format explicitly (--format=%s)",
                        source, probed, backing, probed);
        return -1;
      }
      gbox_int_debug (h, "%s: probed format %s", source, probed);
    }
    d.format = strdup (format ? format : probed);
  }
  d.source = strdup (source);
  if (!d.source || !d.format) {
    gbox_int_perror (h, "strdup");
    free_drive (&d);
    return -1;
  }

  nd = realloc (h->drives, (h->nr_drives + 1) * sizeof *nd);
  if (!nd) {
    gbox_int_perror (h, "realloc");
    free_drive (&d);
    return -1;
  }
  h->drives = nd;
  h->drives[h->nr_drives++] = d;
  return 0;
}

/* The JSON of the node reading the user's image (format layer over the
 * protocol layer). */
static char *
source_node_json (gbox_h *h, struct gbox_drive *d, bool readonly)
{
  char *json = NULL;
  const char *ro = readonly ? "true" : "false";

  if (append_str (h, &json, "{\"driver\":") == -1 ||
      append_quoted (h, &json, d->format) == -1)
    goto err;
  if (append_str (h, &json, ",\"read-only\":") == -1 ||
      append_str (h, &json, ro) == -1)
    goto err;
  /* Discards and zero writes free space all the way down. */
  if (d->discard && !readonly &&
      append_str (h, &json, ",\"discard\":\"unmap\","
                  "\"detect-zeroes\":\"unmap\"") == -1)
    goto err;
  if (append_str (h, &json, ",\"file\":") == -1)
    goto err;
  if (d->is_nbd) {
    if (append_str (h, &json, d->nbd_json) == -1)
      goto err;
  }
  else {
    if (append_str (h, &json, "{\"driver\":\"file\",\"filename\":") == -1 ||
        append_quoted (h, &json, d->source) == -1 ||
        append_str (h, &json, ",\"read-only\":") == -1 ||
        append_str (h, &json, ro) == -1 ||
        (d->discard && !readonly &&
         append_str (h, &json, ",\"discard\":\"unmap\"") == -1) ||
        append_str (h, &json, "}") == -1)
      goto err;
  }
  /* A probed image never gets a backing file (see the top of file);
   * the formats that have none (vdi, vhdx, vpc) take no such option. */
  if (!d->format_explicit &&
      (strcmp (d->format, "qcow2") == 0 || strcmp (d->format, "qcow") == 0 ||
       strcmp (d->format, "qed") == 0 || strcmp (d->format, "vmdk") == 0) &&
      append_str (h, &json, ",\"backing\":null") == -1)
    goto err;
  if (append_str (h, &json, "}") == -1)
    goto err;
  return json;
 err:
  free (json);
  return NULL;
}

/* Run qemu-img with ARGV, returning 0 or -1 with its stderr in the error. */
static int
run_qemu_img (gbox_h *h, char *const argv[])
{
  int pfd[2];
  pid_t pid;
  char out[2048];
  size_t len = 0;
  int status;

  if (pipe2 (pfd, O_CLOEXEC) == -1) {
    gbox_int_perror (h, "pipe");
    return -1;
  }
  pid = fork ();
  if (pid == -1) {
    gbox_int_perror (h, "fork");
    close (pfd[0]);
    close (pfd[1]);
    return -1;
  }
  if (pid == 0) {
    int nullfd = open ("/dev/null", O_RDWR);
    if (nullfd >= 0) {
      dup2 (nullfd, 0);
      dup2 (nullfd, 1);
    }
    dup2 (pfd[1], 2);
    execvp (argv[0], argv);
    fprintf (stderr, "%s: %s\n", argv[0], strerror (errno));
    _exit (127);
  }
  close (pfd[1]);
  for (;;) {
    ssize_t r = read (pfd[0], out + len, sizeof out - 1 - len);
    if (r == -1 && errno == EINTR)
      continue;
    if (r <= 0)
      break;
    len += r;
    if (len == sizeof out - 1) {
      char sink[512];
      while (read (pfd[0], sink, sizeof sink) > 0)
        ;
      break;
    }
  }
  close (pfd[0]);
  out[len] = '\0';
  while (len > 0 && (out[len-1] == '\n' || out[len-1] == ' '))
    out[--len] = '\0';
  /* One line: "a\nb" -> "a; b". */
  {
    char *p;
    while ((p = strchr (out, '\n')) != NULL && len + 1 < sizeof out) {
      memmove (p + 2, p + 1, strlen (p + 1) + 1);
      p[0] = ';';
      p[1] = ' ';
      len++;
    }
  }
  while (waitpid (pid, &status, 0) == -1 && errno == EINTR)
    ;
  if (!WIFEXITED (status) || WEXITSTATUS (status) != 0) {
    gbox_int_error (h, "%s", len ? out : "qemu-img failed");
    return -1;
  }
  return 0;
}

/* A qcow2 overlay for each read-only drive.  qemu-img reads the source
 * (in the format we decided, never probing) to learn its size. */
int
gbox_int_prepare_drives (gbox_h *h)
{
  size_t i;
  const char *qemu_img = secure_getenv ("GBOX_QEMU_IMG");

  if (!qemu_img || !*qemu_img)
    qemu_img = QEMU_IMG;

  for (i = 0; i < h->nr_drives; ++i) {
    struct gbox_drive *d = &h->drives[i];
    CLEANUP_FREE char *src = NULL, *opt = NULL;

    if (!d->readonly)
      continue;
    free (d->overlay);
    d->overlay = gbox_int_asprintf (h, "%s/overlay%03zu.qcow2",
                                    h->tmpdir, i);
    if (!d->overlay)
      return -1;
    src = source_node_json (h, d, true);
    if (!src)
      return -1;
    /* The "json:" pseudo-protocol carries exactly the node we use, so
     * qemu-img cannot interpret the source in any other way. */
    opt = gbox_int_asprintf (h, "json:%s", src);
    if (!opt)
      return -1;
    {
      char *const argv[] = {
        (char *) qemu_img, (char *) "create", (char *) "-q",
        (char *) "-f", (char *) "qcow2", (char *) "-b", opt,
        (char *) "-F", d->format, d->overlay, NULL
      };
      if (run_qemu_img (h, argv) == -1) {
        char *msg = gbox_int_strdup (h, gbox_last_error (h));
        const char *m = msg ? msg : "";
        size_t ol = strlen (d->overlay);

        /* Drop "qemu-img: OVERLAY: ": the overlay is ours, not the
         * user's. */
        if (strncmp (m, "qemu-img: ", 10) == 0)
          m += 10;
        if (strncmp (m, d->overlay, ol) == 0 && strncmp (m + ol, ": ", 2) == 0)
          m += ol + 2;
        gbox_int_error (h, "%s: cannot open the disk image (format %s): %s",
                        d->source, d->format, m);
        free (msg);
        return -1;
      }
    }
  }
  return 0;
}

/* 0; -1 on an error (a disk qemu cannot open); -2 when the disks were
 * added but the guest did not report them ready (disks_ready failed). */
int
gbox_int_hotadd_drives (gbox_h *h)
{
  size_t i;
  uint64_t t0 = gbox_int_now_ms ();

  if (h->nr_drives == 0)
    return 0;

  for (i = 0; i < h->nr_drives; ++i) {
    struct gbox_drive *d = &h->drives[i];
    CLEANUP_FREE char *node = NULL, *cmd = NULL, *dev = NULL;

    if (d->readonly) {
      CLEANUP_FREE char *src = source_node_json (h, d, true);
      CLEANUP_FREE char *ovl = gbox_int_json_quote (d->overlay);
      if (!src || !ovl)
        return -1;
      node = gbox_int_asprintf
        (h, "{\"driver\":\"qcow2\",\"node-name\":\"drive%zu\","
         "\"file\":{\"driver\":\"file\",\"filename\":%s},"
         "\"backing\":%s}", i, ovl, src);
    }
    else {
      CLEANUP_FREE char *src = source_node_json (h, d, false);
      size_t l;
      if (!src)
        return -1;
      /* Insert the node name into the format node. */
      l = strlen (src);
      src[l - 1] = '\0';
      node = gbox_int_asprintf (h, "%s,\"node-name\":\"drive%zu\"}", src, i);
    }
    if (!node)
      return -1;
    cmd = gbox_int_asprintf (h, "{\"execute\":\"blockdev-add\","
                             "\"arguments\":%s}", node);
    if (!cmd)
      return -1;
    if (gbox_int_qmp (h, cmd, NULL) == -1) {
      char *msg = gbox_int_strdup (h, gbox_last_error (h));
      gbox_int_error (h, "%s: cannot open the disk: %s", d->source,
                      msg ? msg : "");
      free (msg);
      return -1;
    }
    dev = gbox_int_asprintf
      (h, "{\"execute\":\"device_add\",\"arguments\":{\"driver\":\"scsi-hd\","
       "\"bus\":\"scsi0.0\",\"scsi-id\":%zu,\"lun\":0,\"drive\":\"drive%zu\","
       "\"id\":\"sd%zu\",\"logical_block_size\":%u,"
       "\"physical_block_size\":%u}}", i, i, i,
       d->blocksize ? d->blocksize : 512, d->blocksize ? d->blocksize : 512);
    if (!dev || gbox_int_qmp (h, dev, NULL) == -1)
      return -1;
    /* qemu has the overlay open: its name is no longer needed. */
    if (d->overlay) {
      unlink (d->overlay);
      free (d->overlay);
      d->overlay = NULL;
    }
  }
  {
    /* The daemon answers within its 30 s wait; a guest whose clock
     * stopped never does, so the call gets a bound of its own instead
     * of the (long) per-call timeout. */
    unsigned saved_timeout = h->call_timeout;
    int r;

    if (h->call_timeout > 45)
      h->call_timeout = 45;
    r = gbox_disks_ready (h, h->nr_drives, 30000);
    h->call_timeout = saved_timeout;
    if (r == -1)
      return -2;                /* the disks were given, the guest failed */
  }
  gbox_int_debug (h, "%zu disk(s) attached in %" PRIu64 " ms", h->nr_drives,
                  gbox_int_now_ms () - t0);
  return 0;
}
