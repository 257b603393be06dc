/* guestbox - option parsing shared by all commands.
 * Copyright (C) 2026 the guestbox authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

/**
 * The options every command shares (-a, --format, -m, -i, -v, -x, -V,
 * --help, and the hidden --long-options / --short-options used by bash
 * completion), kept in an explicit struct gbox_opts that the command
 * owns.  The library never reads globals: a command copies what it
 * needs into its handle.
 *
 * Shape of a command's getopt loop:
 *
 *   static const char short_options[] = GBOX_OPTS_SHORT "lR";
 *   static const struct option long_options[] = {
 *     GBOX_OPTS_LONG,
 *     { "long", no_argument, NULL, 'l' },
 *     { NULL, 0, NULL, 0 }
 *   };
 *   gbox_opts_init (&o, "virt-ls", short_options, long_options, 1);
 *   while ((c = getopt_long (argc, argv, short_options, long_options,
 *                            NULL)) != -1) {
 *     r = gbox_opts_handle (&o, c, optarg);
 *     if (r == 1) continue;
 *     if (r == -1) usage (EXIT_FAILURE);
 *     switch (c) { ... command options, GBOX_OPT_HELP, default ... }
 *   }
 */

#ifndef GUESTBOX_OPTIONS_H
#define GUESTBOX_OPTIONS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <limits.h>
#include <getopt.h>

#include "guestbox.h"

/* Long-only shared options.  A command numbers its own long-only
 * options from GBOX_OPT_FIRST_FREE. */
enum {
  GBOX_OPT_FORMAT = CHAR_MAX + 1,
  GBOX_OPT_HELP,
  GBOX_OPT_LONG_OPTIONS,
  GBOX_OPT_SHORT_OPTIONS,
  GBOX_OPT_BLOCKSIZE,
  GBOX_OPT_KEY,
  GBOX_OPT_KEYS_FROM_STDIN,
  GBOX_OPT_ECHO_KEYS,
  GBOX_OPT_FIRST_FREE,
};

/* The LUKS key options, part of GBOX_OPTS_LONG; a command with its own
 * table adds them with this. */
#define GBOX_OPTS_KEYS_LONG                                             \
  { "echo-keys", no_argument, NULL, GBOX_OPT_ECHO_KEYS },               \
  { "key", required_argument, NULL, GBOX_OPT_KEY },                     \
  { "keys-from-stdin", no_argument, NULL, GBOX_OPT_KEYS_FROM_STDIN }

/* -c/--connect URI and -d/--domain GUEST (libvirt), part of
 * GBOX_OPTS_LONG; a command with its own table adds them with this
 * and "c:d:" in its short options. */
#define GBOX_OPTS_LIBVIRT_LONG                                          \
  { "connect", required_argument, NULL, 'c' },                          \
  { "domain", required_argument, NULL, 'd' }

/* The shared short options, to put first in the command's string. */
#define GBOX_OPTS_SHORT "a:c:d:im:vVx"

/* The shared entries of a getopt_long table (no terminator). */
#define GBOX_OPTS_LONG                                                  \
  { "add", required_argument, NULL, 'a' },                              \
  { "blocksize", required_argument, NULL, GBOX_OPT_BLOCKSIZE },         \
  { "format", optional_argument, NULL, GBOX_OPT_FORMAT },               \
  { "help", no_argument, NULL, GBOX_OPT_HELP },                         \
  { "inspector", no_argument, NULL, 'i' },                              \
  { "long-options", no_argument, NULL, GBOX_OPT_LONG_OPTIONS },         \
  { "mount", required_argument, NULL, 'm' },                            \
  { "short-options", no_argument, NULL, GBOX_OPT_SHORT_OPTIONS },       \
  { "verbose", no_argument, NULL, 'v' },                                \
  { "version", no_argument, NULL, 'V' },                                \
  GBOX_OPTS_KEYS_LONG,                                                  \
  GBOX_OPTS_LIBVIRT_LONG

/* One -a: the source as given and the --format in force then (NULL =
 * probe). */
struct gbox_opts_drive {
  char *source;
  char *format;
  unsigned blocksize;           /* --blocksize in force; 0 = default */
  /* -d GUEST: until gbox_opts_check, one entry whose source is the
   * guest's name; then one entry per disk of the guest. */
  char *domain;                 /* the libvirt guest, NULL for -a */
  bool domain_pending;          /* not yet looked up */
  bool domain_active;           /* the guest is running */
  bool readonly;                /* <readonly/> in the guest's XML */
  size_t group;                 /* index of the -a or -d it came from */
};

