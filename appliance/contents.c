/* guestbox - the appliance builder.
 * Copyright (C) 2026 the guestbox authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

/** What goes into the initrd: the module and program lists, the
 * directory skeleton, the daemon and init, the optional host programs
 * (a missing or broken one is skipped, never fatal), libmagic's database,
 * a few small /etc files, and the kernel modules. */

#include <config.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "appliance-internal.h"

/* Loaded by init at boot, in this order (their dependencies first):
 * virtio_blk and erofs mount the root disk (/usr), the console carries
 * the protocol.  Their files are in the initramfs too. */
const char *const gbox_appliance_boot_modules[] = {
  "virtio_mmio", "virtio_blk", "erofs", "virtio_console", NULL
};

/* The drivers of the disks' controller (/etc/guestbox/modules.disks):
 * loaded by the daemon just after it has told the library it is ready,
 * while the library attaches the disks (a cold boot), so that the two
 * overlap. */
const char *const gbox_appliance_disk_modules[] = {
  "virtio_scsi", "sd_mod", NULL
};

/* Included, loaded on demand by the daemon (loading all of them at boot
 * costs about 1.7 s under TCG): those of every filesystem in
 * common/fstypes.def that the host kernel has (the others are skipped),
 * then the storage stack. */
const char *const gbox_appliance_modules[] = {
#define MODS(...) __VA_ARGS__,
#define NOMODS
#define FSTYPE(name, modules, flags, grow, program) modules
#include "fstypes.def"
#undef FSTYPE
#undef NOMODS
#undef MODS
  /* Device mapper, loop devices, md RAID, and dm-crypt with the
   * user-space crypto API that cryptsetup uses for LUKS key slots. */
  "dm_mod", "dm_snapshot", "dm_mirror", "dm_zero", "loop",
  "md_mod", "raid0", "raid1", "raid10", "raid456", "dm_crypt", "xts", "ecb",
  "essiv", "af_alg", "algif_skcipher", "algif_hash", NULL
};

/* Host programs the daemon runs, included when the host has them.
 * xfs_db is what the xfs_admin script runs. */
const char *const gbox_appliance_programs[] = {
  "lvm", "e2fsck", "resize2fs", "mke2fs", "tune2fs", "dumpe2fs", "sfdisk",
  "mkswap", "swaplabel", "blkid", "wipefs", "fstrim", "ntfs-3g",
  "ntfsresize", "ntfsfix", "xfs_growfs", "xfs_repair", "xfs_admin",
  "xfs_db", "btrfs", "zerofree", "fsck.vfat",
  "bsdtar", "lzop",             /* virt-tar-*, virt-copy-* */
  "mdadm", "cryptsetup",
  "ldmtool",                    /* Windows dynamic disks */
  /* Icons of CirrOS and Windows XP/7 guests, as libguestfs makes them. */
  "wrestool", "bmptopnm", "pamcut", "pnmtopng", "pbmtext", NULL
};

/* Directories every appliance has (mode). */
static const struct {
  const char *path;
  mode_t mode;
} skeleton[] = {
  { "/proc", 0555 }, { "/sys", 0555 }, { "/dev", 0755 },
  { "/tmp", 01777 }, { "/run", 0755 }, { "/sysroot", 0755 },
  { "/etc", 0755 }, { "/etc/guestbox", 0755 }, { "/root", 0700 },
  { "/var", 0755 }, { "/var/tmp", 01777 },
};

/* Top-level names replicated as the host has them (symlinks on a
 * usrmerged host). */
static const char *const toplevel[] = { "/bin", "/sbin", "/lib", "/lib64" };

/* Where libmagic's compiled database may be. */
static const char *const magic_paths[] = {
  "/usr/share/misc/magic.mgc", "/usr/lib/file/magic.mgc",
  "/usr/share/file/magic.mgc", NULL
};

/* Small host files copied when present.  The gconv modules and their
 * index let hivex (Windows inspection) convert Latin-1 key names and
 * UTF-16 values. */
static const char *const etc_files[] = {
  "/etc/ld.so.cache", "/etc/mke2fs.conf",
  "/usr/lib/x86_64-linux-gnu/gconv/gconv-modules",
  "/usr/lib/x86_64-linux-gnu/gconv/gconv-modules.cache",
  "/usr/lib/x86_64-linux-gnu/gconv/ISO8859-1.so",
  "/usr/lib/x86_64-linux-gnu/gconv/UTF-16.so",
  NULL
};

