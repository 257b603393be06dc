/* guestbox - directory listing.
 * Copyright (C) 2026 the guestbox authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

/**
 * readdir_stat: the names of a directory sorted with strcmp (without
 * "." and ".."), each with its full lstat and, for symlinks, the
 * target.  A reply is cut to stay under READDIR_REPLY_MAX bytes and
 * then sets 'more'; the library asks again from start + count.  The
 * sorted names are kept between the pages of one listing (see
 * 'listing'), so a directory is read and sorted once, not once a page.
 */

#include <config.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/stat.h>

#include "daemon.h"

/* Encoded size budget of one reply (the message limit is 4 MiB). */
#define READDIR_REPLY_MAX (3 * 1024 * 1024 + 512 * 1024)
/* Most entries one reply can hold (the smallest is a 1-byte name, a
 * stat and an empty link). */
#define READDIR_PAGE_MAX (READDIR_REPLY_MAX / (8 + 16 * 8 + 4) + 1)

/* The sorted names of the directory being listed.  A listing starts
 * at 0, which always reads the directory; a later page (start > 0) of
 * the same path reuses the names if the directory is still the same
 * one, unchanged (device, inode, mtime, ctime).  Reading and sorting
 * 100 000 names again for each page made a listing quadratic.  Freed
 * when the last page is sent, or by the next listing.
 *
 * 'start' counts the entries sent, but a name that cannot be stat'ed
 * (ENOENT: a hostile directory can hold a name with a NUL byte, which
 * readdir shows cut short) is skipped: so the page asked for at
 * start == 'sent' continues from the name 'next', not from the name
 * 'start', which would send an entry twice. */
static struct {
  char *path;
  char **names;
  size_t nr_names;
  struct stat st;
  uint64_t sent;                /* entries sent so far */
  size_t next;                  /* the first name not sent */
} listing;

static void
listing_free (void)
{
  free (listing.path);
  free_strings (listing.names);
  listing.path = NULL;
  listing.names = NULL;
  listing.nr_names = 0;
  listing.sent = 0;
  listing.next = 0;
}

static int
same_dir (const struct stat *a, const struct stat *b)
{
  return a->st_dev == b->st_dev && a->st_ino == b->st_ino &&
    a->st_mtim.tv_sec == b->st_mtim.tv_sec &&
    a->st_mtim.tv_nsec == b->st_mtim.tv_nsec &&
    a->st_ctim.tv_sec == b->st_ctim.tv_sec &&
    a->st_ctim.tv_nsec == b->st_ctim.tv_nsec;
}

static size_t
xdr_string_size (size_t len)
{
  return 4 + ((len + 3) & ~(size_t) 3);
}

/* Open the guest directory PATH, or NULL after replying with the
 * error. */
static DIR *
open_dir (const char *path)
{
  int root, fd;
  DIR *dir;

  if (check_path (path) == -1)
    return NULL;
  root = sysroot_fd ();
  if (root == -1) {
    reply_with_perror ("sysroot %s", sysroot);
    return NULL;
  }
  fd = open_in_root (root, path, O_RDONLY | O_DIRECTORY, 0);
  if (fd == -1) {
    reply_with_perror ("%s", path);
    return NULL;
  }
  dir = fdopendir (fd);
  if (dir == NULL) {
    reply_with_perror ("%s", path);
    close (fd);
  }
  return dir;
}

/* Read the names of DIR (PATH for errors), without . and .., sorted
 * with strcmp, at most DIR_NAMES_MAX of them, into the NULL-terminated
 * list *NAMES.  -1 after replying with the error (*NAMES is then still
 * the caller's to free). */
static int
read_names (DIR *dir, const char *path, char ***names, size_t *nr_names)
{
  struct dirent *d;
  size_t alloc = 0;
  char **l;

  for (;;) {
    errno = 0;
    d = readdir (dir);
    if (d == NULL) {
      if (errno != 0) {
        reply_with_perror ("%s", path);
        return -1;
      }
      break;
    }
    if (strcmp (d->d_name, ".") == 0 || strcmp (d->d_name, "..") == 0)
      continue;
    if (*nr_names >= DIR_NAMES_MAX) {
      reply_with_error_errno (EFBIG, "%s: more than %d entries",
                              path, DIR_NAMES_MAX);
      return -1;
    }
    /* Room for one more and the NULL, growing geometrically. */
    if (*nr_names + 2 > alloc) {
      alloc = alloc ? alloc * 2 : 64;
      l = realloc (*names, alloc * sizeof *l);
      if (l == NULL) {
        reply_with_perror ("%s: malloc", path);
        return -1;
      }
      *names = l;
    }
    (*names)[*nr_names + 1] = NULL;
    (*names)[*nr_names] = strdup (d->d_name);
    if ((*names)[*nr_names] == NULL) {
      reply_with_perror ("%s: malloc", path);
      return -1;
    }
    ++*nr_names;
  }
  if (*nr_names > 0)
    qsort (*names, *nr_names, sizeof (char *), compare_strings);
  return 0;
}

