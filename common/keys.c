/* guestbox - LUKS keys: --key, --keys-from-stdin, --echo-keys.
 * Copyright (C) 2026 the guestbox authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

/**
 * The key options of the commands and opening the storage stack after
 * launch, as the libguestfs tools do it: a --key selector names a
 * device (/dev/sda2, /dev/VG/LV) or a LUKS UUID and gives the key
 * ("ID:key:KEY") or a file whose first line is the key
 * ("ID:file:FILENAME"); several may match one device and are tried in
 * turn.  A device without a matching --key takes one line of standard
 * input with --keys-from-stdin, or else is asked for on the terminal
 * with echo off (--echo-keys turns it on).  Without a terminal there is
 * no prompt: a clear error says how to give the key.  The plaintext
 * device is /dev/mapper/luks-UUID.  Keys only travel in the luks_open
 * call (never traced) and are wiped from memory after use.
 */

#include <config.h>

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "guestbox-internal.h"
#include "cleanups.h"
#include "options.h"

/* Rounds of storage_open: each opened device may reveal more (LUKS on
 * an LV inside LUKS). */
#define STORAGE_ROUNDS 4

GBOX_DEFINE_XDR_CLEANUP (gbox_storage_open_ret)

static void
wipe_free (char *s)
{
  if (s) {
    explicit_bzero (s, strlen (s));
    free (s);
  }
}

void
gbox_opts_free_keys (struct gbox_opts *o)
{
  size_t i;

  for (i = 0; i < o->nr_keys; ++i) {
    free (o->keys[i].id);
    wipe_free (o->keys[i].value);
  }
  free (o->keys);
  o->keys = NULL;
  o->nr_keys = 0;
}

int
gbox_opts_add_key (struct gbox_opts *o, const char *selector)
{
  const char *c1 = strchr (selector, ':'), *c2, *value;
  struct gbox_opts_key *k;

  c2 = c1 ? strchr (c1 + 1, ':') : NULL;
  /* Exactly three fields, as the libguestfs tools parse it. */
  if (c1 == NULL || c2 == NULL || c1 == selector ||
      strchr (c2 + 1, ':') != NULL || c2[1] == '\0' ||
      !((c2 - c1 - 1 == 3 && strncmp (c1 + 1, "key", 3) == 0) ||
        (c2 - c1 - 1 == 4 && strncmp (c1 + 1, "file", 4) == 0))) {
    /* The selector may hold a key: never printed. */
    fprintf (stderr, "%s: error: invalid selector for --key (expected "
             "ID:key:KEY or ID:file:FILENAME)\n", o->program);
    return -1;
  }
  value = c2 + 1;
  k = realloc (o->keys, (o->nr_keys + 1) * sizeof *k);
  if (k == NULL)
    goto nomem;
  o->keys = k;
  k = &o->keys[o->nr_keys];
  k->is_file = c2 - c1 - 1 == 4;
  k->id = strndup (selector, c1 - selector);
  k->value = strdup (value);
  if (k->id == NULL || k->value == NULL) {
    free (k->id);
    wipe_free (k->value);
    goto nomem;
  }
  o->nr_keys++;
  return 0;

 nomem:
  fprintf (stderr, "%s: error: %s\n", o->program, strerror (errno));
  return -1;
}

/* Read one line (without its newline) from FP into a new string. */
static char *
read_line (FILE *fp)
{
  char *line = NULL;
  size_t size = 0;
  ssize_t len = getline (&line, &size, fp);

  if (len == -1) {
    free (line);
    return NULL;
  }
  if (len > 0 && line[len - 1] == '\n')
    line[--len] = '\0';
  return line;
}

/* The first line of FILENAME. */
static char *
key_from_file (gbox_h *h, const char *filename)
{
  FILE *fp = fopen (filename, "re");
  char *key;

  if (fp == NULL) {
    gbox_int_perror (h, "--key: %s", filename);
    return NULL;
  }
  key = read_line (fp);
  if (key == NULL) {
    if (ferror (fp))
      gbox_int_perror (h, "--key: %s", filename);
    else
      gbox_int_error (h, "--key: %s: the file is empty", filename);
  }
  fclose (fp);
  return key;
}

/* Ask for the key of DEVICE: from standard input with
 * --keys-from-stdin, else on the terminal.  Prompts only on a
 * terminal, with echo off unless --echo-keys. */
static char *
key_from_user (gbox_h *h, struct gbox_opts *o, const char *device)
{
  FILE *in, *out, *tty = NULL;
  struct termios orig, noecho;
  bool restore = false;
  char *key;

  if (o->keys_from_stdin) {
    in = stdin;
    out = stderr;
  }
  else {
    if (!isatty (STDIN_FILENO) ||
        (tty = fopen ("/dev/tty", "r+e")) == NULL) {
      gbox_int_error (h, "%s: this device is encrypted and no key was "
                      "given; use --key %s:key:KEY, --key "
                      "%s:file:FILENAME or --keys-from-stdin", device,
                      device, device);
      return NULL;
    }
    in = out = tty;
  }
  if (isatty (fileno (in))) {
    fprintf (out, "Enter key or passphrase (\"%s\"): ", device);
    fflush (out);
    if (!o->echo_keys && tcgetattr (fileno (in), &orig) == 0) {
      noecho = orig;
      noecho.c_lflag &= ~ECHO;
      if (tcsetattr (fileno (in), TCSAFLUSH, &noecho) == 0)
        restore = true;
    }
  }
  key = read_line (in);
  if (restore) {
    fputc ('\n', out);
    tcsetattr (fileno (in), TCSAFLUSH, &orig);
  }
  if (tty)
    fclose (tty);
  if (key == NULL)
    gbox_int_error (h, "%s: could not read the key%s", device,
                    o->keys_from_stdin ? " from standard input" : "");
  return key;
}