/* lvm runs without a configuration file; this one turns off what needs
 * udev, dmeventd, lvmpolld or a writable /etc in the appliance, and
 * leaves out the appliance's own root disk (/dev/vda). */
static const char lvm_conf[] =
  "# guestbox appliance: no udev, no daemons, nothing to back up.\n"
  "devices {\n"
  "  obtain_device_list_from_udev = 0\n"
  "  external_device_info_source = \"none\"\n"
  "  global_filter = [ \"r|^/dev/vd|\" ]\n"
  "}\n"
  "activation {\n"
  "  udev_sync = 0\n"
  "  udev_rules = 0\n"
  "  monitoring = 0\n"
  "}\n"
  "global {\n"
  "  use_lvmpolld = 0\n"
  "}\n"
  "backup {\n"
  "  backup = 0\n"
  "  archive = 0\n"
  "}\n";

static const char etc_passwd[] = "root:x:0:0:root:/root:/bin/sh\n";
static const char etc_group[] = "root:x:0:\n";

static void
hash_host_files (struct gbox_app_hash *h, const char *const *files)
{
  size_t i;
  struct stat st;

  for (i = 0; files[i]; ++i) {
    gbox_app_hash_str (h, files[i]);
    if (stat (files[i], &st) == 0) {
      gbox_app_hash_u64 (h, (uint64_t) st.st_size);
      gbox_app_hash_u64 (h, (uint64_t) st.st_mtime);
      gbox_app_hash_u64 (h, (uint64_t) st.st_ino);
    }
    else
      gbox_app_hash_str (h, "(absent)");
  }
}

void
gbox_app_hash_contents (struct gbox_app_hash *h)
{
  size_t i;

  gbox_app_hash_str (h, "contents");
  for (i = 0; i < sizeof toplevel / sizeof toplevel[0]; ++i)
    gbox_app_hash_str (h, toplevel[i]);
  hash_host_files (h, magic_paths);
  hash_host_files (h, etc_files);
  gbox_app_hash_str (h, lvm_conf);
  gbox_app_hash_str (h, etc_passwd);
  gbox_app_hash_str (h, etc_group);
}

int
gbox_app_resolve_programs (struct gbox_app_ctx *cx,
                           struct gbox_app_strv *names,
                           struct gbox_app_strv *paths)
{
  size_t i;

  for (i = 0; gbox_appliance_programs[i]; ++i) {
    char *p = gbox_app_find_program (gbox_appliance_programs[i]);
    if (!p)
      continue;
    if (gbox_app_strv_push (names, gbox_appliance_programs[i]) == -1 ||
        gbox_app_strv_push (paths, p) == -1) {
      free (p);
      return gbox_app_error (cx, "out of memory");
    }
    free (p);
  }
  return 0;
}

static int
add_skeleton (struct gbox_app_ctx *cx, struct gbox_app_cpio *a)
{
  size_t i;
  struct stat st;

  for (i = 0; i < sizeof toplevel / sizeof toplevel[0]; ++i) {
    if (lstat (toplevel[i], &st) == -1)
      continue;
    if (S_ISLNK (st.st_mode)) {
      char target[4096];
      ssize_t n = readlink (toplevel[i], target, sizeof target - 1);
      if (n <= 0)
        continue;
      target[n] = '\0';
      if (gbox_app_cpio_add_symlink (cx, a, toplevel[i], target) == -1)
        return -1;
    }
    else if (S_ISDIR (st.st_mode) &&
             gbox_app_cpio_add_dir (cx, a, toplevel[i], 0755) == -1)
      return -1;
  }
  for (i = 0; i < sizeof skeleton / sizeof skeleton[0]; ++i)
    if (gbox_app_cpio_add_dir (cx, a, skeleton[i].path,
                               skeleton[i].mode) == -1)
      return -1;
  if (gbox_app_cpio_add_symlink (cx, a, "/etc/mtab",
                                 "../proc/self/mounts") == -1 ||
      gbox_app_cpio_add_data (cx, a, "/etc/passwd", etc_passwd,
                              strlen (etc_passwd), 0644) == -1 ||
      gbox_app_cpio_add_data (cx, a, "/etc/group", etc_group,
                              strlen (etc_group), 0644) == -1)
    return -1;
  return 0;
}

