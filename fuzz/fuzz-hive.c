/* guestbox - libFuzzer harness: Windows registry hives (inspection).
 * Copyright (C) 2026 the guestbox authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

/**
 * The fuzzer's bytes are a guest's registry hive, read by the daemon's
 * Windows inspection (inspect-windows.c, through hivex): product name,
 * versions, build, installation type and the Uninstall keys from
 * SOFTWARE; the current control set, hostname and MountedDevices drive
 * letters from SYSTEM.
 *
 * A private directory tree Windows/System32/config/ is made at the
 * first call and is the guest root.  The first byte chooses where the
 * rest goes:
 *   bits 0-1: 0 = SOFTWARE only, 1 = SYSTEM only, 2 or 3 = both hives
 *             (the same bytes: one hive can hold the keys of both),
 *   bit 2:    lower-case file names ("software"), found
 *             case-insensitively;
 *   bit 3:    the bytes are also the guest's /boot.ini, and the system
 *             root is searched (windows_find_systemroot): whatever
 *             boot.ini says, the tree's only one is /Windows.
 * Every input is thus reproducible alone, without any other file.
 * Besides the sanitizers, the result is checked (check_result), and
 * the work done: the registry values hivex walks for our lookups are
 * counted and bounded (a hang needs no big hive: one key listed 65535
 * times, with one value listed 100000 times, is 1 MB).
 *
 * hivex rejects a base block whose XOR checksum (the 32-bit words of
 * bytes 0-507, stored at 508) is wrong, so nearly every mutation would
 * stop there.  As is usual for checksummed formats, the harness
 * recomputes it before writing the file, so that mutations reach the
 * hive bins and cells.  hivex itself is a system library, not
 * instrumented: coverage is that of our code.
 */

#include <config.h>

#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <signal.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include <hivex.h>

#include "daemon.h"

#define CSUM_OFF 0x1fc

/* The work bound: registry values hivex walks for our lookups, per
 * input.  inspect-windows.c allows 200000 for all Uninstall entries;
 * each other lookup walks one key (at most 110000 values in hivex). */
#define VISITS_MAX 4000000
static size_t visits;

/* Two partitions whose GPT GUIDs the seeds' MountedDevices name. */
static char dev1[] = "/dev/sda1", kdev1[] = "/dev/sdb1";
static char dev2[] = "/dev/sda2", kdev2[] = "/dev/sdb2";
static char dev3[] = "/dev/sdb1", kdev3[] = "/dev/sda1";
static char ntfs[] = "ntfs", empty[] = "";
static char guid2[] = "6f3a8d2c-1b4e-4c5d-9e7f-0a1b2c3d4e5f";
static char guid3[] = "03020100-0504-0706-0809-0A0B0C0D0E0F";
static struct gbd_fs fs[] = {
  { dev1, kdev1, ntfs, empty, empty, empty, empty },
  { dev2, kdev2, ntfs, empty, empty, guid2, empty },
  { dev3, kdev3, ntfs, empty, empty, guid3, empty },
};

static char top[4096];
static int rootfd = -1, configfd = -1;

static const char *const hive_names[] = {
  "SOFTWARE", "SYSTEM", "software", "system", NULL,
};

static void
remove_hives (void)
{
  size_t i;

  for (i = 0; hive_names[i]; ++i)
    unlinkat (configfd, hive_names[i], 0);
  unlinkat (rootfd, "boot.ini", 0);
}

/* Remove the tree at TOPDIR (only the files this harness makes). */
static void
remove_tree_at (const char *topdir)
{
  static const char *const files[] = {
    "/Windows/System32/config/SOFTWARE", "/Windows/System32/config/SYSTEM",
    "/Windows/System32/config/software", "/Windows/System32/config/system",
    "/boot.ini", NULL,
  };
  static const char *const dirs[] = {
    "/Windows/System32/config", "/Windows/System32", "/Windows", "", NULL,
  };
  char path[4200];
  size_t i;

  for (i = 0; files[i]; ++i) {
    snprintf (path, sizeof path, "%s%s", topdir, files[i]);
    unlink (path);
  }
  for (i = 0; dirs[i]; ++i) {
    snprintf (path, sizeof path, "%s%s", topdir, dirs[i]);
    rmdir (path);
  }
}

static void
remove_tree (void)
{
  remove_tree_at (top);
}

