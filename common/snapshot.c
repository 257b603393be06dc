/* guestbox - saving a booted appliance and restoring it.
 * Copyright (C) 2026 the guestbox authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

/**
 * Snapshots of the booted, idle appliance, kept in the appliance's cache
 * entry, and the steps of making and restoring one (launch.c decides
 * when).  Layout, all private to the user (0700 directories, 0600
 * files):
 *
 *   CACHEDIR/appliance-KEY/snapshot/lock        flock while one is made
 *   CACHEDIR/appliance-KEY/snapshot/current     symlink -> s-XXXXXX
 *   CACHEDIR/appliance-KEY/snapshot/current-v   the same for -v launches
 *   CACHEDIR/appliance-KEY/snapshot/s-XXXXXX/   ram, state, key
 *
 * "ram" is the guest's RAM (a memory-backend-file: shared while the
 * snapshot is made, mapped privately by every restore, so it is never
 * modified and any number of commands restore it at once); "state" is
 * qemu's migration stream without the RAM (x-ignore-shared); "key" is
 * everything the restore depends on.  A directory is never reused or
 * modified once published: a new snapshot gets a new directory and the
 * symlink is replaced atomically, so a restore always reads a RAM file
 * and a state that belong together.
 *
 * The key: the qemu binary (path, identity), the kernel and initrd
 * (identity), the host CPU, and the whole qemu command line less the
 * per-launch paths (which includes the memory size, accelerator, CPU
 * model and the TSC frequency on the kernel command line); then, once
 * qemu runs, the identity of the executable actually running (GBOX_QEMU
 * may be a wrapper) and the version from its QMP greeting.
 */

#include <config.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "guestbox-internal.h"
#include "cleanups.h"

#define KEY_MAGIC "guestbox-snapshot 1\n"
#define KEY_MAX (256 * 1024)
/* Refresh: bytes of host randomness given to the guest. */
#define SEED_LEN 64

void
gbox_int_snapshot_init (struct gbox_snapshot *s)
{
  memset (s, 0, sizeof *s);
  s->state_fd = -1;
  s->lock_fd = -1;
}

static void
forget_found (struct gbox_snapshot *s)
{
  free (s->found);
  free (s->ram);
  free (s->postkey);
  s->found = s->ram = s->postkey = NULL;
  if (s->state_fd >= 0)
    close (s->state_fd);
  s->state_fd = -1;
}

void
gbox_int_snapshot_free (struct gbox_snapshot *s)
{
  forget_found (s);
  if (s->lock_fd >= 0)
    close (s->lock_fd);
  free (s->dir);
  free (s->prekey);
  free (s->newdir);
  free (s->newram);
  gbox_int_snapshot_init (s);
}

/*----------------------------------------------------------------------
 * The key.
 */

struct buf {
  char *p;
  size_t len, alloc;
  bool failed;
};

static void
buf_add (struct buf *b, const char *s, size_t n)
{
  if (b->failed)
    return;
  if (b->len + n + 1 > b->alloc) {
    size_t na = b->alloc ? b->alloc : 1024;
    char *np;

    while (b->len + n + 1 > na)
      na *= 2;
    np = realloc (b->p, na);
    if (!np) {
      b->failed = true;
      return;
    }
    b->p = np;
    b->alloc = na;
  }
  memcpy (b->p + b->len, s, n);
  b->len += n;
  b->p[b->len] = '\0';
}

static void __attribute__((format (printf, 2, 3)))
buf_printf (struct buf *b, const char *fs, ...)
{
  va_list ap;
  char *s = NULL;
  int n;

  va_start (ap, fs);
  n = vasprintf (&s, fs, ap);
  va_end (ap);
  if (n < 0) {
    b->failed = true;
    return;
  }
  buf_add (b, s, n);
  free (s);
}

/* Key lines hold no newline: replace any by a space. */
static void
buf_line (struct buf *b, const char *name, const char *value)
{
  size_t start;

  buf_printf (b, "%s ", name);
  start = b->len;
  buf_add (b, value, strlen (value));
  if (!b->failed) {
    size_t i;
    for (i = start; i < b->len; ++i)
      if (b->p[i] == '\n')
        b->p[i] = ' ';
  }
  buf_add (b, "\n", 1);
}

