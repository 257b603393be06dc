/* guestbox - the user's disks.
 * Copyright (C) 2026 the guestbox authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

/**
 * Adding disks: checking the source, probing its format with our own
 * header reader (never letting qemu probe), NBD URIs (libxml2's URI
 * parser), the throw-away overlays of read-only disks (qemu-img through
 * the command runner), and hot-adding them all to the running appliance
 * as scsi-hd devices on the virtio-scsi controller (QMP commands built
 * and replies read with json-c).
 *
 * Format policy: without --format the header decides; a probed image
 * that names another file (a qcow2 or QED backing file, a qcow2
 * external data file, vmdk extents in a text or embedded descriptor, a
 * differencing VDI, VHD or VHDX) is refused, and every image is opened
 * with its backing disabled, so a hostile header can never make qemu
 * open another host file.  --format=qcow2 opens a qcow2 backing chain,
 * which we follow and open ourselves, each file through a descriptor;
 * any other image that names files is refused with or without
 * --format (qemu would open them by name).  Read-only disks are
 * attached through a qcow2 overlay in the temp dir whose backing node
 * we give qemu explicitly (read-only); the guest may write (journal
 * replays) but the image is never written.
 *
 * The header reader stays hand-written: the one library that knows
 * every format (qemu's block layer, through qemu-img) is what must not
 * look at an untrusted header, and nothing in Debian reads the few
 * fields needed without opening the files they name.
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
#include <linux/fs.h>
#include <poll.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <json-c/json.h>
#include <libxml/uri.h>

#include "guestbox-internal.h"
#include "cleanups.h"

/* The fdset ids (qemu's add-fd) of drive I: its source, its overlay,
 * the backing files of its chain. */
#define FDSET_SRC(i) (16 * (int) (i) + 1)
#define FDSET_OVL(i) (16 * (int) (i) + 2)
#define FDSET_CHAIN(i, j) (16 * (int) (i) + 3 + (int) (j))

