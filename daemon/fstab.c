/* guestbox - fstab parsing and device spec resolution.
 * Copyright (C) 2026 the guestbox authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

/**
 * Pure functions (no I/O), unit-tested by test-fstab without a VM:
 * parsing a guest's /etc/fstab (hostile text: bounded lines, comments,
 * missing fields, \NNN escapes), mapping guest device names (/dev/vdb2,
 * /dev/hda1, /dev/xvdc) to the user names we show (/dev/sdb2, ...), and
 * resolving an fstab spec (UUID=, LABEL=, PARTUUID=, PARTLABEL=,
 * /dev/disk/by-*, device names, LVM's /dev/VG/LV and /dev/mapper/VG-LV)
 * against the probed filesystems.
 */

#include <config.h>

#include <ctype.h>
#include <string.h>
#include <strings.h>

#include "daemon.h"

/* Longer lines are ignored. */
#define FSTAB_LINE_MAX 4096

void
fstab_unescape (char *s)
{
  char *r = s, *w = s;

  while (*r) {
    if (r[0] == '\\' && r[1] >= '0' && r[1] <= '3' &&
        r[2] >= '0' && r[2] <= '7' && r[3] >= '0' && r[3] <= '7') {
      char c = (r[1] - '0') * 64 + (r[2] - '0') * 8 + (r[3] - '0');
      if (c != '\0') {
        *w++ = c;
        r += 4;
        continue;
      }
    }
    *w++ = *r++;
  }
  *w = '\0';
}

void
free_fstab (struct fstab_entry *entries, size_t n)
{
  size_t i;

  for (i = 0; i < n; ++i) {
    free (entries[i].spec);
    free (entries[i].file);
    free (entries[i].vfstype);
    free (entries[i].options);
  }
}

ssize_t
parse_fstab (const char *text, size_t len, struct fstab_entry *entries,
             size_t max)
{
  size_t pos = 0, n = 0;

  while (pos < len && n < max) {
    const char *nl = memchr (text + pos, '\n', len - pos);
    size_t linelen = nl ? (size_t) (nl - (text + pos)) : len - pos;
    char line[FSTAB_LINE_MAX + 1];
    char *fields[4] = { NULL, NULL, NULL, NULL };
    char *p, *save = NULL;
    size_t nf = 0, i;

    if (linelen > FSTAB_LINE_MAX || memchr (text + pos, '\0', linelen)) {
      pos += linelen + 1;
      continue;
    }
    memcpy (line, text + pos, linelen);
    line[linelen] = '\0';
    pos += linelen + 1;

    for (p = strtok_r (line, " \t\r\v\f", &save); p && nf < 4;
         p = strtok_r (NULL, " \t\r\v\f", &save)) {
      if (nf == 0 && p[0] == '#')
        break;
      fields[nf++] = p;
    }
    if (nf < 3)
      continue;                 /* comment, blank or missing fields */

    for (i = 0; i < nf; ++i)
      fstab_unescape (fields[i]);
    entries[n].spec = strdup (fields[0]);
    entries[n].file = strdup (fields[1]);
    entries[n].vfstype = strdup (fields[2]);
    entries[n].options = strdup (nf > 3 ? fields[3] : "defaults");
    n++;
    if (!entries[n - 1].spec || !entries[n - 1].file ||
        !entries[n - 1].vfstype || !entries[n - 1].options) {
      free_fstab (entries, n);
      return -1;
    }
  }
  return n;
}

static bool
has_option (const char *options, const char *opt)
{
  size_t ol = strlen (opt);
  const char *p = options;

  while (p && *p) {
    const char *c = strchr (p, ',');
    size_t l = c ? (size_t) (c - p) : strlen (p);
    if (l == ol && strncmp (p, opt, ol) == 0)
      return true;
    p = c ? c + 1 : NULL;
  }
  return false;
}

bool
fstab_entry_is_mountable (const struct fstab_entry *e)
{
  static const char *const skip_types[] = {
    "swap", "none", "ignore", "proc", "sysfs", "tmpfs", "devtmpfs",
    "devpts", "ramfs", "nfs", "nfs4", "cifs", "smbfs", "smb3", "9p",
    "autofs", "cgroup", "cgroup2", "debugfs", "securityfs", "tracefs",
    "binfmt_misc", "mqueue", "hugetlbfs", "bpf", "pstore", "usbfs",
    "fuse", "fuse.sshfs", "sshfs", "davfs", "overlay", "virtiofs",
    NULL
  };
  size_t i;

  if (e->file[0] != '/')
    return false;               /* "none", "swap", relative nonsense */
  if (strcmp (e->spec, "none") == 0)
    return false;
  for (i = 0; skip_types[i]; ++i)
    if (strcmp (e->vfstype, skip_types[i]) == 0)
      return false;
  if (has_option (e->options, "bind") || has_option (e->options, "rbind"))
    return false;
  return true;
}

