/* guestbox - btrfs subvolumes for inspection.
 * Copyright (C) 2026 the guestbox authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

/**
 * The subvolumes of a mounted btrfs filesystem, found with the kernel's
 * tree search ioctl (ROOT_REF items of the root tree: parent, directory
 * and name of each subvolume) and INO_LOOKUP (the path of that
 * directory inside its parent), so that a root or /home on a subvolume
 * (Fedora, openSUSE) can be inspected and named as libguestfs names it:
 * "btrfsvol:/dev/sda2/root".  Bounded: at most BTRFS_SUBVOLS_MAX
 * subvolumes, nesting at most 64 deep, paths under GBOX_PATH_MAX.
 */

#include <config.h>

#include <errno.h>
#include <string.h>
#include <sys/ioctl.h>
#include <linux/btrfs.h>
#include <linux/btrfs_tree.h>

#include "daemon.h"

#define BTRFS_SUBVOLS_MAX 4096

struct subvol {
  uint64_t id, parent, dirid;
  char *name;
  char *path;                   /* computed */
};

static struct subvol *
find_id (struct subvol *v, size_t n, uint64_t id)
{
  size_t i;

  for (i = 0; i < n; ++i)
    if (v[i].id == id)
      return &v[i];
  return NULL;
}

/* Path of subvolume S from the top level, or NULL. */
static const char *
subvol_path (int fd, struct subvol *v, size_t n, struct subvol *s, int depth)
{
  struct btrfs_ioctl_ino_lookup_args lk;
  const char *ppath = "";
  char buf[GBOX_PATH_MAX];

  if (s->path)
    return s->path;
  if (depth > 64)
    return NULL;
  if (s->parent != BTRFS_FS_TREE_OBJECTID) {
    struct subvol *p = find_id (v, n, s->parent);
    if (p == NULL || (ppath = subvol_path (fd, v, n, p, depth + 1)) == NULL)
      return NULL;
  }
  memset (&lk, 0, sizeof lk);
  lk.treeid = s->parent;
  lk.objectid = s->dirid;
  if (ioctl (fd, BTRFS_IOC_INO_LOOKUP, &lk) == -1)
    return NULL;
  lk.name[sizeof lk.name - 1] = '\0';
  /* lk.name is the directory inside the parent, "" or "a/b/". */
  if ((size_t) snprintf (buf, sizeof buf, "%s%s%s%s", ppath,
                         ppath[0] ? "/" : "", lk.name, s->name)
      >= sizeof buf)
    return NULL;
  s->path = strdup (buf);
  return s->path;
}

static int
compare_paths (const void *a, const void *b)
{
  return strcmp (*(char *const *) a, *(char *const *) b);
}

static int
compare_ids (const void *a, const void *b)
{
  const struct subvol *x = a, *y = b;

  return x->id < y->id ? -1 : x->id > y->id;
}

/* The id of the default subvolume (the "default" entry of the root
 * tree directory), or BTRFS_FS_TREE_OBJECTID. */
static uint64_t
default_subvolume (int fd)
{
  struct btrfs_ioctl_search_args args;
  struct btrfs_ioctl_search_key *k = &args.key;
  struct btrfs_ioctl_search_header sh;
  struct btrfs_dir_item di;
  size_t off = 0;
  uint32_t item;

  memset (&args, 0, sizeof args);
  k->tree_id = BTRFS_ROOT_TREE_OBJECTID;
  k->min_objectid = k->max_objectid = BTRFS_ROOT_TREE_DIR_OBJECTID;
  k->min_type = k->max_type = BTRFS_DIR_ITEM_KEY;
  k->max_offset = (uint64_t) -1;
  k->max_transid = (uint64_t) -1;
  k->nr_items = 16;
  if (ioctl (fd, BTRFS_IOC_TREE_SEARCH, &args) == -1)
    return BTRFS_FS_TREE_OBJECTID;
  for (item = 0; item < k->nr_items; ++item) {
    if (off + sizeof sh > sizeof args.buf)
      break;
    memcpy (&sh, args.buf + off, sizeof sh);
    off += sizeof sh;
    if (off + sh.len > sizeof args.buf)
      break;
    if (sh.type == BTRFS_DIR_ITEM_KEY && sh.len >= sizeof di) {
      memcpy (&di, args.buf + off, sizeof di);
      if (le16toh (di.name_len) == 7 && sizeof di + 7 <= sh.len &&
          memcmp (args.buf + off + sizeof di, "default", 7) == 0)
        return le64toh (di.location.objectid);
    }
    off += sh.len;
  }
  return BTRFS_FS_TREE_OBJECTID;
}

