/* guestbox - virt-inspector: report the operating systems of disk images.
 * Copyright (C) 2026 the guestbox authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

/**
 * virt-inspector -a disk.img: boots the appliance with the disks
 * read-only, asks the daemon for a full inspection (inspect_full: every
 * OS with its distro, version, hostname, architecture, mountpoints,
 * filesystems, drive letters) and, per OS, for its applications (paged
 * through inspect_list_applications), and prints an XML report with
 * the element names and nesting of the libguestfs virt-inspector
 * schema (virt-inspector.rng in this folder), written with libxml2's
 * xmlTextWriter.  --json prints the same data as JSON.  --xpath QUERY
 * runs an XPath query over the report (or, without -a, over an XML
 * report read from stdin, as the libguestfs tool does).  Warnings about
 * damaged guest data come from the daemon and are printed on stderr.
 */

#include <config.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <stdint.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdbool.h>
#include <unistd.h>

#include <libxml/xmlwriter.h>
#include <libxml/parser.h>
#include <libxml/xpath.h>
#include <libxml/xmlsave.h>

#include "guestbox.h"
#include "options.h"
#include "output.h"
#include "cleanups.h"

static const char program[] = "virt-inspector";

/* Most applications gathered for one OS. */
#define APPS_MAX 10000000

enum {
  OPT_JSON = GBOX_OPT_FIRST_FREE,
  OPT_XPATH,
  OPT_NO_APPLICATIONS,
  OPT_NO_ICON,
  OPT_EXTRA,
  OPT_EACH,
  OPT_SHARD,
};

/* What the report holds. */
struct settings {
  bool json;
  bool applications;
  bool icon;
  bool extra;                   /* fields beyond libguestfs's, in XML */
  const char *xpath;
};

static void __attribute__((noreturn))
usage (int status)
{
  if (status != EXIT_SUCCESS)
    fprintf (stderr, "Try '%s --help' for more information.\n", program);
  else
    printf ("%s: display information about a virtual machine\n"
            "Usage:\n"
            "  %s [--options] -a disk.img [-a disk.img ...]\n"
            "  %s [--options] --each disk.img [disk.img ...]\n"
            "  %s --xpath QUERY < report.xml\n"
            "Options:\n"
            "  -a|--add image       Add image\n"
            "  -c|--connect uri     Specify libvirt URI for -d option\n"
            "  -d|--domain guest    Add disks from libvirt guest\n"
            "  --echo-keys          Show keys typed on the terminal\n"
            "  --format[=raw|..]    Force disk format for -a option\n"
            "  --each               Every image is a separate guest (one report each)\n"
            "  --shard I/N          With --each: only shard I of N of the images\n"
            "  --extra              Add the fields libguestfs does not print to the XML\n"
            "  --help               Display brief help\n"
            "  --json               Print the report as JSON instead of XML\n"
            "  --no-applications    Do not list the installed applications\n"
            "  --no-icon            Do not look for the guest's icon\n"
            "  --key ID:key:KEY     Key of a LUKS device (or ID:file:FILE)\n"
            "  --keys-from-stdin    Read LUKS keys from stdin\n"
            "  -v|--verbose         Verbose messages\n"
            "  -V|--version         Display version and exit\n"
            "  -x                   Trace each call to the appliance\n"
            "  --xpath QUERY        Print the result of an XPath query\n"
            "For more information, see the manpage %s(1).\n",
            program, program, program, program, program);
  exit (status);
}

/* One OS with its applications. */
struct report_os {
  gbox_inspected_os *os;
  gbox_application *apps;
  size_t nr_apps;
  bool have_apps;
  char *icon;
  size_t icon_len;
};

struct report {
  gbox_inspect_full_ret full;
  struct report_os *oses;
  size_t nr_oses;
};

static void
free_report (struct report *r)
{
  size_t i, j;

  for (i = 0; i < r->nr_oses; ++i) {
    for (j = 0; j < r->oses[i].nr_apps; ++j)
      xdr_free ((xdrproc_t) xdr_gbox_application,
                (char *) &r->oses[i].apps[j]);
    free (r->oses[i].apps);
    free (r->oses[i].icon);
  }
  free (r->oses);
  xdr_free ((xdrproc_t) xdr_gbox_inspect_full_ret, (char *) &r->full);
}

/* Print each distinct warning from the appliance once (the same
 * damaged file may be met by several procedures). */
static void
print_warnings (char **w, u_int n)
{
  static char *seen[256];
  static size_t nr_seen;
  u_int i;
  size_t j;

  for (i = 0; i < n; ++i) {
    for (j = 0; j < nr_seen; ++j)
      if (strcmp (seen[j], w[i]) == 0)
        break;
    if (j < nr_seen)
      continue;
    if (nr_seen < sizeof seen / sizeof seen[0])
      seen[nr_seen++] = strdup (w[i]);
    fprintf (stderr, "%s: warning: %s\n", program, w[i]);
  }
}