static void
free_drive (struct gbox_drive *d)
{
  size_t j;

  free (d->source);
  free (d->format);
  free (d->nbd_json);
  free (d->nbd_qemu_json);
  free (d->nbd_socket);
  if (d->overlay) {
    unlink (d->overlay);
    free (d->overlay);
  }
  if (d->fd >= 0)
    close (d->fd);
  if (d->fd_rw >= 0)
    close (d->fd_rw);
  for (j = 0; j < d->nr_chain; ++j) {
    free (d->chain[j].name);
    free (d->chain[j].format);
    if (d->chain[j].fd >= 0)
      close (d->chain[j].fd);
  }
  free (d->chain);
  d->fd = d->fd_rw = -1;
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
  CLEANUP_CLOSE int fd = -1;

  *format = NULL;
  *backing = NULL;
  fd = open (filename, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (fd == -1) {
    gbox_int_perror (h, "%s", filename);
    return -1;
  }
  return gbox_int_probe_format_fd (h, fd, filename, format, backing);
}

int
gbox_int_probe_format_fd (gbox_h *h, int fd, const char *filename,
                          char **format, char **backing)
{
  unsigned char hdr[512];
  ssize_t n;
  const char *fmt = "raw";

  *format = NULL;
  *backing = NULL;
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
    /* A text descriptor names other files (extents): refused. */
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
  else if (n >= 4 && memcmp (hdr, "QED\0", 4) == 0) {
    fmt = "qed";
    /* Feature bit 0: a backing file, named at the offset and size
     * that follow the image size. */
    if (n >= 64 && (le64 (hdr + 16) & 1)) {
      char name[1024];
      uint32_t off = le32 (hdr + 56), len = le32 (hdr + 60);
      size_t l = len < sizeof name - 1 ? len : sizeof name - 1;
      ssize_t r = off ? pread (fd, name, l, (off_t) off) : 0;

      if (r < 0)
        r = 0;
      name[r] = '\0';
      *backing = strdup (r > 0 && name[0] ? name : "(QED backing file)");
    }
  }

  *format = strdup (fmt);
  if (!*format) {
    gbox_int_perror (h, "strdup");
    free (*backing);
    *backing = NULL;
    return -1;
  }
  return 0;
}

static bool is_nbd_uri (const char *s);

/* JSON object O as compact text (malloc'd; NULL when out of memory),
 * and O released. */
static char *
json_text (gbox_h *h, json_object *o)
{
  char *r = NULL;

  if (o)
    r = strdup (json_object_to_json_string_ext
                (o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
  json_object_put (o);
  if (!r)
    gbox_int_perror (h, "malloc");
  return r;
}

/* Add the string member KEY: VALUE to O; -1 when out of memory. */
static int
json_add_string (json_object *o, const char *key, const char *value)
{
  json_object *v = json_object_new_string (value);

  if (!v || json_object_object_add (o, key, v) != 0) {
    json_object_put (v);
    return -1;
  }
  return 0;
}

/* An NBD URI taken apart (the strings malloc'd). */
struct nbd_uri {
  bool is_unix;
  char *host;                   /* without the brackets of an IPv6 address */
  int port;                     /* 0: the default */
  char *export;                 /* NULL or "": the default export */
  char *socket;                 /* the Unix socket's path */
};

static void
free_nbd_uri (struct nbd_uri *u)
{
  free (u->host);
  free (u->export);
  free (u->socket);
  memset (u, 0, sizeof *u);
}

/* The port as written in SOURCE's authority (after the host, which may
 * be an [IPv6] literal): *PORT and *LEN, or false without one.  libxml2
 * reads a missing port and ":0" alike. */
static bool
written_port (const char *source, const char **port, size_t *len)
{
  const char *auth = strstr (source, "://"), *end, *colon;

  if (!auth)
    return false;
  auth += 3;
  end = auth + strcspn (auth, "/?#");
  colon = memrchr (auth, ':', end - auth);
  if (!colon || memchr (colon, ']', end - colon))
    return false;
  *port = colon + 1;
  *len = end - colon - 1;
  return true;
}

/* The forms accepted:
 *   nbd://HOST[:PORT][/EXPORT]  (nbd+tcp:// likewise)
 *   nbd+unix:///[EXPORT]?socket=PATH
 *   nbd://?socket=PATH and nbd:///EXPORT?socket=PATH (libguestfs tools)
 * parsed by libxml2 (xmlParseURI), which also decodes %XX escapes. */
static int
parse_nbd_uri (gbox_h *h, const char *source, struct nbd_uri *u)
{
  xmlURIPtr uri;
  const char *port;
  size_t portlen;
  int r = -1;

  memset (u, 0, sizeof *u);
  if (!is_nbd_uri (source)) {
    gbox_int_error (h, "%s: not an NBD URI (nbd://HOST[:PORT][/EXPORT] or "
                    "nbd+unix:///EXPORT?socket=PATH)", source);
    return -1;
  }
  uri = xmlParseURI (source);
  if (!uri) {
    const char *auth = strstr (source, "://") + 3;
    if (*auth == '[' && !memchr (auth, ']', strcspn (auth, "/?#")))
      gbox_int_error (h, "%s: bad IPv6 address in NBD URI", source);
    else if (written_port (source, &port, &portlen))
      gbox_int_error (h, "%s: bad port number in NBD URI", source);
    else
      gbox_int_error (h, "%s: not a valid URI (characters such as spaces "
                      "must be written as %%XX)", source);
    return -1;
  }
  u->is_unix = strcmp (uri->scheme, "nbd+unix") == 0;
  if (uri->user || uri->fragment) {
    gbox_int_error (h, "%s: an NBD URI has no user name or #fragment",
                    source);
    goto out;
  }
  if (uri->server && *uri->server) {
    size_t len = strlen (uri->server);
    if (uri->server[0] == '[' && len >= 2 && uri->server[len - 1] == ']')
      u->host = strndup (uri->server + 1, len - 2);
    else
      u->host = strdup (uri->server);
    if (!u->host)
      goto oom;
  }
  if (written_port (source, &port, &portlen) &&
      (portlen == 0 || uri->port <= 0 || uri->port > 65535)) {
    gbox_int_error (h, "%s: bad port number in NBD URI", source);
    goto out;
  }
  u->port = uri->port > 0 ? uri->port : 0;
  if (uri->path && uri->path[0] == '/' && uri->path[1]) {
    u->export = strdup (uri->path + 1);
    if (!u->export)
      goto oom;
  }
  /* ?socket=PATH (the last one wins), each parameter decoded alone so
   * that %26 may stand in a path. */
  if (uri->query_raw) {
    const char *q = uri->query_raw;
    while (*q) {
      size_t len = strcspn (q, "&");
      if (len >= 7 && strncmp (q, "socket=", 7) == 0) {
        free (u->socket);
        u->socket = xmlURIUnescapeString (q + 7, len - 7, NULL);
        if (!u->socket)
          goto oom;
      }
      q += len;
      if (*q == '&')
        q++;
    }
  }
  if (u->socket)
    u->is_unix = true;
  if (u->is_unix && (!u->socket || !*u->socket)) {
    gbox_int_error (h, "%s: NBD over a Unix socket needs ?socket=PATH",
                    source);
    goto out;
  }
  if (!u->is_unix && !u->host) {
    gbox_int_error (h, "%s: NBD URI has no host name", source);
    goto out;
  }
  r = 0;
  goto out;

 oom:
  gbox_int_perror (h, "malloc");
 out:
  xmlFreeURI (uri);
  if (r == -1)
    free_nbd_uri (u);
  return r;
}

static char *nbd_json (gbox_h *h, const char *source, const char *fdname,
                       char **sockpath);

char *
gbox_int_nbd_json (gbox_h *h, const char *source)
{
  return nbd_json (h, source, NULL, NULL);
}

/* The blockdev node (JSON) of the NBD URI SOURCE.  With FDNAME, a Unix
 * socket is given as the monitor descriptor of that name (we connect to
 * it, so that a qemu running as another user needs no access to the
 * socket's directory), and *SOCKPATH gets its path (NULL for TCP). */
static char *
nbd_json (gbox_h *h, const char *source, const char *fdname, char **sockpath)
{
  struct nbd_uri u;
  json_object *o = NULL, *server = NULL;
  char portbuf[16];
  int bad;

  if (parse_nbd_uri (h, source, &u) == -1)
    return NULL;
  o = json_object_new_object ();
  server = json_object_new_object ();
  bad = !o || !server || json_add_string (o, "driver", "nbd") == -1;
  if (!bad && u.is_unix && fdname) {
    bad = json_add_string (server, "type", "fd") == -1 ||
      json_add_string (server, "str", fdname) == -1;
    if (!bad) {
      *sockpath = u.socket;
      u.socket = NULL;
    }
  }
  else if (!bad && u.is_unix)
    bad = json_add_string (server, "type", "unix") == -1 ||
      json_add_string (server, "path", u.socket) == -1;
  else if (!bad) {
    snprintf (portbuf, sizeof portbuf, "%d", u.port ? u.port : 10809);
    bad = json_add_string (server, "type", "inet") == -1 ||
      json_add_string (server, "host", u.host) == -1 ||
      json_add_string (server, "port", portbuf) == -1;
  }
  if (!bad) {
    bad = json_object_object_add (o, "server", server) != 0;
    if (!bad)
      server = NULL;
  }
  if (!bad && u.export && *u.export)
    bad = json_add_string (o, "export", u.export) == -1;
  free_nbd_uri (&u);
  json_object_put (server);
  if (bad) {
    json_object_put (o);
    gbox_int_perror (h, "malloc");
    return NULL;
  }
  return json_text (h, o);
}

static bool
is_nbd_uri (const char *s)
{
  return strncmp (s, "nbd://", 6) == 0 || strncmp (s, "nbd+unix://", 11) == 0
    || strncmp (s, "nbd+tcp://", 10) == 0;
}

static bool
valid_format_n (const char *f, size_t n)
{
  size_t i;

  for (i = 0; i < n; ++i)
    if (!((f[i] >= 'a' && f[i] <= 'z') || (f[i] >= '0' && f[i] <= '9') ||
          f[i] == '-' || f[i] == '_'))
      return false;
  return n > 0 && n <= 32;
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

/* Open the image NAME once, without blocking on a FIFO: the descriptor
 * that is probed is the one qemu gets (no second open by name that a
 * swapped file could redirect).  FLAGS is O_RDONLY or O_RDWR.  Only a
 * regular file or a block device is accepted.  -1 on error. */
static int
open_image (gbox_h *h, const char *name, int flags, struct stat *st)
{
  int fd;

  /* No open at all of what is not an image (a FIFO's writer would see
   * it); the descriptor's own fstat below is what counts. */
  if (stat (name, st) == 0 && !S_ISREG (st->st_mode) &&
      !S_ISBLK (st->st_mode) && !S_ISDIR (st->st_mode)) {
    gbox_int_error (h, "%s: not a regular file or block device", name);
    return -1;
  }
  fd = open (name, flags | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
  if (fd == -1) {
    if (errno == EISDIR)
      gbox_int_error (h, "%s: is a directory, not a disk image", name);
    else
      gbox_int_perror (h, "%s", name);
    h->last_errno = errno;
    return -1;
  }
  if (fstat (fd, st) == -1) {
    gbox_int_perror (h, "%s: fstat", name);
    close (fd);
    return -1;
  }
  if (S_ISDIR (st->st_mode)) {
    gbox_int_error (h, "%s: is a directory, not a disk image", name);
    h->last_errno = EISDIR;
    close (fd);
    return -1;
  }
  if (!S_ISREG (st->st_mode) && !S_ISBLK (st->st_mode)) {
    gbox_int_error (h, "%s: not a regular file or block device", name);
    close (fd);
    return -1;
  }
  if (fcntl (fd, F_SETFL, fcntl (fd, F_GETFL) & ~O_NONBLOCK) == -1) {
    gbox_int_perror (h, "%s: fcntl", name);
    close (fd);
    return -1;
  }
  return fd;
}

/* The virtual size of the image on FD as our header reader knows it
 * (raw and qcow2), rounded up to a sector; 0 when qemu-img must say. */
static uint64_t
header_size (int fd, const char *format, const struct stat *st)
{
  uint64_t size = 0;
  unsigned char b[8];

  if (strcmp (format, "raw") == 0) {
    if (S_ISBLK (st->st_mode)) {
      if (ioctl (fd, BLKGETSIZE64, &size) == -1)
        size = 0;
    }
    else
      size = (uint64_t) st->st_size;
  }
  else if (strcmp (format, "qcow2") == 0 &&
           pread (fd, b, 8, 24) == 8)
    size = be64 (b);
  if (size > UINT64_MAX / 2)
    return 0;
  return (size + 511) & ~UINT64_C(511);
}

/* The backing file name of the qcow2 header on FD: 1 (*NAME set), 0
 * none, -1 unreadable.  *DATAFILE: it names an external data file. */
static int
qcow2_backing (int fd, char **name, bool *datafile)
{
  unsigned char hdr[80];
  ssize_t n = pread (fd, hdr, sizeof hdr, 0);
  uint64_t off;
  uint32_t len;
  char buf[1024];

  *name = NULL;
  *datafile = false;
  if (n < 72 || memcmp (hdr, "QFI\xfb", 4) != 0)
    return -1;
  if (be32 (hdr + 4) >= 3 && n >= 80 && (be64 (hdr + 72) & 4))
    *datafile = true;
  off = be64 (hdr + 8);
  len = be32 (hdr + 16);
  if (off == 0 || len == 0)
    return 0;
  if (len >= sizeof buf || off > INT64_MAX ||
      pread (fd, buf, len, (off_t) off) != (ssize_t) len)
    return -1;
  buf[len] = '\0';
  if (strlen (buf) != len)
    return -1;
  *name = strdup (buf);
  return *name ? 1 : -1;
}

/* The string member KEY of object O, or NULL. */
static const char *
json_string_member (json_object *o, const char *key)
{
  json_object *v;

  if (!json_object_object_get_ex (o, key, &v) ||
      !json_object_is_type (v, json_type_string))
    return NULL;
  return json_object_get_string (v);
}

/* The number of members of O other than "read-only": true (which only
 * restricts what qemu may do). */
static int
json_members_but_readonly (json_object *o)
{
  json_object *ro;
  int n = json_object_object_length (o);

  if (json_object_object_get_ex (o, "read-only", &ro) &&
      json_object_is_type (ro, json_type_boolean) &&
      json_object_get_boolean (ro))
    n--;
  return n;
}

/* The PATH of json:{"driver":FMT,"file":{"driver":"file"|"host_device",
 * "filename":PATH}} (J after "json:"), either object possibly with
 * "read-only": true as well, FMT in FMTBUF; NULL if J is not exactly
 * that (read by json-c: no other member, so nothing else that opens
 * files). */
static char *
json_local_file (const char *j, char *fmtbuf, size_t fmtlen)
{
  json_object *o = json_tokener_parse (j), *file;
  const char *fmt, *drv, *name;
  char *r = NULL;

  if (!o || !json_object_is_type (o, json_type_object) ||
      json_members_but_readonly (o) != 2 ||
      (fmt = json_string_member (o, "driver")) == NULL ||
      !json_object_object_get_ex (o, "file", &file) ||
      !json_object_is_type (file, json_type_object) ||
      json_members_but_readonly (file) != 2 ||
      (drv = json_string_member (file, "driver")) == NULL ||
      (strcmp (drv, "file") != 0 && strcmp (drv, "host_device") != 0) ||
      (name = json_string_member (file, "filename")) == NULL ||
      !*name || strlen (name) != (size_t) json_object_get_string_len
      (json_object_object_get (file, "filename")) ||
      strlen (fmt) >= fmtlen || !valid_format_n (fmt, strlen (fmt)))
    goto out;
  snprintf (fmtbuf, fmtlen, "%s", fmt);
  r = strdup (name);
 out:
  json_object_put (o);
  return r;
}

/* --format=qcow2 on an image with a backing file: follow the chain
 * ourselves, each backing file found relative to the image naming it,
 * opened once and probed with the same rules as a disk given without
 * --format (its own header may not name other files, except a qcow2
 * naming its own backing file), and named under -v.  qemu gets every
 * file of the chain as a descriptor. */
static int
follow_chain (gbox_h *h, struct gbox_drive *d, const struct stat *top)
{
  int cur_fd = d->fd;
  const char *cur_name = d->source;
  dev_t seen_dev[GBOX_MAX_CHAIN + 1];
  ino_t seen_ino[GBOX_MAX_CHAIN + 1];
  size_t nseen = 0;

  seen_dev[nseen] = top->st_dev;
  seen_ino[nseen++] = top->st_ino;
  for (;;) {
    CLEANUP_FREE char *bname = NULL, *path = NULL, *probed = NULL;
    CLEANUP_FREE char *bbacking = NULL;
    char jfmt[16];
    struct gbox_backing *nc;
    struct stat st;
    bool datafile;
    size_t k;
    int r, fd;

    r = qcow2_backing (cur_fd, &bname, &datafile);
    if (r == -1) {
      gbox_int_error (h, "%s: cannot read the qcow2 header's backing file "
                      "name", cur_name);
      return -1;
    }
    if (datafile) {
      gbox_int_error (h, "%s: the qcow2 image keeps its data in an "
                      "external data file, which is not supported",
                      cur_name);
      return -1;
    }
    if (r == 0)
      return 0;
    if (d->nr_chain == GBOX_MAX_CHAIN) {
      gbox_int_error (h, "%s: the backing chain is longer than %d files",
                      d->source, GBOX_MAX_CHAIN);
      return -1;
    }
    /* json:{"driver":FMT,"file":{"driver":"file","filename":PATH}} (as
     * virt-sparsify's overlays name their source): the file PATH, of
     * format FMT, probed like any other. */
    jfmt[0] = '\0';
    if (strncmp (bname, "json:", 5) == 0) {
      char *jname = json_local_file (bname + 5, jfmt, sizeof jfmt);

      if (jname) {
        free (bname);
        bname = jname;
      }
    }
    /* A protocol ("nbd:", "json:", "http:") is not a local file. */
    if (strncmp (bname, "json:", 5) == 0 ||
        (strchr (bname, ':') &&
         strchr (bname, ':') < (strchr (bname, '/') ? strchr (bname, '/')
                                : bname + strlen (bname)))) {
      gbox_int_error (h, "%s: the backing file '%s' is not a local file "
                      "name; not opened", cur_name, bname);
      return -1;
    }
    if (bname[0] == '/' || strchr (cur_name, '/') == NULL)
      path = strdup (bname);
    else
      path = gbox_int_asprintf (h, "%.*s/%s",
                                (int) (strrchr (cur_name, '/') - cur_name),
                                cur_name, bname);
    if (!path) {
      gbox_int_perror (h, "malloc");
      return -1;
    }
    fd = open_image (h, path, O_RDONLY, &st);
    if (fd == -1) {
      char *msg = gbox_int_strdup (h, gbox_last_error (h));
      gbox_int_error (h, "%s: its backing file: %s", cur_name,
                      msg ? msg : path);
      free (msg);
      return -1;
    }
    for (k = 0; k < nseen; ++k)
      if (seen_dev[k] == st.st_dev && seen_ino[k] == st.st_ino) {
        gbox_int_error (h, "%s: the backing chain loops (at %s)",
                        d->source, path);
        close (fd);
        return -1;
      }
    seen_dev[nseen] = st.st_dev;
    seen_ino[nseen++] = st.st_ino;
    if (gbox_int_probe_format_fd (h, fd, path, &probed, &bbacking) == -1) {
      close (fd);
      return -1;
    }
    /* The json: form said the format: raw reads any header as data;
     * another format must be what the header says. */
    if (jfmt[0] && strcmp (jfmt, "raw") == 0) {
      free (probed);
      free (bbacking);
      bbacking = NULL;
      probed = strdup ("raw");
      if (!probed) {
        gbox_int_perror (h, "strdup");
        close (fd);
        return -1;
      }
    }
    else if (jfmt[0] && strcmp (jfmt, probed) != 0) {
      gbox_int_error (h, "%s: the backing file %s is %s, not %s as the "
                      "image says", cur_name, path, probed, jfmt);
      close (fd);
      return -1;
    }
    if (bbacking && strcmp (probed, "qcow2") != 0) {
      gbox_int_error (h, "%s: the backing file %s (probed as %s) refers to "
                      "another file '%s'; not opened", d->source, path,
                      probed, bbacking);
      close (fd);
      return -1;
    }
    gbox_int_debug (h, "%s: backing file %s (probed as %s)", cur_name, path,
                    probed);
    nc = realloc (d->chain, (d->nr_chain + 1) * sizeof *nc);
    if (!nc) {
      gbox_int_perror (h, "realloc");
      close (fd);
      return -1;
    }
    d->chain = nc;
    nc[d->nr_chain].name = path;
    nc[d->nr_chain].format = probed;
    nc[d->nr_chain].fd = fd;
    d->nr_chain++;
    path = probed = NULL;
    if (strcmp (nc[d->nr_chain - 1].format, "qcow2") != 0)
      return 0;
    cur_fd = fd;
    cur_name = nc[d->nr_chain - 1].name;
  }
}

/* qemu's image locking, on a disk we lock ourselves (the write-later
 * disks, whose nodes qemu opens with locking off, since it could not
 * reopen them read-write through a descriptor set otherwise): the
 * bytes qemu's file driver locks, 100 + permission (held) and 200 +
 * permission (not shared with others).  We hold "consistent read" and
 * "write" and share neither "write" nor, for a writer, with a writer:
 * a running virtual machine's disk is refused, and a virtual machine
 * started on the disk meanwhile fails to get its lock, as with qemu's
 * own locks. */
#define QEMU_LOCK_PERM 100
#define QEMU_LOCK_SHARED 200
#define QEMU_PERM_READ 0
#define QEMU_PERM_WRITE 1

static int
lock_byte (int fd, off_t off, short type, int cmd)
{
  struct flock fl;

  memset (&fl, 0, sizeof fl);
  fl.l_type = type;
  fl.l_whence = SEEK_SET;
  fl.l_start = off;
  fl.l_len = 1;
  if (fcntl (fd, cmd, &fl) == -1)
    return -1;
  return cmd == F_OFD_GETLK && fl.l_type != F_UNLCK ? 1 : 0;
}

static int
lock_for_writing (gbox_h *h, struct gbox_drive *d)
{
  if (lock_byte (d->fd_rw, QEMU_LOCK_PERM + QEMU_PERM_WRITE, F_WRLCK,
                 F_OFD_GETLK) != 0 ||
      lock_byte (d->fd_rw, QEMU_LOCK_SHARED + QEMU_PERM_WRITE, F_WRLCK,
                 F_OFD_GETLK) != 0) {
    gbox_int_error (h, "%s: the disk image is in use (a process such as a "
                    "running virtual machine writes to it or forbids "
                    "writing to it)", d->source);
    return -1;
  }
  if (lock_byte (d->fd_rw, QEMU_LOCK_PERM + QEMU_PERM_READ, F_RDLCK,
                 F_OFD_SETLK) == -1 ||
      lock_byte (d->fd_rw, QEMU_LOCK_PERM + QEMU_PERM_WRITE, F_RDLCK,
                 F_OFD_SETLK) == -1 ||
      lock_byte (d->fd_rw, QEMU_LOCK_SHARED + QEMU_PERM_WRITE, F_RDLCK,
                 F_OFD_SETLK) == -1) {
    gbox_int_perror (h, "%s: locking the disk image", d->source);
    return -1;
  }
  return 0;
}

int
gbox_add_drive (gbox_h *h, const char *source, const char *format,
                int readonly)
{
  struct gbox_drive d = { 0 };
  struct gbox_drive *nd;

  d.fd = d.fd_rw = -1;
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

  d.source = strdup (source);
  if (!d.source) {
    gbox_int_perror (h, "strdup");
    return -1;
  }
  d.write_later = readonly == GBOX_DRIVE_WRITE_LATER;
  d.readonly = readonly != 0 && !d.write_later;
  d.format_explicit = format != NULL;

  if (is_nbd_uri (source)) {
    d.is_nbd = true;
    char fdname[32];

    snprintf (fdname, sizeof fdname, "nbd%zu", h->nr_drives);
    d.nbd_json = gbox_int_nbd_json (h, source);
    if (d.nbd_json)
      d.nbd_qemu_json = nbd_json (h, source, fdname, &d.nbd_socket);
    if (!d.nbd_json || !d.nbd_qemu_json) {
      free_drive (&d);
      return -1;
    }
    /* An NBD export is raw unless the user says otherwise: its contents
     * are not probed. */
    d.format = strdup (format ? format : "raw");
  }
  else {
    struct stat st;
    CLEANUP_FREE char *probed = NULL, *backing = NULL;

    /* Opened once: the descriptor probed here is the one qemu-img and
     * qemu read (a write-later disk is opened read-write, so that an
     * image we may not write is refused now, and read-only through the
     * same inode). */
    d.fd = open_image (h, source, d.readonly ? O_RDONLY : O_RDWR, &st);
    if (d.fd == -1) {
      free_drive (&d);
      return -1;
    }
    if (d.write_later) {
      char self[64];

      d.fd_rw = d.fd;
      snprintf (self, sizeof self, "/proc/self/fd/%d", d.fd_rw);
      d.fd = open (self, O_RDONLY | O_CLOEXEC);
      if (d.fd == -1) {
        gbox_int_perror (h, "%s: reopening read-only", source);
        free_drive (&d);
        return -1;
      }
    }
    if (S_ISREG (st.st_mode) && st.st_size == 0) {
      gbox_int_error (h, "%s: the disk image is empty (0 bytes)", source);
      free_drive (&d);
      return -1;
    }
    if (gbox_int_probe_format_fd (h, d.fd, source, &probed, &backing) == -1) {
      free_drive (&d);
      return -1;
    }
    if (!format) {
      if (backing && strcmp (probed, "qcow2") == 0) {
        gbox_int_error (h, "%s: the image (probed as %s) refers to another "
                        "file '%s'; it is not opened unless you give the "
                        "format explicitly (--format=%s): %s --format=%s "
                        "-a %s ...",
                        source, probed, backing, probed,
                        h->program ? h->program : "virt-...", probed,
                        source);
        free_drive (&d);
        return -1;
      }
      if (backing) {
        gbox_int_error (h, "%s: the image (probed as %s) refers to another "
                        "file '%s'; it is not opened, not even with its "
                        "format given (--format=%s), since qemu would open "
                        "that file by name (fix: make it one image first, "
                        "e.g. qemu-img convert -O qcow2)",
                        source, probed, backing, probed);
        free_drive (&d);
        return -1;
      }
      gbox_int_debug (h, "%s: probed format %s", source, probed);
    }
    else if (strcmp (format, "qcow2") == 0 && strcmp (probed, "qcow2") == 0) {
      if (follow_chain (h, &d, &st) == -1) {
        free_drive (&d);
        return -1;
      }
    }
    else if (backing && strcmp (format, probed) == 0) {
      /* vmdk extents or parent, a QED backing file, a differencing VDI,
       * VHD or VHDX: qemu would open those files by the names the image
       * gives (only a qcow2 chain is followed here, each file through a
       * descriptor of ours). */
      gbox_int_error (h, "%s: the %s image refers to another file '%s', "
                      "which qemu would open by name; it is not opened "
                      "(only qcow2 backing chains are, each file through a "
                      "descriptor; fix: make it one image first, e.g. "
                      "qemu-img convert -O qcow2)", source, format, backing);
      free_drive (&d);
      return -1;
    }
    d.format = strdup (format ? format : probed);
    if (d.format)
      d.size = header_size (d.fd, d.format, &st);
    if (d.write_later && lock_for_writing (h, &d) == -1) {
      free_drive (&d);
      return -1;
    }
  }
  if (!d.format) {
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

/* Does FORMAT take a "backing" option? */
static bool
has_backing (const char *format)
{
  return strcmp (format, "qcow2") == 0 || strcmp (format, "qcow") == 0 ||
    strcmp (format, "qed") == 0 || strcmp (format, "vmdk") == 0;
}

/* How the nodes name the local files: by descriptor set (qemu), by the
 * descriptor qemu-img inherits as 3 (qemu-img), or by name. */
enum file_naming { NAME_FDSET, NAME_INHERITED };

/* Add member KEY: V to O (V released on failure); -1 when out of
 * memory. */
static int
json_add (json_object *o, const char *key, json_object *v)
{
  if (!v || json_object_object_add (o, key, v) != 0) {
    json_object_put (v);
    return -1;
  }
  return 0;
}

/* The "file" node of a local file. */
static json_object *
file_node (const char *filename, bool readonly, bool discard, bool nolock)
{
  json_object *o = json_object_new_object ();

  if (!o ||
      json_add_string (o, "driver", "file") == -1 ||
      json_add_string (o, "filename", filename) == -1 ||
      /* A write-later node inherits "read-only" from its format node,
       * so that a commit can reopen it read-write. */
      (!nolock &&
       json_add (o, "read-only", json_object_new_boolean (readonly)) == -1) ||
      (discard && json_add_string (o, "discard", "unmap") == -1) ||
      (nolock && json_add_string (o, "locking", "off") == -1)) {
    json_object_put (o);
    return NULL;
  }
  return o;
}

/* A format node FORMAT over FILE (released on failure). */
static json_object *
format_node (const char *format, bool readonly, bool discard,
             json_object *file)
{
  json_object *o = json_object_new_object ();

  if (!o ||
      json_add_string (o, "driver", format) == -1 ||
      json_add (o, "read-only", json_object_new_boolean (readonly)) == -1 ||
      /* Discards and zero writes free space all the way down. */
      (discard && (json_add_string (o, "discard", "unmap") == -1 ||
                   json_add_string (o, "detect-zeroes", "unmap") == -1))) {
    json_object_put (o);
    json_object_put (file);
    return NULL;
  }
  if (json_add (o, "file", file) == -1) {
    json_object_put (o);
    return NULL;
  }
  return o;
}

/* The node reading the user's image (format layer over the protocol
 * layer, and the backing chain we opened); NULL with the error set. */
static json_object *
source_node (gbox_h *h, struct gbox_drive *d, size_t i, bool readonly,
             enum file_naming naming)
{
  bool discard = d->discard && !readonly;
  json_object *top = NULL, *file, *parent;
  const char *parent_format = d->format;
  size_t j;

  if (d->is_nbd)
    file = json_tokener_parse (naming == NAME_FDSET ? d->nbd_qemu_json
                               : d->nbd_json);
  else {
    char name[64];

    if (naming == NAME_INHERITED)
      snprintf (name, sizeof name, "/proc/self/fd/3");
    else
      snprintf (name, sizeof name, "/dev/fdset/%d", FDSET_SRC (i));
    file = file_node (name, readonly, discard,
                      d->write_later);
  }
  top = file ? format_node (d->format, readonly, discard, file) : NULL;
  if (!top)
    goto oom;
  /* The chain we followed, every file by descriptor; a probed image
   * never gets a backing file (see the top of file). */
  parent = top;
  if (naming == NAME_FDSET) {
    for (j = 0; j < d->nr_chain; ++j) {
      char name[64];
      json_object *b;

      snprintf (name, sizeof name, "/dev/fdset/%d", FDSET_CHAIN (i, j));
      file = file_node (name, true, false, false);
      b = file ? format_node (d->chain[j].format, true, false, file) : NULL;
      if (json_add (parent, "backing", b) == -1)
        goto oom;
      parent = b;
      parent_format = d->chain[j].format;
    }
  }
  if (has_backing (parent_format) &&
      json_object_object_add (parent, "backing", NULL) != 0)
    goto oom;
  return top;

 oom:
  json_object_put (top);
  gbox_int_perror (h, "malloc");
  return NULL;
}

static char *
source_node_json (gbox_h *h, struct gbox_drive *d, size_t i, bool readonly,
                  enum file_naming naming)
{
  json_object *o = source_node (h, d, i, readonly, naming);

  return o ? json_text (h, o) : NULL;
}

/* Send the QMP command EXECUTE with ARGUMENTS (released; NULL: none),
 * passing FD along if >= 0; *REPLY as gbox_int_qmp gives it. */
static int
qmp_call (gbox_h *h, const char *execute, json_object *arguments, int fd,
          char **reply)
{
  json_object *o = json_object_new_object ();
  CLEANUP_FREE char *cmd = NULL;

  if (!o || json_add_string (o, "execute", execute) == -1 ||
      (arguments && json_add (o, "arguments", arguments) == -1)) {
    if (!o)
      json_object_put (arguments);
    json_object_put (o);
    gbox_int_perror (h, "malloc");
    return -1;
  }
  cmd = json_text (h, o);
  if (!cmd)
    return -1;
  return fd >= 0 ? gbox_int_qmp_fd (h, cmd, fd, reply)
    : gbox_int_qmp (h, cmd, reply);
}

/* The "return" member of the QMP reply REPLY (parsed into *DOC, which
 * the caller releases) if it has TYPE, else NULL with the error set. */
static json_object *
qmp_return (gbox_h *h, const char *reply, json_type type, json_object **doc)
{
  json_object *ret;

  *doc = reply ? json_tokener_parse (reply) : NULL;
  if (!*doc || !json_object_object_get_ex (*doc, "return", &ret) ||
      !json_object_is_type (ret, type)) {
    gbox_int_error (h, "qemu: an unexpected reply: %.200s",
                    reply ? reply : "(none)");
    return NULL;
  }
  return ret;
}

/* Run qemu-img with ARGV, returning 0 or -1 with its stderr (on one
 * line) in the error.  FD3 (> 2) is given to qemu-img as its descriptor
 * 3; with OUTPUT, *OUTPUT gets what it printed (malloc'd). */
static int
run_qemu_img_fd (gbox_h *h, const char *const argv[], int fd3,
                 char **output)
{
  struct gbox_cmd c = {
    .argv = argv, .fd3 = fd3, .out_max = output ? 65536 : 0,
    .err_max = 4096,
    /* qemu-img opens the source: an NBD server that never answers must
     * not hang the command (bounded like a launch). */
    .timeout_ms = h->launch_timeout * 1000,
  };
  char *p;
  size_t len;

  if (gbox_int_cmd_run (&c) == -1) {
    gbox_int_perror (h, "%s", argv[0]);
    return -1;
  }
  if (c.timed_out) {
    gbox_int_error (h, "qemu-img: no answer from the disk image in %u s "
                    "(GBOX_LAUNCH_TIMEOUT)", h->launch_timeout);
    gbox_int_cmd_free (&c);
    return -1;
  }
  if (!gbox_int_cmd_ok (&c)) {
    /* One line: "a\nb\n" -> "a; b". */
    for (len = c.err_len; len > 0 && (c.err[len - 1] == '\n' ||
                                      c.err[len - 1] == ' '); --len)
      c.err[len - 1] = '\0';
    if (len == 0)
      gbox_int_error (h, "qemu-img failed");
    else {
      CLEANUP_FREE char *line = malloc (2 * len + 1);
      char *q = line;

      if (line) {
        for (p = c.err; *p; ++p) {
          if (*p == '\n') {
            *q++ = ';';
            *q++ = ' ';
          }
          else
            *q++ = *p;
        }
        *q = '\0';
      }
      gbox_int_error (h, "%s", line ? line : c.err);
    }
    gbox_int_cmd_free (&c);
    return -1;
  }
  if (output) {
    *output = c.out;
    c.out = NULL;
  }
  gbox_int_cmd_free (&c);
  return 0;
}

static int
run_qemu_img (gbox_h *h, const char *const argv[])
{
  return run_qemu_img_fd (h, argv, 0, NULL);
}

/* The virtual size of drive I from qemu-img, reading the descriptor we
 * opened (as its descriptor 3), for the formats our header reader does
 * not size.  The "virtual-size" of the top-level object: the nested
 * entries of a chain have their own. */
static int
qemu_img_size (gbox_h *h, const char *qemu_img, struct gbox_drive *d,
               size_t i)
{
  CLEANUP_FREE char *src = source_node_json (h, d, i, true, NAME_INHERITED);
  CLEANUP_FREE char *opt = NULL, *out = NULL;
  json_object *o = NULL, *v;
  int64_t size = 0;

  if (!src)
    return -1;
  opt = gbox_int_asprintf (h, "json:%s", src);
  if (!opt)
    return -1;
  {
    const char *argv[] = { qemu_img, "info", "--output=json", opt, NULL };
    if (run_qemu_img_fd (h, argv, d->fd, &out) == -1)
      return -1;
  }
  o = json_tokener_parse (out);
  if (o && json_object_is_type (o, json_type_object) &&
      json_object_object_get_ex (o, "virtual-size", &v) &&
      json_object_is_type (v, json_type_int))
    size = json_object_get_int64 (v);
  json_object_put (o);
  if (size <= 0 || (uint64_t) size > UINT64_MAX / 2) {
    gbox_int_error (h, "qemu-img info gave no size");
    return -1;
  }
  d->size = ((uint64_t) size + 511) & ~UINT64_C(511);
  return 0;
}

/* A qcow2 overlay for each read-only and write-later drive: an empty
 * image of the source's virtual size that names no backing file (qemu
 * gets its backing node from us), so qemu-img never opens the user's
 * image by name.  The size comes from our header reader, or from
 * qemu-img reading the descriptor we probed; an NBD source is read by
 * qemu-img (it names no local file). */
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
    char size[32];
    int r;

    if (!d->readonly && !d->write_later)
      continue;
    free (d->overlay);
    d->overlay = gbox_int_asprintf (h, "%s/overlay%03zu.qcow2",
                                    h->tmpdir, i);
    if (!d->overlay)
      return -1;
    if (d->is_nbd) {
      src = source_node_json (h, d, i, true, NAME_INHERITED);
      if (!src)
        return -1;
      /* The "json:" pseudo-protocol carries exactly the node we use, so
       * qemu-img cannot interpret the source in any other way. */
      opt = gbox_int_asprintf (h, "json:%s", src);
      if (!opt)
        return -1;
      {
        const char *argv[] = {
          qemu_img, "create", "-q", "-f", "qcow2", "-b", opt,
          "-F", d->format, d->overlay, NULL
        };
        r = run_qemu_img (h, argv);
      }
    }
    else {
      if (d->size == 0 && qemu_img_size (h, qemu_img, d, i) == -1)
        r = -1;
      else {
        const char *argv[] = {
          qemu_img, "create", "-q", "-f", "qcow2", d->overlay, size, NULL
        };
        snprintf (size, sizeof size, "%" PRIu64, d->size);
        r = run_qemu_img (h, argv);
      }
    }
    if (r == -1) {
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
      h->failed_drive = i;
      free (msg);
      return -1;
    }
  }
  return 0;
}

/* Give qemu FD in descriptor set SET. */
static int
add_fd (gbox_h *h, int fd, int set)
{
  json_object *args = json_object_new_object ();

  if (!args || json_add (args, "fdset-id", json_object_new_int (set)) == -1) {
    json_object_put (args);
    gbox_int_perror (h, "malloc");
    return -1;
  }
  return qmp_call (h, "add-fd", args, fd, NULL);
}

/* Is NAME one of the files we gave qemu: our descriptor sets? */
static bool
our_file (gbox_h *h, const char *name)
{
  size_t i, j;
  char want[64];

  for (i = 0; i < h->nr_drives; ++i) {
    struct gbox_drive *d = &h->drives[i];

    snprintf (want, sizeof want, "/dev/fdset/%d", FDSET_OVL (i));
    if (d->overlay && strcmp (name, want) == 0)
      return true;
    if (d->is_nbd)
      continue;
    snprintf (want, sizeof want, "/dev/fdset/%d", FDSET_SRC (i));
    if (strcmp (name, want) == 0)
      return true;
    for (j = 0; j < d->nr_chain; ++j) {
      snprintf (want, sizeof want, "/dev/fdset/%d", FDSET_CHAIN (i, j));
      if (strcmp (name, want) == 0)
        return true;
    }
  }
  return false;
}

/* One node of query-named-block-nodes: DRV, NAME, FILE ("" if absent). */
static int
check_node (gbox_h *h, const char *drv, const char *name, const char *file,
            bool any_nbd)
{
  static const char *const formats[] = {
    "raw", "qcow2", "qcow", "qed", "vmdk", "vdi", "vhdx", "vpc", NULL
  };
  size_t k;

  for (k = 0; formats[k]; ++k)
    if (strcmp (drv, formats[k]) == 0)
      return 0;
  if (strcmp (drv, "nbd") == 0 && any_nbd)
    return 0;
  if (strcmp (drv, "file") == 0 || strcmp (drv, "host_device") == 0) {
    if (our_file (h, file))
      return 0;
    /* The appliance's root disk (cmdline.c), named by us. */
    if (strcmp (drv, "file") == 0 && strcmp (name, "approot") == 0) {
      size_t n = strlen (file);

      if (n > 5 && strcmp (file + n - 5, "/root") == 0)
        return 0;
    }
    gbox_int_error (h, "qemu opened a file it was not given: '%s' (node "
                    "%s); the disk is not attached", file, name);
    return -1;
  }
  gbox_int_error (h, "qemu made a block node it was not asked for (driver "
                  "'%s', node %s); the disk is not attached", drv, name);
  return -1;
}

/* The block graph, before any disk reaches the guest: every node is a
 * format we use, an NBD client we asked for, or a file node on one of
 * the descriptors we opened (never a file qemu found by a name written
 * in an image). */
static int
check_block_graph (gbox_h *h)
{
  CLEANUP_FREE char *reply = NULL;
  json_object *doc = NULL, *nodes, *args = json_object_new_object ();
  bool any_nbd = false;
  size_t i, n;
  int r = -1;

  for (i = 0; i < h->nr_drives; ++i) {
    any_nbd |= h->drives[i].is_nbd;
  }
  if (!args || json_add (args, "flat", json_object_new_boolean (1)) == -1) {
    json_object_put (args);
    gbox_int_perror (h, "malloc");
    return -1;
  }
  if (qmp_call (h, "query-named-block-nodes", args, -1, &reply) == -1)
    return -1;
  /* {"return": [ {"drv": ..., "node-name": ..., "file": ...}, ... ]} */
  nodes = qmp_return (h, reply, json_type_array, &doc);
  if (!nodes)
    goto out;
  n = json_object_array_length (nodes);
  for (i = 0; i < n; ++i) {
    json_object *node = json_object_array_get_idx (nodes, i);
    const char *drv, *name, *file;

    if (!json_object_is_type (node, json_type_object)) {
      gbox_int_error (h, "qemu: a block node that is not an object");
      goto out;
    }
    drv = json_string_member (node, "drv");
    name = json_string_member (node, "node-name");
    file = json_string_member (node, "file");
    if (check_node (h, drv ? drv : "", name ? name : "", file ? file : "",
                    any_nbd) == -1)
      goto out;
  }
  gbox_int_debug (h, "block graph: %zu nodes, each on a file we opened", n);
  r = 0;
 out:
  json_object_put (doc);
  return r;
}

/* How long the daemon waits for N hot-added disks to appear. */
#define DISKS_READY_MS(n) (30000 + 1000 * (unsigned) (n))

int
gbox_int_attach_drives (gbox_h *h)
{
  size_t i, j;

  h->attach_ms = gbox_int_now_ms ();
  if (h->nr_drives == 0)
    return 0;

  for (i = 0; i < h->nr_drives; ++i) {
    struct gbox_drive *d = &h->drives[i];
    bool behind = d->readonly || d->write_later;
    char nodename_buf[32];

    /* An NBD Unix socket: connected here, given as a named descriptor. */
    if (d->is_nbd && d->nbd_socket) {
      struct sockaddr_un addr;
      CLEANUP_CLOSE int sfd = socket (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
      json_object *args;
      char fdname[32];

      memset (&addr, 0, sizeof addr);
      addr.sun_family = AF_UNIX;
      if (strlen (d->nbd_socket) >= sizeof addr.sun_path) {
        gbox_int_error (h, "%s: socket path too long", d->nbd_socket);
        return -1;
      }
      strcpy (addr.sun_path, d->nbd_socket);
      if (sfd == -1 ||
          connect (sfd, (struct sockaddr *) &addr, sizeof addr) == -1) {
        gbox_int_perror (h, "%s: cannot open the disk: %s", d->source,
                         d->nbd_socket);
        return -1;
      }
      args = json_object_new_object ();
      snprintf (fdname, sizeof fdname, "nbd%zu", i);
      if (!args || json_add_string (args, "fdname", fdname) == -1) {
        json_object_put (args);
        gbox_int_perror (h, "malloc");
        return -1;
      }
      if (qmp_call (h, "getfd", args, sfd, NULL) == -1)
        return -1;
    }
    /* The descriptors, then the nodes on them. */
    if (!d->is_nbd &&
        (add_fd (h, d->fd, FDSET_SRC (i)) == -1 ||
         (d->fd_rw >= 0 && add_fd (h, d->fd_rw, FDSET_SRC (i)) == -1)))
      return -1;
    for (j = 0; j < d->nr_chain; ++j)
      if (add_fd (h, d->chain[j].fd, FDSET_CHAIN (i, j)) == -1)
        return -1;
    {
      json_object *node = source_node (h, d, i, behind, NAME_FDSET);
      char nodename[32];

      if (!node)
        return -1;
      snprintf (nodename, sizeof nodename, "%s%zu",
                behind ? "src" : "drive", i);
      if (json_add_string (node, "node-name", nodename) == -1) {
        json_object_put (node);
        gbox_int_perror (h, "malloc");
        return -1;
      }
      if (qmp_call (h, "blockdev-add", node, -1, NULL) == -1) {
        char *msg = gbox_int_strdup (h, gbox_last_error (h));
        /* qemu answered that it cannot open this image: the launch
         * failed because of this drive (a timeout would not say so). */
        if (h->qmp_refused)
          h->failed_drive = i;
        gbox_int_error (h, "%s: cannot open the disk: %s", d->source,
                        msg ? msg : "");
        free (msg);
        return -1;
      }
    }
    if (behind) {
      CLEANUP_CLOSE int ofd = open (d->overlay, O_RDWR | O_CLOEXEC);
      json_object *ovl, *file;
      char name[64], backing[32];

      if (ofd == -1) {
        gbox_int_perror (h, "%s", d->overlay);
        return -1;
      }
      if (add_fd (h, ofd, FDSET_OVL (i)) == -1)
        return -1;
      snprintf (name, sizeof name, "/dev/fdset/%d", FDSET_OVL (i));
      snprintf (backing, sizeof backing, "src%zu", i);
      snprintf (nodename_buf, sizeof nodename_buf, "drive%zu", i);
      file = json_object_new_object ();
      if (!file || json_add_string (file, "driver", "file") == -1 ||
          json_add_string (file, "filename", name) == -1) {
        json_object_put (file);
        gbox_int_perror (h, "malloc");
        return -1;
      }
      ovl = json_object_new_object ();
      if (!ovl)
        json_object_put (file);
      if (!ovl ||
          json_add (ovl, "file", file) == -1 ||
          json_add_string (ovl, "driver", "qcow2") == -1 ||
          json_add_string (ovl, "node-name", nodename_buf) == -1 ||
          json_add_string (ovl, "backing", backing) == -1) {
        json_object_put (ovl);
        gbox_int_perror (h, "malloc");
        return -1;
      }
      if (qmp_call (h, "blockdev-add", ovl, -1, NULL) == -1)
        return -1;
      /* qemu has the overlay open: its name is no longer needed. */
      unlink (d->overlay);
    }
  }
  if (check_block_graph (h) == -1)
    return -1;
  for (i = 0; i < h->nr_drives; ++i) {
    struct gbox_drive *d = &h->drives[i];
    json_object *args = json_object_new_object ();
    unsigned bs = d->blocksize ? d->blocksize : 512;
    char drive[32], id[32];

    snprintf (drive, sizeof drive, "drive%zu", i);
    snprintf (id, sizeof id, "sd%zu", i);
    if (!args ||
        json_add_string (args, "driver", "scsi-hd") == -1 ||
        json_add_string (args, "bus", "scsi0.0") == -1 ||
        json_add (args, "scsi-id", json_object_new_int64 (i)) == -1 ||
        json_add (args, "lun", json_object_new_int (0)) == -1 ||
        json_add_string (args, "drive", drive) == -1 ||
        json_add_string (args, "id", id) == -1 ||
        json_add (args, "logical_block_size",
                  json_object_new_int64 (bs)) == -1 ||
        json_add (args, "physical_block_size",
                  json_object_new_int64 (bs)) == -1) {
      json_object_put (args);
      gbox_int_perror (h, "malloc");
      return -1;
    }
    if (qmp_call (h, "device_add", args, -1, NULL) == -1)
      return -1;
  }
  return 0;
}

int
gbox_int_drives_ready (gbox_h *h)
{
  if (h->nr_drives == 0)
    return 0;
  {
    /* The daemon answers within its wait (30 s, and 1 s more for each
     * disk: a guest announces many hot-added disks one by one, slowly
     * on a loaded host); a guest whose clock stopped never does, so
     * the call gets a bound of its own, 15 s past the daemon's,
     * instead of the (long) per-call timeout. */
    unsigned saved_timeout = h->call_timeout;
    unsigned wait_ms = DISKS_READY_MS (h->nr_drives);
    int r;

    if (h->call_timeout > wait_ms / 1000 + 15)
      h->call_timeout = wait_ms / 1000 + 15;
    r = gbox_disks_ready (h, h->nr_drives, wait_ms);
    h->call_timeout = saved_timeout;
    if (r == -1)
      return -2;                /* the disks were given, the guest failed */
  }
  gbox_int_debug (h, "%zu disk(s) attached in %" PRIu64 " ms", h->nr_drives,
                  gbox_int_now_ms () - h->attach_ms);
  return 0;
}

/* 0; -1 on an error (a disk qemu cannot open); -2 when the disks were
 * added but the guest did not report them ready (disks_ready failed). */
int
gbox_int_hotadd_drives (gbox_h *h)
{
  if (gbox_int_attach_drives (h) == -1)
    return -1;
  return gbox_int_drives_ready (h);
}

/* Wait until the job ID is ready (READY) or gone (!READY).  0, or -1
 * on an error or after the call timeout. */
static int
wait_job (gbox_h *h, const char *id, bool ready)
{
  uint64_t deadline = gbox_int_now_ms () +
    (uint64_t) (h->call_timeout ? h->call_timeout : 60) * 1000;

  for (;;) {
    CLEANUP_FREE char *reply = NULL;
    json_object *doc = NULL, *jobs, *job = NULL, *v;
    size_t i, n;
    bool is_ready = false;

    if (qmp_call (h, "query-block-jobs", NULL, -1, &reply) == -1)
      return -1;
    jobs = qmp_return (h, reply, json_type_array, &doc);
    if (!jobs) {
      json_object_put (doc);
      return -1;
    }
    n = json_object_array_length (jobs);
    for (i = 0; i < n && !job; ++i) {
      json_object *j = json_object_array_get_idx (jobs, i);
      const char *dev = json_object_is_type (j, json_type_object)
        ? json_string_member (j, "device") : NULL;
      if (dev && strcmp (dev, id) == 0)
        job = j;
    }
    if (job && json_object_object_get_ex (job, "ready", &v) &&
        json_object_is_type (v, json_type_boolean))
      is_ready = json_object_get_boolean (v);
    json_object_put (doc);
    if (!ready && !job)
      return 0;
    if (ready) {
      if (!job) {
        gbox_int_error (h, "the job %s ended before it was ready", id);
        return -1;
      }
      if (is_ready)
        return 0;
    }
    if (gbox_int_now_ms () > deadline) {
      gbox_int_error (h, "the job %s did not finish in time", id);
      return -1;
    }
    usleep (5000);
  }
}

/* The QMP command EXECUTE with the string arguments K1: V1 [, K2: V2
 * [, K3: V3]] (NULL ends them). */
static int
qmp_call_strings (gbox_h *h, const char *execute, const char *k1,
                  const char *v1, const char *k2, const char *v2,
                  const char *k3, const char *v3)
{
  json_object *args = json_object_new_object ();

  if (!args || json_add_string (args, k1, v1) == -1 ||
      (k2 && json_add_string (args, k2, v2) == -1) ||
      (k3 && json_add_string (args, k3, v3) == -1)) {
    json_object_put (args);
    gbox_int_perror (h, "malloc");
    return -1;
  }
  return qmp_call (h, execute, args, -1, NULL);
}

int
gbox_make_writable (gbox_h *h)
{
  size_t i;

  if (h->state != GBOX_STATE_READY) {
    gbox_int_error (h, "make_writable: the appliance is not running");
    return -1;
  }
  for (i = 0; i < h->nr_drives; ++i) {
    struct gbox_drive *d = &h->drives[i];
    char id[32], drive[32], src[32];

    /* A command that writes asks for every disk: one attached
     * read-only would silently lose the writes. */
    if (d->readonly) {
      gbox_int_error (h, "%s: the disk is attached read-only; nothing is "
                      "written", d->source);
      return -1;
    }
    if (!d->write_later || d->writable)
      continue;
    snprintf (id, sizeof id, "commit%zu", i);
    snprintf (drive, sizeof drive, "drive%zu", i);
    snprintf (src, sizeof src, "src%zu", i);
    /* An active commit: what the guest wrote to the overlay (a journal
     * replayed on mount) goes into the image, which qemu reopens
     * read-write (through the descriptor set's read-write descriptor),
     * and the guest's disk continues on the image itself. */
    if (qmp_call_strings (h, "block-commit", "job-id", id, "device", drive,
                          "base-node", src) == -1 ||
        wait_job (h, id, true) == -1)
      goto err;
    if (qmp_call_strings (h, "job-complete", "id", id, NULL, NULL, NULL,
                          NULL) == -1 ||
        wait_job (h, id, false) == -1)
      goto err;
    /* The overlay is out of the guest's chain only if the commit
     * pivoted: deleting it fails while it is in use. */
    if (qmp_call_strings (h, "blockdev-del", "node-name", drive, NULL, NULL,
                          NULL, NULL) == -1)
      goto err;
    d->writable = true;
    gbox_int_debug (h, "%s: attached read-write", d->source);
    continue;
  err:
    {
      char *msg = gbox_int_strdup (h, gbox_last_error (h));
      gbox_int_error (h, "%s: cannot make the disk writable: %s", d->source,
                      msg ? msg : "");
      free (msg);
      return -1;
    }
  }
  return 0;
}