/* Open the guest directory PATH and read its names (without . and ..),
 * sorted with strcmp, at most DIR_NAMES_MAX of them.  Returns the open
 * DIR (its dirfd serves fstatat and readlinkat on the names), or NULL
 * after replying with the error.  *NAMES is a NULL-terminated list that
 * the caller frees. */
DIR *
read_dir_sorted (const char *path, char ***names, size_t *nr_names)
{
  DIR *dir = open_dir (path);

  if (dir == NULL)
    return NULL;
  if (read_names (dir, path, names, nr_names) == -1) {
    closedir (dir);
    return NULL;
  }
  return dir;
}

int
do_readdir_stat (void *argsv, void *retv)
{
  gbox_readdir_stat_args *args = argsv;
  gbox_readdir_stat_ret *ret = retv;
  int dfd;
  DIR *dir;
  struct stat dst;
  size_t i, first, budget, nr_ents;
  char **names;
  gbox_dirent *ents;

  dir = open_dir (args->path);
  if (dir == NULL) {
    listing_free ();
    return -1;
  }
  dfd = dirfd (dir);
  if (fstat (dfd, &dst) == -1) {
    reply_with_perror ("%s", args->path);
    listing_free ();
    closedir (dir);
    return -1;
  }
  if (args->start == 0 || listing.path == NULL ||
      strcmp (listing.path, args->path) != 0 ||
      !same_dir (&listing.st, &dst)) {
    listing_free ();
    listing.path = strdup (args->path);
    if (listing.path == NULL) {
      reply_with_perror ("readdir: strdup");
      closedir (dir);
      return -1;
    }
    listing.st = dst;
    if (read_names (dir, args->path, &listing.names,
                    &listing.nr_names) == -1) {
      listing_free ();
      closedir (dir);
      return -1;
    }
  }
  names = listing.names;
  if (args->start > 0 && args->start == listing.sent)
    first = listing.next;       /* the next page of this listing */
  else if (args->start < listing.nr_names)
    first = args->start;        /* a fresh read: the names sent are gone */
  else
    first = listing.nr_names;

  ret->more = 0;
  ret->entries.entries_len = 0;
  if (first >= listing.nr_names) {
    listing_free ();
    closedir (dir);
    return 0;
  }
  nr_ents = listing.nr_names - first;
  if (nr_ents > READDIR_PAGE_MAX)
    nr_ents = READDIR_PAGE_MAX;
  ents = calloc (nr_ents, sizeof *ents);
  if (ents == NULL) {
    reply_with_perror ("readdir: calloc");
    listing_free ();
    closedir (dir);
    return -1;
  }
  ret->entries.entries_val = ents;
  budget = 64;                  /* header, list length, 'more' */
  for (i = first; i < listing.nr_names; ++i) {
    gbox_dirent *e = &ents[ret->entries.entries_len];
    struct stat st;
    char link[GBOX_PATH_MAX];
    size_t namelen = strlen (names[i]);
    size_t need;

    link[0] = '\0';
    if (fstatat (dfd, names[i], &st, AT_SYMLINK_NOFOLLOW) == -1) {
      /* Vanished since readdir: skip it. */
      if (errno == ENOENT)
        continue;
      reply_with_perror ("lstat: %s/%s", args->path, names[i]);
      listing_free ();
      closedir (dir);
      return -1;
    }
    if (S_ISLNK (st.st_mode)) {
      ssize_t r = readlinkat (dfd, names[i], link, sizeof link - 1);
      if (r < 0)
        r = 0;
      link[r] = '\0';
      /* Reading the link may update its atime: report the state after. */
      fstatat (dfd, names[i], &st, AT_SYMLINK_NOFOLLOW);
    }
    if (namelen >= GBOX_NAME_MAX)
      continue;                 /* cannot happen on Linux (NAME_MAX 255) */
    need = xdr_string_size (namelen) + 16 * 8 + xdr_string_size (strlen (link));
    if (budget + need > READDIR_REPLY_MAX ||
        ret->entries.entries_len == nr_ents) {
      ret->more = 1;
      break;
    }
    budget += need;
    e->name = strdup (names[i]);
    e->link = strdup (link);
    ret->entries.entries_len++;
    if (e->name == NULL || e->link == NULL) {
      reply_with_perror ("readdir: strdup");
      listing_free ();
      closedir (dir);
      return -1;
    }
    stat_to_gbox (&st, &e->st);
  }
  listing.sent = args->start + ret->entries.entries_len;
  listing.next = i;
  if (!ret->more)
    listing_free ();
  closedir (dir);
  return 0;
}