/* All pages of the applications of ROOT. */
static int
get_applications (gbox_h *h, struct report_os *ro)
{
  size_t alloc = 0;

  for (;;) {
    gbox_inspect_list_applications_ret ret;
    size_t count, i;

    memset (&ret, 0, sizeof ret);
    if (gbox_inspect_list_applications (h, ro->os->root, ro->nr_apps,
                                        &ret) == -1)
      return -1;
    print_warnings (ret.warnings.warnings_val, ret.warnings.warnings_len);
    count = ret.applications.applications_len;
    if ((count == 0 && ret.more) || count > APPS_MAX - ro->nr_apps) {
      fprintf (stderr, "%s: error: %s: bad application list from the "
               "appliance\n", program, ro->os->root);
      xdr_free ((xdrproc_t) xdr_gbox_inspect_list_applications_ret,
                (char *) &ret);
      return -1;
    }
    if (ro->nr_apps + count > alloc) {
      size_t na = alloc ? alloc : 256;
      gbox_application *p;
      while (na < ro->nr_apps + count)
        na *= 2;
      p = reallocarray (ro->apps, na, sizeof *p);
      if (p == NULL) {
        xdr_free ((xdrproc_t) xdr_gbox_inspect_list_applications_ret,
                  (char *) &ret);
        return -1;
      }
      ro->apps = p;
      alloc = na;
    }
    /* Take the entries over; free only the array. */
    for (i = 0; i < count; ++i)
      ro->apps[ro->nr_apps++] = ret.applications.applications_val[i];
    free (ret.applications.applications_val);
    ret.applications.applications_val = NULL;
    ret.applications.applications_len = 0;
    xdr_free ((xdrproc_t) xdr_gbox_inspect_list_applications_ret,
              (char *) &ret);
    if (!ret.more)
      break;
  }
  ro->have_apps = true;
  return 0;
}

/* Replace what is not valid UTF-8, and control characters (but the
 * newlines of multi-line text), with '?' (error messages and image
 * names before they go into a report; the library cleans what the
 * appliance sends). */
static void
sanitize (char *s, bool multiline)
{
  unsigned char *p = (unsigned char *) s;

  while (p && *p) {
    size_t l = 0, i;
    uint32_t c = 0;

    if (*p < 0x80) {
      if ((*p < 0x20 && !(multiline && (*p == '\n' || *p == '\t'))) ||
          *p == 0x7f)
        *p = '?';
      p++;
      continue;
    }
    if (*p >= 0xc2 && *p <= 0xdf) { l = 2; c = *p & 0x1f; }
    else if (*p >= 0xe0 && *p <= 0xef) { l = 3; c = *p & 0x0f; }
    else if (*p >= 0xf0 && *p <= 0xf4) { l = 4; c = *p & 0x07; }
    for (i = 1; l && i < l; ++i) {
      if ((p[i] & 0xc0) != 0x80) {
        l = 0;
        break;
      }
      c = (c << 6) | (p[i] & 0x3f);
    }
    if (l == 0 || (l == 3 && (c < 0x800 || (c >= 0xd800 && c <= 0xdfff) ||
                              c == 0xfffe || c == 0xffff)) ||
        (l == 4 && (c < 0x10000 || c > 0x10ffff))) {
      *p++ = '?';
      continue;
    }
    p += l;
  }
}

/* libguestfs's orders: mountpoints by length then name, filesystems
 * by name, drive letters case-insensitively. */
static int
compare_mp (const void *a, const void *b)
{
  const gbox_mountpoint *x = a, *y = b;
  size_t lx = strlen (x->mountpoint), ly = strlen (y->mountpoint);

  if (lx != ly)
    return lx < ly ? -1 : 1;
  return strcmp (x->mountpoint, y->mountpoint);
}

static int
compare_fs (const void *a, const void *b)
{
  return strcmp (((const gbox_filesystem *) a)->device,
                 ((const gbox_filesystem *) b)->device);
}

static int
compare_dm (const void *a, const void *b)
{
  return strcasecmp (((const gbox_drive_mapping *) a)->letter,
                     ((const gbox_drive_mapping *) b)->letter);
}

static void
sort_os (gbox_inspected_os *os)
{
  if (os->mountpoints.mountpoints_len > 1)
    qsort (os->mountpoints.mountpoints_val, os->mountpoints.mountpoints_len,
           sizeof (gbox_mountpoint), compare_mp);
  if (os->filesystems.filesystems_len > 1)
    qsort (os->filesystems.filesystems_val, os->filesystems.filesystems_len,
           sizeof (gbox_filesystem), compare_fs);
  if (os->drive_mappings.drive_mappings_len > 1)
    qsort (os->drive_mappings.drive_mappings_val,
           os->drive_mappings.drive_mappings_len,
           sizeof (gbox_drive_mapping), compare_dm);
}

static int
get_icon (gbox_h *h, struct report_os *ro)
{
  struct gbox_inspect_get_icon_ret ret;

  memset (&ret, 0, sizeof ret);
  if (gbox_inspect_get_icon (h, ro->os->root, &ret) == -1)
    return -1;
  /* Taken over: freed with the report. */
  ro->icon = ret.icon.icon_val;
  ro->icon_len = ret.icon.icon_len;
  return 0;
}

/* The report of every OS the appliance finds (DISK < 0), or of those
 * of disk number DISK alone (--each). */
static int
gather (gbox_h *h, struct report *r, const struct settings *st, int disk)
{
  size_t i;

  if (disk < 0) {
    if (gbox_inspect_full (h, &r->full) == -1)
      return -1;
  }
  else if (gbox_inspect_full_disk (h, disk, &r->full) == -1)
    return -1;
  print_warnings (r->full.warnings.warnings_val,
                  r->full.warnings.warnings_len);
  r->nr_oses = r->full.oses.oses_len;
  r->oses = calloc (r->nr_oses ? r->nr_oses : 1, sizeof *r->oses);
  if (r->oses == NULL)
    return -1;
  for (i = 0; i < r->nr_oses; ++i) {
    r->oses[i].os = &r->full.oses.oses_val[i];
    if (st->applications && get_applications (h, &r->oses[i]) == -1)
      return -1;
    if (st->icon && !st->json && get_icon (h, &r->oses[i]) == -1)
      return -1;
    sort_os (r->oses[i].os);
  }
  return 0;
}

