/* guestbox - unit test of tar_out's pax writer (no VM).
 * Copyright (C) 2026 the guestbox authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

/**
 * tw_header: ustar fields and checksum; pax records where ustar cannot
 * hold the value (names over 100 bytes, names that are not UTF-8 with
 * hdrcharset=BINARY, sizes over 8 GiB, uids over 2097151, negative
 * times), pax record lengths at the digit roll-over; tw_excluded
 * matching as bsdtar's --exclude.  tar_write_tree on a tree in a
 * temporary directory (big and small files, sparse, long and binary
 * names, symlinks, hard links, a fifo, an empty directory, a socket):
 * the archive lists the same with GNU tar and bsdtar, and bsdtar
 * unpacks an identical tree; a file that shrinks or grows while it is
 * read keeps the size of its header.
 */

#include <config.h>

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include "daemon.h"
#include "check.h"

static uint64_t
field (const char *h, size_t off, size_t len)
{
  uint64_t v = 0;
  size_t i;

  for (i = off; i < off + len && h[i] >= '0' && h[i] <= '7'; ++i)
    v = v * 8 + (h[i] - '0');
  return v;
}

static bool
checksum_ok (const char *h)
{
  unsigned sum = 0;
  size_t i;

  for (i = 0; i < 512; ++i)
    sum += (i >= 148 && i < 156) ? ' ' : (unsigned char) h[i];
  return sum == field (h, 148, 8) && memcmp (h + 257, "ustar\0" "00", 8) == 0;
}

/* The pax records of a header made by tw_header (B), NUL-terminated in
 * a static buffer, or "" when there is no pax header. */
static const char *
pax_of (const struct tw_buf *b)
{
  static char s[8192];
  size_t n;

  s[0] = '\0';
  if (b->len < 1024 || b->data[156] != 'x')
    return s;
  n = field (b->data, 124, 12);
  if (n >= sizeof s)
    n = sizeof s - 1;
  memcpy (s, b->data + 512, n);
  s[n] = '\0';
  return s;
}

/* Every record's length is its own length. */
static bool
pax_lengths_ok (const char *s, size_t len)
{
  size_t off = 0;

  while (off < len) {
    char *end;
    unsigned long n = strtoul (s + off, &end, 10);

    if (*end != ' ' || n == 0 || off + n > len || s[off + n - 1] != '\n')
      return false;
    off += n;
  }
  return off == len;
}

