/* guestbox - the appliance builder.
 * Copyright (C) 2026 the guestbox authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

/** Test of the kernel handling: decompress the real kernel into an ELF
 * with the PVH note, versions (header, file name, banner), synthetic
 * bzImages with gzip and XZ payloads (with and without the PVH note), and
 * broken inputs: truncated bzImages, a corrupted payload, an unsupported
 * compression, random bytes, missing files.  Skips (77) without a
 * readable kernel. */

#include <config.h>

#include <lzma.h>
#include <time.h>
#include <zlib.h>

#include "tests.h"

static void
put16 (unsigned char *p, uint16_t v)
{
  p[0] = v;
  p[1] = v >> 8;
}

static void
put32 (unsigned char *p, uint32_t v)
{
  put16 (p, v);
  put16 (p + 2, v >> 16);
}

static void
put64 (unsigned char *p, uint64_t v)
{
  put32 (p, v);
  put32 (p + 4, v >> 32);
}

/* A minimal x86-64 ELF with one PT_NOTE holding a note of TYPE named
 * "Xen" (18 = XEN_ELFNOTE_PHYS32_ENTRY). */
static size_t
make_elf (unsigned char *f, uint32_t type)
{
  memset (f, 0, 140);
  memcpy (f, "\177ELF\2\1\1", 7);
  put16 (f + 16, 2);
  put16 (f + 18, 62);
  put32 (f + 20, 1);
  put64 (f + 32, 64);
  put16 (f + 52, 64);
  put16 (f + 54, 56);
  put16 (f + 56, 1);
  put32 (f + 64, 4);            /* PT_NOTE */
  put64 (f + 64 + 8, 120);
  put64 (f + 64 + 32, 20);
  put32 (f + 120, 4);
  put32 (f + 124, 4);
  put32 (f + 128, type);
  memcpy (f + 132, "Xen", 4);
  put32 (f + 136, 0x1000000);
  return 140;
}

/* A bzImage: 2 sectors of setup (setup_sects = 1), then PAYLOAD, then 4
 * trailing bytes as the kernel's build appends. */
static void
write_bzimage (const char *path, const unsigned char *payload, size_t len)
{
  unsigned char *f = calloc (1, 1024 + len + 4);

  f[0x1f1] = 1;
  memcpy (f + 0x202, "HdrS", 4);
  put16 (f + 0x206, 0x20f);
  put16 (f + 0x20e, 0x100);     /* version string at 0x300 */
  strcpy ((char *) f + 0x300, "9.8.7-synthetic (test) #1");
  put32 (f + 0x248, 0);
  put32 (f + 0x24c, len);
  memcpy (f + 1024, payload, len);
  memcpy (f + 1024 + len, "\x8c\0\0\0", 4);
  test_write_file (path, f, 1024 + len + 4);
  free (f);
}

static void
test_synthetic (const char *dir)
{
  char err[512];
  struct gbox_app_ctx cx = test_ctx (err, sizeof err);
  unsigned char elf[140], packed[1024];
  char *bz = gbox_app_asprintf ("%s/bz-synth", dir);
  char *out = gbox_app_asprintf ("%s/vmlinux-synth", dir);
  char *version = NULL;
  static const struct {
    const char *what;
    bool xz;
    uint32_t note_type;
    int want;
  } cases[] = {
    { "gzip payload with a PVH note", false, 18, 0 },
    { "XZ payload with a PVH note", true, 18, 0 },
    { "gzip payload without a PVH note", false, 17, -1 },
    { "XZ payload without a PVH note", true, 1, -1 },
  };
  size_t i;

  for (i = 0; i < sizeof cases / sizeof cases[0]; ++i) {
    size_t elen = make_elf (elf, cases[i].note_type), plen = 0;
    int r;

    if (cases[i].xz)
      lzma_easy_buffer_encode (6, LZMA_CHECK_CRC32, NULL, elf, elen,
                               packed, &plen, sizeof packed);
    else {
      uLongf zl = sizeof packed;
      z_stream z;
      memset (&z, 0, sizeof z);
      deflateInit2 (&z, 9, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY);
      z.next_in = elf;
      z.avail_in = elen;
      z.next_out = packed;
      z.avail_out = zl;
      deflate (&z, Z_FINISH);
      plen = z.total_out;
      deflateEnd (&z);
    }
    unlink (bz);
    unlink (out);
    write_bzimage (bz, packed, plen);
    r = gbox_app_kernel_extract (&cx, bz, out);
    CHECK (r == cases[i].want, "%s: extract gives %d (%s)", cases[i].what,
           cases[i].want, err);
    if (r == -1)
      CHECK (strstr (err, "PVH") != NULL, "%s: the error names PVH",
             cases[i].what);
  }
  CHECK (gbox_app_kernel_version (&cx, bz, &version) == 0 &&
         strcmp (version, "9.8.7-synthetic") == 0,
         "the version comes from the bzImage header (%s)",
         version ? version : err);
  free (version);

  /* Other compressions are refused with the fix. */
  {
    unsigned char zst[64] = { 0x28, 0xb5, 0x2f, 0xfd };
    unlink (bz);
    unlink (out);
    write_bzimage (bz, zst, sizeof zst);
    CHECK (gbox_app_kernel_extract (&cx, bz, out) == -1 &&
           strstr (err, "zstd") && strstr (err, "GBOX_KERNEL"),
           "a zstd payload: %s", err);
  }
  free (bz);
  free (out);
}

