/* guestbox - output formatting shared by the commands.
 * Copyright (C) 2026 the guestbox authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

/**
 * Pure formatting helpers (no handle, no I/O beyond the FILE given):
 * human-readable sizes as the libguestfs tools print them, CSV fields
 * (RFC 4180 quoting), file mode strings and times, and the "ls -la"
 * listing format (GNU ls in the C locale, times in UTC) that virt-ls -l
 * reproduces from readdir_stat data.
 */

#ifndef GUESTBOX_OUTPUT_H
#define GUESTBOX_OUTPUT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "protocol.h"

/* Room for any result of gbox_human_readable, with its suffix. */
#define GBOX_HUMAN_BUFLEN 64

/* Options for gbox_human_readable (the same meaning as in GNU
 * coreutils' human_readable). */
enum {
  GBOX_HUMAN_CEILING = 0,       /* round up (the default) */
  GBOX_HUMAN_ROUND = 1,         /* round to nearest, ties to even */
  GBOX_HUMAN_FLOOR = 2,         /* round down */
  GBOX_HUMAN_AUTOSCALE = 4,     /* pick the power that fits */
  GBOX_HUMAN_BASE_1024 = 8,     /* powers of 1024, else of 1000 */
  GBOX_HUMAN_SI = 16,           /* append the power letter: K M G ... */
};

/* N units of FROM_BLOCK bytes, printed in units of TO_BLOCK bytes
 * (TO_BLOCK = 1 with GBOX_HUMAN_AUTOSCALE).  Writes into BUF (at least
 * GBOX_HUMAN_BUFLEN bytes) and returns BUF. */
extern char *gbox_human_readable (uint64_t n, char *buf, int opts,
                                  uint64_t from_block, uint64_t to_block);

/* Sizes as virt-ls -h and virt-df -h print them: "999", "1.0K", "10K",
 * "1.2G" (powers of 1024, round to nearest). */
extern char *gbox_human_size (uint64_t bytes, char *buf);

/* CSV (RFC 4180): a field is quoted when it holds a comma, a double
 * quote, a space, a CR or a LF; quotes inside are doubled.  The space
 * rule keeps the output identical to the libguestfs tools'. */
extern bool gbox_csv_needs_quoting (const char *s);
extern int gbox_csv_write_field (FILE *fp, const char *s);
/* Newly allocated quoted form of S (NULL on ENOMEM). */
extern char *gbox_csv_quote (const char *s);

/* S as a JSON string, quotes included, written by json-c's serializer
 * ('/' not escaped).  -1 on ENOMEM. */
extern int gbox_json_write_string (FILE *fp, const char *s);
/* A json-c string holding S with every byte that is not part of valid
 * UTF-8 replaced by U+FFFD, so that output built from guest strings is
 * valid JSON (json-c copies bytes as they are); NULL on ENOMEM. */
struct json_object;
extern struct json_object *gbox_json_new_string (const char *s);

/* "drwxr-xr-x", "-rwsr-x---", "lrwxrwxrwx", ... (10 chars + NUL). */
extern void gbox_mode_string (uint64_t mode, char buf[11]);
/* One character per file type as virt-ls -lR prints it:
 * '-' 'd' 'c' 'b' 'p' 'l' 's', 'u' for unknown. */
extern char gbox_file_type_char (uint64_t mode);

/* "2024-01-02 03:04:05" in the local time zone (virt-ls --times). */
extern int gbox_format_iso_time (int64_t secs, char *buf, size_t len);

/* The time column of ls -l, in UTC: "Jan  2 03:04" when the time is in
 * the six months before NOW, otherwise "Jan  2  2015". */
extern int gbox_format_ls_time (int64_t sec, int64_t nsec,
                                int64_t now_sec, int64_t now_nsec,
                                char *buf, size_t len);

/* One entry of an ls -la listing. */
struct gbox_ls_entry {
  const char *name;             /* as printed */
  const struct gbox_stat *st;
  const char *link;             /* symlink target, or NULL */
};

/* Print ENTRIES like "ls -la" in the C locale: the "total N" line
 * (1 KiB blocks) when TOTAL is set, then one line per entry in the
 * order given, columns padded to the widest value.  Owners and groups
 * are printed as numbers (the appliance has no user database, and the
 * host's would be wrong for a guest).  Returns -1 with
 * errno set on a write error. */
extern int gbox_print_ls_la (FILE *fp, const struct gbox_ls_entry *entries,
                             size_t n, bool total,
                             int64_t now_sec, int64_t now_nsec);

/* major() / minor() of a Linux dev_t as the guest kernel encodes it. */
extern uint64_t gbox_dev_major (uint64_t dev);
extern uint64_t gbox_dev_minor (uint64_t dev);

#endif /* GUESTBOX_OUTPUT_H */
