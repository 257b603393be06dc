/* guestbox - output formatting shared by the commands.
 * Copyright (C) 2026 the guestbox authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

/**
 * Formatting with no handle and no state: human-readable sizes (the
 * arithmetic of coreutils' human_readable, which the libguestfs tools
 * use), CSV quoting, JSON strings (json-c), mode strings, the two time
 * formats of virt-ls, and the "ls -la" listing (GNU ls, C locale, UTC)
 * of virt-ls -l.
 */

#include <config.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <inttypes.h>
#include <errno.h>
#include <time.h>

#include <json.h>

#include "output.h"

/* Power letters for autoscaled sizes (index = exponent). */
static const char power_letters[] = " KMGTPEZY";
#define EXPONENT_MAX 8

/* Prepend the decimal digits of V at *PP (moving it backwards). */
static void
prepend_uint (char **pp, uint64_t v)
{
  do {
    *--*pp = '0' + v % 10;
    v /= 10;
  } while (v != 0);
}

/* When the value does not fit integer arithmetic (only for block
 * sizes that do not divide each other, or overflow), fall back on long
 * double, as coreutils does. */
static char *
human_float (uint64_t n, char *buf, int opts,
             uint64_t from_block, uint64_t to_block)
{
  const int style = opts & (GBOX_HUMAN_ROUND | GBOX_HUMAN_FLOOR);
  const unsigned base = opts & GBOX_HUMAN_BASE_1024 ? 1024 : 1000;
  long double v = (long double) n * ((long double) from_block / to_block);
  long double e = 1;
  int exponent = 0;
  char num[48];

  if (opts & GBOX_HUMAN_AUTOSCALE) {
    while (e * base <= v && exponent < EXPONENT_MAX) {
      e *= base;
      exponent++;
    }
    v /= e;
  }
  if (exponent > 0 && v < 10) {
    long double t = v * 10;
    if (style == GBOX_HUMAN_CEILING && t != (long double) (uint64_t) t)
      t = (uint64_t) t + 1;
    else if (style == GBOX_HUMAN_FLOOR)
      t = (uint64_t) t;
    snprintf (num, sizeof num, "%.1Lf", style == GBOX_HUMAN_ROUND ? v : t / 10);
  }
  else {
    if (style == GBOX_HUMAN_CEILING && v != (long double) (uint64_t) v)
      v = (uint64_t) v + 1;
    else if (style == GBOX_HUMAN_FLOOR)
      v = (uint64_t) v;
    snprintf (num, sizeof num, "%.0Lf", v);
  }
  if ((opts & GBOX_HUMAN_SI) && exponent > 0)
    snprintf (buf, GBOX_HUMAN_BUFLEN, "%s%c", num,
              base == 1000 && exponent == 1 ? 'k' : power_letters[exponent]);
  else
    snprintf (buf, GBOX_HUMAN_BUFLEN, "%s", num);
  return buf;
}