/* One -m DEV[:MOUNTPOINT[:OPTIONS[:FSTYPE]]].  OPTIONS and FSTYPE are
 * NULL when not given. */
struct gbox_opts_mount {
  char *device;
  char *mountpoint;             /* "/" when not given */
  char *options;
  char *fstype;
};

/* One --key ID:key:KEY or ID:file:FILENAME. */
struct gbox_opts_key {
  char *id;                     /* device name or LUKS UUID */
  bool is_file;
  char *value;                  /* the key, or the file name */
};

struct gbox_opts {
  /* Set by gbox_opts_init. */
  const char *program;          /* "virt-cat": prefix of messages */
  const char *short_options;    /* the command's full getopt string */
  const struct option *long_options; /* the command's full table */
  bool readonly;                /* the command only reads its disks */

  /* Filled by gbox_opts_handle. */
  struct gbox_opts_drive *drives;
  size_t nr_drives;
  struct gbox_opts_mount *mounts;
  size_t nr_mounts;
  char *format;                 /* --format in force, NULL = probe */
  unsigned blocksize;           /* --blocksize in force, 0 = default */
  bool format_consumed;         /* false: a --format not followed by -a */
  bool inspect;                 /* -i given */
  int verbose;                  /* number of -v */
  bool trace;                   /* -x */

  /* Set by gbox_opts_set_argv: the command line, for the options whose
   * value is optional ("--format raw" as well as "--format=raw") and
   * for the old-style syntax. */
  int argc;
  char **argv;

  /* Filled by gbox_opts_mount when inspection found Windows. */
  bool windows;                 /* paths are Windows paths */
  char *drives_by_letter[26];   /* "C:" -> device, from inspection */
  char *root_device;            /* the device mounted on "/" */
  /* The mount plan found by inspection (kept so that mounting again,
   * read-write, does not inspect again): mountpoints and devices,
   * parents first. */
  char **plan_mountpoints;
  char **plan_devices;
  size_t nr_plan;

  /* LUKS keys (--key, --keys-from-stdin, --echo-keys). */
  struct gbox_opts_key *keys;
  size_t nr_keys;
  bool keys_from_stdin;
  bool echo_keys;
  bool keys_optional;           /* set by the command: never ask, skip
                                   encrypted devices without a key */

  /* libvirt (-c, -d). */
  char *libvirt_uri;            /* -c URI, NULL = libvirt's default */
  size_t nr_groups;             /* -a and -d options given */
  bool allow_no_drives;         /* set by the command: no -a/-d is fine */
};

extern void gbox_opts_init (struct gbox_opts *o, const char *program,
                            const char *short_options,
                            const struct option *long_options,
                            bool readonly);
extern void gbox_opts_free (struct gbox_opts *o);

/* --shard I/N (batch modes): ARG parsed into *SHARD (1..N) and
 * *NR_SHARDS; -1 after a one-line error naming PROGRAM. */
extern int gbox_opts_parse_shard (const char *program, const char *arg,
                                  unsigned *shard, unsigned *nr_shards);
/* The shard (1..N) of KEY: FNV-1a of its bytes, modulo N, so that a
 * guest keeps its shard when others come and go. */
extern unsigned gbox_shard_of (const char *key, unsigned n);
/* Keep only the disks whose source (the image as given) falls in shard
 * SHARD of NR_SHARDS, in order. */
extern void gbox_opts_keep_shard (struct gbox_opts *o, unsigned shard,
                                  unsigned nr_shards);

/* Handle one getopt_long result C (with its OPTARG).  Returns 1 if C
 * was a shared option and has been handled, 0 if the command must
 * handle it (its own options, GBOX_OPT_HELP, '?'), or -1 after
 * printing an error.  -V, --long-options and --short-options print and
 * exit (0). */
extern int gbox_opts_handle (struct gbox_opts *o, int c, const char *optarg);

/* Give the option code the command line (before the getopt loop). */
extern void gbox_opts_set_argv (struct gbox_opts *o, int argc, char **argv);

/* For an option declared optional_argument, which getopt_long takes
 * only as "--opt=VALUE": when OPTARG is NULL and the next word of the
 * command line is a value IS_VALUE accepts, take it ("--opt VALUE")
 * and step optind over it.  Returns the value, or NULL for the bare
 * option.  Needs gbox_opts_set_argv. */
extern const char *gbox_opts_optional_value (struct gbox_opts *o,
                                             const char *optarg,
                                             bool (*is_value) (const char *));

/* A word that looks like a disk format name (raw, qcow2, vmdk...):
 * lower-case letters, digits, '-' and '_', at most 32 bytes. */
extern bool gbox_opts_is_format_word (const char *s);