/* Everything the daemon says is checked before use. */
static bool
valid_device (const char *s)
{
  size_t i, n = strlen (s);

  if (n < 6 || n > 255 || strncmp (s, "/dev/", 5) != 0)
    return false;
  for (i = 0; i < n; ++i)
    if (!isgraph ((unsigned char) s[i]))
      return false;
  return true;
}

static bool
valid_uuid (const char *s)
{
  size_t i, n = strlen (s);

  if (n == 0 || n > 64)
    return false;
  for (i = 0; i < n; ++i)
    if (!isxdigit ((unsigned char) s[i]) && s[i] != '-')
      return false;
  return true;
}

/* libguestfs's name when there is no UUID: "crypt" and the letters and
 * digits of the device name ("/dev/sda2" -> "cryptsda2"). */
static char *
map_name (gbox_h *h, const char *device, const char *uuid)
{
  char buf[300];
  size_t n = 0;

  if (valid_uuid (uuid))
    return gbox_int_asprintf (h, "luks-%s", uuid);
  n = snprintf (buf, sizeof buf, "crypt");
  for (device += 5; *device && n < 120; ++device)
    if (isalnum ((unsigned char) *device))
      buf[n++] = *device;
  buf[n] = '\0';
  return gbox_int_strdup (h, buf);
}

/* Open one encrypted device: each matching --key in turn, or the key
 * the user gives.  0 opened, 1 skipped (no key, keys optional), -1. */
static int
open_one (gbox_h *h, struct gbox_opts *o, const char *device,
          const char *uuid)
{
  CLEANUP_FREE char *mapname = map_name (h, device, uuid);
  CLEANUP_FREE char *lasterr = NULL;
  size_t i, tried = 0;

  if (mapname == NULL)
    return -1;
  for (i = 0; i < o->nr_keys; ++i) {
    const struct gbox_opts_key *k = &o->keys[i];
    char *key;
    int r;

    if (strcmp (k->id, device) != 0 && strcmp (k->id, uuid) != 0)
      continue;
    key = k->is_file ? key_from_file (h, k->value) : strdup (k->value);
    if (key == NULL) {
      if (!k->is_file)
        gbox_int_perror (h, "strdup");
      return -1;
    }
    tried++;
    r = gbox_luks_open (h, device, key, mapname, o->readonly);
    wipe_free (key);
    if (r == 0)
      return 0;
    free (lasterr);
    lasterr = strdup (gbox_last_error (h) ? gbox_last_error (h) : "");
  }
  if (tried == 0) {
    char *key;
    int r;

    if (o->keys_optional)
      return 1;
    key = key_from_user (h, o, device);
    if (key == NULL)
      return -1;
    r = gbox_luks_open (h, device, key, mapname, o->readonly);
    wipe_free (key);
    if (r == 0)
      return 0;
    lasterr = strdup (gbox_last_error (h) ? gbox_last_error (h) : "");
  }
  gbox_int_error (h, "could not find key to open LUKS encrypted %s; try "
                  "using --key on the command line (%s)", device,
                  lasterr ? lasterr : "");
  return -1;
}

int
gbox_opts_storage (gbox_h *h, struct gbox_opts *o)
{
  char **done = NULL;
  size_t ndone = 0, round, i, j;
  int r = -1;

  for (round = 0; round < STORAGE_ROUNDS; ++round) {
    CLEANUP_XDR_FREE (gbox_storage_open_ret)
      struct gbox_storage_open_ret ret = { 0 };
    bool opened = false;

    if (gbox_storage_open (h, o->readonly, &ret) == -1)
      goto out;
    for (i = 0; i < ret.crypt.crypt_len; ++i) {
      const struct gbox_crypt_device *c = &ret.crypt.crypt_val[i];
      char **nd;
      int s;

      if (!valid_device (c->device) ||
          (c->uuid[0] != '\0' && !valid_uuid (c->uuid))) {
        gbox_int_error (h, "storage_open: the appliance sent an invalid "
                        "device name or UUID");
        goto out;
      }
      for (j = 0; j < ndone; ++j)
        if (strcmp (done[j], c->device) == 0)
          break;
      if (j < ndone)
        continue;
      s = open_one (h, o, c->device, c->uuid);
      if (s == -1)
        goto out;
      nd = realloc (done, (ndone + 1) * sizeof *nd);
      if (nd == NULL) {
        gbox_int_perror (h, "realloc");
        goto out;
      }
      done = nd;
      done[ndone] = strdup (c->device);
      if (done[ndone] == NULL) {
        gbox_int_perror (h, "strdup");
        goto out;
      }
      ndone++;
      if (s == 0)
        opened = true;
    }
    if (!opened)
      break;
  }
  /* Devices opened in the last round: LVM inside them is activated by
   * one more storage_open. */
  if (round == STORAGE_ROUNDS) {
    CLEANUP_XDR_FREE (gbox_storage_open_ret)
      struct gbox_storage_open_ret ret = { 0 };

    if (gbox_storage_open (h, o->readonly, &ret) == -1)
      goto out;
  }
  r = 0;

 out:
  for (j = 0; j < ndone; ++j)
    free (done[j]);
  free (done);
  return r;
}