/* "NAME PATH dev:ino size mtime" (or "NAME PATH missing"). */
static void
buf_file_identity (struct buf *b, const char *name, const char *path)
{
  struct stat st;

  if (stat (path, &st) == -1) {
    buf_printf (b, "%s %s missing\n", name, path);
    return;
  }
  buf_printf (b, "%s %s %ju:%ju %jd %jd.%09ld\n", name, path,
              (uintmax_t) st.st_dev, (uintmax_t) st.st_ino,
              (intmax_t) st.st_size, (intmax_t) st.st_mtim.tv_sec,
              st.st_mtim.tv_nsec);
}

/* The path execvp would run for NAME, or NAME itself. */
static char *
resolve_program (const char *name)
{
  const char *path = getenv ("PATH");
  CLEANUP_FREE char *copy = NULL;
  char *dir, *save = NULL;

  if (strchr (name, '/'))
    return strdup (name);
  copy = strdup (path && *path ? path : "/usr/local/bin:/usr/bin:/bin");
  if (!copy)
    return NULL;
  for (dir = strtok_r (copy, ":", &save); dir;
       dir = strtok_r (NULL, ":", &save)) {
    char *full;

    if (asprintf (&full, "%s/%s", dir, name) < 0)
      return NULL;
    if (access (full, X_OK) == 0)
      return full;
    free (full);
  }
  return strdup (name);
}

/* The host CPU's model and flags (a KVM guest sees them; the TSC
 * frequency is on the kernel command line already). */
static void
buf_cpu (struct buf *b)
{
  CLEANUP_FCLOSE FILE *fp = fopen ("/proc/cpuinfo", "re");
  char line[8192];
  bool model = false, flags = false;

  if (!fp) {
    buf_printf (b, "cpu unknown\n");
    return;
  }
  while ((!model || !flags) && fgets (line, sizeof line, fp)) {
    if (!model && strncmp (line, "model name", 10) == 0) {
      line[strcspn (line, "\n")] = '\0';
      buf_line (b, "cpu", line);
      model = true;
    }
    else if (!flags && strncmp (line, "flags", 5) == 0) {
      line[strcspn (line, "\n")] = '\0';
      buf_line (b, "cpu", line);
      flags = true;
    }
  }
}

int
gbox_int_snapshot_setup (gbox_h *h, struct gbox_snapshot *s,
                         const char *cachedir,
                         const char *const *canon_argv,
                         const char *kernel, const char *initrd)
{
  struct buf b = { 0 };
  CLEANUP_FREE char *qemu = NULL;
  struct stat st;
  size_t i;

  s->slot = h->verbose ? "current-v" : "current";
  s->dir = gbox_int_asprintf (h, "%s/snapshot", cachedir);
  if (!s->dir)
    return -1;
  if (mkdir (s->dir, 0700) == -1 && errno != EEXIST) {
    gbox_int_perror (h, "%s", s->dir);
    return -1;
  }
  if (lstat (s->dir, &st) == -1) {
    gbox_int_perror (h, "%s", s->dir);
    return -1;
  }
  if (!S_ISDIR (st.st_mode) || st.st_uid != geteuid () ||
      (st.st_mode & 077)) {
    gbox_int_error (h, "%s: not a private directory of ours (remove it)",
                    s->dir);
    return -1;
  }

  qemu = resolve_program (canon_argv[0]);
  buf_add (&b, KEY_MAGIC, strlen (KEY_MAGIC));
  buf_file_identity (&b, "qemu", qemu ? qemu : canon_argv[0]);
  buf_file_identity (&b, "kernel", kernel);
  buf_file_identity (&b, "initrd", initrd);
  buf_cpu (&b);
  for (i = 0; canon_argv[i]; ++i)
    buf_line (&b, "arg", canon_argv[i]);
  if (b.failed) {
    free (b.p);
    gbox_int_error (h, "snapshot key: out of memory");
    return -1;
  }
  s->prekey = b.p;
  return 0;
}

char *
gbox_int_snapshot_postkey (gbox_h *h, const char *greeting)
{
  struct buf b = { 0 };
  char exe[64];

  snprintf (exe, sizeof exe, "/proc/%d/exe", (int) h->qemu_pid);
  buf_file_identity (&b, "qemu-exe", exe);
  /* stat follows the link: drop the /proc path, keep the identity. */
  if (!b.failed) {
    char *sp = strchr (b.p, ' '), *sp2 = sp ? strchr (sp + 1, ' ') : NULL;
    if (sp2)
      memmove (sp + 1, sp2 + 1, strlen (sp2 + 1) + 1);
    b.len = strlen (b.p);
  }
  buf_line (&b, "qemu-version", greeting ? greeting : "unknown");
  if (b.failed) {
    free (b.p);
    gbox_int_error (h, "snapshot key: out of memory");
    return NULL;
  }
  return b.p;
}