char *
gbox_human_readable (uint64_t n, char *buf, int opts,
                     uint64_t from_block, uint64_t to_block)
{
  const int style = opts & (GBOX_HUMAN_ROUND | GBOX_HUMAN_FLOOR);
  const unsigned base = opts & GBOX_HUMAN_BASE_1024 ? 1024 : 1000;
  /* The exact value is AMT.TENTHS plus a remainder described by
   * ROUNDING: 0 = none, 1 = less than half a tenth, 2 = exactly half,
   * 3 = more than half. */
  uint64_t amt;
  unsigned tenths = 0, rounding = 0;
  int exponent = -1;
  char *end = buf + GBOX_HUMAN_BUFLEN - 4; /* room for the suffix */
  char *p = end;

  if (to_block == 0)
    to_block = 1;

  if (to_block <= from_block) {
    uint64_t mult = from_block / to_block;
    if (from_block % to_block != 0 || (mult != 0 && n > UINT64_MAX / mult))
      return human_float (n, buf, opts, from_block, to_block);
    amt = n * mult;
  }
  else if (from_block != 0 && to_block % from_block == 0) {
    uint64_t div = to_block / from_block;
    uint64_t r10 = (n % div) * 10;
    uint64_t r2 = (r10 % div) * 2;
    amt = n / div;
    tenths = r10 / div;
    rounding = r2 < div ? r2 > 0 : 2 + (div < r2);
  }
  else
    return human_float (n, buf, opts, from_block, to_block);

  *end = '\0';

  if (opts & GBOX_HUMAN_AUTOSCALE) {
    exponent = 0;
    if (amt >= base) {
      do {
        unsigned r10 = (amt % base) * 10 + tenths;
        unsigned r2 = (r10 % base) * 2 + (rounding >> 1);
        amt /= base;
        tenths = r10 / base;
        if (r2 < base)
          rounding = (r2 + rounding) != 0;
        else
          rounding = 2 + (base < r2 + rounding);
        exponent++;
      } while (amt >= base && exponent < EXPONENT_MAX);

      if (amt < 10) {
        /* One decimal: round the tenths first. */
        bool up = style == GBOX_HUMAN_ROUND ? rounding + (tenths & 1) > 2
          : style == GBOX_HUMAN_CEILING && rounding > 0;
        if (up) {
          tenths++;
          rounding = 0;
          if (tenths == 10) {
            amt++;
            tenths = 0;
          }
        }
        if (amt < 10) {
          *--p = '0' + tenths;
          *--p = '.';
          tenths = rounding = 0;
        }
      }
    }
  }

  {
    bool up = style == GBOX_HUMAN_ROUND
      ? tenths + (rounding + (amt & 1) > 0) > 5
      : style == GBOX_HUMAN_CEILING && tenths + rounding > 0;
    if (up) {
      amt++;
      if ((opts & GBOX_HUMAN_AUTOSCALE) && amt == base &&
          exponent < EXPONENT_MAX) {
        exponent++;
        *--p = '0';
        *--p = '.';
        amt = 1;
      }
    }
  }

  prepend_uint (&p, amt);

  if (opts & GBOX_HUMAN_SI) {
    char *s = end;
    if (exponent < 0) {
      uint64_t power = 1;
      exponent = 0;
      while (power < to_block && exponent < EXPONENT_MAX) {
        power *= base;
        exponent++;
      }
    }
    if (exponent > 0)
      *s++ = base == 1000 && exponent == 1 ? 'k' : power_letters[exponent];
    *s = '\0';
  }

  memmove (buf, p, strlen (p) + 1);
  return buf;
}

char *
gbox_human_size (uint64_t bytes, char *buf)
{
  return gbox_human_readable (bytes, buf,
                              GBOX_HUMAN_ROUND | GBOX_HUMAN_AUTOSCALE |
                              GBOX_HUMAN_BASE_1024 | GBOX_HUMAN_SI, 1, 1);
}

bool
gbox_csv_needs_quoting (const char *s)
{
  return strpbrk (s, ",\" \r\n") != NULL;
}

int
gbox_csv_write_field (FILE *fp, const char *s)
{
  if (!gbox_csv_needs_quoting (s))
    return fputs (s, fp) == EOF ? -1 : 0;

  if (putc ('"', fp) == EOF)
    return -1;
  for (; *s; s++) {
    if (*s == '"' && putc ('"', fp) == EOF)
      return -1;
    if (putc (*s, fp) == EOF)
      return -1;
  }
  return putc ('"', fp) == EOF ? -1 : 0;
}

char *
gbox_csv_quote (const char *s)
{
  char *buf = NULL;
  size_t len = 0;
  FILE *fp = open_memstream (&buf, &len);

  if (fp == NULL)
    return NULL;
  if (gbox_csv_write_field (fp, s) == -1) {
    fclose (fp);
    free (buf);
    return NULL;
  }
  if (fclose (fp) == EOF) {
    free (buf);
    return NULL;
  }
  return buf;
}

/* File type bits, as Linux (and so every guest we read) defines them. */
#define T_MASK 0170000
#define T_SOCK 0140000
#define T_LNK  0120000
#define T_REG  0100000
#define T_BLK  0060000
#define T_DIR  0040000
#define T_CHR  0020000
#define T_FIFO 0010000

char
gbox_file_type_char (uint64_t mode)
{
  switch (mode & T_MASK) {
  case T_REG: return '-';
  case T_DIR: return 'd';
  case T_CHR: return 'c';
  case T_BLK: return 'b';
  case T_FIFO: return 'p';
  case T_LNK: return 'l';
  case T_SOCK: return 's';
  default: return 'u';
  }
}

