/* guestbox - write an empty Windows registry hive (test fixture tool).
 * Copyright (C) 2026 the guestbox authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

/**
 * mkhive FILE: write a minimal valid "regf" hive: the 4 KiB base block
 * (with its XOR checksum), then one 4 KiB hive bin holding the root key
 * (an "nk" cell), its security descriptor (an "sk" cell pointing to
 * itself) and one free cell for the rest.  The tests then fill it with
 * `hivexregedit --merge`, so no binary hive is shipped.
 */

#include <config.h>

#include <stdio.h>
#include <stdlib.h>
#include <stdint.h>
#include <string.h>

#define BASE_SIZE 4096
#define HBIN_SIZE 4096

static unsigned char buf[BASE_SIZE + HBIN_SIZE];

static void
put16 (size_t off, uint16_t v)
{
  buf[off] = v;
  buf[off + 1] = v >> 8;
}

static void
put32 (size_t off, uint32_t v)
{
  put16 (off, v);
  put16 (off + 2, v >> 16);
}

int
main (int argc, char *argv[])
{
  static const char root_name[] = "ROOT";
  const size_t hbin = BASE_SIZE;
  const uint32_t nk_rel = 0x20, sk_rel = 0x80, free_rel = 0xb0;
  size_t nk = hbin + nk_rel, sk = hbin + sk_rel, i;
  uint32_t sum = 0;
  FILE *fp;

  if (argc != 2) {
    fprintf (stderr, "usage: mkhive FILE\n");
    return 1;
  }

  /* Base block. */
  memcpy (buf, "regf", 4);
  put32 (0x04, 1);              /* sequence numbers, equal: consistent */
  put32 (0x08, 1);
  put32 (0x14, 1);              /* version 1.3 */
  put32 (0x18, 3);
  put32 (0x1c, 0);              /* primary file */
  put32 (0x20, 1);              /* direct memory load format */
  put32 (0x24, nk_rel);         /* root key cell */
  put32 (0x28, HBIN_SIZE);      /* size of the hive bins */
  put32 (0x2c, 1);              /* clustering factor */
  for (i = 0; i < 0x1fc; i += 4)
    sum ^= (uint32_t) buf[i] | (buf[i + 1] << 8) | (buf[i + 2] << 16) |
      ((uint32_t) buf[i + 3] << 24);
  put32 (0x1fc, sum);

  /* Hive bin header. */
  memcpy (buf + hbin, "hbin", 4);
  put32 (hbin + 0x04, 0);       /* offset of this bin */
  put32 (hbin + 0x08, HBIN_SIZE);

  /* Root key: an allocated cell (negative size), 0x60 bytes. */
  put32 (nk, (uint32_t) -0x60);
  memcpy (buf + nk + 4, "nk", 2);
  put16 (nk + 0x06, 0x2c);      /* hive entry, no delete, ASCII name */
  put32 (nk + 0x14, 0);         /* parent */
  put32 (nk + 0x18, 0);         /* subkeys */
  put32 (nk + 0x1c, 0);
  put32 (nk + 0x20, 0xffffffff);
  put32 (nk + 0x24, 0xffffffff);
  put32 (nk + 0x28, 0);         /* values */
  put32 (nk + 0x2c, 0xffffffff);
  put32 (nk + 0x30, sk_rel);    /* security */
  put32 (nk + 0x34, 0xffffffff); /* class name */
  put16 (nk + 0x4c, sizeof root_name - 1);
  memcpy (buf + nk + 0x50, root_name, sizeof root_name - 1);

  /* Security cell: a list of one (next = prev = itself), used once,
   * with a 20-byte self-relative descriptor that grants nothing. */
  put32 (sk, (uint32_t) -0x30);
  memcpy (buf + sk + 4, "sk", 2);
  put32 (sk + 0x08, sk_rel);
  put32 (sk + 0x0c, sk_rel);
  put32 (sk + 0x10, 1);         /* reference count */
  put32 (sk + 0x14, 20);        /* descriptor length */
  buf[sk + 0x18] = 1;           /* revision */
  put16 (sk + 0x1a, 0x8000);    /* self-relative */

  /* The rest of the bin is one free cell. */
  put32 (hbin + free_rel, HBIN_SIZE - free_rel);

  fp = fopen (argv[1], "wb");
  if (fp == NULL || fwrite (buf, sizeof buf, 1, fp) != 1 || fclose (fp)) {
    perror (argv[1]);
    return 1;
  }
  return 0;
}