/* The optional programs; a failing one is skipped with a debug line. */
static int
add_programs (struct gbox_app_ctx *cx, struct gbox_app_cpio *a,
              struct gbox_app_strv *included)
{
  struct gbox_app_strv names = { 0 }, paths = { 0 };
  char *list = NULL;
  size_t listlen = 0, i;
  FILE *fp;
  int r = -1;

  if (gbox_app_resolve_programs (cx, &names, &paths) == -1)
    goto out;
  for (i = 0; gbox_appliance_programs[i]; ++i)
    if (!gbox_app_strv_contains (&names, gbox_appliance_programs[i]))
      gbox_app_debug (cx, "program %s not found on the host: skipped",
                      gbox_appliance_programs[i]);
  for (i = 0; i < names.n; ++i) {
    char err[512];
    struct gbox_app_ctx sub = *cx;
    sub.err = err;
    sub.errlen = sizeof err;
    if (gbox_app_add_program (&sub, a, paths.v[i], NULL) == -1) {
      gbox_app_debug (cx, "program %s skipped: %s", names.v[i], err);
      continue;
    }
    if (gbox_app_strv_push (included, names.v[i]) == -1) {
      gbox_app_error (cx, "out of memory");
      goto out;
    }
  }

  fp = open_memstream (&list, &listlen);
  if (!fp) {
    gbox_app_error (cx, "out of memory");
    goto out;
  }
  for (i = 0; i < included->n; ++i)
    fprintf (fp, "%s\n", included->v[i]);
  if (fclose (fp) != 0) {
    gbox_app_error (cx, "out of memory");
    goto out;
  }
  if (gbox_app_cpio_add_data (cx, a, "/etc/guestbox/programs", list,
                              listlen, 0644) == -1)
    goto out;
  if (gbox_app_strv_contains (included, "lvm") &&
      gbox_app_cpio_add_data (cx, a, "/etc/lvm/lvm.conf", lvm_conf,
                              strlen (lvm_conf), 0644) == -1)
    goto out;
  r = 0;

 out:
  free (list);
  gbox_app_strv_free (&names);
  gbox_app_strv_free (&paths);
  return r;
}

static int
add_host_files (struct gbox_app_ctx *cx, struct gbox_app_cpio *a)
{
  struct stat st;
  size_t i;

  for (i = 0; magic_paths[i]; ++i)
    if (stat (magic_paths[i], &st) == 0 && S_ISREG (st.st_mode)) {
      if (gbox_app_add_host_path (cx, a, magic_paths[i], NULL) == -1)
        return -1;
      break;
    }
  if (!magic_paths[i])
    gbox_app_debug (cx, "libmagic database (magic.mgc) not found: file "
                    "types will not be detected");
  for (i = 0; etc_files[i]; ++i)
    if (stat (etc_files[i], &st) == 0 && S_ISREG (st.st_mode) &&
        gbox_app_add_host_path (cx, a, etc_files[i], NULL) == -1)
      return -1;
  return 0;
}

/* The names of the selected modules FROM to TO - 1 of DB, one a line,
 * as the archive's file NAME. */
static int
add_module_list (struct gbox_app_ctx *cx, struct gbox_app_cpio *a,
                 const struct gbox_app_moddb *db, size_t from, size_t to,
                 const char *name)
{
  char *text = NULL;
  size_t len = 0, i;
  FILE *fp = open_memstream (&text, &len);
  int r;

  if (!fp)
    return gbox_app_error (cx, "out of memory");
  for (i = from; i < to; ++i)
    fprintf (fp, "%s\n", gbox_app_moddb_name (db, i));
  if (fclose (fp) != 0) {
    free (text);
    return gbox_app_error (cx, "out of memory");
  }
  r = gbox_app_cpio_add_data (cx, a, name, text, len, 0644);
  free (text);
  return r;
}