/* Fields printed when set (libguestfs prints none of "unknown"). */
static bool
is_set (const char *s)
{
  return s && s[0] && strcmp (s, "unknown") != 0;
}

/* XML. */

#define W(call) do { if ((call) < 0) return -1; } while (0)

static int
write_text (xmlTextWriterPtr w, const char *name, const char *value)
{
  if (!is_set (value))
    return 0;
  W (xmlTextWriterWriteElement (w, BAD_CAST name, BAD_CAST value));
  return 0;
}

/* Application fields: printed when not empty (even "unknown"). */
static int
write_field (xmlTextWriterPtr w, const char *name, const char *value)
{
  if (value == NULL || value[0] == '\0')
    return 0;
  W (xmlTextWriterWriteElement (w, BAD_CAST name, BAD_CAST value));
  return 0;
}

static int
write_int (xmlTextWriterPtr w, const char *name, int value)
{
  W (xmlTextWriterWriteFormatElement (w, BAD_CAST name, "%d", value));
  return 0;
}

/* The fields of libguestfs 1.48's report; with EXTRA, also the
 * publisher and source package wherever we know them. */
static int
write_app_xml (xmlTextWriterPtr w, const gbox_application *a,
               const gbox_inspected_os *os, bool extra)
{
  bool windows = strcmp (os->type, "windows") == 0;
  bool deb = strcmp (os->package_format, "deb") == 0;

  W (xmlTextWriterStartElement (w, BAD_CAST "application"));
  W (write_field (w, "name", a->name));
  W (write_field (w, "display_name", a->display_name));
  if (a->epoch != 0)
    W (write_int (w, "epoch", a->epoch));
  W (write_field (w, "version", a->app_version));
  W (write_field (w, "release", a->release));
  W (write_field (w, "arch", a->arch));
  W (write_field (w, "install_path", a->install_path));
  if (windows || extra)
    W (write_field (w, "publisher", a->publisher));
  W (write_field (w, "url", a->url));
  if (deb || extra)
    W (write_field (w, "source_package", a->source_package));
  W (write_field (w, "summary", a->summary));
  W (write_field (w, "description", a->description));
  W (xmlTextWriterEndElement (w));
  return 0;
}

static int
write_os_xml (xmlTextWriterPtr w, const struct report_os *ro,
              const struct settings *st)
{
  const gbox_inspected_os *os = ro->os;
  size_t i;
  bool windows = strcmp (os->type, "windows") == 0;

  W (xmlTextWriterStartElement (w, BAD_CAST "operatingsystem"));
  W (write_text (w, "root", os->root));
  W (write_text (w, "name", os->type));
  W (write_text (w, "arch", os->arch));
  W (write_text (w, "distro", os->distro));
  W (write_text (w, "product_name", os->product_name));
  W (write_text (w, "product_variant", os->product_variant));
  W (write_int (w, "major_version", os->major_version));
  W (write_int (w, "minor_version", os->minor_version));
  W (write_text (w, "package_format", os->package_format));
  W (write_text (w, "package_management", os->package_management));
  if (windows) {
    W (write_field (w, "windows_systemroot", os->windows_systemroot));
    W (write_field (w, "windows_current_control_set",
                    os->windows_current_control_set));
  }
  W (write_text (w, "hostname", os->hostname));
  W (write_text (w, "osinfo", os->osinfo));
  if (st->extra)
    W (write_text (w, "build_id", os->build_id));

  W (xmlTextWriterStartElement (w, BAD_CAST "mountpoints"));
  for (i = 0; i < os->mountpoints.mountpoints_len; ++i) {
    const gbox_mountpoint *m = &os->mountpoints.mountpoints_val[i];
    W (xmlTextWriterStartElement (w, BAD_CAST "mountpoint"));
    W (xmlTextWriterWriteAttribute (w, BAD_CAST "dev", BAD_CAST m->device));
    W (xmlTextWriterWriteString (w, BAD_CAST m->mountpoint));
    W (xmlTextWriterEndElement (w));
  }
  W (xmlTextWriterEndElement (w));

  W (xmlTextWriterStartElement (w, BAD_CAST "filesystems"));
  for (i = 0; i < os->filesystems.filesystems_len; ++i) {
    const gbox_filesystem *f = &os->filesystems.filesystems_val[i];
    W (xmlTextWriterStartElement (w, BAD_CAST "filesystem"));
    W (xmlTextWriterWriteAttribute (w, BAD_CAST "dev", BAD_CAST f->device));
    W (write_text (w, "type", f->type));
    W (write_field (w, "label", f->label));
    W (write_field (w, "uuid", f->uuid));
    W (xmlTextWriterEndElement (w));
  }
  W (xmlTextWriterEndElement (w));

  if (os->drive_mappings.drive_mappings_len > 0) {
    W (xmlTextWriterStartElement (w, BAD_CAST "drive_mappings"));
    for (i = 0; i < os->drive_mappings.drive_mappings_len; ++i) {
      const gbox_drive_mapping *d = &os->drive_mappings.drive_mappings_val[i];
      W (xmlTextWriterStartElement (w, BAD_CAST "drive_mapping"));
      W (xmlTextWriterWriteAttribute (w, BAD_CAST "name", BAD_CAST d->letter));
      W (xmlTextWriterWriteString (w, BAD_CAST d->device));
      W (xmlTextWriterEndElement (w));
    }
    W (xmlTextWriterEndElement (w));
  }

  if (ro->have_apps) {
    W (xmlTextWriterStartElement (w, BAD_CAST "applications"));
    for (i = 0; i < ro->nr_apps; ++i)
      W (write_app_xml (w, &ro->apps[i], os, st->extra));
    W (xmlTextWriterEndElement (w));
  }
  if (ro->icon_len > 0) {
    W (xmlTextWriterStartElement (w, BAD_CAST "icon"));
    W (xmlTextWriterWriteBase64 (w, ro->icon, 0, ro->icon_len));
    W (xmlTextWriterEndElement (w));
  }
  W (xmlTextWriterEndElement (w));
  return 0;
}