static void
test_headers (void)
{
  struct tw_buf b = { 0 };
  struct tw_entry e = {
    .name = "./dir/file", .namelen = 10, .type = '0', .mode = 0100644,
    .uid = 1234, .gid = 5678, .size = 5, .uname = "root", .gname = "",
    .mtime = 981173106, .mtime_nsec = 500000000,
  };
  const char *h, *pax;
  char name[300], val[300];
  size_t i;

  CHECK (tw_header (&b, &e, NULL, 0) == 0 && b.len == 512,
         "a plain entry: one ustar block (%zu)", b.len);
  h = b.data;
  CHECK (checksum_ok (h) && strcmp (h, "./dir/file") == 0 &&
         field (h, 100, 8) == 0644 && field (h, 108, 8) == 1234 &&
         field (h, 116, 8) == 5678 && field (h, 124, 12) == 5 &&
         field (h, 136, 12) == 981173106 && h[156] == '0' &&
         strcmp (h + 265, "root") == 0,
         "ustar fields and checksum");

  /* 200-byte name: pax path. */
  memset (name, 'n', 200);
  memcpy (name, "./", 2);
  e.name = name;
  e.namelen = 200;
  b.len = 0;
  CHECK (tw_header (&b, &e, NULL, 0) == 0 && b.len == 512 * 3 &&
         checksum_ok (b.data) && checksum_ok (b.data + 1024),
         "a 200-byte name: pax header, its records, the entry (%zu)", b.len);
  pax = pax_of (&b);
  snprintf (val, sizeof val, "210 path=%.*s\n", 200, name);
  CHECK (strstr (pax, val) != NULL && strstr (pax, "mtime=981173106.500000000\n"),
         "pax path (210 bytes) and mtime with nanoseconds: %s",
         strstr (pax, "mtime") ? strstr (pax, "mtime") : pax);
  CHECK (pax_lengths_ok (pax, strlen (pax)), "pax record lengths");

  /* The roll-over: a record of exactly 99 and 100 bytes. */
  for (i = 85; i <= 95; ++i) {
    struct tw_buf r = { 0 };
    char v[100];
    memset (v, 'v', i);
    CHECK (tw_pax_record (&r, "path", v, i) == 0 &&
           pax_lengths_ok (r.data, r.len),
           "a pax record of %zu value bytes (%zu in all)", i, r.len);
    free (r.data);
  }

  /* A name that is not UTF-8: hdrcharset=BINARY. */
  e.name = "./bad-\377\376";
  e.namelen = strlen (e.name);
  b.len = 0;
  CHECK (tw_header (&b, &e, NULL, 0) == 0, "a binary name");
  pax = pax_of (&b);
  CHECK (strncmp (pax, "21 hdrcharset=BINARY\n17 path=./bad-\377\376\n", 38) == 0,
         "hdrcharset=BINARY before path: %s", pax);
  /* Valid UTF-8, not ASCII: path, no hdrcharset. */
  e.name = "./caf\303\251";
  e.namelen = strlen (e.name);
  b.len = 0;
  CHECK (tw_header (&b, &e, NULL, 0) == 0 &&
         strstr (pax_of (&b), "hdrcharset") == NULL &&
         strstr (pax_of (&b), "path=./caf\303\251\n") != NULL,
         "a UTF-8 name: path only");

  /* Sizes over 8 GiB, big uids, a negative time. */
  e.name = "./big";
  e.namelen = 5;
  e.size = 9ULL << 30;
  e.uid = 2097152;
  e.gid = 2097151;
  e.mtime = 1;
  e.mtime_nsec = 0;
  b.len = 0;
  CHECK (tw_header (&b, &e, NULL, 0) == 0 && b.len == 1536, "a 9 GiB file");
  pax = pax_of (&b);
  h = b.data + 1024;
  CHECK (strstr (pax, "size=9663676416\n") && strstr (pax, "uid=2097152\n") &&
         !strstr (pax, "gid=") && !strstr (pax, "mtime=") &&
         field (h, 124, 12) == 0 && field (h, 116, 8) == 2097151 &&
         checksum_ok (h),
         "pax size and uid, gid 2097151 in ustar, no mtime (whole seconds): %s", pax);
  e.size = 077777777777;
  e.uid = 2097151;
  b.len = 0;
  CHECK (tw_header (&b, &e, NULL, 0) == 0 && b.len == 512 &&
         field (b.data, 124, 12) == 077777777777,
         "8 GiB - 1 and uid 2097151: ustar only");
  e.mtime = -100;
  b.len = 0;
  CHECK (tw_header (&b, &e, NULL, 0) == 0 &&
         strstr (pax_of (&b), "mtime=-100\n") != NULL, "a time before 1970");

  /* A long symlink target, extra records (xattrs). */
  memset (name, 't', 150);
  e.mtime = 5;
  e.type = '2';
  e.size = 0;
  e.link = name;
  e.linklen = 150;
  b.len = 0;
  CHECK (tw_header (&b, &e, "25 SCHILY.xattr.user.a=b\n", 25) == 0, "a long link");
  pax = pax_of (&b);
  CHECK (strstr (pax, "linkpath=tttt") && strstr (pax, "SCHILY.xattr.user.a=b\n") &&
         pax_lengths_ok (pax, strlen (pax)) && b.data[1024 + 156] == '2',
         "pax linkpath and the extra records");
  free (b.data);
}

static void
test_excludes (void)
{
  char *pats[] = { "*.txt", "sub", "./top", "a/b*" };

  CHECK (tw_excluded (pats, 4, "./dir/file.txt"), "*.txt in a subdirectory");
  CHECK (tw_excluded (pats, 4, "./x/sub"), "sub at any depth");
  CHECK (!tw_excluded (pats, 4, "./x/subx"), "subx is not sub");
  CHECK (tw_excluded (pats, 4, "./top") && !tw_excluded (pats, 4, "./x/top"),
         "./top anchored");
  CHECK (tw_excluded (pats, 4, "./z/a/bcd"), "a/b* after a /");
  CHECK (!tw_excluded (pats, 4, "./file.tx"), "file.tx");
}

/* --- A whole tree. --- */

struct file_sink {
  int fd;
  unsigned chunks;
  const char *mutate;           /* truncate/append this file after chunk 1 */
  bool grow;
};

static int
fs_bytes (void *opaque, const void *buf, size_t len)
{
  struct file_sink *s = opaque;

  s->chunks++;
  return write (s->fd, buf, len) == (ssize_t) len ? 0 : -1;
}

