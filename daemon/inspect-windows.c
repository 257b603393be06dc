/* guestbox - Windows inspection with hivex.
 * Copyright (C) 2026 the guestbox authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

/**
 * A Windows system root is found case-insensitively (boot.ini's
 * default entry, /Windows, /WINNT; it must hold System32/config).  Its
 * SOFTWARE and SYSTEM hives are opened with hivex (read-only) inside
 * the guest tree: product name, version (CurrentMajorVersionNumber or
 * CurrentVersion), build, installation type (product variant), the
 * current control set, the hostname, the drive letters of
 * MountedDevices (MBR disk signature + offset, or GPT partition GUID)
 * and the installed programs of the Uninstall keys (64- and 32-bit
 * views, with their InstallLocation).  A damaged hive gives a warning; hivex bounds its own reads.
 */

#include <config.h>

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <strings.h>
#include <hivex.h>

#include "daemon.h"

#define DIR_SCAN_MAX 100000
#define BOOT_INI_MAX (64 * 1024)

/* Find NAME case-insensitively in directory DIRPATH (inside ROOTFD);
 * append "/" + its real name to OUT.  Returns 0 or -1. */
static int
case_component (int rootfd, char *out, size_t outlen, const char *name)
{
  CLEANUP_CLOSE int dfd = -1;
  DIR *dir;
  struct dirent *d;
  size_t n = 0, ol = strlen (out);
  int ret = -1;

  dfd = open_in_root (rootfd, ol ? out : "/", O_RDONLY | O_DIRECTORY, 0);
  if (dfd == -1)
    return -1;
  dir = fdopendir (dup (dfd));
  if (dir == NULL)
    return -1;
  while ((d = readdir (dir)) != NULL && n++ < DIR_SCAN_MAX) {
    if (strcasecmp (d->d_name, name) == 0) {
      if ((size_t) snprintf (out + ol, outlen - ol, "/%s", d->d_name)
          < outlen - ol)
        ret = 0;
      break;
    }
  }
  closedir (dir);
  return ret;
}

/* Resolve PATH ("/windows/system32/config") case-insensitively. */
int
windows_case_path (int rootfd, const char *path, char *out, size_t outlen)
{
  char copy[GBOX_PATH_MAX];
  char *p, *save = NULL;

  if (strlen (path) >= sizeof copy || outlen == 0)
    return -1;
  strcpy (copy, path);
  out[0] = '\0';
  for (p = strtok_r (copy, "/\\", &save); p; p = strtok_r (NULL, "/\\", &save))
    if (case_component (rootfd, out, outlen, p) == -1)
      return -1;
  return out[0] ? 0 : -1;
}

static bool
is_systemroot (int rootfd, const char *dir, char *out, size_t outlen)
{
  char path[GBOX_PATH_MAX], real[GBOX_PATH_MAX];
  struct stat st;

  if ((size_t) snprintf (path, sizeof path, "%s/system32/config", dir)
      >= sizeof path)
    return false;
  if (windows_case_path (rootfd, path, real, sizeof real) == -1 ||
      stat_in_root (rootfd, real, &st) == -1 || !S_ISDIR (st.st_mode))
    return false;
  /* The system root is the first component(s) of the real path. */
  real[strlen (real) - strlen ("/system32/config")] = '\0';
  snprintf (out, outlen, "%s", real);
  return true;
}

int
windows_find_systemroot (int rootfd, char *out, size_t outlen)
{
  CLEANUP_FREE char *ini = NULL;
  size_t len;

  /* boot.ini: default=multi(0)disk(0)rdisk(0)partition(1)\WINDOWS */
  ini = read_file_in_root (rootfd, "/boot.ini", BOOT_INI_MAX, &len);
  if (ini) {
    char *p = strcasestr (ini, "default=");
    if (p) {
      char *bs = strchr (p, '\\'), *end;
      if (bs) {
        end = bs + 1;
        while (*end && (isalnum ((unsigned char) *end) || *end == '_'))
          end++;
        *end = '\0';
        if (end - bs > 1 && is_systemroot (rootfd, bs + 1, out, outlen))
          return 1;
      }
    }
  }
  if (is_systemroot (rootfd, "/windows", out, outlen) ||
      is_systemroot (rootfd, "/winnt", out, outlen))
    return 1;
  return 0;
}