void
gbox_mode_string (uint64_t mode, char buf[11])
{
  char t = gbox_file_type_char (mode);

  buf[0] = t == 'u' ? '?' : t;
  buf[1] = mode & 0400 ? 'r' : '-';
  buf[2] = mode & 0200 ? 'w' : '-';
  buf[3] = mode & 04000 ? (mode & 0100 ? 's' : 'S') : (mode & 0100 ? 'x' : '-');
  buf[4] = mode & 040 ? 'r' : '-';
  buf[5] = mode & 020 ? 'w' : '-';
  buf[6] = mode & 02000 ? (mode & 010 ? 's' : 'S') : (mode & 010 ? 'x' : '-');
  buf[7] = mode & 04 ? 'r' : '-';
  buf[8] = mode & 02 ? 'w' : '-';
  buf[9] = mode & 01000 ? (mode & 01 ? 't' : 'T') : (mode & 01 ? 'x' : '-');
  buf[10] = '\0';
}

int
gbox_format_iso_time (int64_t secs, char *buf, size_t len)
{
  time_t t = (time_t) secs;
  struct tm tm;

  if (localtime_r (&t, &tm) == NULL ||
      strftime (buf, len, "%Y-%m-%d %H:%M:%S", &tm) == 0) {
    snprintf (buf, len, "%" PRIi64, secs);
    return -1;
  }
  return 0;
}

/* C locale month abbreviations (ls in the appliance runs in the C
 * locale; never depend on the user's). */
static const char *const months[12] = {
  "Jan", "Feb", "Mar", "Apr", "May", "Jun",
  "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
};

/* GNU ls calls a time recent when it lies in the half Gregorian year
 * (365.2425 days / 2) before now. */
#define SIX_MONTHS (31556952 / 2)

int
gbox_format_ls_time (int64_t sec, int64_t nsec, int64_t now_sec,
                     int64_t now_nsec, char *buf, size_t len)
{
  time_t t = (time_t) sec;
  struct tm tm;
  bool after_six_months_ago, before_now;

  after_six_months_ago = sec > now_sec - SIX_MONTHS ||
    (sec == now_sec - SIX_MONTHS && nsec > now_nsec);
  before_now = sec < now_sec || (sec == now_sec && nsec < now_nsec);

  if (gmtime_r (&t, &tm) == NULL || tm.tm_mon < 0 || tm.tm_mon > 11) {
    /* Like ls: a time that cannot be broken down prints as a number. */
    snprintf (buf, len, "%12" PRIi64, sec);
    return -1;
  }
  if (after_six_months_ago && before_now)
    snprintf (buf, len, "%s %2d %02d:%02d", months[tm.tm_mon], tm.tm_mday,
              tm.tm_hour, tm.tm_min);
  else
    snprintf (buf, len, "%s %2d  %d", months[tm.tm_mon], tm.tm_mday,
              tm.tm_year + 1900);
  return 0;
}

uint64_t
gbox_dev_major (uint64_t dev)
{
  return ((dev >> 8) & 0xfff) | ((dev >> 32) & 0xfffff000);
}

uint64_t
gbox_dev_minor (uint64_t dev)
{
  return (dev & 0xff) | ((dev >> 12) & 0xffffff00);
}

static int
digits (uint64_t v)
{
  int n = 1;

  while (v >= 10) {
    v /= 10;
    n++;
  }
  return n;
}

static bool
is_device (const struct gbox_stat *st)
{
  return (st->mode & T_MASK) == T_CHR || (st->mode & T_MASK) == T_BLK;
}