static int list_subvolumes (int fd, char ***pathsp, size_t *np,
                            bool by_id);

int
btrfs_list_subvolumes (int fd, char ***pathsp, size_t *np)
{
  return list_subvolumes (fd, pathsp, np, false);
}

int
btrfs_list_volumes (int fd, char ***pathsp, size_t *np)
{
  return list_subvolumes (fd, pathsp, np, true);
}

static int
list_subvolumes (int fd, char ***pathsp, size_t *np, bool by_id)
{
  struct btrfs_ioctl_search_args args;
  struct subvol *v = NULL;
  size_t n = 0, i;
  char **paths = NULL;
  size_t np_ = 0;
  uint64_t min_objectid = BTRFS_FS_TREE_OBJECTID, min_offset = 0, def;
  int ret = -1;

  for (;;) {
    struct btrfs_ioctl_search_key *k = &args.key;
    size_t off = 0;
    uint32_t item;

    memset (&args, 0, sizeof args);
    k->tree_id = BTRFS_ROOT_TREE_OBJECTID;
    k->min_objectid = min_objectid;
    k->max_objectid = BTRFS_LAST_FREE_OBJECTID;
    k->min_type = BTRFS_ROOT_REF_KEY;
    k->max_type = BTRFS_ROOT_REF_KEY;
    k->min_offset = min_offset;
    k->max_offset = (uint64_t) -1;
    k->max_transid = (uint64_t) -1;
    k->nr_items = 4096;
    if (ioctl (fd, BTRFS_IOC_TREE_SEARCH, &args) == -1)
      goto out;
    if (k->nr_items == 0)
      break;
    for (item = 0; item < k->nr_items; ++item) {
      struct btrfs_ioctl_search_header sh;
      struct btrfs_root_ref ref;
      size_t nl;

      if (off + sizeof sh > sizeof args.buf)
        break;
      memcpy (&sh, args.buf + off, sizeof sh);
      off += sizeof sh;
      if (off + sh.len > sizeof args.buf)
        break;
      min_objectid = sh.objectid;
      min_offset = sh.offset + 1;
      if (sh.type == BTRFS_ROOT_REF_KEY && sh.len >= sizeof ref &&
          n < BTRFS_SUBVOLS_MAX) {
        struct subvol *nv;

        memcpy (&ref, args.buf + off, sizeof ref);
        nl = le16toh (ref.name_len);
        if (nl > 0 && nl <= sh.len - sizeof ref && nl < GBOX_NAME_MAX) {
          nv = realloc (v, (n + 1) * sizeof *v);
          if (nv == NULL)
            goto out;
          v = nv;
          v[n].id = sh.offset;
          v[n].parent = sh.objectid;
          v[n].dirid = le64toh (ref.dirid);
          v[n].path = NULL;
          v[n].name = strndup (args.buf + off + sizeof ref, nl);
          if (v[n].name == NULL)
            goto out;
          n++;
        }
      }
      off += sh.len;
    }
    if (min_offset == 0) {        /* offset wrapped */
      if (min_objectid == (uint64_t) -1)
        break;
      min_objectid++;
    }
    if (n >= BTRFS_SUBVOLS_MAX)
      break;
  }

  for (i = 0; i < n; ++i)
    subvol_path (fd, v, n, &v[i], 0);
  if (by_id && n > 0)
    qsort (v, n, sizeof *v, compare_ids);
  def = by_id ? default_subvolume (fd) : 0;
  for (i = 0; i < n; ++i) {
    const char *p = v[i].path;
    if (by_id && v[i].id == def)
      continue;
    if (p && memchr (p, '\n', strlen (p)) == NULL &&
        add_string (&paths, &np_, p) == -1)
      goto out;
  }
  if (np_ && !by_id)
    qsort (paths, np_, sizeof (char *), compare_paths);
  *pathsp = paths;
  *np = np_;
  paths = NULL;
  ret = 0;

 out:
  for (i = 0; i < n; ++i) {
    free (v[i].name);
    free (v[i].path);
  }
  free (v);
  if (paths)
    free_strings (paths);
  return ret;
}