/* BOOT gets the archive names of the boot modules' files. */
static int
add_modules (struct gbox_app_ctx *cx, struct gbox_app_cpio *a,
             const struct gbox_app_contents *c, struct gbox_app_strv *boot_files)
{
  struct gbox_app_moddb *db = gbox_app_moddb_new ();
  size_t nboot, ndisk, i;
  int r = -1, s;

  if (!db)
    return gbox_app_error (cx, "out of memory");
  if (gbox_app_moddb_load (cx, db, c->moddir) == -1)
    goto out;
  for (i = 0; gbox_appliance_boot_modules[i]; ++i) {
    s = gbox_app_moddb_select (cx, db, gbox_appliance_boot_modules[i]);
    if (s == -1)
      goto out;
    if (s != GBOX_APP_MOD_ADDED)
      gbox_app_debug (cx, "boot module %s: %s", gbox_appliance_boot_modules[i],
                      s == GBOX_APP_MOD_BUILTIN ? "built into the kernel"
                      : "not in this kernel, skipped");
  }
  nboot = gbox_app_moddb_nselected (db);
  for (i = 0; gbox_appliance_disk_modules[i]; ++i) {
    s = gbox_app_moddb_select (cx, db, gbox_appliance_disk_modules[i]);
    if (s == -1)
      goto out;
  }
  ndisk = gbox_app_moddb_nselected (db) - nboot;
  for (i = 0; gbox_appliance_modules[i]; ++i) {
    s = gbox_app_moddb_select (cx, db, gbox_appliance_modules[i]);
    if (s == -1)
      goto out;
    if (s != GBOX_APP_MOD_ADDED)
      gbox_app_debug (cx, "module %s: %s", gbox_appliance_modules[i],
                      s == GBOX_APP_MOD_BUILTIN ? "built into the kernel"
                      : "not in this kernel, skipped");
  }

  {
    char *real = realpath (c->moddir, NULL);

    if (!real) {
      gbox_app_error (cx, "%s: %s", c->moddir, strerror (errno));
      goto out;
    }
    for (i = 0; i < nboot; ++i) {
      const char *rel = gbox_app_moddb_path (db, i);
      char *name = gbox_app_asprintf ("%s/%.*s", real + 1,
                                      (int) gbox_app_ko_len (rel), rel);

      if (!name || gbox_app_strv_push (boot_files, name) == -1) {
        free (name);
        free (real);
        gbox_app_error (cx, "out of memory");
        goto out;
      }
      free (name);
    }
    free (real);
  }

  if (add_module_list (cx, a, db, 0, nboot,
                       "/etc/guestbox/modules.boot") == -1 ||
      add_module_list (cx, a, db, nboot, nboot + ndisk,
                       "/etc/guestbox/modules.disks") == -1)
    goto out;
  if (gbox_app_moddb_add (cx, db, a, c->moddir, c->tmpdir) == -1)
    goto out;
  gbox_app_debug (cx, "%zu kernel modules (%zu at boot)",
                  gbox_app_moddb_nselected (db), nboot);
  r = 0;

 out:
  gbox_app_moddb_free (db);
  return r;
}

/* /etc/guestbox/preload: the daemon and its shared libraries, as the
 * appliance has them, which init reads ahead from the root disk while
 * it loads the last boot modules. */
static int
add_preload (struct gbox_app_ctx *cx, struct gbox_app_cpio *a,
             const char *daemon)
{
  struct gbox_app_strv libs = { 0 };
  char *text = NULL;
  size_t len = 0, i;
  FILE *fp;
  int r = -1;

  if (gbox_app_elf_closure (cx, daemon, &libs) == -1)
    return -1;
  fp = open_memstream (&text, &len);
  if (!fp) {
    gbox_app_strv_free (&libs);
    return gbox_app_error (cx, "out of memory");
  }
  fprintf (fp, "/usr/sbin/guestboxd\n");
  for (i = 0; i < libs.n; ++i) {
    char *real = realpath (libs.v[i], NULL);

    if (real && strncmp (real, "/usr/", 5) == 0)
      fprintf (fp, "%s\n", real);
    free (real);
  }
  if (fclose (fp) != 0)
    gbox_app_error (cx, "out of memory");
  else
    r = gbox_app_cpio_add_data (cx, a, "/etc/guestbox/preload", text, len,
                                0644);
  free (text);
  gbox_app_strv_free (&libs);
  return r;
}

/* What the initramfs keeps when /usr is on the root disk: everything
 * outside /usr, the module indexes and the boot modules (init loads
 * them before it can mount the disk over /usr). */