int
gbox_print_ls_la (FILE *fp, const struct gbox_ls_entry *entries, size_t n,
                  bool total, int64_t now_sec, int64_t now_nsec)
{
  int nlink_w = 0, uid_w = 0, gid_w = 0, size_w = 0, major_w = 0, minor_w = 0;
  uint64_t blocks = 0;
  size_t i;
  int w;

  /* Column widths over all the entries, as ls computes them. */
  for (i = 0; i < n; ++i) {
    const struct gbox_stat *st = entries[i].st;

    blocks += (uint64_t) st->blocks;
    if ((w = digits ((uint64_t) st->nlink)) > nlink_w)
      nlink_w = w;
    if ((w = digits ((uint64_t) st->uid)) > uid_w)
      uid_w = w;
    if ((w = digits ((uint64_t) st->gid)) > gid_w)
      gid_w = w;
    if (is_device (st)) {
      if ((w = digits (gbox_dev_major (st->rdev))) > major_w)
        major_w = w;
      if ((w = digits (gbox_dev_minor (st->rdev))) > minor_w)
        minor_w = w;
      if (major_w + 2 + minor_w > size_w)
        size_w = major_w + 2 + minor_w;
    }
    else if ((w = digits ((uint64_t) st->size)) > size_w)
      size_w = w;
  }

  if (total) {
    char buf[GBOX_HUMAN_BUFLEN];
    /* st_blocks counts 512-byte units; ls prints 1 KiB units, rounded
     * up. */
    if (fprintf (fp, "total %s\n",
                 gbox_human_readable (blocks, buf, GBOX_HUMAN_CEILING,
                                      512, 1024)) < 0)
      return -1;
  }

  for (i = 0; i < n; ++i) {
    const struct gbox_stat *st = entries[i].st;
    char mode[11], when[64];

    gbox_mode_string ((uint64_t) st->mode, mode);
    gbox_format_ls_time (st->mtime, st->mtime_nsec, now_sec, now_nsec,
                         when, sizeof when);
    if (fprintf (fp, "%s %*" PRIu64 " %*" PRIu64 " %*" PRIu64 " ",
                 mode, nlink_w, (uint64_t) st->nlink,
                 uid_w, (uint64_t) st->uid, gid_w, (uint64_t) st->gid) < 0)
      return -1;
    if (is_device (st)) {
      int pad = size_w - (major_w + 2 + minor_w);
      if (fprintf (fp, "%*" PRIu64 ", %*" PRIu64 " ",
                   major_w + (pad > 0 ? pad : 0), gbox_dev_major (st->rdev),
                   minor_w, gbox_dev_minor (st->rdev)) < 0)
        return -1;
    }
    else if (fprintf (fp, "%*" PRIu64 " ", size_w, (uint64_t) st->size) < 0)
      return -1;
    if (fprintf (fp, "%s %s", when, entries[i].name) < 0)
      return -1;
    if (entries[i].link && fprintf (fp, " -> %s", entries[i].link) < 0)
      return -1;
    if (putc ('\n', fp) == EOF)
      return -1;
  }
  return 0;
}

/* Length of the valid UTF-8 sequence at S (1 to 4), or 0 if the bytes
 * there are not one: overlong forms, surrogates and code points above
 * U+10FFFF are not valid (RFC 3629). */
static size_t
utf8_seq_len (const unsigned char *s)
{
  size_t n, i;
  uint32_t c;

  if (s[0] < 0x80)
    return 1;
  if (s[0] >= 0xc2 && s[0] <= 0xdf) {
    n = 2; c = s[0] & 0x1f;
  }
  else if (s[0] >= 0xe0 && s[0] <= 0xef) {
    n = 3; c = s[0] & 0x0f;
  }
  else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
    n = 4; c = s[0] & 0x07;
  }
  else
    return 0;
  for (i = 1; i < n; ++i) {
    if ((s[i] & 0xc0) != 0x80)
      return 0;
    c = (c << 6) | (s[i] & 0x3f);
  }
  if ((n == 3 && c < 0x800) || (n == 4 && c < 0x10000) ||
      (c >= 0xd800 && c <= 0xdfff) || c > 0x10ffff)
    return 0;
  return n;
}

json_object *
gbox_json_new_string (const char *s)
{
  const unsigned char *p = (const unsigned char *) s;
  size_t len = strlen (s), i, j, n;
  json_object *o;
  char *r;

  for (i = 0; i < len; i += n)
    if ((n = utf8_seq_len (p + i)) == 0)
      break;
  if (i == len)
    return json_object_new_string (s);
  /* Each bad byte becomes U+FFFD (3 bytes). */
  if (len > (SIZE_MAX - 1) / 3 || (r = malloc (3 * len + 1)) == NULL)
    return NULL;
  for (i = j = 0; i < len; ) {
    n = utf8_seq_len (p + i);
    if (n == 0) {
      memcpy (r + j, "\xef\xbf\xbd", 3);
      j += 3;
      i++;
    }
    else {
      memcpy (r + j, s + i, n);
      j += n;
      i += n;
    }
  }
  r[j] = '\0';
  o = json_object_new_string (r);
  free (r);
  return o;
}

int
gbox_json_write_string (FILE *fp, const char *s)
{
  json_object *o = gbox_json_new_string (s);

  if (o == NULL) {
    errno = ENOMEM;
    return -1;
  }
  fputs (json_object_to_json_string_ext (o, JSON_C_TO_STRING_PLAIN |
                                         JSON_C_TO_STRING_NOSLASHESCAPE), fp);
  json_object_put (o);
  return 0;
}
