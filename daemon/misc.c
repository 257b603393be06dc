/* guestbox - version, sync, shutdown, refresh.
 * Copyright (C) 2026 the guestbox authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

/**
 * The small procedures: version (protocol, daemon version, available
 * optional programs), sync, shutdown (unmount, sync, reply, exit so that
 * init reboots) and refresh (after a snapshot restore: set the clock,
 * reseed the kernel RNG and force the crng to reseed from it; refused
 * in host mode).
 */

#include <config.h>

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <time.h>
#include <sys/ioctl.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <linux/random.h>

#include "daemon.h"

#define PROGRAMS_FILE "/etc/guestbox/programs"
#define PROGRAMS_MAX 256

/* Is PROG (a name or a path) an executable in $PATH? */
static bool
program_exists (const char *prog)
{
  const char *path = getenv ("PATH");
  CLEANUP_FREE char *copy = NULL;
  char *dir, *save = NULL;

  if (prog[0] == '\0' || strlen (prog) > 255)
    return false;
  if (strchr (prog, '/'))
    return access (prog, X_OK) == 0;
  copy = strdup (path ? path : "/usr/sbin:/usr/bin:/sbin:/bin");
  if (copy == NULL)
    return false;
  for (dir = strtok_r (copy, ":", &save); dir;
       dir = strtok_r (NULL, ":", &save)) {
    char full[4096];
    struct stat st;
    snprintf (full, sizeof full, "%s/%s", dir, prog);
    if (stat (full, &st) == 0 && S_ISREG (st.st_mode) &&
        access (full, X_OK) == 0)
      return true;
  }
  return false;
}

int
do_version (void *argsv, void *retv)
{
  gbox_version_ret *ret = retv;
  char **list = NULL;
  size_t n = 0;
  FILE *fp;

  ret->protocol = GBOX_PROTOCOL_VERSION;
  ret->daemon_version = strdup (PACKAGE_VERSION);
  if (ret->daemon_version == NULL) {
    reply_with_perror ("strdup");
    return -1;
  }
  fp = fopen (PROGRAMS_FILE, "re");
  if (fp) {
    char line[512];
    while (fgets (line, sizeof line, fp) && n < PROGRAMS_MAX) {
      line[strcspn (line, "\r\n")] = '\0';
      if (line[0] == '\0' || line[0] == '#' || !program_exists (line))
        continue;
      if (add_string (&list, &n, line) == -1) {
        fclose (fp);
        free_strings (list);
        reply_with_perror ("malloc");
        return -1;
      }
    }
    fclose (fp);
  }
  ret->features.gbox_str_list_val = list;
  ret->features.gbox_str_list_len = n;
  return 0;
}

int
do_sync (void *args, void *ret)
{
  sync ();
  return 0;
}

int
do_shutdown (void *args, void *ret)
{
  if (umount_all_int () == -1)
    debug ("shutdown: some filesystems could not be unmounted");
  sync ();
  exit_after_reply = true;
  return 0;
}

int
do_refresh (void *argsv, void *retv)
{
  gbox_refresh_args *args = argsv;
  struct timespec ts;
  int fd;

  if (!appliance_mode) {
    reply_with_error_errno (EPERM, "refresh: refusing to set the clock and "
                            "the RNG in host mode");
    return -1;
  }
  if (args->nsec >= 1000000000) {
    reply_with_error_errno (EINVAL, "refresh: invalid nanoseconds %u",
                            args->nsec);
    return -1;
  }
  ts.tv_sec = args->sec;
  ts.tv_nsec = args->nsec;
  if (clock_settime (CLOCK_REALTIME, &ts) == -1) {
    reply_with_perror ("refresh: clock_settime");
    return -1;
  }

  if (args->seed.seed_len > 0) {
    size_t len = args->seed.seed_len;
    struct rand_pool_info *info;

    fd = open ("/dev/urandom", O_WRONLY | O_CLOEXEC);
    if (fd == -1) {
      reply_with_perror ("refresh: /dev/urandom");
      return -1;
    }
    info = calloc (1, sizeof *info + len + 4);
    if (info == NULL) {
      close (fd);
      reply_with_perror ("calloc");
      return -1;
    }
    info->entropy_count = len * 8;
    info->buf_size = len;
    memcpy (info->buf, args->seed.seed_val, len);
    if (ioctl (fd, RNDADDENTROPY, info) == -1)
      debug ("refresh: RNDADDENTROPY: %m");
    free (info);
    if (write (fd, args->seed.seed_val, len) != (ssize_t) len)
      debug ("refresh: write /dev/urandom: %m");
    /* Adding entropy does not change what the (restored, hence shared)
     * crng state produces until its next scheduled reseed: force it. */
    if (ioctl (fd, RNDRESEEDCRNG) == -1)
      debug ("refresh: RNDRESEEDCRNG: %m");
    close (fd);
  }

  /* Visible under -v: the guest's clock and a few random bytes, so that
   * tests can check that restored appliances differ and are on time. */
  if (verbose) {
    unsigned char rnd[16];
    char hex[sizeof rnd * 2 + 1];
    size_t i;

    clock_gettime (CLOCK_REALTIME, &ts);
    if (getrandom (rnd, sizeof rnd, GRND_NONBLOCK) != (ssize_t) sizeof rnd)
      memset (rnd, 0, sizeof rnd);
    for (i = 0; i < sizeof rnd; ++i)
      snprintf (hex + 2 * i, 3, "%02x", rnd[i]);
    fprintf (stderr, "guestboxd: refresh: clock %lld.%09ld random %s\n",
             (long long) ts.tv_sec, ts.tv_nsec, hex);
  }
  return 0;
}
