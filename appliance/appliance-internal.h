/* guestbox - the appliance builder.
 * Copyright (C) 2026 the guestbox authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

/** Private interfaces shared by the files of libgbappliance.a (and its unit
 * tests), one section per file.  All symbols carry the gbox_app_ prefix so
 * they never clash with common/'s gbox_int_ helpers in the same binary. */

#ifndef GBOX_APPLIANCE_INTERNAL_H
#define GBOX_APPLIANCE_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <nettle/sha2.h>

#include "appliance.h"

/* Bump when the layout or contents of the appliance change: it is hashed
 * into the cache key, so old entries are rebuilt. */
#define GBOX_APP_FORMAT_VERSION 4

/* Bounds on host files we parse (they are trusted more than guest data,
 * but a broken or hostile file must still not crash or exhaust memory). */
#define GBOX_APP_MAX_TEXT (64 * 1024 * 1024)  /* modules.dep, modules.alias */
#define GBOX_APP_MAX_ELF_OBJECTS 2000         /* programs + libraries */
#define GBOX_APP_MAX_SYMLINKS 40              /* per path resolution */

/* The context every internal call gets: where errors and debug lines go. */
struct gbox_app_ctx {
  char *err;
  size_t errlen;
  void (*debug) (void *opaque, const char *msg);
  void *opaque;
};

/* util.c */
extern int gbox_app_error (struct gbox_app_ctx *cx, const char *fs, ...)
  __attribute__((format (printf, 2, 3)));
extern void gbox_app_debug (struct gbox_app_ctx *cx, const char *fs, ...)
  __attribute__((format (printf, 2, 3)));
extern char *gbox_app_asprintf (const char *fs, ...)
  __attribute__((format (printf, 1, 2)));

struct gbox_app_strv {
  char **v;                     /* NULL-terminated when n > 0 */
  size_t n, cap;
};
extern int gbox_app_strv_push (struct gbox_app_strv *sv, const char *s);
extern bool gbox_app_strv_contains (const struct gbox_app_strv *sv,
                                    const char *s);
extern void gbox_app_strv_free (struct gbox_app_strv *sv);
/* Move the strings out as a NULL-terminated array (never NULL on success). */
extern char **gbox_app_strv_steal (struct gbox_app_strv *sv);

/* Read a whole file (at most MAX bytes, else error); NUL-terminated. */
extern int gbox_app_read_file (struct gbox_app_ctx *cx, const char *path,
                               size_t max, char **data, size_t *len);
/* Create PATH (O_EXCL) with DATA and fsync it. */
extern int gbox_app_write_file (struct gbox_app_ctx *cx, const char *path,
                                const void *data, size_t len, mode_t mode);
extern int gbox_app_write_all (int fd, const void *buf, size_t len);
/* pwrite all of BUF at OFF; -1 with errno set on error. */
extern int gbox_app_pwrite_all (int fd, const void *buf, size_t len,
                                uint64_t off);
/* For the image writer (erofs.c): copy LEN bytes at OFF of the
 * host file SRC (of the memory MEM when SRC is -1) into the image DST_FD
 * (named IMAGE in messages) at DST, with copy_file_range, or with
 * pread/pwrite (through *BUF, allocated here) once *NO_CFR is set or
 * copy_file_range cannot serve these files.  WHAT names the source; a
 * file that ends early is an error. */
extern int gbox_app_copy_range (struct gbox_app_ctx *cx, const char *image,
                                int dst_fd, int src, const char *mem,
                                const char *what, uint64_t off, uint64_t len,
                                uint64_t dst, bool *no_cfr, char **buf);
extern int gbox_app_rmtree (const char *path);
extern int gbox_app_fsync_path (const char *path);
extern bool gbox_app_is_elf_x86_64 (const char *path);

/* The cache key: SHA-256 (nettle), printed as its first 128 bits. */
struct gbox_app_hash {
  struct sha256_ctx ctx;
};
extern void gbox_app_hash_init (struct gbox_app_hash *h);
extern void gbox_app_hash_update (struct gbox_app_hash *h,
                                  const void *data, size_t len);
extern void gbox_app_hash_str (struct gbox_app_hash *h, const char *s);
extern void gbox_app_hash_u64 (struct gbox_app_hash *h, uint64_t v);
extern int gbox_app_hash_file (struct gbox_app_ctx *cx,
                               struct gbox_app_hash *h, const char *path);
extern void gbox_app_hash_hex (const struct gbox_app_hash *h, char out[33]);

/* decompress.c */
enum gbox_app_compression { GBOX_APP_XZ, GBOX_APP_GZIP };
/* Decompress the first stream in bytes [OFF, OFF+LEN) of IN_FD into
 * OUT_FD (at most MAX_OUT bytes); WHAT names the input in errors. */
extern int gbox_app_decompress (struct gbox_app_ctx *cx, int in_fd,
                                uint64_t off, uint64_t len,
                                enum gbox_app_compression fmt, int out_fd,
                                const char *what, uint64_t max_out);