int
main (void)
{
  char err[512];
  struct gbox_app_ctx cx = test_ctx (err, sizeof err);
  char *dir, *kernel = NULL, *version = NULL, *v2 = NULL, *out, *bad, *p;
  struct stat st;
  unsigned char rnd[65536];
  size_t i;
  time_t t0;

  dir = test_tmpdir ();
  test_synthetic (dir);

  if (gbox_app_kernel_find (&cx, NULL, &kernel) == -1) {
    printf ("test-kernel: no readable kernel (%s): real-kernel tests "
            "skipped\n", err);
    gbox_app_rmtree (dir);
    return check_failures ? EXIT_FAILURE : 77;
  }
  printf ("kernel: %s\n", kernel);
  CHECK (gbox_app_kernel_version (&cx, kernel, &version) == 0 &&
         version[0] >= '0' && version[0] <= '9',
         "kernel version %s", version ? version : err);
  p = strrchr (kernel, '/');
  if (version && p && strncmp (p + 1, "vmlinuz-", 8) == 0)
    CHECK (strcmp (p + 9, version) == 0,
           "header version matches the file name");

  out = gbox_app_asprintf ("%s/vmlinux", dir);
  t0 = time (NULL);
  CHECK (gbox_app_kernel_extract (&cx, kernel, out) == 0,
         "decompress %s (%s)", kernel, err);
  printf ("  took about %ld s\n", (long) (time (NULL) - t0));
  CHECK (gbox_app_is_elf_x86_64 (out), "the result is an x86-64 ELF");
  CHECK (stat (out, &st) == 0 && st.st_size > 4 * 1024 * 1024,
         "the result is larger than 4 MiB (%jd)", (intmax_t) st.st_size);
  CHECK (gbox_app_kernel_check_pvh (&cx, out) == 0,
         "the result has the PVH note (%s)", err);
  CHECK (gbox_app_kernel_version (&cx, out, &v2) == 0 && version &&
         strcmp (v2, version) == 0,
         "the vmlinux banner gives the same version (%s)", v2 ? v2 : err);
  free (v2);
  v2 = NULL;
  p = gbox_app_asprintf ("%s/vmlinux-9.9.9-test", dir);
  symlink (out, p);
  CHECK (gbox_app_kernel_version (&cx, p, &v2) == 0 &&
         strcmp (v2, "9.9.9-test") == 0,
         "the file name gives the version of an ELF kernel (%s)",
         v2 ? v2 : err);
  free (v2);
  free (p);

  /* An ELF input is copied. */
  p = gbox_app_asprintf ("%s/vmlinux-copy", dir);
  CHECK (gbox_app_kernel_extract (&cx, out, p) == 0,
         "an uncompressed vmlinux is accepted (%s)", err);
  unlink (p);
  free (p);

  CHECK (gbox_app_kernel_check_pvh (&cx, "/bin/sh") == -1 &&
         strstr (err, "PVH"), "a normal program has no PVH note: %s", err);

  /* $GBOX_KERNEL wins over /boot. */
  setenv ("GBOX_KERNEL", out, 1);
  p = NULL;
  CHECK (gbox_app_kernel_find (&cx, NULL, &p) == 0 && strcmp (p, out) == 0,
         "GBOX_KERNEL is used");
  free (p);
  unsetenv ("GBOX_KERNEL");
  p = NULL;
  CHECK (gbox_app_kernel_find (&cx, "/no/such/vmlinuz", &p) == -1 &&
         strstr (err, "/no/such/vmlinuz"), "a missing kernel: %s", err);
  /* An unreadable kernel (Ubuntu's are 0600): as root, check it in a
   * child that drops to "nobody". */
  {
    pid_t pid;
    int status = -1;
    p = gbox_app_asprintf ("%s/vmlinuz-unreadable", dir);
    test_write_file (p, "x", 1);
    chmod (p, 0);
    chmod (dir, 0755);
    fflush (stdout);
    pid = fork ();
    if (pid == 0) {
      if (geteuid () == 0 && (setgid (65534) == -1 || setuid (65534) == -1))
        _exit (77);
      CHECK (gbox_app_kernel_find (&cx, p, &v2) == -1 &&
             strstr (err, "chmod 0644") && strstr (err, p) &&
             strstr (err, "GBOX_KERNEL"),
             "an unreadable kernel names the file and the fix: %s", err);
      _exit (check_failures ? 1 : 0);
    }
    waitpid (pid, &status, 0);
    if (WIFEXITED (status) && WEXITSTATUS (status) == 77)
      printf ("SKIP: unreadable kernel: cannot drop privileges\n");
    else if (!WIFEXITED (status) || WEXITSTATUS (status) != 0)
      check_failures++;
    chmod (dir, 0700);
    free (p);
  }

  /* Broken inputs. */
  bad = gbox_app_asprintf ("%s/bad", dir);
  stat (kernel, &st);
  {
    static const struct {
      const char *what;
      long long keep;           /* bytes kept; negative: size minus */
    } cuts[] = {
      { "first 4 KiB", 4096 },
      { "first 64 KiB", 65536 },
      { "all but the last 1 MiB", -1024 * 1024 },
      { "payload minus its last 100 bytes", 0 },
    };
    unsigned char h[0x250];
    size_t payload_end = st.st_size;
    int fd = open (kernel, O_RDONLY);
    /* Where the payload ends (the bzImage has more data after it). */
    if (fd >= 0 && pread (fd, h, sizeof h, 0) == (ssize_t) sizeof h &&
        memcmp (h + 0x202, "HdrS", 4) == 0)
      payload_end = ((h[0x1f1] ? h[0x1f1] : 4) + 1) * 512 +
        (h[0x248] | h[0x249] << 8 | h[0x24a] << 16 | (size_t) h[0x24b] << 24) +
        (h[0x24c] | h[0x24d] << 8 | h[0x24e] << 16 | (size_t) h[0x24f] << 24);
    if (fd >= 0)
      close (fd);
    for (i = 0; i < sizeof cuts / sizeof cuts[0]; ++i) {
      size_t keep = cuts[i].keep > 0 ? (size_t) cuts[i].keep
        : cuts[i].keep < 0 ? (size_t) (st.st_size + cuts[i].keep)
        : payload_end - 100;
      unlink (bad);
      unlink (out);
      test_copy_prefix (kernel, bad, keep);
      CHECK (gbox_app_kernel_extract (&cx, bad, out) == -1,
             "truncated kernel (%s): %s", cuts[i].what, err);
    }
  }
  {
    /* Same size, payload damaged in the middle. */
    struct gbox_app_ctx q = { 0 };
    char *data;
    size_t len;
    if (gbox_app_read_file (&q, kernel, 256 << 20, &data, &len) == 0) {
      memset (data + len / 2, 0x55, 4096);
      unlink (bad);
      unlink (out);
      test_write_file (bad, data, len);
      CHECK (gbox_app_kernel_extract (&cx, bad, out) == -1,
             "corrupted payload: %s", err);
      /* Intact data, but payload_length 100 bytes short. */
      free (data);
      data = NULL;
      if (gbox_app_read_file (&q, kernel, 256 << 20, &data, &len) == 0 &&
          len > 0x250 && memcmp (data + 0x202, "HdrS", 4) == 0) {
        uint32_t pl = (unsigned char) data[0x24c] |
          (unsigned char) data[0x24d] << 8 |
          (unsigned char) data[0x24e] << 16 |
          (uint32_t) (unsigned char) data[0x24f] << 24;
        put32 ((unsigned char *) data + 0x24c, pl - 100);
        unlink (bad);
        unlink (out);
        test_write_file (bad, data, len);
        CHECK (gbox_app_kernel_extract (&cx, bad, out) == -1 &&
               strstr (err, "truncated"),
               "payload_length 100 bytes short: %s", err);
      }
      free (data);
    }
  }
  for (i = 0; i < sizeof rnd; ++i)
    rnd[i] = (i * 7919) ^ (i >> 3);
  unlink (bad);
  unlink (out);
  test_write_file (bad, rnd, sizeof rnd);
  CHECK (gbox_app_kernel_extract (&cx, bad, out) == -1 &&
         strstr (err, "not a Linux kernel"), "random bytes: %s", err);
  unlink (bad);
  unlink (out);
  test_write_file (bad, "", 0);
  CHECK (gbox_app_kernel_extract (&cx, bad, out) == -1,
         "an empty file: %s", err);

  free (bad);
  free (out);
  free (kernel);
  free (version);
  gbox_app_rmtree (dir);
  free (dir);
  return check_finish ("test-kernel");
}
