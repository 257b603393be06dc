/* guestbox - directory listing.
 * Copyright (C) 2026 the guestbox authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

/**
 * readdir_stat: the names of a directory sorted with strcmp (without
 * "." and ".."), each with its full lstat and, for symlinks, the
 * target.  A reply is cut to stay under READDIR_REPLY_MAX bytes and
 * then sets 'more'; the library asks again from start + count.
 */

#include <config.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>

#include "daemon.h"

/* Encoded size budget of one reply (the message limit is 4 MiB). */
#define READDIR_REPLY_MAX (3 * 1024 * 1024 + 512 * 1024)

static size_t
xdr_string_size (size_t len)
{
  return 4 + ((len + 3) & ~(size_t) 3);
}

/* Open the guest directory PATH and read its names (without . and ..),
 * sorted with strcmp, at most DIR_NAMES_MAX of them.  Returns the open
 * DIR (its dirfd serves fstatat and readlinkat on the names), or NULL
 * after replying with the error.  *NAMES is a NULL-terminated list that
 * the caller frees. */
DIR *
read_dir_sorted (const char *path, char ***names, size_t *nr_names)
{
  int root, fd;
  DIR *dir;
  struct dirent *d;

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
    return NULL;
  }
  for (;;) {
    errno = 0;
    d = readdir (dir);
    if (d == NULL) {
      if (errno != 0) {
        reply_with_perror ("%s", path);
        closedir (dir);
        return NULL;
      }
      break;
    }
    if (strcmp (d->d_name, ".") == 0 || strcmp (d->d_name, "..") == 0)
      continue;
    if (*nr_names >= DIR_NAMES_MAX) {
      reply_with_error_errno (EFBIG, "%s: more than %d entries",
                              path, DIR_NAMES_MAX);
      closedir (dir);
      return NULL;
    }
    if (add_string (names, nr_names, d->d_name) == -1) {
      reply_with_perror ("%s: malloc", path);
      closedir (dir);
      return NULL;
    }
  }
  if (*nr_names > 0)
    qsort (*names, *nr_names, sizeof (char *), compare_strings);
  return dir;
}

int
do_readdir_stat (void *argsv, void *retv)
{
  gbox_readdir_stat_args *args = argsv;
  gbox_readdir_stat_ret *ret = retv;
  CLEANUP_FREE_STRING_LIST char **names = NULL;
  size_t nr_names = 0;
  int dfd;
  DIR *dir;
  size_t i, budget;
  gbox_dirent *ents;

  dir = read_dir_sorted (args->path, &names, &nr_names);
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
    reply_with_perror ("readdir: calloc");
    closedir (dir);
    return -1;
  }
  ret->entries.entries_val = ents;
  budget = 64;                  /* header, list length, 'more' */
  for (i = args->start; i < nr_names; ++i) {
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
    if (budget + need > READDIR_REPLY_MAX) {
      ret->more = 1;
      break;
    }
    budget += need;
    e->name = names[i];
    names[i] = strdup ("");     /* ownership moved to the reply */
    e->link = strdup (link);
    if (names[i] == NULL || e->link == NULL) {
      reply_with_perror ("readdir: strdup");
      ret->entries.entries_len++;
      closedir (dir);
      return -1;
    }
    stat_to_gbox (&st, &e->st);
    ret->entries.entries_len++;
  }
  closedir (dir);
  return 0;
}