/* Open a hive of the guest read-only.  NULL + warning on failure. */
static hive_h *
open_hive (int rootfd, const char *systemroot, const char *name)
{
  char path[GBOX_PATH_MAX], real[GBOX_PATH_MAX], proc[64];
  CLEANUP_CLOSE int pfd = -1;
  struct stat st;
  hive_h *h;

  snprintf (path, sizeof path, "%s/system32/config/%s", systemroot, name);
  if (windows_case_path (rootfd, path, real, sizeof real) == -1) {
    inspect_warning ("%s: registry hive not found", path);
    return NULL;
  }
  pfd = open_in_root (rootfd, real, O_PATH, 0);
  if (pfd == -1 || fstat (pfd, &st) == -1 || !S_ISREG (st.st_mode)) {
    inspect_warning ("%s: not a regular file", real);
    return NULL;
  }
  snprintf (proc, sizeof proc, "/proc/self/fd/%d", pfd);
  h = hivex_open (proc, 0);
  if (h == NULL)
    inspect_warning ("%s: not a valid registry hive: %s", real,
                     strerror (errno));
  return h;
}

/* Walk PATH ("Microsoft\\Windows NT\\CurrentVersion") from the root. */
static hive_node_h
get_node (hive_h *h, const char *path)
{
  char copy[512];
  char *p, *save = NULL;
  hive_node_h node = hivex_root (h);

  if (strlen (path) >= sizeof copy)
    return 0;
  strcpy (copy, path);
  for (p = strtok_r (copy, "\\", &save); p && node;
       p = strtok_r (NULL, "\\", &save))
    node = hivex_node_get_child (h, node, p);
  return node;
}

/* The string of value V, cleaned, or NULL. */
static char *
value_string (hive_h *h, hive_value_h v)
{
  hive_type t;
  size_t len;
  char *s, *c;

  if (v == 0 || hivex_value_type (h, v, &t, &len) == -1 ||
      (t != hive_t_REG_SZ && t != hive_t_REG_EXPAND_SZ) ||
      len > GBOX_STRING_MAX)
    return NULL;
  s = hivex_value_string (h, v);
  if (s == NULL)
    return NULL;
  c = inspect_clean (s, strlen (s));
  free (s);
  return c;
}

/* A string value, cleaned, or NULL. */
static char *
get_string (hive_h *h, hive_node_h node, const char *key)
{
  return node ? value_string (h, hivex_node_get_value (h, node, key)) : NULL;
}

/* The string values NAMES[0..N-1] of NODE into OUT (NULL when absent) in
 * one pass over its values (hivex_node_get_value walks them all at
 * every call). */
static void
get_strings (hive_h *h, hive_node_h node, const char *const *names,
             size_t n, char **out)
{
  hive_value_h *vals = hivex_node_values (h, node);
  size_t i, j;

  for (j = 0; j < n; ++j)
    out[j] = NULL;
  for (i = 0; vals && vals[i]; ++i) {
    CLEANUP_FREE char *key = hivex_value_key (h, vals[i]);

    for (j = 0; key && j < n; ++j)
      if (out[j] == NULL && strcasecmp (key, names[j]) == 0) {
        out[j] = value_string (h, vals[i]);
        break;
      }
  }
  free (vals);
}

static bool
get_dword (hive_h *h, hive_node_h node, const char *key, int32_t *out)
{
  hive_value_h v;
  hive_type t;
  size_t len;

  if (node == 0)
    return false;
  v = hivex_node_get_value (h, node, key);
  if (v == 0 || hivex_value_type (h, v, &t, &len) == -1 ||
      t != hive_t_REG_DWORD)
    return false;
  errno = 0;
  *out = hivex_value_dword (h, v);
  return errno == 0;
}

static void
take (char **field, char *s)
{
  if (s) {
    free (*field);
    *field = s;
  }
}

static void
software_info (hive_h *h, gbox_inspected_os *os)
{
  hive_node_h node = get_node (h, "Microsoft\\Windows NT\\CurrentVersion");
  int32_t ma, mi;
  char *s;

  if (node == 0) {
    inspect_warning ("SOFTWARE hive: no Microsoft\\Windows NT\\CurrentVersion key");
    return;
  }
  take (&os->product_name, get_string (h, node, "ProductName"));
  /* Any 32-bit value may be there: the bounds of parse_version_numbers. */
  if (get_dword (h, node, "CurrentMajorVersionNumber", &ma) &&
      get_dword (h, node, "CurrentMinorVersionNumber", &mi) &&
      ma >= 0 && ma <= 1000000 && mi >= 0 && mi <= 1000000) {
    os->major_version = ma;
    os->minor_version = mi;
  }
  else if ((s = get_string (h, node, "CurrentVersion")) != NULL) {
    parse_version_numbers (s, &os->major_version, &os->minor_version);
    free (s);
  }
  s = get_string (h, node, "CurrentBuildNumber");
  if (s == NULL)
    s = get_string (h, node, "CurrentBuild");
  take (&os->build_id, s);
  take (&os->product_variant, get_string (h, node, "InstallationType"));
}