bool
remap_device_name (const char *name, char *buf, size_t len)
{
  static const char *const prefixes[] = {
    "/dev/sd", "/dev/vd", "/dev/hd", "/dev/xvd", NULL
  };
  const char *p = NULL, *q;
  size_t i, nl;

  for (i = 0; prefixes[i]; ++i) {
    size_t pl = strlen (prefixes[i]);
    if (strncmp (name, prefixes[i], pl) == 0) {
      p = name + pl;
      break;
    }
  }
  if (p == NULL)
    return false;
  for (q = p; *q >= 'a' && *q <= 'z'; ++q)
    ;
  nl = q - p;
  if (nl < 1 || nl > 3)
    return false;
  for (i = 0; q[i]; ++i)
    if (!isdigit ((unsigned char) q[i]) || i >= 6)
      return false;
  if (q[0] == '0')
    return false;
  if ((size_t) snprintf (buf, len, "/dev/sd%.*s%s", (int) nl, p, q) >= len)
    return false;
  return true;
}

bool
lvm_dm_name_to_path (const char *dm, char *buf, size_t len)
{
  char vg[GBOX_NAME_MAX], lv[GBOX_NAME_MAX];
  size_t vl = 0, ll = 0;
  bool in_lv = false;
  const char *p;

  for (p = dm; *p; ++p) {
    char c = *p;
    if (c == '-' && p[1] == '-')
      p++;                      /* "--" is a '-' inside a name */
    else if (c == '-') {
      if (in_lv)
        return false;           /* a second separator: not VG-LV */
      in_lv = true;
      continue;
    }
    else if (c == '/' || c <= ' ' || (unsigned char) c >= 0x7f)
      return false;
    if (in_lv) {
      if (ll >= sizeof lv - 1)
        return false;
      lv[ll++] = c;
    }
    else {
      if (vl >= sizeof vg - 1)
        return false;
      vg[vl++] = c;
    }
  }
  if (!in_lv || vl == 0 || ll == 0)
    return false;
  vg[vl] = lv[ll] = '\0';
  if ((size_t) snprintf (buf, len, "/dev/%s/%s", vg, lv) >= len)
    return false;
  return true;
}

/* Compare a spec value (maybe "quoted") with a probed value. */
static bool
value_eq (const char *spec_val, const char *val, bool icase)
{
  size_t l = strlen (spec_val);

  if (val == NULL || val[0] == '\0')
    return false;
  if (l >= 2 && ((spec_val[0] == '"' && spec_val[l - 1] == '"') ||
                 (spec_val[0] == '\'' && spec_val[l - 1] == '\''))) {
    spec_val++;
    l -= 2;
  }
  if (l != strlen (val) || l == 0)
    return false;
  return icase ? strncasecmp (spec_val, val, l) == 0
    : strncmp (spec_val, val, l) == 0;
}

ssize_t
resolve_fstab_spec (const char *spec, const struct gbd_fs *fs, size_t nfs)
{
  static const struct {
    const char *prefix;
    int field;                  /* 0 uuid, 1 label, 2 partuuid, 3 partlabel */
  } tags[] = {
    { "UUID=", 0 }, { "LABEL=", 1 }, { "PARTUUID=", 2 }, { "PARTLABEL=", 3 },
    { "/dev/disk/by-uuid/", 0 }, { "/dev/disk/by-label/", 1 },
    { "/dev/disk/by-partuuid/", 2 }, { "/dev/disk/by-partlabel/", 3 },
  };
  char name[64], lvname[GBOX_NAME_MAX + 16];
  size_t i, t;

  for (t = 0; t < sizeof tags / sizeof tags[0]; ++t) {
    size_t pl = strlen (tags[t].prefix);
    const char *v;

    if (strncmp (spec, tags[t].prefix, pl) != 0)
      continue;
    v = spec + pl;
    for (i = 0; i < nfs; ++i) {
      const char *val = tags[t].field == 0 ? fs[i].uuid
        : tags[t].field == 1 ? fs[i].label
        : tags[t].field == 2 ? fs[i].partuuid : fs[i].partlabel;
      bool icase = tags[t].field == 0 || tags[t].field == 2;
      if (value_eq (v, val, icase))
        return i;
    }
    return -1;
  }

  /* A name we list as it is: /dev/mapper/luks-UUID, /dev/md127. */
  for (i = 0; i < nfs; ++i)
    if (fs[i].device && strncmp (spec, "/dev/", 5) == 0 &&
        strcmp (fs[i].device, spec) == 0 && strncmp (spec, "/dev/sd", 7) != 0)
      return i;

  /* LVM: /dev/VG/LV as we name it, or /dev/mapper/VG-LV. */
  if (strncmp (spec, "/dev/mapper/", 12) == 0 &&
      lvm_dm_name_to_path (spec + 12, lvname, sizeof lvname))
    spec = lvname;
  if (strncmp (spec, "/dev/", 5) == 0 && strchr (spec + 5, '/') &&
      strncmp (spec, "/dev/disk/", 10) != 0) {
    for (i = 0; i < nfs; ++i)
      if (fs[i].device && strcmp (fs[i].device, spec) == 0)
        return i;
    return -1;
  }

  if (remap_device_name (spec, name, sizeof name)) {
    for (i = 0; i < nfs; ++i)
      if (fs[i].device && strcmp (fs[i].device, name) == 0)
        return i;
  }
  return -1;
}