/* cpio.c: the archive's entry list and the newc writer. */
enum gbox_app_cpio_type {
  GBOX_APP_CPIO_DIR,
  GBOX_APP_CPIO_FILE,           /* streamed from a host file */
  GBOX_APP_CPIO_SYMLINK,
  GBOX_APP_CPIO_DATA,           /* contents held in memory */
};
struct gbox_app_cpio;
extern struct gbox_app_cpio *gbox_app_cpio_new (void);
extern void gbox_app_cpio_free (struct gbox_app_cpio *a);
/* NAME is an absolute or relative archive path; "." and ".." components
 * are rejected.  Missing parent directories are added (0755).  Adding the
 * same entry twice is a no-op; adding a different one at a used name is
 * an error. */
extern int gbox_app_cpio_add_dir (struct gbox_app_ctx *cx,
                                  struct gbox_app_cpio *a,
                                  const char *name, mode_t mode);
extern int gbox_app_cpio_add_file (struct gbox_app_ctx *cx,
                                   struct gbox_app_cpio *a,
                                   const char *name, const char *source,
                                   mode_t mode);
extern int gbox_app_cpio_add_symlink (struct gbox_app_ctx *cx,
                                      struct gbox_app_cpio *a,
                                      const char *name, const char *target);
extern int gbox_app_cpio_add_data (struct gbox_app_ctx *cx,
                                   struct gbox_app_cpio *a,
                                   const char *name, const void *data,
                                   size_t len, mode_t mode);
/* The type of the entry at NAME, or -1 if none. */
extern int gbox_app_cpio_lookup (const struct gbox_app_cpio *a,
                                 const char *name);
extern size_t gbox_app_cpio_count (const struct gbox_app_cpio *a);
/* One entry as the writers see it (pointers into the list). */
struct gbox_app_cpio_entry {
  const char *name;             /* no leading '/' */
  enum gbox_app_cpio_type type;
  mode_t mode;                  /* permission bits */
  const char *source;           /* FILE: host path; SYMLINK: target */
  const void *data;             /* DATA */
  size_t len;                   /* DATA */
};
/* The entries in byte order of their names (a directory before its
 * contents): a new array of gbox_app_cpio_count entries, to free().
 * NULL when out of memory. */
extern struct gbox_app_cpio_entry *
gbox_app_cpio_sorted (const struct gbox_app_cpio *a);
/* Write the archive to FD (gzip-compressed when GZIP); *BYTES gets the
 * number of bytes written. */
extern int gbox_app_cpio_write (struct gbox_app_ctx *cx,
                                struct gbox_app_cpio *a, int fd, bool gzip,
                                uint64_t *bytes);

/* elfdeps.c: programs, their shared libraries and the interpreter. */
struct gbox_app_elf {
  char *interp;                 /* PT_INTERP, or NULL */
  struct gbox_app_strv needed;  /* DT_NEEDED */
  struct gbox_app_strv rpath;   /* DT_RPATH, split at ':' */
  struct gbox_app_strv runpath; /* DT_RUNPATH, split at ':' */
};
extern int gbox_app_elf_read (struct gbox_app_ctx *cx, const char *path,
                              struct gbox_app_elf *e);
extern void gbox_app_elf_free (struct gbox_app_elf *e);
/* Host paths (as found, not resolved) of the interpreter and every shared
 * library PATH needs, recursively. */
extern int gbox_app_elf_closure (struct gbox_app_ctx *cx, const char *path,
                                 struct gbox_app_strv *libs);
/* Add the host file PATH at the same archive path, replicating every
 * symlink met while resolving it; *REAL (may be NULL) gets the real path. */
extern int gbox_app_add_host_path (struct gbox_app_ctx *cx,
                                   struct gbox_app_cpio *a,
                                   const char *path, char **real);
/* Add a program and its closure.  AS_NAME: archive name to store the
 * program's contents at (e.g. "/init"), or NULL for its host path. */
extern int gbox_app_add_program (struct gbox_app_ctx *cx,
                                 struct gbox_app_cpio *a,
                                 const char *path, const char *as_name);
/* Find an executable NAME in the usual sbin/bin directories. */
extern char *gbox_app_find_program (const char *name);

/* kmod.c: the module closure (libkmod) and the filtered copy. */
struct gbox_app_moddb;
extern struct gbox_app_moddb *gbox_app_moddb_new (void);
extern void gbox_app_moddb_free (struct gbox_app_moddb *db);
/* Use the modules of MODDIR (/lib/modules/VERSION): its indexes
 * (modules.dep.bin, .alias.bin, .builtin.bin, .softdep), through
 * libkmod. */
extern int gbox_app_moddb_load (struct gbox_app_ctx *cx,
                                struct gbox_app_moddb *db,
                                const char *moddir);