static int
fs_pipe (void *opaque, int pr, size_t len)
{
  struct file_sink *s = opaque;
  size_t left = len;

  if (len == 0 || len > GBOX_CHUNK_SIZE)
    return -1;
  while (left > 0) {
    ssize_t r = splice (pr, NULL, s->fd, NULL, left, 0);
    if (r <= 0)
      return -1;
    left -= r;
  }
  if (++s->chunks == 1 && s->mutate) {
    if (s->grow) {
      int fd = open (s->mutate, O_WRONLY | O_APPEND);
      write (fd, "more", 4);
      close (fd);
    }
    else
      truncate (s->mutate, 100000);
  }
  return 0;
}

static int
sh (const char *fs, ...) __attribute__((format (printf, 1, 2)));
static int
sh (const char *fs, ...)
{
  char cmd[4096];
  va_list args;
  int r;

  va_start (args, fs);
  vsnprintf (cmd, sizeof cmd, fs, args);
  va_end (args);
  r = system (cmd);
  return WIFEXITED (r) ? WEXITSTATUS (r) : -1;
}

static int
write_tree (const char *dir, const char *out, struct tw_options *o,
            const char *mutate, bool grow)
{
  struct file_sink s = { .mutate = mutate, .grow = grow };
  struct tw_sink sink = { fs_bytes, fs_pipe, &s };
  int dfd = open (dir, O_RDONLY | O_DIRECTORY), r;

  s.fd = open (out, O_WRONLY | O_CREAT | O_TRUNC, 0644);
  r = tar_write_tree (dfd, o, &sink);
  close (s.fd);
  close (dfd);
  return r;
}