/* MountedDevices: "\DosDevices\C:" -> our device name. */
static char *
mapped_device (const char *data, size_t len, const struct gbd_fs *fs,
               size_t nfs)
{
  size_t i;

  if (len == 24 && memcmp (data, "DMIO:ID:", 8) == 0) {
    const unsigned char *g = (const unsigned char *) data + 8;
    char guid[40];
    snprintf (guid, sizeof guid,
              "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-"
              "%02x%02x%02x%02x%02x%02x",
              g[3], g[2], g[1], g[0], g[5], g[4], g[7], g[6],
              g[8], g[9], g[10], g[11], g[12], g[13], g[14], g[15]);
    for (i = 0; i < nfs; ++i)
      if (fs[i].partuuid && strcasecmp (fs[i].partuuid, guid) == 0)
        return strdup (fs[i].device);
    return NULL;
  }
  if (len == 12) {
    const unsigned char *u = (const unsigned char *) data;
    uint32_t sig = u[0] | (u[1] << 8) | (u[2] << 16) | ((uint32_t) u[3] << 24);
    uint64_t off = 0;
    size_t d;

    for (i = 0; i < 8; ++i)
      off |= (uint64_t) u[4 + i] << (8 * i);
    for (d = 0; d < devices_count (); ++d) {
      const char *kdisk = devices_kernel_disk (d);
      const char *udisk = devices_user_disk (d);
      unsigned char mbr[4];
      char path[128];
      int fd;
      ssize_t r;

      snprintf (path, sizeof path, "/dev/%s", kdisk);
      fd = open (path, O_RDONLY | O_CLOEXEC);
      if (fd == -1)
        continue;
      r = pread (fd, mbr, 4, 0x1b8);
      close (fd);
      if (r != 4 || (mbr[0] | (mbr[1] << 8) | (mbr[2] << 16) |
                     ((uint32_t) mbr[3] << 24)) != sig)
        continue;
      /* The partition of this disk that starts at OFF. */
      for (i = 0; i < nfs; ++i) {
        const char *kname = strrchr (fs[i].kdevice, '/');
        char spath[256], buf[32];
        size_t ul = strlen (udisk);
        FILE *fp;

        if (strncmp (fs[i].device, "/dev/", 5) != 0 ||
            strncmp (fs[i].device + 5, udisk, ul) != 0 ||
            !isdigit ((unsigned char) fs[i].device[5 + ul]) || kname == NULL)
          continue;
        snprintf (spath, sizeof spath, "/sys/class/block/%s/start", kname + 1);
        fp = fopen (spath, "re");
        if (fp == NULL)
          continue;
        if (fgets (buf, sizeof buf, fp) &&
            strtoull (buf, NULL, 10) * 512 == off) {
          fclose (fp);
          return strdup (fs[i].device);
        }
        fclose (fp);
      }
    }
  }
  return NULL;
}

/* A hive may name a letter twice ("\DosDevices\D:", "...\d:"): the
 * first one that maps to a filesystem counts. */
static bool
has_letter (const gbox_inspected_os *os, char letter)
{
  size_t i;

  for (i = 0; i < os->drive_mappings.drive_mappings_len; ++i)
    if (os->drive_mappings.drive_mappings_val[i].letter[0] == letter)
      return true;
  return false;
}