/* The XML report in a buffer (free with xmlBufferFree), or NULL.
 * COMMENT, if not NULL, goes before the root element. */
static xmlBufferPtr
report_xml (const struct report *r, const struct settings *st,
            const char *comment)
{
  xmlBufferPtr buf = xmlBufferCreate ();
  xmlTextWriterPtr w;
  size_t i;
  int ok = 0;

  if (buf == NULL)
    return NULL;
  w = xmlNewTextWriterMemory (buf, 0);
  if (w == NULL) {
    xmlBufferFree (buf);
    return NULL;
  }
  if (xmlTextWriterSetIndent (w, 1) >= 0 &&
      xmlTextWriterSetIndentString (w, BAD_CAST "  ") >= 0 &&
      xmlTextWriterStartDocument (w, NULL, NULL, NULL) >= 0 &&
      (comment == NULL || xmlTextWriterWriteComment (w, BAD_CAST comment) >= 0) &&
      xmlTextWriterStartElement (w, BAD_CAST "operatingsystems") >= 0) {
    ok = 1;
    for (i = 0; ok && i < r->nr_oses; ++i)
      ok = write_os_xml (w, &r->oses[i], st) == 0;
    ok = ok && xmlTextWriterEndElement (w) >= 0 &&
      xmlTextWriterEndDocument (w) >= 0;
  }
  xmlFreeTextWriter (w);        /* flushes into buf */
  if (!ok) {
    xmlBufferFree (buf);
    return NULL;
  }
  return buf;
}

/* JSON. */

/* The separators of one JSON layout: pretty (one report) or compact
 * (JSON Lines, --each). */
struct jfmt {
  bool compact;
};

static void
json_nl (FILE *fp, const struct jfmt *jf, const char *indent)
{
  if (!jf->compact)
    fprintf (fp, "\n%s", indent);
}

/* "key": "value" (only when set), with the separator handling. */
static void
json_field (FILE *fp, const struct jfmt *jf, bool *first, const char *indent,
            const char *key, const char *value)
{
  if (!is_set (value))
    return;
  fputs (*first ? "" : ",", fp);
  json_nl (fp, jf, indent);
  fprintf (fp, "\"%s\":%s", key, jf->compact ? "" : " ");
  gbox_json_write_string (fp, value);
  *first = false;
}

static void
json_int (FILE *fp, const struct jfmt *jf, bool *first, const char *indent,
          const char *key, int v)
{
  fputs (*first ? "" : ",", fp);
  json_nl (fp, jf, indent);
  fprintf (fp, "\"%s\":%s%d", key, jf->compact ? "" : " ", v);
  *first = false;
}

