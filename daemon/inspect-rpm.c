/* guestbox - the rpm database of a Linux guest, read with librpm.
 * Copyright (C) 2026 the guestbox authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

/**
 * The installed packages of an rpm guest, read with librpm from the
 * guest's own database: rpmdb.sqlite (Fedora, RHEL 9) or a Berkeley DB
 * Packages file (RHEL/CentOS 7 and 8, older SUSE), the latter through
 * librpm's read-only "bdb_ro" backend.  Nothing of the guest's rpm
 * configuration is read (its macro files could run commands): the
 * database directory is found here, resolved inside the guest tree,
 * and handed to librpm as _dbpath with the matching _db_backend.  The
 * fields are those libguestfs gets with headerFormat, so a tag the
 * header lacks is "(none)", and gpg-pubkey entries are listed too.
 * librpm checks each header blob (bounds, region) before it is used;
 * its error messages become inspection warnings.
 */

#include <config.h>

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>

#include <rpm/header.h>
#include <rpm/rpmdb.h>
#include <rpm/rpmlib.h>
#include <rpm/rpmlog.h>
#include <rpm/rpmmacro.h>
#include <rpm/rpmts.h>

#include "daemon.h"

#define RPM_APPS_MAX 1000000

/* Where each kind of database lives, newest first. */
static const struct {
  const char *dir, *file, *backend;
} rpmdbs[] = {
  { "/usr/lib/sysimage/rpm", "rpmdb.sqlite", "sqlite" },
  { "/var/lib/rpm", "rpmdb.sqlite", "sqlite" },
  { "/usr/lib/sysimage/rpm", "Packages", "bdb_ro" },
  { "/var/lib/rpm", "Packages", "bdb_ro" },
  { "/usr/lib/sysimage/rpm", "Packages.db", "ndb" },
  { "/var/lib/rpm", "Packages.db", "ndb" },
};

static const char *rpm_db_name = "rpmdb";

/* librpm's error messages as inspection warnings (not its warnings
 * about index files it does not need here). */
static int
log_callback (rpmlogRec rec, rpmlogCallbackData data)
{
  const char *msg = rpmlogRecMessage (rec);
  size_t len = msg ? strlen (msg) : 0;

  if (rpmlogRecPriority (rec) <= RPMLOG_ERR && len > 0) {
    while (len > 0 && (msg[len - 1] == '\n' || msg[len - 1] == ' '))
      len--;
    inspect_warning ("%s: %.*s", rpm_db_name, (int) len, msg);
  }
  return 0;
}

/* One header field as libguestfs gets it (headerFormat: "(none)" for a
 * missing tag), cleaned and bounded. */
static void
set_tag (Header h, const char *fmt, char **field, size_t max)
{
  errmsg_t err = NULL;
  char *s = headerFormat (h, fmt, &err);
  char *c;

  if (s == NULL)
    return;
  if (strlen (s) >= max)
    inspect_warning ("%s: %s: field longer than %zu bytes, truncated",
                     rpm_db_name, fmt, max - 1);
  c = inspect_clean_max (s, strlen (s), max, max > GBOX_INSPECT_FIELD_MAX);
  free (s);
  if (c) {
    free (*field);
    *field = c;
  }
}