static void
system_info (hive_h *h, gbox_inspected_os *os, const struct gbd_fs *fs,
             size_t nfs)
{
  hive_node_h sel = get_node (h, "Select"), node, md;
  int32_t current;
  char cs[32], path[128];
  char *s;

  if (get_dword (h, sel, "Current", &current) && current > 0 &&
      current < 1000)
    snprintf (cs, sizeof cs, "ControlSet%03d", current);
  else
    snprintf (cs, sizeof cs, "ControlSet001");
  /* Without the control set there is no hostname, but MountedDevices
   * (outside it) still gives the drive letters. */
  if (get_node (h, cs) == 0)
    inspect_warning ("SYSTEM hive: no %s key", cs);
  else {
    take (&os->windows_current_control_set, strdup (cs));

    snprintf (path, sizeof path, "%s\\Services\\Tcpip\\Parameters", cs);
    node = get_node (h, path);
    /* Only TCP/IP's Hostname, as libguestfs 1.48 reads it (not the
     * NetBIOS ComputerName). */
    s = get_string (h, node, "Hostname");
    take (&os->hostname, s);
  }

  md = get_node (h, "MountedDevices");
  if (md) {
    hive_value_h *vals = hivex_node_values (h, md);
    size_t i;

    for (i = 0; vals && vals[i] && i < 10000; ++i) {
      CLEANUP_FREE char *key = hivex_value_key (h, vals[i]);
      CLEANUP_FREE char *data = NULL;
      hive_type t;
      size_t len;
      char *dev;
      gbox_drive_mapping *m;

      if (key == NULL || strncasecmp (key, "\\DosDevices\\", 12) != 0 ||
          !isalpha ((unsigned char) key[12]) || key[13] != ':' || key[14] ||
          has_letter (os, toupper ((unsigned char) key[12])))
        continue;
      data = hivex_value_value (h, vals[i], &t, &len);
      if (data == NULL || len > 4096)
        continue;
      dev = mapped_device (data, len, fs, nfs);
      if (dev == NULL)
        continue;
      if (os->drive_mappings.drive_mappings_len >= 26) {
        free (dev);
        break;
      }
      m = realloc (os->drive_mappings.drive_mappings_val,
                   (os->drive_mappings.drive_mappings_len + 1) * sizeof *m);
      if (m == NULL) {
        free (dev);
        break;
      }
      os->drive_mappings.drive_mappings_val = m;
      m = &m[os->drive_mappings.drive_mappings_len++];
      m->letter = malloc (2);
      if (m->letter) {
        m->letter[0] = toupper ((unsigned char) key[12]);
        m->letter[1] = '\0';
      }
      m->device = dev;
      if (m->letter == NULL) {
        m->letter = strdup ("");
        if (m->letter == NULL) {
          os->drive_mappings.drive_mappings_len--;
          free (dev);
          break;
        }
      }
    }
    free (vals);
  }
}

static int
compare_dm (const void *a, const void *b)
{
  return strcmp (((const gbox_drive_mapping *) a)->letter,
                 ((const gbox_drive_mapping *) b)->letter);
}

/* The osinfo short id, as libguestfs 1.48 derives it: from the
 * version, the product variant ("Server") and, for 5.2 and 10.0, words
 * of the product name. */
static void
windows_osinfo (gbox_inspected_os *os)
{
  bool server = strstr (os->product_variant, "Server") != NULL;
  const char *name = os->product_name, *id = NULL;
  int ma = os->major_version, mi = os->minor_version;

  if (ma == 5 && mi == 1)
    id = "winxp";
  else if (ma == 5 && mi == 2)
    id = strstr (name, "XP") ? "winxp" : strstr (name, "R2") ? "win2k3r2"
      : "win2k3";
  else if (ma == 6 && mi == 0)
    id = server ? "win2k8" : "winvista";
  else if (ma == 6 && mi == 1)
    id = server ? "win2k8r2" : "win7";
  else if (ma == 6 && mi == 2)
    id = server ? "win2k12" : "win8";
  else if (ma == 6 && mi == 3)
    id = server ? "win2k12r2" : "win8.1";
  else if (ma == 10 && mi == 0 && server)
    id = strstr (name, "2022") ? "win2k22" : strstr (name, "2019") ? "win2k19"
      : "win2k16";
  else if (ma == 10 && mi == 0)
    id = "win10";
  if (id) {
    free (os->osinfo);
    os->osinfo = strdup (id);
  }
}