static void
write_os_json (FILE *fp, const struct jfmt *jf, const struct report_os *ro)
{
  const gbox_inspected_os *os = ro->os;
  const char *in = "      ";
  const char *sp = jf->compact ? "" : " ";
  bool first = true;
  size_t i;

  fputs (jf->compact ? "{" : "    {", fp);
  json_field (fp, jf, &first, in, "root", os->root);
  json_field (fp, jf, &first, in, "name", os->type);
  json_field (fp, jf, &first, in, "arch", os->arch);
  json_field (fp, jf, &first, in, "distro", os->distro);
  json_field (fp, jf, &first, in, "product_name", os->product_name);
  json_field (fp, jf, &first, in, "product_variant", os->product_variant);
  json_int (fp, jf, &first, in, "major_version", os->major_version);
  json_int (fp, jf, &first, in, "minor_version", os->minor_version);
  if (strcmp (os->type, "windows") == 0) {
    json_field (fp, jf, &first, in, "windows_systemroot",
                os->windows_systemroot);
    json_field (fp, jf, &first, in, "windows_current_control_set",
                os->windows_current_control_set);
  }
  json_field (fp, jf, &first, in, "package_format", os->package_format);
  json_field (fp, jf, &first, in, "package_management",
              os->package_management);
  json_field (fp, jf, &first, in, "hostname", os->hostname);
  json_field (fp, jf, &first, in, "build_id", os->build_id);
  json_field (fp, jf, &first, in, "osinfo", os->osinfo);

  fputs (",", fp);
  json_nl (fp, jf, in);
  fprintf (fp, "\"mountpoints\":%s[", sp);
  for (i = 0; i < os->mountpoints.mountpoints_len; ++i) {
    const gbox_mountpoint *m = &os->mountpoints.mountpoints_val[i];
    fputs (i ? "," : "", fp);
    json_nl (fp, jf, "        ");
    fprintf (fp, "{%s\"dev\":%s", sp, sp);
    gbox_json_write_string (fp, m->device);
    fprintf (fp, ",%s\"mountpoint\":%s", sp, sp);
    gbox_json_write_string (fp, m->mountpoint);
    fprintf (fp, "%s}", sp);
  }
  if (i)
    json_nl (fp, jf, in);
  fputs ("]", fp);

  fputs (",", fp);
  json_nl (fp, jf, in);
  fprintf (fp, "\"filesystems\":%s[", sp);
  for (i = 0; i < os->filesystems.filesystems_len; ++i) {
    const gbox_filesystem *f = &os->filesystems.filesystems_val[i];
    bool ff = false;
    fputs (i ? "," : "", fp);
    json_nl (fp, jf, "        ");
    fputs ("{", fp);
    json_nl (fp, jf, "          ");
    fprintf (fp, "\"dev\":%s", sp);
    gbox_json_write_string (fp, f->device);
    json_field (fp, jf, &ff, "          ", "type", f->type);
    json_field (fp, jf, &ff, "          ", "label", f->label);
    json_field (fp, jf, &ff, "          ", "uuid", f->uuid);
    json_nl (fp, jf, "        ");
    fputs ("}", fp);
  }
  if (i)
    json_nl (fp, jf, in);
  fputs ("]", fp);

  if (os->drive_mappings.drive_mappings_len > 0) {
    fputs (",", fp);
    json_nl (fp, jf, in);
    fprintf (fp, "\"drive_mappings\":%s[", sp);
    for (i = 0; i < os->drive_mappings.drive_mappings_len; ++i) {
      const gbox_drive_mapping *d = &os->drive_mappings.drive_mappings_val[i];
      fputs (i ? "," : "", fp);
      json_nl (fp, jf, "        ");
      fprintf (fp, "{%s\"name\":%s", sp, sp);
      gbox_json_write_string (fp, d->letter);
      fprintf (fp, ",%s\"dev\":%s", sp, sp);
      gbox_json_write_string (fp, d->device);
      fprintf (fp, "%s}", sp);
    }
    json_nl (fp, jf, in);
    fputs ("]", fp);
  }

  if (ro->have_apps) {
    fputs (",", fp);
    json_nl (fp, jf, in);
    fprintf (fp, "\"applications\":%s[", sp);
    for (i = 0; i < ro->nr_apps; ++i) {
      const gbox_application *a = &ro->apps[i];
      const char *ai = "          ";
      bool af = true;
      fputs (i ? "," : "", fp);
      json_nl (fp, jf, "        ");
      fputs ("{", fp);
      json_field (fp, jf, &af, ai, "name", a->name);
      json_field (fp, jf, &af, ai, "display_name", a->display_name);
      if (a->epoch)
        json_int (fp, jf, &af, ai, "epoch", a->epoch);
      json_field (fp, jf, &af, ai, "version", a->app_version);
      json_field (fp, jf, &af, ai, "release", a->release);
      json_field (fp, jf, &af, ai, "arch", a->arch);
      json_field (fp, jf, &af, ai, "install_path", a->install_path);
      json_field (fp, jf, &af, ai, "publisher", a->publisher);
      json_field (fp, jf, &af, ai, "url", a->url);
      json_field (fp, jf, &af, ai, "source_package", a->source_package);
      json_field (fp, jf, &af, ai, "summary", a->summary);
      json_field (fp, jf, &af, ai, "description", a->description);
      json_nl (fp, jf, "        ");
      fputs ("}", fp);
    }
    if (i)
      json_nl (fp, jf, in);
    fputs ("]", fp);
  }
  json_nl (fp, jf, "    ");
  fputs ("}", fp);
}

/* One report: pretty, or (IMAGE set, --each) one line with the image
 * name first. */
static void
report_json (FILE *fp, const struct report *r, const char *image)
{
  struct jfmt jf = { .compact = image != NULL };
  size_t i;

  if (image) {
    fputs ("{\"image\":", fp);
    gbox_json_write_string (fp, image);
    fputs (",\"operatingsystems\":[", fp);
  }
  else
    fputs ("{\n  \"operatingsystems\": [", fp);
  for (i = 0; i < r->nr_oses; ++i) {
    if (jf.compact)
      fputs (i ? "," : "", fp);
    else
      fputs (i ? ",\n" : "\n", fp);
    write_os_json (fp, &jf, &r->oses[i]);
  }
  if (jf.compact)
    fputs ("]}\n", fp);
  else
    fprintf (fp, "%s]\n}\n", r->nr_oses ? "\n  " : "");
}

static void
silent_errors (void *opaque, xmlErrorPtr err)
{
}

/* XPath over a document, printed as libguestfs's virt-inspector
 * prints it: each node of a node set as its own document without the
 * XML declaration (attributes as ' name="value"', text as it is), a
 * string as it is with a newline unless empty or already ending in
 * one, anything else as XPath's string value and a newline. */
