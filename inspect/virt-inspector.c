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
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdbool.h>
#include <unistd.h>

#include <libxml/xmlwriter.h>
#include <libxml/parser.h>
#include <libxml/xpath.h>

#include "guestbox.h"
#include "options.h"

static const char program[] = "virt-inspector";

/* Most applications gathered for one OS. */
#define APPS_MAX 10000000

enum {
  OPT_JSON = GBOX_OPT_FIRST_FREE,
  OPT_XPATH,
  OPT_NO_APPLICATIONS,
  OPT_NO_ICON,
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
            "  %s --xpath QUERY < report.xml\n"
            "Options:\n"
            "  -a|--add image       Add image\n"
            "  --echo-keys          Show keys typed on the terminal\n"
            "  --format[=raw|..]    Force disk format for -a option\n"
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
            program, program, program, program);
  exit (status);
}

/* One OS with its applications. */
struct report_os {
  gbox_inspected_os *os;
  gbox_application *apps;
  size_t nr_apps;
  bool have_apps;
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

static int
gather (gbox_h *h, struct report *r, bool applications)
{
  size_t i;

  if (gbox_inspect_full (h, &r->full) == -1)
    return -1;
  print_warnings (r->full.warnings.warnings_val,
                  r->full.warnings.warnings_len);
  r->nr_oses = r->full.oses.oses_len;
  r->oses = calloc (r->nr_oses ? r->nr_oses : 1, sizeof *r->oses);
  if (r->oses == NULL)
    return -1;
  for (i = 0; i < r->nr_oses; ++i) {
    r->oses[i].os = &r->full.oses.oses_val[i];
    if (applications && get_applications (h, &r->oses[i]) == -1)
      return -1;
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

static int
write_int (xmlTextWriterPtr w, const char *name, int value)
{
  W (xmlTextWriterWriteFormatElement (w, BAD_CAST name, "%d", value));
  return 0;
}

static int
write_app_xml (xmlTextWriterPtr w, const gbox_application *a)
{
  W (xmlTextWriterStartElement (w, BAD_CAST "application"));
  W (write_text (w, "name", a->name));
  W (write_text (w, "display_name", a->display_name));
  if (a->epoch != 0)
    W (write_int (w, "epoch", a->epoch));
  W (write_text (w, "version", a->app_version));
  W (write_text (w, "release", a->release));
  W (write_text (w, "arch", a->arch));
  W (write_text (w, "publisher", a->publisher));
  W (write_text (w, "url", a->url));
  W (write_text (w, "source_package", a->source_package));
  W (write_text (w, "summary", a->summary));
  W (write_text (w, "description", a->description));
  W (xmlTextWriterEndElement (w));
  return 0;
}

static int
write_os_xml (xmlTextWriterPtr w, const struct report_os *ro)
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
  if (windows) {
    W (write_text (w, "windows_systemroot", os->windows_systemroot));
    W (write_text (w, "windows_current_control_set",
                   os->windows_current_control_set));
  }
  W (write_text (w, "package_format", os->package_format));
  W (write_text (w, "package_management", os->package_management));
  W (write_text (w, "hostname", os->hostname));
  W (write_text (w, "build_id", os->build_id));
  W (write_text (w, "osinfo", os->osinfo));

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
    W (write_text (w, "label", f->label));
    W (write_text (w, "uuid", f->uuid));
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
      W (write_app_xml (w, &ro->apps[i]));
    W (xmlTextWriterEndElement (w));
  }
  W (xmlTextWriterEndElement (w));
  return 0;
}

/* The XML report in a buffer (free with xmlBufferFree), or NULL. */
static xmlBufferPtr
report_xml (const struct report *r)
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
      xmlTextWriterStartElement (w, BAD_CAST "operatingsystems") >= 0) {
    ok = 1;
    for (i = 0; ok && i < r->nr_oses; ++i)
      ok = write_os_xml (w, &r->oses[i]) == 0;
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

static void
json_string (FILE *fp, const char *s)
{
  const unsigned char *p;

  fputc ('"', fp);
  for (p = (const unsigned char *) s; *p; ++p) {
    switch (*p) {
    case '"': fputs ("\\\"", fp); break;
    case '\\': fputs ("\\\\", fp); break;
    case '\n': fputs ("\\n", fp); break;
    case '\t': fputs ("\\t", fp); break;
    case '\r': fputs ("\\r", fp); break;
    default:
      if (*p < 0x20)
        fprintf (fp, "\\u%04x", *p);
      else
        fputc (*p, fp);
    }
  }
  fputc ('"', fp);
}

/* "key": "value" (only when set), with the separator handling. */
static void
json_field (FILE *fp, bool *first, const char *indent, const char *key,
            const char *value)
{
  if (!is_set (value))
    return;
  fprintf (fp, "%s\n%s\"%s\": ", *first ? "" : ",", indent, key);
  json_string (fp, value);
  *first = false;
}

static void
json_int (FILE *fp, bool *first, const char *indent, const char *key, int v)
{
  fprintf (fp, "%s\n%s\"%s\": %d", *first ? "" : ",", indent, key, v);
  *first = false;
}

static void
write_os_json (FILE *fp, const struct report_os *ro)
{
  const gbox_inspected_os *os = ro->os;
  const char *in = "      ";
  bool first = true;
  size_t i;

  fputs ("    {", fp);
  json_field (fp, &first, in, "root", os->root);
  json_field (fp, &first, in, "name", os->type);
  json_field (fp, &first, in, "arch", os->arch);
  json_field (fp, &first, in, "distro", os->distro);
  json_field (fp, &first, in, "product_name", os->product_name);
  json_field (fp, &first, in, "product_variant", os->product_variant);
  json_int (fp, &first, in, "major_version", os->major_version);
  json_int (fp, &first, in, "minor_version", os->minor_version);
  if (strcmp (os->type, "windows") == 0) {
    json_field (fp, &first, in, "windows_systemroot", os->windows_systemroot);
    json_field (fp, &first, in, "windows_current_control_set",
                os->windows_current_control_set);
  }
  json_field (fp, &first, in, "package_format", os->package_format);
  json_field (fp, &first, in, "package_management", os->package_management);
  json_field (fp, &first, in, "hostname", os->hostname);
  json_field (fp, &first, in, "build_id", os->build_id);
  json_field (fp, &first, in, "osinfo", os->osinfo);

  fprintf (fp, ",\n%s\"mountpoints\": [", in);
  for (i = 0; i < os->mountpoints.mountpoints_len; ++i) {
    const gbox_mountpoint *m = &os->mountpoints.mountpoints_val[i];
    fprintf (fp, "%s\n%s  { \"dev\": ", i ? "," : "", in);
    json_string (fp, m->device);
    fputs (", \"mountpoint\": ", fp);
    json_string (fp, m->mountpoint);
    fputs (" }", fp);
  }
  fprintf (fp, "%s]", i ? "\n      " : "");

  fprintf (fp, ",\n%s\"filesystems\": [", in);
  for (i = 0; i < os->filesystems.filesystems_len; ++i) {
    const gbox_filesystem *f = &os->filesystems.filesystems_val[i];
    bool ff = false;
    fprintf (fp, "%s\n%s  {\n%s    \"dev\": ", i ? "," : "", in, in);
    json_string (fp, f->device);
    json_field (fp, &ff, "          ", "type", f->type);
    json_field (fp, &ff, "          ", "label", f->label);
    json_field (fp, &ff, "          ", "uuid", f->uuid);
    fprintf (fp, "\n%s  }", in);
  }
  fprintf (fp, "%s]", i ? "\n      " : "");

  if (os->drive_mappings.drive_mappings_len > 0) {
    fprintf (fp, ",\n%s\"drive_mappings\": [", in);
    for (i = 0; i < os->drive_mappings.drive_mappings_len; ++i) {
      const gbox_drive_mapping *d = &os->drive_mappings.drive_mappings_val[i];
      fprintf (fp, "%s\n%s  { \"name\": ", i ? "," : "", in);
      json_string (fp, d->letter);
      fputs (", \"dev\": ", fp);
      json_string (fp, d->device);
      fputs (" }", fp);
    }
    fprintf (fp, "\n%s]", in);
  }

  if (ro->have_apps) {
    fprintf (fp, ",\n%s\"applications\": [", in);
    for (i = 0; i < ro->nr_apps; ++i) {
      const gbox_application *a = &ro->apps[i];
      const char *ai = "          ";
      bool af = true;
      fprintf (fp, "%s\n%s  {", i ? "," : "", in);
      json_field (fp, &af, ai, "name", a->name);
      json_field (fp, &af, ai, "display_name", a->display_name);
      if (a->epoch)
        json_int (fp, &af, ai, "epoch", a->epoch);
      json_field (fp, &af, ai, "version", a->app_version);
      json_field (fp, &af, ai, "release", a->release);
      json_field (fp, &af, ai, "arch", a->arch);
      json_field (fp, &af, ai, "publisher", a->publisher);
      json_field (fp, &af, ai, "url", a->url);
      json_field (fp, &af, ai, "source_package", a->source_package);
      json_field (fp, &af, ai, "summary", a->summary);
      json_field (fp, &af, ai, "description", a->description);
      fprintf (fp, "\n%s  }", in);
    }
    fprintf (fp, "%s]", i ? "\n      " : "");
  }
  fputs ("\n    }", fp);
}

static void
report_json (FILE *fp, const struct report *r)
{
  size_t i;

  fputs ("{\n  \"operatingsystems\": [", fp);
  for (i = 0; i < r->nr_oses; ++i) {
    fputs (i ? ",\n" : "\n", fp);
    write_os_json (fp, &r->oses[i]);
  }
  fprintf (fp, "%s]\n}\n", r->nr_oses ? "\n  " : "");
}

static void
silent_errors (void *opaque, xmlErrorPtr err)
{
}

/* XPath over a document: nodes are printed one a line (elements as
 * XML, attributes and text by their value), other results as values. */
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
  switch (obj->type) {
  case XPATH_NODESET:
    for (i = 0; obj->nodesetval && i < obj->nodesetval->nodeNr; ++i) {
      xmlNodePtr n = obj->nodesetval->nodeTab[i];
      if (n->type == XML_ELEMENT_NODE) {
        xmlBufferPtr b = xmlBufferCreate ();
        if (b == NULL) {
          ret = -1;
          break;
        }
        xmlNodeDump (b, doc, n, 0, 1);
        printf ("%s\n", (const char *) xmlBufferContent (b));
        xmlBufferFree (b);
      }
      else {
        xmlChar *c = xmlNodeGetContent (n);
        printf ("%s\n", c ? (const char *) c : "");
        xmlFree (c);
      }
    }
    break;
  case XPATH_STRING:
    printf ("%s\n", (const char *) obj->stringval);
    break;
  case XPATH_NUMBER:
    printf ("%g\n", obj->floatval);
    break;
  case XPATH_BOOLEAN:
    printf ("%s\n", obj->boolval ? "true" : "false");
    break;
  default:
    fprintf (stderr, "%s: error: --xpath: %s: unsupported result type\n",
             program, query);
    ret = -1;
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

  doc = xmlReadFd (STDIN_FILENO, NULL, NULL, XML_PARSE_NONET |
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
do_inspector (gbox_h *h, bool json, const char *xpath, bool applications)
{
  struct report r;
  int ret = -1;

  memset (&r, 0, sizeof r);
  if (gather (h, &r, applications) == -1) {
    if (gbox_last_error (h))
      fprintf (stderr, "%s: error: %s\n", program, gbox_last_error (h));
    goto out;
  }
  if (json) {
    report_json (stdout, &r);
    ret = 0;
  }
  else {
    xmlBufferPtr buf = report_xml (&r);
    if (buf == NULL) {
      fprintf (stderr, "%s: error: cannot write the XML report\n", program);
      goto out;
    }
    if (xpath) {
      xmlDocPtr doc = xmlReadMemory ((const char *) xmlBufferContent (buf),
                                     xmlBufferLength (buf), NULL, NULL,
                                     XML_PARSE_NONET | XML_PARSE_NOBLANKS);
      if (doc) {
        ret = run_xpath (doc, xpath);
        xmlFreeDoc (doc);
      }
    }
    else {
      fwrite (xmlBufferContent (buf), 1, xmlBufferLength (buf), stdout);
      ret = 0;
    }
    xmlBufferFree (buf);
  }
  if (fflush (stdout) == EOF || ferror (stdout)) {
    fprintf (stderr, "%s: error: standard output: %s\n", program,
             strerror (errno));
    ret = -1;
  }
 out:
  free_report (&r);
  return ret;
}

int
main (int argc, char *argv[])
{
  static const char short_options[] = "a:vVx";
  static const struct option long_options[] = {
    { "add", required_argument, NULL, 'a' },
    { "blocksize", required_argument, NULL, GBOX_OPT_BLOCKSIZE },
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
    { NULL, 0, NULL, 0 }
  };
  struct gbox_opts o;
  gbox_h *h;
  int c, r;
  bool json = false, applications = true;
  const char *xpath = NULL;

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
      json = true;
      break;
    case OPT_XPATH:
      xpath = optarg;
      break;
    case OPT_NO_APPLICATIONS:
      applications = false;
      break;
    case OPT_NO_ICON:
      /* Icons are never extracted: nothing to turn off. */
      break;
    case GBOX_OPT_HELP:
      usage (EXIT_SUCCESS);
    default:
      usage (EXIT_FAILURE);
    }
  }

  if (optind < argc) {
    fprintf (stderr, "%s: error: extra argument on the command line: %s\n",
             program, argv[optind]);
    usage (EXIT_FAILURE);
  }
  if (json && xpath) {
    fprintf (stderr, "%s: error: --json and --xpath cannot be used "
             "together\n", program);
    usage (EXIT_FAILURE);
  }
  if (xpath && o.nr_drives == 0) {
    if (!o.format_consumed) {
      gbox_opts_check (&o);
      usage (EXIT_FAILURE);
    }
    r = xpath_stdin (xpath);
    gbox_opts_free (&o);
    xmlCleanupParser ();
    exit (r == 0 ? EXIT_SUCCESS : EXIT_FAILURE);
  }
  if (gbox_opts_check (&o) == -1)
    usage (EXIT_FAILURE);

  /* ^C, kill, hang-up: no qemu or temp dir is left behind. */
  gbox_install_signal_handlers ();

  h = gbox_create ();
  if (h == NULL) {
    fprintf (stderr, "%s: error: cannot create handle: %s\n",
             program, strerror (errno));
    exit (EXIT_FAILURE);
  }
  gbox_opts_setup_handle (h, &o);

  if (gbox_opts_add_drives (h, &o, 1) == -1 || gbox_launch (h) == -1 ||
      gbox_opts_storage (h, &o) == -1) {
    gbox_opts_print_error (&o, h);
    gbox_close (h);
    gbox_opts_free (&o);
    exit (EXIT_FAILURE);
  }

  r = do_inspector (h, json, xpath, applications);

  gbox_close (h);
  gbox_opts_free (&o);
  xmlCleanupParser ();
  exit (r == 0 ? EXIT_SUCCESS : EXIT_FAILURE);
}