static int
app_from_header (Header h, struct app_list *l)
{
  gbox_application *a = app_new (l);

  if (a == NULL)
    return -1;
  set_tag (h, "%{NAME}", &a->name, GBOX_INSPECT_FIELD_MAX);
  set_tag (h, "%{VERSION}", &a->app_version, GBOX_INSPECT_FIELD_MAX);
  set_tag (h, "%{RELEASE}", &a->release, GBOX_INSPECT_FIELD_MAX);
  set_tag (h, "%{ARCH}", &a->arch, GBOX_INSPECT_FIELD_MAX);
  set_tag (h, "%{URL}", &a->url, GBOX_INSPECT_FIELD_MAX);
  set_tag (h, "%{SUMMARY}", &a->summary, GBOX_INSPECT_FIELD_MAX);
  set_tag (h, "%{DESCRIPTION}", &a->description, GBOX_STRING_MAX);
  /* Beyond libguestfs (JSON and --extra only). */
  set_tag (h, "%|VENDOR?{%{VENDOR}}|", &a->publisher, GBOX_INSPECT_FIELD_MAX);
  set_tag (h, "%|SOURCERPM?{%{SOURCERPM}}|", &a->source_package, GBOX_INSPECT_FIELD_MAX);
  a->epoch = headerGetNumber (h, RPMTAG_EPOCH);
  return 0;
}

/* One header blob as stored in the database (for the unit tests and
 * the fuzzer).  Returns 0, or -1 if librpm refuses the blob. */
int
parse_rpm_header (const unsigned char *blob, size_t len, struct app_list *l)
{
  Header h;
  int r;

  if (len < 8 || len > 64 * 1024 * 1024)
    return -1;
  h = headerImport ((void *) blob, len, HEADERIMPORT_COPY);
  if (h == NULL)
    return -1;
  r = app_from_header (h, l);
  headerFree (h);
  return r;
}

void
rpm_list_applications (int rootfd, struct app_list *l)
{
  CLEANUP_CLOSE int dfd = -1;
  char dbpath[64];
  size_t i, count = 0;
  rpmts ts;
  rpmdbMatchIterator mi;
  Header h;

  for (i = 0; i < sizeof rpmdbs / sizeof rpmdbs[0]; ++i) {
    struct stat st;

    if (dfd >= 0)
      close (dfd);
    dfd = open_in_root (rootfd, rpmdbs[i].dir, O_PATH | O_DIRECTORY, 0);
    if (dfd >= 0 &&
        fstatat (dfd, rpmdbs[i].file, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
        S_ISREG (st.st_mode))
      break;
  }
  if (i == sizeof rpmdbs / sizeof rpmdbs[0])
    return;
  rpm_db_name = rpmdbs[i].file;
  if (strcmp (rpmdbs[i].backend, "ndb") == 0) {
    inspect_warning ("%s/%s: ndb rpm databases are not read (this librpm "
                     "has no ndb backend)", rpmdbs[i].dir, rpmdbs[i].file);
    return;
  }

  /* The directory resolved inside the guest tree: librpm opens its
   * files through this link, so a symlink in the guest's path cannot
   * lead it out of the tree (the file itself was checked above). */
  snprintf (dbpath, sizeof dbpath, "/proc/self/fd/%d", dfd);
  rpmlogSetCallback (log_callback, NULL);
  rpmPushMacro (NULL, "_dbpath", NULL, dbpath, RMIL_CMDLINE);
  rpmPushMacro (NULL, "_db_backend", NULL, rpmdbs[i].backend, RMIL_CMDLINE);

  ts = rpmtsCreate ();
  rpmtsSetRootDir (ts, "/");
  rpmtsSetVSFlags (ts, rpmtsVSFlags (ts) | RPMVSF_MASK_NOSIGNATURES |
                   RPMVSF_MASK_NODIGESTS);
  mi = rpmtsInitIterator (ts, RPMDBI_PACKAGES, NULL, 0);
  if (mi == NULL)
    inspect_warning ("%s/%s: cannot open the rpm database", rpmdbs[i].dir,
                     rpmdbs[i].file);
  while (mi && (h = rpmdbNextIterator (mi)) != NULL &&
         count++ < RPM_APPS_MAX)
    if (app_from_header (h, l) == -1)
      break;
  rpmdbFreeIterator (mi);
  rpmtsFree (ts);

  rpmPopMacro (NULL, "_db_backend");
  rpmPopMacro (NULL, "_dbpath");
  rpmlogSetCallback (NULL, NULL);
  rpm_db_name = "rpmdb";
}
