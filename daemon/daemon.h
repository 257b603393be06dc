/* guestbox - declarations shared by the files of the daemon.
 * Copyright (C) 2026 the guestbox authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

/**
 * The daemon's internal interface, one section per file: the protocol
 * side (proto.c), the dispatch table (dispatch.c), path resolution
 * inside the sysroot (path.c), devices (devices.c), the pure parsers
 * (fstab.c), helpers (utils.c) and the do_PROC handlers.
 */

#ifndef GUESTBOXD_H
#define GUESTBOXD_H

#include <dirent.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>
#include <stdio.h>
#include <sys/types.h>
#include <sys/stat.h>
#include <rpc/types.h>
#include <rpc/xdr.h>

#include "protocol.h"

/* Cleanup attributes (never on a returned value, never in main). */
extern void gbd_cleanup_free (void *ptr);
extern void gbd_cleanup_free_string_list (void *ptr);
extern void gbd_cleanup_close (void *ptr);
extern void gbd_cleanup_fclose (void *ptr);
#define CLEANUP_FREE __attribute__((cleanup (gbd_cleanup_free)))
#define CLEANUP_FREE_STRING_LIST \
  __attribute__((cleanup (gbd_cleanup_free_string_list)))
#define CLEANUP_CLOSE __attribute__((cleanup (gbd_cleanup_close)))
#define CLEANUP_FCLOSE __attribute__((cleanup (gbd_cleanup_fclose)))

/* main.c / proto.c: global settings of this daemon process. */
extern int verbose;
extern bool appliance_mode;     /* --appliance and our parent is PID 1 */
extern const char *sysroot;     /* "/sysroot" or --sysroot DIR */