/* The first line of A that differs from B, as its first word ("arg",
 * "kernel", ...) plus the saved and current values, for -v. */
static char *
describe_difference (const char *saved, const char *current)
{
  const char *a = saved, *b = current;
  char *r = NULL;

  while (*a || *b) {
    size_t la = strcspn (a, "\n"), lb = strcspn (b, "\n");

    if (la != lb || memcmp (a, b, la) != 0) {
      if (asprintf (&r, "the snapshot was made with \"%.*s\", this launch "
                    "has \"%.*s\"", (int) (la > 200 ? 200 : la), a,
                    (int) (lb > 200 ? 200 : lb), b) < 0)
        r = NULL;
      return r;
    }
    a += la + (a[la] == '\n');
    b += lb + (b[lb] == '\n');
  }
  return strdup ("the key differs");
}

/* Read a small file wholly. */
static char *
read_small (const char *path, size_t max)
{
  CLEANUP_CLOSE int fd = open (path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  char *buf;
  size_t len = 0;

  if (fd == -1)
    return NULL;
  buf = malloc (max + 1);
  if (!buf)
    return NULL;
  for (;;) {
    ssize_t r = read (fd, buf + len, max - len);
    if (r == -1 && errno == EINTR)
      continue;
    if (r == -1) {
      free (buf);
      return NULL;
    }
    if (r == 0)
      break;
    len += r;
    if (len == max) {
      free (buf);
      errno = EFBIG;
      return NULL;
    }
  }
  buf[len] = '\0';
  return buf;
}

int
gbox_int_snapshot_lookup (gbox_h *h, struct gbox_snapshot *s, char **why)
{
  char link[PATH_MAX], target[NAME_MAX + 1];
  CLEANUP_FREE char *keypath = NULL, *key = NULL, *statepath = NULL;
  size_t plen = strlen (s->prekey);
  unsigned long long ramsize, statesize, ino;
  long long ctime_s;
  long ctime_ns;
  const char *rest, *files;
  struct stat st;
  ssize_t n;

#define WHY(...) do {                                   \
    if (asprintf (why, __VA_ARGS__) < 0) *why = NULL;   \
    forget_found (s);                                   \
    return 0;                                           \
  } while (0)

  *why = NULL;
  forget_found (s);
  snprintf (link, sizeof link, "%s/%s", s->dir, s->slot);
  n = readlink (link, target, sizeof target - 1);
  if (n == -1)
    WHY ("no snapshot yet (%s: %s)", link, strerror (errno));
  target[n] = '\0';
  if (strncmp (target, "s-", 2) != 0 || strchr (target, '/'))
    WHY ("%s: unexpected link target %s", link, target);
  s->found = gbox_int_asprintf (h, "%s/%s", s->dir, target);
  keypath = gbox_int_asprintf (h, "%s/key", s->found);
  statepath = gbox_int_asprintf (h, "%s/state", s->found);
  s->ram = gbox_int_asprintf (h, "%s/ram", s->found);
  if (!s->found || !keypath || !statepath || !s->ram)
    WHY ("out of memory");
  key = read_small (keypath, KEY_MAX);
  if (!key)
    WHY ("%s: %s", keypath, strerror (errno));
  if (strncmp (key, s->prekey, plen) != 0) {
    CLEANUP_FREE char *d = describe_difference (key, s->prekey);
    WHY ("the snapshot does not match this launch: %s", d ? d : "");
  }

  /* After the prefix: the post-start lines, then "files RAM STATE". */
  rest = key + plen;
  files = strstr (rest, "files ");
  while (files && files != rest && files[-1] != '\n')
    files = strstr (files + 1, "files ");
  if (!files ||
      sscanf (files, "files %llu %llu %lld %ld %llu", &ramsize, &statesize,
              &ctime_s, &ctime_ns, &ino) != 5)
    WHY ("%s: damaged (no sizes)", keypath);
  s->postkey = strndup (rest, files - rest);
  if (!s->postkey)
    WHY ("out of memory");

  /* Cheap checks of the files themselves. */
  if (lstat (s->ram, &st) == -1)
    WHY ("%s: %s", s->ram, strerror (errno));
  if (!S_ISREG (st.st_mode) || (unsigned long long) st.st_size != ramsize)
    WHY ("%s: size %jd, the key says %llu", s->ram, (intmax_t) st.st_size,
         ramsize);
  if ((long long) st.st_ctim.tv_sec != ctime_s ||
      st.st_ctim.tv_nsec != ctime_ns ||
      (unsigned long long) st.st_ino != ino)
    WHY ("%s: changed since the snapshot was saved", s->ram);
  s->state_fd = open (statepath, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (s->state_fd == -1)
    WHY ("%s: %s", statepath, strerror (errno));
  if (fstat (s->state_fd, &st) == -1 || !S_ISREG (st.st_mode) ||
      (unsigned long long) st.st_size != statesize)
    WHY ("%s: size %jd, the key says %llu", statepath,
         (intmax_t) st.st_size, statesize);
  return 1;
#undef WHY
}

/*----------------------------------------------------------------------
 * Making one.
 */

int
gbox_int_snapshot_begin (gbox_h *h, struct gbox_snapshot *s)
{
  CLEANUP_FREE char *lock = gbox_int_asprintf (h, "%s/lock", s->dir);
  int fd;

  if (!lock)
    return -1;
  s->lock_fd = open (lock, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (s->lock_fd == -1) {
    gbox_int_perror (h, "%s", lock);
    return -1;
  }
  while (flock (s->lock_fd, LOCK_EX | LOCK_NB) == -1) {
    if (errno == EINTR)
      continue;
    close (s->lock_fd);
    s->lock_fd = -1;
    if (errno == EWOULDBLOCK)
      return 0;
    gbox_int_perror (h, "%s: flock", lock);
    return -1;
  }

  s->newdir = gbox_int_asprintf (h, "%s/s-XXXXXX", s->dir);
  if (!s->newdir)
    goto error;
  if (mkdtemp (s->newdir) == NULL) {
    gbox_int_perror (h, "mkdtemp %s", s->newdir);
    free (s->newdir);
    s->newdir = NULL;
    goto error;
  }
  /* qemu would create the RAM file 0644: make it ourselves. */
  s->newram = gbox_int_asprintf (h, "%s/ram", s->newdir);
  if (!s->newram)
    goto error;
  fd = open (s->newram, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW,
             0600);
  if (fd == -1) {
    gbox_int_perror (h, "%s", s->newram);
    goto error;
  }
  close (fd);
  return 1;

 error:
  gbox_int_snapshot_end (h, s);
  return -1;
}

/* Poll query-migrate (or query-status) until its "status" is one of
 * WANT; FAIL statuses end with an error. */
static int
wait_status (gbox_h *h, const char *cmd, const char *const *want,
             const char *const *fail, uint64_t deadline)
{
  for (;;) {
    CLEANUP_FREE char *ret = NULL, *status = NULL;
    size_t i;

    if (gbox_int_qmp (h, cmd, &ret) == -1)
      return -1;
    status = gbox_int_qmp_string (ret, "status");
    for (i = 0; status && want[i]; ++i)
      if (strcmp (status, want[i]) == 0)
        return 0;
    for (i = 0; status && fail[i]; ++i)
      if (strcmp (status, fail[i]) == 0) {
        CLEANUP_FREE char *desc = gbox_int_qmp_string (ret, "error-desc");
        gbox_int_error (h, "migration %s%s%s", status, desc ? ": " : "",
                        desc ? desc : "");
        return -1;
      }
    if (gbox_int_now_ms () >= deadline) {
      gbox_int_error (h, "migration: still \"%s\" at the deadline",
                      status ? status : "?");
      return -1;
    }
    gbox_int_read_console (h);
    poll (NULL, 0, 2);
  }
}

static int
set_ignore_shared (gbox_h *h)
{
  return gbox_int_qmp
    (h, "{\"execute\":\"migrate-set-capabilities\",\"arguments\":"
     "{\"capabilities\":[{\"capability\":\"x-ignore-shared\","
     "\"state\":true}]}}", NULL);
}

int
gbox_int_snapshot_save (gbox_h *h, struct gbox_snapshot *s,
                        uint64_t deadline)
{
  static const char *const done[] = { "completed", NULL };
  static const char *const failed[] = { "failed", "cancelled", NULL };
  CLEANUP_FREE char *path = gbox_int_asprintf (h, "%s/state", s->newdir);
  CLEANUP_CLOSE int fd = -1;
  uint64_t t0 = gbox_int_now_ms ();

  if (!path)
    return -1;
  fd = open (path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW,
             0600);
  if (fd == -1) {
    gbox_int_perror (h, "%s", path);
    return -1;
  }
  if (set_ignore_shared (h) == -1 ||
      gbox_int_qmp_fd (h, "{\"execute\":\"getfd\",\"arguments\":"
                       "{\"fdname\":\"snapshot\"}}", fd, NULL) == -1 ||
      gbox_int_qmp (h, "{\"execute\":\"migrate\",\"arguments\":"
                    "{\"uri\":\"fd:snapshot\"}}", NULL) == -1 ||
      wait_status (h, "{\"execute\":\"query-migrate\"}", done, failed,
                   deadline) == -1)
    return -1;
  gbox_int_debug (h, "snapshot: state saved in %" PRIu64 " ms",
                  gbox_int_now_ms () - t0);
  return 0;
}

static int
fsync_path (gbox_h *h, const char *path, int flags)
{
  CLEANUP_CLOSE int fd = open (path, flags | O_CLOEXEC | O_NOFOLLOW);

  if (fd == -1 || fsync (fd) == -1) {
    gbox_int_perror (h, "fsync %s", path);
    return -1;
  }
  return 0;
}

/* Remove the s-* directories that no slot names (old snapshots, and
 * those of interrupted makers: we hold the lock). */
static void
remove_unused (gbox_h *h, struct gbox_snapshot *s)
{
  static const char *const slots[] = { "current", "current-v", NULL };
  char keep[2][NAME_MAX + 1];
  DIR *d;
  struct dirent *e;
  size_t i;

  for (i = 0; slots[i]; ++i) {
    char link[PATH_MAX];
    ssize_t n;

    snprintf (link, sizeof link, "%s/%s", s->dir, slots[i]);
    n = readlink (link, keep[i], sizeof keep[i] - 1);
    keep[i][n > 0 ? n : 0] = '\0';
  }
  d = opendir (s->dir);
  if (!d)
    return;
  while ((e = readdir (d)) != NULL) {
    char path[PATH_MAX];

    if (strncmp (e->d_name, "s-", 2) != 0 ||
        strcmp (e->d_name, keep[0]) == 0 || strcmp (e->d_name, keep[1]) == 0)
      continue;
    snprintf (path, sizeof path, "%s/%s", s->dir, e->d_name);
    if (strlen (e->d_name) > 5 &&
        strcmp (e->d_name + strlen (e->d_name) - 5, ".link") == 0)
      unlink (path);
    else {
      gbox_int_debug (h, "snapshot: removing the unused %s", path);
      gbox_int_rmtree (path);
    }
  }
  closedir (d);
}

int
gbox_int_snapshot_publish (gbox_h *h, struct gbox_snapshot *s,
                           const char *postkey)
{
  CLEANUP_FREE char *state = gbox_int_asprintf (h, "%s/state", s->newdir);
  CLEANUP_FREE char *key = gbox_int_asprintf (h, "%s/key", s->newdir);
  CLEANUP_FREE char *tmplink = gbox_int_asprintf (h, "%s.link", s->newdir);
  CLEANUP_FREE char *link = gbox_int_asprintf (h, "%s/%s", s->dir, s->slot);
  const char *base;
  struct stat ram_st, state_st;
  CLEANUP_FREE char *text = NULL;
  size_t len, off = 0;
  int fd;
  uint64_t t0 = gbox_int_now_ms ();

  if (!state || !key || !tmplink || !link)
    return -1;
  /* Read-only from now on; and its change time (which no writer, not
   * even one that resets the modification time, can keep) is in the
   * key, so that a RAM file written later (by a qemu that restored it
   * and went rogue: it holds the file open) is never restored. */
  if (chmod (s->newram, 0400) == -1 || chmod (state, 0400) == -1 ||
      stat (s->newram, &ram_st) == -1 || stat (state, &state_st) == -1) {
    gbox_int_perror (h, "snapshot: stat");
    return -1;
  }
  /* The files first, so that a crash never publishes half a snapshot. */
  if (fsync_path (h, s->newram, O_RDONLY) == -1 ||
      fsync_path (h, state, O_RDONLY) == -1)
    return -1;
  text = gbox_int_asprintf (h, "%s%sfiles %jd %jd %jd %ld %ju\n", s->prekey,
                            postkey, (intmax_t) ram_st.st_size,
                            (intmax_t) state_st.st_size,
                            (intmax_t) ram_st.st_ctim.tv_sec,
                            (long) ram_st.st_ctim.tv_nsec,
                            (uintmax_t) ram_st.st_ino);
  if (!text)
    return -1;
  fd = open (key, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd == -1) {
    gbox_int_perror (h, "%s", key);
    return -1;
  }
  len = strlen (text);
  while (off < len) {
    ssize_t r = write (fd, text + off, len - off);
    if (r == -1 && errno == EINTR)
      continue;
    if (r <= 0) {
      gbox_int_perror (h, "write %s", key);
      close (fd);
      return -1;
    }
    off += r;
  }
  if (fsync (fd) == -1 || close (fd) == -1) {
    gbox_int_perror (h, "%s", key);
    return -1;
  }
  if (fsync_path (h, s->newdir, O_RDONLY | O_DIRECTORY) == -1)
    return -1;

  base = strrchr (s->newdir, '/') + 1;
  unlink (tmplink);
  if (symlink (base, tmplink) == -1 || rename (tmplink, link) == -1) {
    gbox_int_perror (h, "snapshot: publishing %s", link);
    unlink (tmplink);
    return -1;
  }
  fsync_path (h, s->dir, O_RDONLY | O_DIRECTORY);
  gbox_int_debug (h, "snapshot: published %s (RAM file %jd MB allocated of "
                  "%jd MB, state %jd KB) in %" PRIu64 " ms", s->newdir,
                  (intmax_t) (ram_st.st_blocks * 512 / (1024 * 1024)),
                  (intmax_t) (ram_st.st_size / (1024 * 1024)),
                  (intmax_t) (state_st.st_size / 1024),
                  gbox_int_now_ms () - t0);
  free (s->newdir);
  free (s->newram);
  s->newdir = s->newram = NULL;
  remove_unused (h, s);
  return 0;
}

void
gbox_int_snapshot_end (gbox_h *h, struct gbox_snapshot *s)
{
  if (s->newdir) {
    gbox_int_rmtree (s->newdir);
    free (s->newdir);
    s->newdir = NULL;
  }
  free (s->newram);
  s->newram = NULL;
  if (s->lock_fd >= 0) {
    close (s->lock_fd);
    s->lock_fd = -1;
  }
}

/*----------------------------------------------------------------------
 * Restoring one.
 */

int
gbox_int_snapshot_load (gbox_h *h, struct gbox_snapshot *s,
                        uint64_t deadline)
{
  static const char *const running[] = { "running", NULL };
  static const char *const failed[] = {
    "internal-error", "io-error", "guest-panicked", "shutdown", NULL
  };

  if (set_ignore_shared (h) == -1 ||
      gbox_int_qmp_fd (h, "{\"execute\":\"getfd\",\"arguments\":"
                       "{\"fdname\":\"snapshot\"}}", s->state_fd, NULL) == -1 ||
      gbox_int_qmp (h, "{\"execute\":\"migrate-incoming\",\"arguments\":"
                    "{\"uri\":\"fd:snapshot\"}}", NULL) == -1)
    return -1;
  /* qemu has its own copy now. */
  close (s->state_fd);
  s->state_fd = -1;
  return wait_status (h, "{\"execute\":\"query-status\"}", running, failed,
                      deadline);
}

int
gbox_int_snapshot_refresh (gbox_h *h, struct gbox_pending_call *p)
{
  unsigned char seed[SEED_LEN];
  struct timespec ts;
  size_t got = 0;

  p->sent = false;
  while (got < sizeof seed) {
    ssize_t r = getrandom (seed + got, sizeof seed - got, 0);
    if (r == -1 && errno == EINTR)
      continue;
    if (r <= 0) {
      gbox_int_perror (h, "getrandom");
      return -1;
    }
    got += r;
  }
  clock_gettime (CLOCK_REALTIME, &ts);
  return gbox_int_refresh_send (h, ts.tv_sec, ts.tv_nsec, seed, sizeof seed,
                                p);
}