/* A crash or a kill skips the atexit handler: the trees of processes
 * that are gone (fuzz-hive.PID.XXXXXX) are removed by the next run. */
static void
remove_stale_trees (const char *tmp)
{
  DIR *dir = opendir (tmp);
  struct dirent *d;
  char path[4200];
  long pid;

  if (dir == NULL)
    return;
  while ((d = readdir (dir)) != NULL)
    if (sscanf (d->d_name, "fuzz-hive.%ld.", &pid) == 1 && pid > 0 &&
        kill ((pid_t) pid, 0) == -1 && errno == ESRCH) {
      snprintf (path, sizeof path, "%s/%s", tmp, d->d_name);
      remove_tree_at (path);
    }
  closedir (dir);
}

static void
make_tree (void)
{
  const char *tmp = getenv ("TMPDIR");
  char path[4200];

  if (tmp == NULL || tmp[0] == '\0')
    tmp = "/tmp";
  remove_stale_trees (tmp);
  snprintf (top, sizeof top, "%s/fuzz-hive.%ld.XXXXXX", tmp, (long) getpid ());
  if (mkdtemp (top) == NULL) {
    perror (top);
    abort ();
  }
  atexit (remove_tree);
  snprintf (path, sizeof path, "%s/Windows", top);
  mkdir (path, 0700);
  snprintf (path, sizeof path, "%s/Windows/System32", top);
  mkdir (path, 0700);
  snprintf (path, sizeof path, "%s/Windows/System32/config", top);
  if (mkdir (path, 0700) == -1) {
    perror (path);
    abort ();
  }
  rootfd = open (top, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  configfd = open (path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (rootfd == -1 || configfd == -1) {
    perror (path);
    abort ();
  }
}

static void
put_file (int dirfd, const char *name, const uint8_t *data, size_t size)
{
  int fd = openat (dirfd, name,
                   O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

  if (fd == -1 || (size > 0 && write (fd, data, size) != (ssize_t) size) ||
      close (fd) == -1) {
    perror (name);
    abort ();
  }
}

/* FUZZ_HIVE_PRINT=1 ./fuzz-hive FILE: what inspection made of FILE. */
static void
print_result (const gbox_inspected_os *os, const struct app_list *apps)
{
  const char *const *w;
  size_t i, n;

  printf ("product_name=%s version=%d.%d build_id=%s variant=%s "
          "osinfo=%s\ncontrol_set=%s hostname=%s\n",
          os->product_name, os->major_version, os->minor_version,
          os->build_id, os->product_variant, os->osinfo,
          os->windows_current_control_set, os->hostname);
  for (i = 0; i < os->drive_mappings.drive_mappings_len; ++i)
    printf ("drive %s: %s\n", os->drive_mappings.drive_mappings_val[i].letter,
            os->drive_mappings.drive_mappings_val[i].device);
  for (i = 0; i < apps->n; ++i)
    printf ("app name=%s display_name=%s version=%s publisher=%s url=%s "
            "description=%s\n", apps->v[i].name, apps->v[i].display_name,
            apps->v[i].app_version, apps->v[i].publisher, apps->v[i].url,
            apps->v[i].description);
  w = inspect_warnings (&n);
  for (i = 0; i < n; ++i)
    printf ("warning: %s\n", w[i]);
}

/* hivex_node_get_value and hivex_node_values walk every value of the
 * key: count those of the list hivex makes (the declared count of a key
 * may be anything).  The calls from our code come here first. */
static hive_value_h *(*real_node_values) (hive_h *, hive_node_h);

static void
count_values (hive_h *h, hive_node_h node)
{
  hive_value_h *v;
  size_t i;

  if (real_node_values == NULL &&
      (real_node_values = dlsym (RTLD_NEXT, "hivex_node_values")) == NULL)
    abort ();
  v = real_node_values (h, node);
  for (i = 0; v && v[i]; ++i)
    visits++;
  free (v);
}

hive_value_h
hivex_node_get_value (hive_h *h, hive_node_h node, const char *key)
{
  static hive_value_h (*real) (hive_h *, hive_node_h, const char *);

  if (real == NULL &&
      (real = dlsym (RTLD_NEXT, "hivex_node_get_value")) == NULL)
    abort ();
  count_values (h, node);
  return real (h, node, key);
}

hive_value_h *
hivex_node_values (hive_h *h, hive_node_h node)
{
  count_values (h, node);
  return real_node_values (h, node);
}

static void
check (bool ok, const char *what)
{
  if (!ok) {
    fprintf (stderr, "fuzz-hive: broken result: %s\n", what);
    abort ();
  }
}

/* What inspection promises whatever the hive: bounded work, versions
 * are not negative, the drive letters are distinct upper-case letters,
 * sorted, each mapped to one of our filesystems, and every application
 * has a display name. */
static void
check_result (const gbox_inspected_os *os, const struct app_list *apps)
{
  const gbox_drive_mapping *m = os->drive_mappings.drive_mappings_val;
  size_t i, j, n = os->drive_mappings.drive_mappings_len;

  check (visits <= VISITS_MAX, "too much work (registry values walked)");
  check (os->major_version >= 0 && os->minor_version >= 0,
         "negative version");
  check (n <= 26, "more than 26 drive letters");
  for (i = 0; i < n; ++i) {
    check (m[i].letter[0] >= 'A' && m[i].letter[0] <= 'Z' &&
           m[i].letter[1] == '\0', "drive letter");
    check (i == 0 || strcmp (m[i - 1].letter, m[i].letter) < 0,
           "drive letters not sorted or not distinct");
    for (j = 0; j < sizeof fs / sizeof fs[0]; ++j)
      if (strcmp (m[i].device, fs[j].device) == 0)
        break;
    check (j < sizeof fs / sizeof fs[0], "drive mapped to no filesystem");
  }
  /* Sorted by name, as libguestfs sorts them (an entry with an empty
   * DisplayName counts, as for libguestfs). */
  for (i = 1; i < apps->n; ++i)
    check (strcmp (apps->v[i - 1].name, apps->v[i].name) <= 0,
           "applications not sorted by name");
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  static uint8_t *buf;
  gbox_inspected_os os;
  struct app_list apps = { NULL, 0, 0 };
  unsigned sel;
  bool lower;
  size_t i;

  if (size < 1)
    return 0;
  if (rootfd == -1)
    make_tree ();
  sel = data[0];
  lower = sel & 4;
  data++;
  size--;

  if (size >= CSUM_OFF + 4) {
    uint8_t *b = realloc (buf, size);
    uint32_t sum = 0;

    if (b == NULL)
      abort ();
    buf = b;
    memcpy (buf, data, size);
    for (i = 0; i < CSUM_OFF; i += 4)
      sum ^= (uint32_t) buf[i] | (buf[i + 1] << 8) | (buf[i + 2] << 16) |
        ((uint32_t) buf[i + 3] << 24);
    buf[CSUM_OFF] = sum;
    buf[CSUM_OFF + 1] = sum >> 8;
    buf[CSUM_OFF + 2] = sum >> 16;
    buf[CSUM_OFF + 3] = sum >> 24;
    data = buf;
  }

  remove_hives ();
  if ((sel & 3) != 1)
    put_file (configfd, lower ? "software" : "SOFTWARE", data, size);
  if ((sel & 3) != 0)
    put_file (configfd, lower ? "system" : "SYSTEM", data, size);
  if (sel & 8) {
    char root[GBOX_PATH_MAX];

    put_file (rootfd, "boot.ini", data, size);
    check (windows_find_systemroot (rootfd, root, sizeof root) == 1 &&
           strcmp (root, "/Windows") == 0, "system root is not /Windows");
  }

  visits = 0;
  /* Every string field "", as inspection's records start, and the
   * system root that windows_find_systemroot would have found. */
  if (inspect_os_init (&os) == -1)
    abort ();
  free (os.windows_systemroot);
  os.windows_systemroot = strdup ("/Windows");
  if (os.windows_systemroot == NULL)
    abort ();
  inspect_windows_details (rootfd, &os, fs, sizeof fs / sizeof fs[0]);
  windows_list_applications (rootfd, &os, &apps);
  for (i = 0; i < apps.n; ++i)
    app_size (&apps.v[i]);
  if (getenv ("FUZZ_HIVE_PRINT"))
    print_result (&os, &apps);
  check_result (&os, &apps);

  xdr_free ((xdrproc_t) xdr_gbox_inspected_os, (char *) &os);
  app_list_free (&apps);
  inspect_warnings_reset ();
  return 0;
}