enum {
  GBOX_APP_MOD_MISSING = 0,     /* not in this kernel */
  GBOX_APP_MOD_ADDED = 1,       /* selected with its closure */
  GBOX_APP_MOD_BUILTIN = 2,     /* built into the kernel */
};
/* Select module NAME ('-' and '_' equivalent) and its closure; returns
 * one of the values above, or -1 on error. */
extern int gbox_app_moddb_select (struct gbox_app_ctx *cx,
                                  struct gbox_app_moddb *db,
                                  const char *name);
/* The selection so far, dependencies first. */
extern size_t gbox_app_moddb_nselected (const struct gbox_app_moddb *db);
extern const char *gbox_app_moddb_name (const struct gbox_app_moddb *db,
                                        size_t i);
extern const char *gbox_app_moddb_path (const struct gbox_app_moddb *db,
                                        size_t i);
/* The length of PATH without a compression suffix after ".ko": the
 * name of a module's (decompressed) file in the appliance. */
extern size_t gbox_app_ko_len (const char *path);
/* modules.dep text for the selected modules only (malloc'd). */
extern char *gbox_app_moddb_filtered (const struct gbox_app_moddb *db);
/* Add the selected modules (decompressed) under MODDIR to the archive,
 * with the filtered modules.dep; TMPDIR holds decompressed copies. */
extern int gbox_app_moddb_add (struct gbox_app_ctx *cx,
                               struct gbox_app_moddb *db,
                               struct gbox_app_cpio *a,
                               const char *moddir, const char *tmpdir);

/* kernel.c */
extern int gbox_app_kernel_find (struct gbox_app_ctx *cx, const char *spec,
                                 char **path);
extern int gbox_app_kernel_version (struct gbox_app_ctx *cx,
                                    const char *path, char **version);
/* Decompress (or copy) the kernel at PATH to a new file OUT and check it
 * is an x86-64 ELF with a PVH entry note. */
extern int gbox_app_kernel_extract (struct gbox_app_ctx *cx,
                                    const char *path, const char *out);
extern int gbox_app_kernel_check_pvh (struct gbox_app_ctx *cx,
                                      const char *path);

/* contents.c: what goes into the initrd. */
struct gbox_app_contents {
  const char *daemon;
  const char *init;
  const char *kernel_version;
  const char *moddir;           /* /lib/modules/VERSION */
  const char *tmpdir;           /* scratch space for this build */
  bool gzip;
};
/* The optional programs present on the host: NAMES[i] found at PATHS[i]. */
/* Feed the cache key with everything contents.c adds besides programs
 * and modules: the host files copied (with their size and mtime) and the
 * configuration files written. */
extern void gbox_app_hash_contents (struct gbox_app_hash *h);
extern int gbox_app_resolve_programs (struct gbox_app_ctx *cx,
                                      struct gbox_app_strv *names,
                                      struct gbox_app_strv *paths);
/* Write the initrd to OUT; *INCLUDED gets the programs included. */
extern int gbox_app_build_initrd (struct gbox_app_ctx *cx,
                                  const struct gbox_app_contents *c,
                                  const char *out, const char *root,
                                  struct gbox_app_strv *included,
                                  uint64_t *size, uint64_t *root_size);
/* erofs.c: the entries of A whose names are below PREFIX (e.g. "usr/";
 * PREFIX itself and the prefix stripped from the names) as an
 * uncompressed EROFS image, written to the new file PATH (O_EXCL).
 * *BYTES gets the image's size.  Returns 0, or -1 with the error in CX
 * (and no file left). */
extern int gbox_app_erofs_write (struct gbox_app_ctx *cx,
                                 const struct gbox_app_cpio *a,
                                 const char *prefix, const char *path,
                                 uint64_t *bytes);

/* build.c: the cache key (32 hex digits) of an appliance made from SPEC
 * with KERNEL and the modules of MODDIR: everything that changes what
 * would be built. */
extern int gbox_app_cache_key (struct gbox_app_ctx *cx,
                               const struct gbox_appliance_spec *spec,
                               const char *kernel, const char *moddir,
                               char key[33]);

/* cache.c */
extern int gbox_app_cachedir (struct gbox_app_ctx *cx, const char *spec,
                              char **dir);
extern int gbox_app_lock (struct gbox_app_ctx *cx, const char *cachedir,
                          int *fd);
/* Check the entry DIR: 1 valid (*PROGRAMS, *VERSION filled), 0 absent or
 * broken. */
extern int gbox_app_entry_check (const char *dir, struct gbox_app_strv *programs,
                                 char **version);
extern int gbox_app_write_stamp (struct gbox_app_ctx *cx, const char *dir,
                                 const char *version,
                                 const struct gbox_app_strv *programs);
/* Remove appliance-* entries other than KEEP, and stale tmp-* dirs
 * (call with the lock held). */
extern void gbox_app_prune (struct gbox_app_ctx *cx, const char *cachedir,
                            const char *keep);

#endif /* GBOX_APPLIANCE_INTERNAL_H */