static int
run_xpath (xmlDocPtr doc, const char *query)
{
  xmlXPathContextPtr ctx;
  xmlXPathObjectPtr obj;
  int i, ret = 0;

  /* Our own one-line message instead of libxml2's. */
  xmlSetStructuredErrorFunc (NULL, silent_errors);
  ctx = xmlXPathNewContext (doc);
  if (ctx == NULL)
    return -1;
  obj = xmlXPathEvalExpression (BAD_CAST query, ctx);
  if (obj == NULL) {
    fprintf (stderr, "%s: error: --xpath: %s: invalid XPath expression\n",
             program, query);
    xmlXPathFreeContext (ctx);
    return -1;
  }
  fflush (stdout);
  switch (obj->type) {
  case XPATH_NODESET: {
    xmlSaveCtxtPtr save;

    if (obj->nodesetval == NULL)
      break;
    save = xmlSaveToFd (STDOUT_FILENO, NULL,
                        XML_SAVE_NO_DECL | XML_SAVE_FORMAT);
    if (save == NULL) {
      ret = -1;
      break;
    }
    for (i = 0; i < obj->nodesetval->nodeNr; ++i) {
      xmlDocPtr one = xmlNewDoc (BAD_CAST "1.0");
      xmlNodePtr n;

      if (one == NULL ||
          (n = xmlDocCopyNode (obj->nodesetval->nodeTab[i], one, 1)) == NULL) {
        xmlFreeDoc (one);
        ret = -1;
        break;
      }
      xmlDocSetRootElement (one, n);
      if (xmlSaveDoc (save, one) == -1)
        ret = -1;
      xmlFreeDoc (one);
    }
    xmlSaveClose (save);
    break;
  }
  case XPATH_STRING: {
    const char *str = (const char *) obj->stringval;
    size_t l = strlen (str);
    printf ("%s%s", str, l > 0 && str[l - 1] != '\n' ? "\n" : "");
    break;
  }
  default: {
    xmlChar *str = xmlXPathCastToString (obj);
    printf ("%s\n", str ? (const char *) str : "");
    xmlFree (str);
  }
  }
  xmlXPathFreeObject (obj);
  xmlXPathFreeContext (ctx);
  return ret;
}

/* --xpath without -a: the report comes on stdin. */
static int
xpath_stdin (const char *query)
{
  xmlDocPtr doc;
  int r;

  doc = xmlReadFd (STDIN_FILENO, NULL, "utf8", XML_PARSE_NONET |
                   XML_PARSE_NOBLANKS | XML_PARSE_NOERROR |
                   XML_PARSE_NOWARNING);
  if (doc == NULL) {
    fprintf (stderr, "%s: error: --xpath: standard input is not an XML "
             "document\n", program);
    return -1;
  }
  r = run_xpath (doc, query);
  xmlFreeDoc (doc);
  return r;
}

static int
check_stdout (void)
{
  if (fflush (stdout) == EOF || ferror (stdout)) {
    fprintf (stderr, "%s: error: standard output: %s\n", program,
             strerror (errno));
    return -1;
  }
  return 0;
}

/* Print one report (IMAGE: --each). */
static int
print_report (const struct report *r, const struct settings *st,
              const char *image)
{
  xmlBufferPtr buf;
  int ret = -1;

  if (st->json) {
    report_json (stdout, r, image);
    return check_stdout ();
  }
  {
    CLEANUP_FREE char *comment = NULL;
    if (image) {
      /* A comment may not hold "--". */
      char *p;
      if (asprintf (&comment, " image: %s ", image) == -1)
        return -1;
      for (p = comment; (p = strstr (p, "--")) != NULL; )
        p[1] = '_';
      sanitize (comment, false);
    }
    buf = report_xml (r, st, comment);
  }
  if (buf == NULL) {
    fprintf (stderr, "%s: error: cannot write the XML report\n", program);
    return -1;
  }
  if (st->xpath) {
    xmlDocPtr doc = xmlReadMemory ((const char *) xmlBufferContent (buf),
                                   xmlBufferLength (buf), NULL, "utf8",
                                   XML_PARSE_NONET | XML_PARSE_NOBLANKS);
    if (doc) {
      ret = run_xpath (doc, st->xpath);
      xmlFreeDoc (doc);
    }
  }
  else {
    fwrite (xmlBufferContent (buf), 1, xmlBufferLength (buf), stdout);
    ret = 0;
  }
  xmlBufferFree (buf);
  if (check_stdout () == -1)
    ret = -1;
  return ret;
}

static int
do_inspector (gbox_h *h, const struct settings *st)
{
  struct report r;
  int ret = -1;

  memset (&r, 0, sizeof r);
  if (gather (h, &r, st, -1) == -1) {
    if (gbox_last_error (h))
      fprintf (stderr, "%s: error: %s\n", program, gbox_last_error (h));
    goto out;
  }
  ret = print_report (&r, st, NULL);
 out:
  free_report (&r);
  return ret;
}

/* --each: the images of one appliance, each seeing its own disk as
 * /dev/sda. */
#define EACH_MAX_DISKS 255

/* "/dev/sdX..." (or "btrfsvol:/dev/sdX...") of disk OFFSET renamed to
 * disk 0. */
static void
rename_dev (char **dev, size_t offset)
{
  const char *s = *dev, *prefix = "";
  const char *p, *q;
  size_t idx = 0;
  char *r;

  if (offset == 0)
    return;
  if (strncmp (s, "btrfsvol:", 9) == 0) {
    prefix = "btrfsvol:";
    s += 9;
  }
  if (strncmp (s, "/dev/sd", 7) != 0)
    return;
  p = s + 7;
  for (q = p; *q >= 'a' && *q <= 'z'; ++q)
    idx = idx * 26 + (*q - 'a' + 1);
  if (q == p || q - p > 4 || idx - 1 != offset)
    return;
  if (asprintf (&r, "%s/dev/sda%s", prefix, q) == -1)
    return;
  free (*dev);
  *dev = r;
}