static void
test_tree (void)
{
  char tmpl[] = "/tmp/gbox-test-tar-write-XXXXXX";
  char long_name[160];
  struct tw_options o = { .numeric_owner = true, .prefetch = 4 };
  struct sockaddr_un sa = { .sun_family = AF_UNIX };
  struct stat st;
  int sock, have_tools;

  if (mkdtemp (tmpl) == NULL) {
    CHECK (false, "mkdtemp: %s", strerror (errno));
    return;
  }
  memset (long_name, 'L', 150);
  long_name[150] = '\0';
  CHECK (sh ("cd %s && mkdir -p src/d/sub/deep src/empty src/many && "
             "head -c 3000000 /dev/urandom > src/d/big && "
             "echo small > src/d/small && : > src/d/zero && "
             "printf 'x%%.0s' $(seq 5000) > src/d/mid && "
             "truncate -s 64M src/d/sparse && echo end >> src/d/sparse && "
             "truncate -s 8M src/d/holeend && "
             "echo deep > src/d/sub/deep/f && "
             "echo long > src/d/%s && "
             "echo bin > \"src/d/$(printf 'b\\377-\\376')\" && "
             "printf 'nl\\n' > 'src/d/new\nline' && "
             "ln -s small src/d/rel && ln -s /etc/passwd src/d/abs && "
             "ln -s %s src/d/longlink && "
             "ln src/d/small src/d/hard && mkfifo src/d/fifo && "
             "for i in $(seq 100); do echo $i > src/many/f$i; done && "
             "touch -d '2001-02-03 04:05:06.25' src/d/small src/d/b?-?",
             tmpl, long_name, long_name) == 0, "the source tree");
  snprintf (sa.sun_path, sizeof sa.sun_path, "%s/src/d/sock", tmpl);
  sock = socket (AF_UNIX, SOCK_STREAM, 0);
  bind (sock, (struct sockaddr *) &sa, sizeof sa);

  char src[128], out[128];
  printf ("tree in %s\n", tmpl);
  snprintf (src, sizeof src, "%s/src", tmpl);
  snprintf (out, sizeof out, "%s/a.tar", tmpl);
  CHECK (write_tree (src, out, &o, NULL, false) == 0, "tar_write_tree");
  have_tools = sh ("command -v bsdtar >/dev/null && command -v tar >/dev/null");
  if (have_tools != 0) {
    printf ("skip: the archive checks need bsdtar and GNU tar\n");
    goto out;
  }
  CHECK (sh ("cd %s && tar -tvf a.tar > gnu.toc && bsdtar -tvf a.tar > bsd.toc", tmpl)
         == 0, "GNU tar and bsdtar list the archive");
  CHECK (sh ("cd %s && tar --numeric-owner -tf a.tar | sed 's,/$,,' | sort > gnu.names && "
             "bsdtar -tf a.tar | sed 's,/$,,' | LC_ALL=C sort > bsd.names && "
             "LC_ALL=C sort gnu.names > gnu.sorted && cmp gnu.sorted bsd.names && "
             "[ $(cd src && find . ! -name sock -printf x | wc -c) = $(wc -l < bsd.names) ]", tmpl) == 0,
         "the same names in both listings, those of the tree but the socket");
  CHECK (sh ("cd %s && grep -q '^hrw.* ./d/hard link to ./d/small$\\|^hrw.* ./d/small link to ./d/hard$' bsd.toc && "
             "grep -q '^lrwxrwxrwx .* ./d/abs -> /etc/passwd$' bsd.toc && "
             "grep -q '^p.* ./d/fifo$' bsd.toc", tmpl) == 0,
         "hard link, symlink as a link, fifo");
  CHECK (sh ("cd %s && mkdir x && bsdtar -xpf a.tar -C x && "
             "rm -f src/d/sock && diff -r --no-dereference -x fifo src x && "
             "[ \"$(stat -c %%Y src/d/small)\" = \"$(stat -c %%Y x/d/small)\" ] && "
             "[ \"$(stat -c %%y src/d/b?-?)\" = \"$(stat -c %%y x/d/b?-?)\" ] && "
             "[ \"$(stat -c %%h x/d/small)\" = 2 ] && "
             "[ \"$(readlink x/d/longlink)\" = %s ]", tmpl, long_name) == 0,
         "bsdtar unpacks the same tree (contents, links, times)");
  if (stat (out, &st) == -1)
    st.st_size = -1;
  CHECK (st.st_size > 0 && st.st_size < 4 * 1024 * 1024,
         "the 64 MiB sparse file is stored sparse (%lld bytes in all)",
         (long long) st.st_size);
  CHECK (sh ("cd %s && [ $(stat -c %%b x/d/sparse) -lt 1024 ] && "
             "cmp src/d/holeend x/d/holeend", tmpl) == 0,
         "unpacked sparse, a file ending in a hole too");
  CHECK (sh ("cd %s && mkdir y && tar -xf a.tar -C y && diff -r --no-dereference -x fifo src y",
             tmpl) == 0, "GNU tar unpacks the same tree");

  /* Excludes: not entered. */
  {
    char *ex[] = { "*.txt", "sub", "many" };
    struct tw_options oe = o;
    oe.excludes = ex;
    oe.nexcludes = 3;
    CHECK (write_tree (src, out, &oe, NULL, false) == 0 &&
           sh ("cd %s && bsdtar -tf a.tar > ex.toc && ! grep -q 'sub\\|many' ex.toc && "
               "grep -qx './d/small' ex.toc", tmpl) == 0,
           "excludes leave out sub/ and many/ with what is below");
  }

  /* A pipe of 16 buffers (F_SETPIPE_SZ refused): smaller chunks, the
   * same archive. */
  {
    struct tw_options os = o;
    os.pipe_slots = 16;
    CHECK (write_tree (src, out, &o, NULL, false) == 0 &&
           sh ("cp %s/a.tar %s/full.tar", tmpl, tmpl) == 0 &&
           write_tree (src, out, &os, NULL, false) == 0 &&
           sh ("cd %s && cmp a.tar full.tar", tmpl) == 0,
           "a 16-buffer pipe: the same archive");
  }

  /* A file that shrinks, then one that grows, while it is read. */
  {
    char big[160];
    snprintf (big, sizeof big, "%s/src/d/big", tmpl);
    CHECK (write_tree (src, out, &o, big, false) == 0 &&
           sh ("cd %s && bsdtar -tvf a.tar | grep -q ' 3000000 .* ./d/big$' && "
               "rm -rf x && mkdir x && bsdtar -xf a.tar -C x && "
               "[ $(stat -c %%s x/d/big) = 3000000 ] && "
               "cmp -n 100000 src/d/big x/d/big && "
               "[ $(tail -c 2000000 x/d/big | tr -d '\\0' | wc -c) = 0 ]", tmpl) == 0,
           "a file that shrank: its header size, the end padded with zeros");
    CHECK (write_tree (src, out, &o, big, true) == 0 &&
           sh ("cd %s && bsdtar -tvf a.tar | grep -q ' 100000 .* ./d/big$' && "
               "tar -tf a.tar > /dev/null", tmpl) == 0,
           "a file that grew: its header size");
  }
 out:
  close (sock);
  if (getenv ("GBOX_KEEP") == NULL)
    sh ("rm -rf %s", tmpl);
}

int
main (void)
{
  test_headers ();
  test_excludes ();
  test_tree ();
  return check_finish ("test-tar-write");
}