static bool
in_initramfs (const char *name, const struct gbox_app_strv *boot_files)
{
  const char *p;
  size_t i;

  if (strncmp (name, "usr/", 4) != 0 && strcmp (name, "usr") != 0)
    return true;
  if (strncmp (name, "usr/lib/modules/", 16) == 0) {
    p = strchr (name + 16, '/');
    if (p == NULL || strchr (p + 1, '/') == NULL)
      return true;              /* the version directory and its indexes */
  }
  for (i = 0; i < boot_files->n; ++i)
    if (strcmp (name, boot_files->v[i]) == 0)
      return true;
  return false;
}

static struct gbox_app_cpio *
initramfs_part (struct gbox_app_ctx *cx, const struct gbox_app_cpio *a,
                const struct gbox_app_strv *boot_files)
{
  struct gbox_app_cpio *b = gbox_app_cpio_new ();
  struct gbox_app_cpio_entry *v = gbox_app_cpio_sorted (a);
  size_t i, n = gbox_app_cpio_count (a);
  int r = 0;

  if (!b || !v) {
    gbox_app_cpio_free (b);
    free (v);
    gbox_app_error (cx, "out of memory");
    return NULL;
  }
  for (i = 0; i < n && r == 0; ++i) {
    const struct gbox_app_cpio_entry *e = &v[i];

    if (!in_initramfs (e->name, boot_files))
      continue;
    switch (e->type) {
    case GBOX_APP_CPIO_DIR:
      r = gbox_app_cpio_add_dir (cx, b, e->name, e->mode);
      break;
    case GBOX_APP_CPIO_FILE:
      r = gbox_app_cpio_add_file (cx, b, e->name, e->source, e->mode);
      break;
    case GBOX_APP_CPIO_SYMLINK:
      r = gbox_app_cpio_add_symlink (cx, b, e->name, e->source);
      break;
    case GBOX_APP_CPIO_DATA:
      r = gbox_app_cpio_add_data (cx, b, e->name, e->data, e->len, e->mode);
      break;
    }
  }
  free (v);
  if (r == -1) {
    gbox_app_cpio_free (b);
    return NULL;
  }
  return b;
}

int
gbox_app_build_initrd (struct gbox_app_ctx *cx,
                       const struct gbox_app_contents *c, const char *out,
                       const char *root, struct gbox_app_strv *included,
                       uint64_t *size, uint64_t *root_size)
{
  struct gbox_app_cpio *a = gbox_app_cpio_new (), *b = NULL;
  struct gbox_app_strv boot_files = { 0 };
  int fd = -1, r = -1;

  if (!a)
    return gbox_app_error (cx, "out of memory");
  if (add_skeleton (cx, a) == -1)
    goto out;
  if (gbox_app_add_program (cx, a, c->init, "/init") == -1 ||
      gbox_app_add_program (cx, a, c->daemon, "/usr/sbin/guestboxd") == -1)
    goto out;
  if (add_programs (cx, a, included) == -1 ||
      add_host_files (cx, a) == -1 ||
      add_modules (cx, a, c, &boot_files) == -1 ||
      add_preload (cx, a, c->daemon) == -1)
    goto out;
  if (root) {
    if (gbox_app_erofs_write (cx, a, "usr/", root, root_size) == -1)
      goto out;
    gbox_app_debug (cx, "root disk (/usr): %llu bytes",
                    (unsigned long long) *root_size);
    b = initramfs_part (cx, a, &boot_files);
    if (!b)
      goto out;
  }

  fd = open (out, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
  if (fd == -1) {
    gbox_app_error (cx, "%s: %s", out, strerror (errno));
    goto out;
  }
  if (gbox_app_cpio_write (cx, b ? b : a, fd, c->gzip, size) == -1)
    goto out;
  if (fsync (fd) == -1) {
    gbox_app_error (cx, "%s: fsync: %s", out, strerror (errno));
    goto out;
  }
  if (close (fd) == -1) {
    fd = -1;
    gbox_app_error (cx, "%s: close: %s", out, strerror (errno));
    goto out;
  }
  fd = -1;
  gbox_app_debug (cx, "initrd: %zu entries, %llu bytes%s",
                  gbox_app_cpio_count (b ? b : a), (unsigned long long) *size,
                  c->gzip ? " (gzip)" : "");
  r = 0;

 out:
  if (fd >= 0)
    close (fd);
  gbox_app_cpio_free (a);
  gbox_app_cpio_free (b);
  gbox_app_strv_free (&boot_files);
  return r;
}