static void
rename_report (struct report *r, size_t disk)
{
  size_t i, j;

  for (i = 0; i < r->nr_oses; ++i) {
    gbox_inspected_os *os = r->oses[i].os;
    rename_dev (&os->root, disk);
    for (j = 0; j < os->mountpoints.mountpoints_len; ++j)
      rename_dev (&os->mountpoints.mountpoints_val[j].device, disk);
    for (j = 0; j < os->filesystems.filesystems_len; ++j)
      rename_dev (&os->filesystems.filesystems_val[j].device, disk);
    for (j = 0; j < os->drive_mappings.drive_mappings_len; ++j)
      rename_dev (&os->drive_mappings.drive_mappings_val[j].device, disk);
    sort_os (os);
  }
}

/* An image that failed: a JSON record or an error line. */
static void
each_error (const struct settings *st, const char *image, const char *msg)
{
  CLEANUP_FREE char *m = strdup (msg ? msg : "failed");

  if (m)
    sanitize (m, false);
  msg = m ? m : "failed";
  if (st->json) {
    fputs ("{\"image\":", stdout);
    gbox_json_write_string (stdout, image);
    fputs (",\"error\":", stdout);
    gbox_json_write_string (stdout, msg);
    fputs ("}\n", stdout);
    fflush (stdout);
  }
  /* Most messages name the image already. */
  if (strncmp (msg, image, strlen (image)) == 0)
    fprintf (stderr, "%s: error: %s\n", program, msg);
  else
    fprintf (stderr, "%s: error: %s: %s\n", program, image, msg);
}

/* Inspect the images FIRST..FIRST+COUNT-1 with one appliance.
 * Returns the number of images that failed.  An image fails only
 * alone: if the appliance does not start, the image qemu refused (when
 * it names one) is inspected alone and those before and after it
 * together again, else each half again; if the appliance dies or a
 * call times out while an image is inspected, that image is inspected
 * again alone and the images after it with another appliance.  The
 * reports come out in the order of the images. */
static size_t
each_batch (struct gbox_opts *o, const struct settings *st, size_t first,
            size_t count)
{
  gbox_h *h;
  size_t *disk_of_image, k, ndisks = 0, failed = 0;
  char **add_error;

  if (count == 0)
    return 0;
  disk_of_image = calloc (count, sizeof *disk_of_image);
  add_error = calloc (count, sizeof *add_error);
  if (disk_of_image == NULL || add_error == NULL) {
    perror (program);
    exit (EXIT_FAILURE);
  }
  h = gbox_opts_new_handle (o);
  /* An image that cannot be added (missing, unreadable, refused
   * format) fails alone. */
  for (k = 0; k < count; ++k) {
    const struct gbox_opts_drive *dr = &o->drives[first + k];
    if (gbox_add_drive (h, dr->source, dr->format, 1) == -1) {
      add_error[k] = strdup (gbox_last_error (h) ? gbox_last_error (h)
                             : "cannot add the image");
      disk_of_image[k] = SIZE_MAX;
      continue;
    }
    disk_of_image[k] = ndisks++;
    if (dr->blocksize &&
        gbox_drive_set_blocksize (h, disk_of_image[k], dr->blocksize) == -1)
      add_error[k] = strdup (gbox_last_error (h) ? gbox_last_error (h)
                             : "--blocksize");
  }
  if (ndisks > 0 && gbox_launch (h) == -1) {
    const char *err = gbox_last_error (h);
    int bad = gbox_launch_failed_drive (h);

    if (count > 1) {
      gbox_close (h);
      h = NULL;
      for (k = 0; bad >= 0 && k < count; ++k)
        if (disk_of_image[k] == (size_t) bad)
          break;
      if (bad >= 0 && k < count) {
        if (o->verbose)
          fprintf (stderr, "%s: debug: %zu images failed together: "
                   "inspecting %s alone, then the others\n", program, count,
                   o->drives[first + k].source);
        failed = each_batch (o, st, first, k);
        failed += each_batch (o, st, first + k, 1);
        failed += each_batch (o, st, first + k + 1, count - k - 1);
      }
      else {
        failed = each_batch (o, st, first, count / 2);
        failed += each_batch (o, st, first + count / 2, count - count / 2);
      }
      goto out;
    }
    for (k = 0; k < count; ++k) {
      each_error (st, o->drives[first + k].source,
                  add_error[k] ? add_error[k] : err);
      failed++;
    }
    goto out;
  }
  for (k = 0; k < count; ++k) {
    const char *image = o->drives[first + k].source;
    struct report r;

    if (add_error[k]) {
      each_error (st, image, add_error[k]);
      failed++;
      continue;
    }
    memset (&r, 0, sizeof r);
    if (gather (h, &r, st, disk_of_image[k]) == 0) {
      rename_report (&r, disk_of_image[k]);
      if (print_report (&r, st, image) == -1)
        failed++;
    }
    else if (count > 1 && !gbox_is_alive (h)) {
      /* The appliance is gone while this image was inspected (it
       * died, or a call timed out): this image alone, then the
       * images after it with another appliance. */
      if (o->verbose)
        fprintf (stderr, "%s: debug: %s: %s: inspecting it alone, then "
                 "the images after it\n", program, image,
                 gbox_last_error (h));
      free_report (&r);
      gbox_close (h);
      h = NULL;
      failed += each_batch (o, st, first + k, 1);
      failed += each_batch (o, st, first + k + 1, count - k - 1);
      goto out;
    }
    else {
      each_error (st, image, gbox_last_error (h));
      failed++;
    }
    free_report (&r);
  }
 out:
  for (k = 0; k < count; ++k)
    free (add_error[k]);
  free (add_error);
  free (disk_of_image);
  if (h)
    gbox_close (h);
  return failed;
}

