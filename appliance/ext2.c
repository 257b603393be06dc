/* TEMPORARY stand-in (mke2fs -d from a staging tree of hard links),
 * replaced by the libext2fs writer. */
#include <config.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include "appliance-internal.h"

int
gbox_app_ext2_write (struct gbox_app_ctx *cx, const struct gbox_app_cpio *a,
                     const char *prefix, const char *path, uint64_t *bytes)
{
  struct gbox_app_cpio_entry *v = gbox_app_cpio_sorted (a);
  size_t i, n = gbox_app_cpio_count (a), plen = strlen (prefix);
  char stage[4096], p[8192], cmd[16384];
  uint64_t total = 0;
  struct stat st;

  snprintf (stage, sizeof stage, "%s.stage", path);
  mkdir (stage, 0755);
  for (i = 0; i < n; ++i) {
    const struct gbox_app_cpio_entry *e = &v[i];
    if (strncmp (e->name, prefix, plen) != 0)
      continue;
    snprintf (p, sizeof p, "%s/%s", stage, e->name + plen);
    switch (e->type) {
    case GBOX_APP_CPIO_DIR: mkdir (p, e->mode); break;
    case GBOX_APP_CPIO_SYMLINK: symlink (e->source, p); break;
    case GBOX_APP_CPIO_DATA: {
      int fd = open (p, O_WRONLY|O_CREAT|O_EXCL, e->mode);
      write (fd, e->data, e->len); close (fd); total += e->len; break; }
    case GBOX_APP_CPIO_FILE:
      snprintf (cmd, sizeof cmd, "cp '%s' '%s'", e->source, p);
      if (system (cmd) != 0) return gbox_app_error (cx, "cp failed");
      chmod (p, e->mode);
      stat (p, &st); total += st.st_size;
      break;
    }
  }
  free (v);
  snprintf (cmd, sizeof cmd, "mke2fs -q -F -t ext2 -b 4096 -N %zu -d '%s' '%s' %lluK >/dev/null 2>&1 && rm -rf '%s'",
            n + 64, stage, path, (unsigned long long) (total * 12 / 10 / 1024 + 8192), stage);
  if (system (cmd) != 0) return gbox_app_error (cx, "mke2fs failed");
  stat (path, &st);
  *bytes = st.st_size;
  return 0;
}