/* --machine-readable[=FORMAT] as the libguestfs tools take it: no
 * FORMAT or "stream:stdout" is stdout, "stream:stderr", "file:NAME",
 * "fd:N".  Returns the stream, or NULL after printing an error.
 * gbox_opts_is_machine_readable_word accepts the FORMAT words (for
 * "--machine-readable FORMAT"). */
extern FILE *gbox_opts_machine_readable (const char *program,
                                         const char *format);
extern bool gbox_opts_is_machine_readable_word (const char *s);

/* The old-style syntax of the libguestfs tools: with no -a, every
 * word but the last is a disk image ("virt-cat disk.img /etc/fstab").
 * Call after the getopt loop and before gbox_opts_check.  Returns -1
 * after printing an error. */
extern int gbox_opts_old_style (struct gbox_opts *o);

/* Checks once getopt is done: a --format after the last -a, -i
 * together with -m, at least one -a or -d.  Then every -d GUEST is
 * looked up through libvirt (common/libvirt.c) and replaced by the
 * guest's disks.  A usage error is printed and gives -1; a guest that
 * cannot be read (libvirt missing or failing, no such guest) prints its
 * one error line and exits with status 1. */
extern int gbox_opts_check (struct gbox_opts *o);

/* The -d part of gbox_opts_check alone (for a command that does its
 * own checks).  Prints an error and returns -1. */
extern int gbox_opts_expand_domains (struct gbox_opts *o);

/* Parse ARG as -m DEV[:MOUNTPOINT[:OPTIONS[:FSTYPE]]] into MP (fields
 * allocated; free with gbox_opts_free_mount).  Returns -1 with a
 * message in ERRBUF when ARG is malformed. */
extern int gbox_opts_parse_mount (const char *arg,
                                  struct gbox_opts_mount *mp,
                                  char *errbuf, size_t errlen);
extern void gbox_opts_free_mount (struct gbox_opts_mount *mp);

/* Print the options for bash completion, one a line. */
extern void gbox_opts_print_long_options (FILE *fp,
                                          const struct option *long_options);
extern void gbox_opts_print_short_options (FILE *fp,
                                           const char *short_options);

/* A new handle named after the program, with -v / -x applied; exits
 * with an error line if it cannot be made. */
extern gbox_h *gbox_opts_new_handle (struct gbox_opts *o);

/* gbox_add_drive for each -a (and each disk of each -d), in
 * command-line order.  A writing command (READONLY 0 or
 * GBOX_DRIVE_WRITE_LATER) refuses the disks of a running libvirt
 * guest.  -1 on error (message on the
 * handle). */
extern int gbox_opts_add_drives (gbox_h *h, struct gbox_opts *o, int readonly);

/* Mount the filesystems: the -m list in order, or else (the default,
 * and -i) the one operating system found by inspection, shortest
 * mountpoint first.  Returns -1 on error: the message is on the
 * handle (gbox_last_error). */
extern int gbox_opts_mount (gbox_h *h, struct gbox_opts *o);

/* A guest path argument as the daemon takes it.  On a Windows guest
 * (found by -i inspection) "C:\dir\file" and "D:..." name the
 * filesystem that inspection maps the letter to (it is mounted on "/"
 * instead of the current one), and backslashes are separators;
 * elsewhere the path is unchanged.  Letter case is resolved by the
 * daemon.  Returns a malloc'd path, or NULL (message on the handle). */
extern char *gbox_opts_guest_path (gbox_h *h, struct gbox_opts *o,
                                   const char *path);

/* After launch: bring up md RAID and LVM (read-only for a read-only
 * command) and open every LUKS device with the keys given by --key,
 * read from standard input (--keys-from-stdin) or asked for on the
 * terminal; LVM inside LUKS and LUKS on LVM are both handled.  Without
 * a key and without a terminal: an error, never a prompt.  -1 on error
 * (message on the handle).  gbox_opts_mount calls it. */
extern int gbox_opts_storage (gbox_h *h, struct gbox_opts *o);
/* Parse one --key selector into O.  Prints an error and returns -1. */
extern int gbox_opts_add_key (struct gbox_opts *o, const char *selector);
extern void gbox_opts_free_keys (struct gbox_opts *o);

/* gbox_add_drive for O->drives[I] alone, as gbox_opts_add_drives does. */
extern int gbox_opts_add_drive (gbox_h *h, struct gbox_opts *o, size_t i,
                                int readonly);

/* Print "PROGRAM: error: MESSAGE" from the handle's last error. */
extern void gbox_opts_print_error (struct gbox_opts *o, gbox_h *h);

#endif /* GUESTBOX_OPTIONS_H */