static int
do_each (struct gbox_opts *o, const struct settings *st)
{
  size_t i, failed = 0;

  for (i = 0; i < o->nr_drives; i += EACH_MAX_DISKS) {
    size_t n = o->nr_drives - i < EACH_MAX_DISKS ? o->nr_drives - i
      : EACH_MAX_DISKS;
    failed += each_batch (o, st, i, n);
  }
  return failed ? -1 : 0;
}

int
main (int argc, char *argv[])
{
  static const char short_options[] = "a:c:d:vVx";
  static const struct option long_options[] = {
    { "add", required_argument, NULL, 'a' },
    { "blocksize", required_argument, NULL, GBOX_OPT_BLOCKSIZE },
    { "each", no_argument, NULL, OPT_EACH },
    { "shard", required_argument, NULL, OPT_SHARD },
    { "extra", no_argument, NULL, OPT_EXTRA },
    { "format", optional_argument, NULL, GBOX_OPT_FORMAT },
    { "help", no_argument, NULL, GBOX_OPT_HELP },
    { "json", no_argument, NULL, OPT_JSON },
    { "long-options", no_argument, NULL, GBOX_OPT_LONG_OPTIONS },
    { "no-applications", no_argument, NULL, OPT_NO_APPLICATIONS },
    { "no-icon", no_argument, NULL, OPT_NO_ICON },
    { "short-options", no_argument, NULL, GBOX_OPT_SHORT_OPTIONS },
    { "verbose", no_argument, NULL, 'v' },
    { "version", no_argument, NULL, 'V' },
    { "xpath", required_argument, NULL, OPT_XPATH },
    GBOX_OPTS_KEYS_LONG,
    GBOX_OPTS_LIBVIRT_LONG,
    { NULL, 0, NULL, 0 }
  };
  struct gbox_opts o;
  struct settings st = { .applications = true, .icon = true };
  gbox_h *h;
  int c, r;
  bool each = false;
  unsigned shard = 0, nr_shards = 0;

  gbox_opts_init (&o, program, short_options, long_options, true);
  gbox_opts_set_argv (&o, argc, argv);

  while ((c = getopt_long (argc, argv, short_options, long_options,
                           NULL)) != -1) {
    r = gbox_opts_handle (&o, c, optarg);
    if (r == 1)
      continue;
    if (r == -1)
      usage (EXIT_FAILURE);
    switch (c) {
    case OPT_JSON:
      st.json = true;
      break;
    case OPT_XPATH:
      st.xpath = optarg;
      break;
    case OPT_NO_APPLICATIONS:
      st.applications = false;
      break;
    case OPT_NO_ICON:
      st.icon = false;
      break;
    case OPT_EXTRA:
      st.extra = true;
      break;
    case OPT_EACH:
      each = true;
      break;
    case OPT_SHARD:
      if (gbox_opts_parse_shard (program, optarg, &shard, &nr_shards) == -1)
        usage (EXIT_FAILURE);
      break;
    case GBOX_OPT_HELP:
      usage (EXIT_SUCCESS);
    default:
      usage (EXIT_FAILURE);
    }
  }

  /* --each IMAGE...: the images may follow without -a. */
  if (each)
    for (; optind < argc; optind++)
      if (gbox_opts_handle (&o, 'a', argv[optind]) != 1)
        usage (EXIT_FAILURE);
  if (optind < argc) {
    fprintf (stderr, "%s: error: extra argument on the command line: %s\n",
             program, argv[optind]);
    usage (EXIT_FAILURE);
  }
  if (nr_shards && !each) {
    fprintf (stderr, "%s: error: --shard goes with --each\n", program);
    usage (EXIT_FAILURE);
  }
  if (st.json && st.xpath) {
    fprintf (stderr, "%s: error: --json and --xpath cannot be used "
             "together\n", program);
    usage (EXIT_FAILURE);
  }
  if (st.xpath && o.nr_drives == 0) {
    if (!o.format_consumed) {
      gbox_opts_check (&o);
      usage (EXIT_FAILURE);
    }
    r = xpath_stdin (st.xpath);
    gbox_opts_free (&o);
    xmlCleanupParser ();
    exit (r == 0 ? EXIT_SUCCESS : EXIT_FAILURE);
  }
  if (gbox_opts_check (&o) == -1)
    usage (EXIT_FAILURE);

  /* ^C, kill, hang-up: no qemu or temp dir is left behind. */
  gbox_install_signal_handlers ();

  if (each) {
    /* --shard: this shard's images only (none is not an error). */
    if (nr_shards)
      gbox_opts_keep_shard (&o, shard, nr_shards);
    r = do_each (&o, &st);
    gbox_opts_free (&o);
    xmlCleanupParser ();
    exit (r == 0 ? EXIT_SUCCESS : EXIT_FAILURE);
  }

  h = gbox_opts_new_handle (&o);

  if (gbox_opts_add_drives (h, &o, 1) == -1 || gbox_launch (h) == -1 ||
      gbox_opts_storage (h, &o) == -1) {
    gbox_opts_print_error (&o, h);
    gbox_close (h);
    gbox_opts_free (&o);
    exit (EXIT_FAILURE);
  }

  r = do_inspector (h, &st);

  gbox_close (h);
  gbox_opts_free (&o);
  xmlCleanupParser ();
  exit (r == 0 ? EXIT_SUCCESS : EXIT_FAILURE);
}