#define debug(fs, ...)                                                  \
  do {                                                                  \
    if (verbose)                                                        \
      fprintf (stderr, "guestboxd: " fs "\n", ##__VA_ARGS__);           \
  } while (0)

/* proto.c: the server side of the protocol. */
extern int chan_fd;
extern void main_loop (void) __attribute__((noreturn));
extern int send_launch_flag (void);
/* Record the error of the current call (sent by the dispatcher when the
 * handler returns -1).  reply_with_perror appends ": strerror(errno)". */
extern void reply_with_error (const char *fs, ...)
  __attribute__((format (printf, 1, 2)));
extern void reply_with_perror (const char *fs, ...)
  __attribute__((format (printf, 1, 2)));
extern void reply_with_error_errno (int err, const char *fs, ...)
  __attribute__((format (printf, 2, 3)));
/* Take the error recorded so far into BUF and clear it: a step of the
 * call failed, and the call goes on. */
extern void take_error (char *buf, size_t len);
/* FileOut: send the OK reply (no body), then chunks, then the end. */
extern int send_fileout_reply (void);
extern int send_file_chunk (const void *buf, size_t len);
extern int send_file_end (void);
extern int send_file_chunk_from_pipe (int pipe_r, size_t len);
/* Non-blocking check for GBOX_CANCEL_FLAG from the library during a
 * FileOut: returns 1 when cancelled (the error is recorded), 0 if not,
 * -1 on a protocol error. */
extern int check_cancel (void);
/* FileIn: receive chunks, calling CB for each; on CB failure the
 * library is told to stop and the rest is drained.  Returns 0, or -1
 * with the error recorded. */
typedef int (*receive_cb) (void *opaque, const void *buf, size_t len);
extern int receive_file (receive_cb cb, void *opaque);
/* FileIn failed before receiving: tell the library, drain the chunks. */
extern int cancel_receive (void);
/* Decode one call message (header and arguments, no length word) the
 * way the main loop does, without running it: 0 if it would be
 * dispatched, -1 if refused.  For the fuzzer. */
extern int decode_call (const void *msg, size_t len);
/* Rate-limited progress for long procedures. */
extern void notify_progress (uint64_t position, uint64_t total);
/* Progress at once, not rate-limited: for procedures that announce
 * each of a bounded number of steps that may each hang (df's mounts). */
extern void notify_step (uint64_t position, uint64_t total);

/* dispatch.c */
typedef int (*handler_fn) (void *args, void *ret);
enum proc_kind { PROC_PLAIN = 0, PROC_FILEOUT, PROC_FILEIN };
struct dispatch_entry {
  int proc;
  const char *name;
  xdrproc_t xdr_args;           /* NULL: no args */
  size_t args_size;
  xdrproc_t xdr_ret;            /* NULL: no ret */
  size_t ret_size;
  handler_fn handler;
  enum proc_kind kind;
};
extern const struct dispatch_entry dispatch_table[];
extern const size_t dispatch_table_len;
extern const struct dispatch_entry *lookup_proc (int proc);

/* path.c: guest paths resolved inside a root directory. */
extern int sysroot_fd (void);           /* cached O_PATH fd; -1 + errno */
extern void sysroot_invalidate (void);  /* after mount/umount */
/* Check a guest path: absolute, bounded.  Records the error. */
extern int check_path (const char *path);
/* openat2 with RESOLVE_IN_ROOT on ROOTFD (following symlinks inside).
 * A path missing as given is looked up again without regard to letter
 * case in directories on NTFS or FAT (see caseless_path). */
extern int open_in_root (int rootfd, const char *path, int flags, mode_t mode);
/* PATH with each component missing as given replaced by the entry of
 * its directory that matches it without regard to ASCII case, in
 * directories on NTFS or FAT; the last component may be missing.
 * malloc'd, or NULL when nothing was replaced or a directory is
 * missing. */
extern char *caseless_path (int rootfd, const char *path);
/* Open the parent directory of PATH inside ROOTFD (O_PATH) and return
 * the last component in *LAST (a pointer into a malloc'd copy, freed
 * with *COPY).  For "/" or a last component of "." / "..", the whole
 * path is opened instead and *LAST is "" (use AT_EMPTY_PATH). */
extern int open_parent_in_root (int rootfd, const char *path,
                                char **copy, const char **last);
/* lstat (nofollow) or stat of a guest path inside ROOTFD. */
extern int lstat_in_root (int rootfd, const char *path, struct stat *st);
extern int stat_in_root (int rootfd, const char *path, struct stat *st);
/* Read a whole regular file inside ROOTFD, at most MAX bytes (error
 * EFBIG if larger).  Returns a NUL-terminated malloc'd buffer. */
extern char *read_file_in_root (int rootfd, const char *path, size_t max,
                                size_t *len);
extern void stat_to_gbox (const struct stat *st, gbox_stat *g);

/* devices.c */
struct gbd_fs {
  char *device;                 /* user name: /dev/sda1 */
  char *kdevice;                /* kernel name: /dev/sdc1 */
  char *type;                   /* "ext4", ..., "unknown" */
  char *label, *uuid, *partuuid, *partlabel; /* "" when none */
};
extern void devices_set_roots (const char *sysfs, const char *dev);
/* Rebuild the user<->kernel disk name map from /sys/block. */
extern int devices_rescan (void);
/* Listen to kernel uevents (appliance only), see do_disks_ready. */
extern void devices_uevent_open (void);
extern size_t devices_count (void);
/* The user name of the Nth disk ("/dev/sda") and its kernel name. */
extern const char *devices_user_disk (size_t i);
extern const char *devices_kernel_disk (size_t i);
extern void devices_signature (char *sig, size_t size);
/* Translate names.  Return malloc'd strings or NULL (errno=ENOENT). */
extern char *device_user_to_kernel (const char *user);
extern char *device_kernel_to_user (const char *kernel);
/* List all partitions: user names, sorted, NULL-terminated. */
extern char **devices_list_partitions (void);
/* Probe every filesystem; *N entries.  free_fs_list to free. */
extern struct gbd_fs *devices_list_filesystems (size_t *n);
extern void free_fs_list (struct gbd_fs *fs, size_t n);
/* inspect-full.c: the common start of every inspection. */
extern struct gbd_fs *inspect_begin (const char *who, const char *dir,
                                     size_t *nfs);
/* Probe the type of one (kernel) device with libblkid, malloc'd, or
 * NULL if nothing is found. */
extern char *probe_fstype (const char *kdevice);
/* The user name of disk number I: 0 -> "sda", 26 -> "sdaa". */
extern void disk_index_to_name (size_t i, char *buf, size_t len);
/* Index of the disk holding kernel device KNAME ("sdc", "sdc2"), or -1. */
extern ssize_t device_kernel_disk_index (const char *kname);
/* Activate LVM when a physical volume is present (once per disk set). */
extern void devices_activate_lvm (void);

/* lvm.c: activation and the logical volumes (/dev/VG/LV). */
/* "VG/LV" or "/dev/VG/LV" into VG and LV (each under LEN bytes, LVM's
 * name characters, not starting with '-'); 0 or -1. */
extern int lvm_split_name (const char *s, char *vg, char *lv, size_t len);
extern void lvm_set_roots (const char *sysfs, const char *dev);
extern void lvm_invalidate (void);
extern bool lvm_is_current (void);
extern void lvm_activate (bool have_pv);
extern size_t lvm_count (void);
extern const char *lvm_user_name (size_t i);
extern char *lvm_kernel_name (size_t i);   /* malloc'd /dev/dm-N */
extern const char *lvm_slave (size_t i);   /* "sdb2" or "" */
extern char *lvm_user_to_kernel (const char *user);
extern char *lvm_kernel_to_user (const char *kernel);

/* md.c: md RAID arrays (/dev/mdN), assembled with mdadm. */
extern void md_set_readonly (bool readonly);
extern bool md_is_current (void);
extern void md_assemble (bool have_members);
/* The arrays ("md127"), sorted by number; at most MAX. */
extern size_t md_list (char (*names)[32], size_t max);
extern char *md_user_to_kernel (const char *user);

/* ldm.c: Windows dynamic disks, their volumes made by ldmtool (once
 * per disk set) and listed as device-mapper devices (luks.c). */
extern bool ldm_is_current (void);
extern bool ldm_disk_has_database (const char *kdisk);
/* Whether partition PARTNUM of KDISK is part of a dynamic disk. */
extern bool ldm_partition_is_member (const char *kdisk, unsigned partnum);
extern void ldm_create (bool have_ldm);

/* luks.c: device-mapper devices that are not logical volumes (opened
 * LUKS devices), shown as /dev/mapper/NAME. */
struct dm_other {
  char name[128];               /* luks-UUID */
  char kname[32];               /* dm-2 */
};
/* The devices, sorted by name; at most MAX. */
extern size_t dm_other_list (struct dm_other *v, size_t max);
extern char *dm_other_user_to_kernel (const char *user);
extern char *dm_other_kernel_to_user (const char *kname);
/* Whether a LUKS device opened since the last call holds an LVM
 * physical volume (LVM is then activated again, once). */
extern bool luks_take_new_pv (void);
/* Index of the disk under kernel device KNAME ("dm-3", "md127",
 * "sdb2"), following /sys/block/.../slaves; -1 if none. */
extern ssize_t devices_disk_of_kernel (const char *kname);
extern int sysfs_read_attr (const char *path, char *buf, size_t len);
/* Forget that LVM was activated (new physical volumes may exist). */
extern void lvm_reset (void);

/* fstab.c: pure parsers, unit-tested without a VM. */
struct fstab_entry {
  char *spec, *file, *vfstype, *options;
};
/* Parse fstab text (not necessarily NUL-terminated, LEN bytes).  Lines
 * that are comments, too long or lack fields are skipped.  Returns the
 * number of entries (at most MAX), or -1 on allocation failure. */
extern ssize_t parse_fstab (const char *text, size_t len,
                            struct fstab_entry *entries, size_t max);
extern void free_fstab (struct fstab_entry *entries, size_t n);
/* Decode \NNN octal escapes in place. */
extern void fstab_unescape (char *s);
/* Whether an fstab entry names a mountable block filesystem. */
extern bool fstab_entry_is_mountable (const struct fstab_entry *e);
/* Map a guest device name (/dev/vdb2, /dev/hda1, /dev/xvda, /dev/sdc)
 * to our user name (/dev/sdb2, ...).  Returns false if not such a
 * name. */
extern bool remap_device_name (const char *name, char *buf, size_t len);
/* Device-mapper name of an LV ("my--vg-root") to "/dev/my-vg/root". */
extern bool lvm_dm_name_to_path (const char *dm, char *buf, size_t len);
/* Resolve an fstab spec against the filesystem list: returns the index
 * into FS, or -1. */
extern ssize_t resolve_fstab_spec (const char *spec,
                                   const struct gbd_fs *fs, size_t nfs);

/* utils.c */
extern int compare_strings (const void *a, const void *b);
/* dir.c: a guest directory's names, sorted (see dir.c). */
#define DIR_NAMES_MAX 4000000
extern DIR *read_dir_sorted (const char *path, char ***names,
                             size_t *nr_names);
extern size_t count_strings (char *const *argv);
extern void free_strings (char **argv);
extern int add_string (char ***list, size_t *n, const char *s);
extern int add_string_nodup (char ***list, size_t *n, char *s);
/* Run PROG with ARGV (no shell).  Returns the exit status (0..255), or
 * -1 if it could not be run; *ERR gets its stderr (bounded, trimmed). */
extern int run_command (char **err, const char *const *argv);
/* The same with INFD (or /dev/null when -1) as its standard input. */
extern int run_command_stdin (char **err, const char *const *argv, int infd);
/* run_command, replying with the error (WHAT: ARGV[0] failed (status
 * N): its stderr) unless its exit status is at most OKMAX. */
extern int run_reply (const char *what, const char *const *argv, int okmax);
extern uint64_t now_ms (void);

/* command.c: run a program (no shell).  COMMAND_INIT (ARGV), then set
 * what is needed; command_run returns its exit status (128 + N when
 * killed by signal N, 127 when it could not be run) or -1, with OUT
 * and ERR (NUL-terminated, for the caller to free) what was kept. */
struct command {
  const char *const *argv;
  int in;                       /* its stdin, or -1: /dev/null */
  int dirfd;                    /* fchdir there first, or -1 */
  size_t out_max, err_max;      /* bytes kept of stdout, stderr (0: none) */
  bool err_to_out;              /* stderr into the stdout capture */
  unsigned timeout_ms;          /* SIGKILL after this long (0: never) */
  char *out, *err;
  bool timed_out;
};
#define COMMAND_INIT(argv) { (argv), -1, -1, 0, 0, false, 0, NULL, NULL, false }
extern int command_run (struct command *cmd);
/* Start ARGV in DIRFD (or here) with IN, OUT, ERR as its standard
 * streams (-1: /dev/null); its pid, or -1.  command_wait: its status. */
extern pid_t command_spawn (const char *const *argv, int dirfd, int in,
                            int out, int err);
extern int command_wait (pid_t pid);
/* S as one printable line: trailing newlines and spaces trimmed,
 * newlines become spaces, other control characters '?'; with
 * FIRST_LINE only what is before the first newline is kept. */
extern void command_one_line (char *s, bool first_line);

/* inspect-full.c: 1 if ROOTFD is a Linux root (the root and its
 * fstab mountpoints added to OS, which inspect_os_init filled), 0 if
 * not, -1. */
extern int inspect_linux_root (int rootfd, const char *rootdev,
                               const struct gbd_fs *fs, size_t nfs,
                               gbox_inspected_os *os);

/* inspect-full.c, inspect-linux.c, inspect-windows.c, inspect-apps.c:
 * full inspection (virt-inspector). */
extern void inspect_warning (const char *fs, ...)
  __attribute__((format (printf, 1, 2)));
/* The warnings gathered so far (for tests), and forgetting them. */
extern const char *const *inspect_warnings (size_t *n);
extern void inspect_warnings_reset (void);
extern int inspect_os_init (gbox_inspected_os *os);
/* A cleaned copy of guest text: valid UTF-8, no control characters
 * (newlines kept only if MULTILINE), shorter than MAX bytes. */
extern char *inspect_clean_max (const char *s, size_t len, size_t max,
                                bool multiline);
extern char *inspect_clean (const char *s, size_t len);
extern const char *linux_distro_of_id (const char *id);
extern bool parse_version_numbers (const char *s, int *major, int *minor);
extern bool parse_shell_assignment (const char *line, size_t len, char *key,
                                    size_t keylen, char *val, size_t vallen);
/* inspect-arch.c: the architecture of the first of PATHS that is a
 * regular file and an ELF or PE executable of a known machine
 * (malloc'd), or NULL; that of the executable open on FD (WHAT names it
 * in the debug log), or NULL. */
extern char *inspect_binary_arch (int rootfd, const char *const *paths);
extern const char *executable_arch (int fd, const char *what);
extern int inspect_linux_details (int rootfd, gbox_inspected_os *os);
/* The subvolume paths of the btrfs filesystem of FD (sorted). */
extern int btrfs_list_subvolumes (int fd, char ***paths, size_t *n);
/* The same in the order libguestfs lists them (by subvolume id), less
 * the default subvolume (which is the filesystem mounted whole). */
extern int btrfs_list_volumes (int fd, char ***paths, size_t *n);
extern int windows_case_path (int rootfd, const char *path, char *out,
                              size_t outlen);
extern int windows_find_systemroot (int rootfd, char *out, size_t outlen);
extern int inspect_windows_details (int rootfd, gbox_inspected_os *os,
                                    const struct gbd_fs *fs, size_t nfs);
struct app_list {
  gbox_application *v;
  size_t n, cap;
};
extern gbox_application *app_new (struct app_list *l);
extern void app_list_free (struct app_list *l);
extern size_t app_size (const gbox_application *a);
extern int app_copy (gbox_application *dst, const gbox_application *src);
extern void parse_dpkg_status (const char *text, size_t len,
                               struct app_list *l);
extern void parse_apk_installed (const char *text, size_t len,
                                 struct app_list *l);
extern void parse_pacman_desc (const char *text, size_t len,
                               struct app_list *l);
extern void app_list_sort (struct app_list *l);
/* inspect-rpm.c: librpm. */
extern int parse_rpm_header (const unsigned char *blob, size_t len,
                             struct app_list *l);
extern void rpm_list_applications (int rootfd, struct app_list *l);
/* inspect-icon.c: 0 with the PNG in *BUF, or -1 (no icon). */
extern int inspect_icon (int rootfd, const gbox_inspected_os *os, char **buf,
                         size_t *len);
extern int linux_list_applications (int rootfd, const char *package_format,
                                    struct app_list *l);
extern int windows_list_applications (int rootfd, const gbox_inspected_os *os,
                                      struct app_list *l);

/* modules.c: load the modules of a filesystem type (or the module of
 * that name); fs_modules puts them in OUT (at most GBOX_FS_MODULES_MAX)
 * and returns how many. */
extern int load_fs_modules (const char *fstype);
extern size_t fs_modules (const char *fstype, const char **out);
extern int load_all_modules (void);
extern void load_disk_modules (void);

/* md.c: storage_open; with FSP, the filesystems it listed are handed
 * over (free with free_fs_list; an encrypted one listed in RET has
 * lost its strings). */
extern int storage_open_int (const gbox_storage_open_args *args,
                             gbox_storage_open_ret *ret, struct gbd_fs **fsp,
                             size_t *nfsp);

/* mount.c */
extern int umount_all_int (void);
/* mount_ro of DEVICE on MOUNTPOINT (the error recorded as its own). */
/* FSTYPE: the type storage_open just probed, or NULL to probe it. */
extern int mount_ro_int (const char *device, const char *mountpoint,
                         const char *fstype);

/* part.c (virt-resize): partition tables and content on a file
 * descriptor (unit-tested on image files); ERR gets the reason. */
extern int part_read_fd (int fd, uint64_t disk_size, gbox_part_layout *l,
                         char *err, size_t errlen);
extern int part_write_fd (int fd, uint64_t disk_size,
                          const gbox_part_layout *l, char *err, size_t errlen);
extern int part_content_fd (int fd, uint64_t off, uint64_t size,
                            gbox_content_info_ret *ret, char *err,
                            size_t errlen);

/* Set by shutdown: the main loop exits after sending the reply. */
extern bool exit_after_reply;

/* storage.c */
extern char *lvm_report (const char *proc, const char *sub,
                         const char *const *args);

/* tar-write.c: the pax writer of tar_out.  An entry's header fields;
 * SIZE is the data that follows it. */
struct tw_entry {
  const char *name, *link;      /* not NUL-terminated: NAMELEN, LINKLEN */
  size_t namelen, linklen;
  char type;                    /* ustar typeflag: '0', '1', '2', ... */
  mode_t mode;
  uint64_t uid, gid, size;
  const char *uname, *gname;    /* NULL: none */
  int64_t mtime;
  long mtime_nsec;
  unsigned devmajor, devminor;
};
struct tw_buf {
  char *data;
  size_t len, alloc;
};
/* Where the archive goes, in chunks of at most GBOX_CHUNK_SIZE: BYTES
 * from memory, PIPE the LEN bytes waiting in pipe PIPE_R. */
struct tw_sink {
  int (*bytes) (void *opaque, const void *buf, size_t len);
  int (*pipe) (void *opaque, int pipe_r, size_t len);
  void *opaque;
};
struct tw_options {
  bool numeric_owner;
  bool xattrs;
  char *const *excludes;
  size_t nexcludes;
  unsigned prefetch;            /* files opened and read ahead at once */
  unsigned pipe_slots;          /* 0, or fewer pipe buffers (tests) */
};
extern int tw_buf_add (struct tw_buf *b, const void *p, size_t n);
extern int tw_pax_record (struct tw_buf *b, const char *key, const void *val,
                          size_t vlen);
extern int tw_header (struct tw_buf *out, const struct tw_entry *e,
                      const char *extra, size_t extralen);
extern bool tw_excluded (char *const *patterns, size_t n, const char *path);
extern int tar_write_tree (int dirfd, const struct tw_options *opt,
                           const struct tw_sink *sink);

/* The handlers, do_NAME (args, ret), one per line of procs.def; each in
 * the file of its family. */
#define PROC(num, name, args_type, ret_type, kind, call, trace) \
  extern int do_##name (void *args, void *ret);
#include "procs.def"
#undef PROC

#endif /* GUESTBOXD_H */
