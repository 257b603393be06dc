/* guestbox - checksums of the regular files of a directory.
 * Copyright (C) 2026 the guestbox authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

/**
 * The checksums procedure behind virt-ls --checksum: one call returns
 * the checksum of every regular file directly in a directory (symbolic
 * links are not followed), sorted by name, so a listing costs one RPC
 * per directory and not one per file.  A reply is cut (and 'more' set)
 * before it outgrows the message limit or after a few seconds of
 * hashing, so no call runs into the library's timeout however large the
 * files.  Digests come from nettle (md5, sha1, sha224, sha256, sha384,
 * sha512); "crc" is the POSIX cksum CRC, computed here, printed in
 * decimal as cksum(1) prints it.
 */

#include <config.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <string.h>
#include <sys/stat.h>

#include <nettle/nettle-meta.h>

#include "daemon.h"

#define CHECKSUMS_REPLY_MAX (3 * 1024 * 1024)
/* Stop adding files to one reply after this long. */
#define CHECKSUMS_TIME_MS 10000
#define READ_SIZE (256 * 1024)

/* POSIX cksum: CRC-32 (polynomial 0x04C11DB7, most significant bit
 * first) over the data and then the length (low bytes first, as few as
 * needed), complemented. */
static uint32_t crc_table[256];

static void
crc_init (void)
{
  uint32_t i, j, c;

  if (crc_table[1] != 0)
    return;
  for (i = 0; i < 256; ++i) {
    c = i << 24;
    for (j = 0; j < 8; ++j)
      c = (c & 0x80000000) ? (c << 1) ^ 0x04C11DB7 : c << 1;
    crc_table[i] = c;
  }
}

static uint32_t
crc_update (uint32_t crc, const unsigned char *p, size_t n)
{
  while (n--)
    crc = (crc << 8) ^ crc_table[((crc >> 24) ^ *p++) & 0xff];
  return crc;
}

static uint32_t
crc_finish (uint32_t crc, uint64_t len)
{
  unsigned char c;

  for (; len != 0; len >>= 8) {
    c = len & 0xff;
    crc = crc_update (crc, &c, 1);
  }
  return ~crc;
}

static const struct nettle_hash *
hash_of (const char *type)
{
  static const struct {
    const char *name;
    const struct nettle_hash *hash;
  } table[] = {
    { "md5", &nettle_md5 }, { "sha1", &nettle_sha1 },
    { "sha224", &nettle_sha224 }, { "sha256", &nettle_sha256 },
    { "sha384", &nettle_sha384 }, { "sha512", &nettle_sha512 },
  };
  size_t i;

  for (i = 0; i < sizeof table / sizeof table[0]; ++i)
    if (strcmp (type, table[i].name) == 0)
      return table[i].hash;
  return NULL;
}

/* Checksum the open file FD into OUT (a string).  -1 on read error. */
static int
checksum_fd (int fd, const char *type, const struct nettle_hash *hash,
             char *out, size_t outlen)
{
  CLEANUP_FREE unsigned char *buf = malloc (READ_SIZE);
  CLEANUP_FREE void *ctx = NULL;
  uint32_t crc = 0;
  uint64_t total = 0;
  ssize_t r;

  if (buf == NULL)
    return -1;
  if (hash) {
    ctx = malloc (hash->context_size);
    if (ctx == NULL)
      return -1;
    hash->init (ctx);
  }
  else
    crc_init ();
  for (;;) {
    r = read (fd, buf, READ_SIZE);
    if (r == -1 && errno == EINTR)
      continue;
    if (r == -1)
      return -1;
    if (r == 0)
      break;
    if (hash)
      hash->update (ctx, r, buf);
    else
      crc = crc_update (crc, buf, r);
    total += r;
  }
  if (hash) {
    unsigned char digest[64];
    size_t i;

    hash->digest (ctx, hash->digest_size, digest);
    if (outlen < 2 * hash->digest_size + 1)
      return -1;
    for (i = 0; i < hash->digest_size; ++i)
      snprintf (out + 2 * i, 3, "%02x", digest[i]);
  }
  else
    snprintf (out, outlen, "%" PRIu32, crc_finish (crc, total));
  (void) type;
  return 0;
}

static size_t
xdr_string_size (size_t len)
{
  return 4 + ((len + 3) & ~(size_t) 3);
}

int
do_checksums (void *argsv, void *retv)
{
  gbox_checksums_args *args = argsv;
  gbox_checksums_ret *ret = retv;
  CLEANUP_FREE_STRING_LIST char **names = NULL;
  const struct nettle_hash *hash = NULL;
  size_t nr_names = 0, i, budget;
  uint64_t t0 = now_ms ();
  int dfd;
  DIR *dir;
  gbox_checksum_entry *ents;

  if (strcmp (args->csumtype, "crc") != 0) {
    hash = hash_of (args->csumtype);
    if (hash == NULL) {
      reply_with_error_errno (EINVAL, "checksums: %s: unknown checksum type "
                              "(crc, md5, sha1, sha224, sha256, sha384 or "
                              "sha512)", args->csumtype);
      return -1;
    }
  }
  dir = read_dir_sorted (args->dir, &names, &nr_names);
  if (dir == NULL)
    return -1;

  dfd = dirfd (dir);
  ret->more = 0;
  ret->entries.entries_len = 0;
  if (args->start >= nr_names) {
    closedir (dir);
    return 0;
  }
  ents = calloc (nr_names - args->start, sizeof *ents);
  if (ents == NULL) {
    reply_with_perror ("checksums: calloc");
    closedir (dir);
    return -1;
  }
  ret->entries.entries_val = ents;
  budget = 64;
  for (i = args->start; i < nr_names; ++i) {
    gbox_checksum_entry *e = &ents[ret->entries.entries_len];
    char sum[160];
    struct stat st;
    int ffd, r;

    /* At least one entry per reply, so that the caller advances. */
    if (i > args->start &&
        (budget + xdr_string_size (strlen (names[i])) + 160 >
         CHECKSUMS_REPLY_MAX || now_ms () - t0 > CHECKSUMS_TIME_MS)) {
      ret->more = 1;
      ret->next = i;
      break;
    }
    if (fstatat (dfd, names[i], &st, AT_SYMLINK_NOFOLLOW) == -1 ||
        !S_ISREG (st.st_mode))
      continue;                 /* vanished, or not a regular file */
    ffd = openat (dfd, names[i], O_RDONLY | O_NOFOLLOW | O_NONBLOCK |
                  O_NOCTTY | O_CLOEXEC);
    if (ffd == -1) {
      reply_with_perror ("checksum: %s/%s", args->dir, names[i]);
      closedir (dir);
      return -1;
    }
    r = checksum_fd (ffd, args->csumtype, hash, sum, sizeof sum);
    if (r == -1) {
      reply_with_perror ("checksum: %s/%s", args->dir, names[i]);
      close (ffd);
      closedir (dir);
      return -1;
    }
    close (ffd);
    e->name = names[i];
    names[i] = strdup ("");     /* ownership moved to the reply */
    e->checksum = strdup (sum);
    ret->entries.entries_len++;
    if (names[i] == NULL || e->checksum == NULL) {
      reply_with_perror ("checksums: strdup");
      closedir (dir);
      return -1;
    }
    budget += xdr_string_size (strlen (e->name)) +
      xdr_string_size (strlen (sum));
  }
  closedir (dir);
  return 0;
}