int
inspect_windows_details (int rootfd, gbox_inspected_os *os,
                         const struct gbd_fs *fs, size_t nfs)
{
  char p1[GBOX_PATH_MAX], p2[GBOX_PATH_MAX];
  const char *bins[3];
  CLEANUP_FREE char *arch = NULL;
  hive_h *h;

  take (&os->distro, strdup ("windows"));
  h = open_hive (rootfd, os->windows_systemroot, "SOFTWARE");
  if (h) {
    software_info (h, os);
    hivex_close (h);
  }
  h = open_hive (rootfd, os->windows_systemroot, "SYSTEM");
  if (h) {
    system_info (h, os, fs, nfs);
    hivex_close (h);
  }
  /* qsort's base must not be NULL, even for no element. */
  if (os->drive_mappings.drive_mappings_len > 1)
    qsort (os->drive_mappings.drive_mappings_val,
           os->drive_mappings.drive_mappings_len, sizeof (gbox_drive_mapping),
           compare_dm);
  windows_osinfo (os);

  snprintf (p1, sizeof p1, "%s/system32/cmd.exe", os->windows_systemroot);
  snprintf (p2, sizeof p2, "%s/explorer.exe", os->windows_systemroot);
  if (windows_case_path (rootfd, p1, p1, sizeof p1) == -1)
    p1[0] = '\0';
  if (windows_case_path (rootfd, p2, p2, sizeof p2) == -1)
    p2[0] = '\0';
  bins[0] = p1[0] ? p1 : p2;
  bins[1] = p1[0] && p2[0] ? p2 : NULL;
  bins[2] = NULL;
  if (bins[0][0]) {
    arch = inspect_binary_arch (rootfd, bins);
    take (&os->arch, arch ? strdup (arch) : NULL);
  }
  return 0;
}

/* Work bounds: hivex allows 70000 subkeys of 110000 values each, and
 * a 1 MB hive can make every subkey of Uninstall the same key with
 * the same value 100000 times.  Real entries have a few dozen values. */
#define APP_VALUES_MAX 1000             /* values of one entry */
#define UNINSTALL_VALUES_MAX 200000     /* values of all entries */

static void
uninstall_key (hive_h *h, const char *path, struct app_list *l,
               size_t *budget)
{
  static const char *const names[] = {
    "DisplayName", "DisplayVersion", "Publisher", "URLInfoAbout", "Comments",
    "InstallLocation",
  };
#define NR_NAMES (sizeof names / sizeof names[0])
  hive_node_h node = get_node (h, path), *children;
  size_t i, big = 0;

  if (node == 0)
    return;
  children = hivex_node_children (h, node);
  for (i = 0; children && children[i] && i < 100000; ++i) {
    hive_node_h c = children[i];
    size_t nv = hivex_node_nr_values (h, c);
    CLEANUP_FREE char *name = NULL;
    char *s[NR_NAMES];
    gbox_application *a;

    if (nv > APP_VALUES_MAX) {
      big++;
      continue;
    }
    if (nv > *budget) {
      inspect_warning ("SOFTWARE hive: %s: too many values, "
                       "the entries from %zu on are ignored", path, i);
      break;
    }
    *budget -= nv;
    name = hivex_node_name (h, c);
    if (name == NULL)
      continue;
    get_strings (h, c, names, NR_NAMES, s);
    /* Programs without a DisplayName are hidden updates (an empty
     * DisplayName still counts, as for libguestfs). */
    if (s[0] == NULL || (a = app_new (l)) == NULL) {
      bool full = s[0] != NULL;
      size_t j;

      for (j = 0; j < NR_NAMES; ++j)
        free (s[j]);
      if (full)
        break;                  /* app_new failed */
      continue;
    }
    take (&a->display_name, s[0]);
    take (&a->name, inspect_clean (name, strlen (name)));
    take (&a->app_version, s[1]);
    take (&a->publisher, s[2]);
    take (&a->url, s[3]);
    take (&a->description, s[4]);
    take (&a->install_path, s[5]);
  }
  free (children);
  if (big)
    inspect_warning ("SOFTWARE hive: %s: %zu entries with more than %d "
                     "values ignored", path, big, APP_VALUES_MAX);
}

int
windows_list_applications (int rootfd, const gbox_inspected_os *os,
                           struct app_list *l)
{
  hive_h *h = open_hive (rootfd, os->windows_systemroot, "SOFTWARE");
  size_t budget = UNINSTALL_VALUES_MAX;

  if (h == NULL)
    return 0;
  uninstall_key (h, "Microsoft\\Windows\\CurrentVersion\\Uninstall", l,
                 &budget);
  uninstall_key (h, "WOW6432Node\\Microsoft\\Windows\\CurrentVersion\\Uninstall",
                 l, &budget);
  hivex_close (h);
  app_list_sort (l);
  return 0;
}
