/* guestbox - libvirt guests: their disks, by name or all of them.
 * Copyright (C) 2026 the guestbox authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

/**
 * -d/--domain and -c/--connect through libvirt's C API: a read-only
 * connection (virConnectOpenAuth with VIR_CONNECT_RO, so a read-only
 * libvirt socket is enough), the domain looked up by UUID then by name,
 * its XML description read with libxml2.  Each <disk> with a source
 * becomes one drive: type file and block by path, type network with
 * protocol nbd as an nbd:// or nbd+unix:// URI; the format is the
 * <driver type>, and <readonly/> is kept.  Empty CD-ROM drives are
 * skipped; other sources (storage pool volumes, other network
 * protocols) are an error naming the disk, since the appliance could
 * not open them.  libvirt's default error printing is turned off: every
 * failure becomes one message for the caller.
 */

#include <config.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stdarg.h>
#include <dlfcn.h>

#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>
#include <libxml/parser.h>
#include <libxml/tree.h>
#include <libxml/uri.h>
#include <libxml/xpath.h>
#include <libxml/xmlerror.h>

#include "libvirt.h"

/* Domains and disks a connection may list. */
/* The library -c/-d load (its soname has been 0 since 2008). */
#define LIBVIRT_SONAME "libvirt.so.0"

#define MAX_DOMAINS 100000
#define MAX_DISKS 255

static void
quiet_errors (void *opaque, virErrorPtr e)
{
  (void) opaque;
  (void) e;
}

/* libxml2's own messages (libvirt's test driver parses its file with
 * it) would print on stderr: the caller's one message says it all. */
static void
quiet_xml (void *opaque, const char *fmt, ...)
{
  (void) opaque;
  (void) fmt;
}

static void
set_err (char **err, const char *fmt, ...)
{
  va_list ap;

  if (err == NULL || *err != NULL)
    return;
  va_start (ap, fmt);
  if (vasprintf (err, fmt, ap) == -1)
    *err = NULL;
  va_end (ap);
}

/* libvirt is loaded when -c or -d asks for it, not linked: its chain of
 * some forty libraries (glib, gnutls, curl, krb5, ...) cost every
 * command about 30 ms of start-up (measured with tests/bench/commands),
 * and most runs never talk to libvirt. */
static struct {
  __typeof__ (virInitialize) *Initialize;
  __typeof__ (virSetErrorFunc) *SetErrorFunc;
  __typeof__ (virGetLastError) *GetLastError;
  __typeof__ (virConnectOpenAuth) *ConnectOpenAuth;
  __typeof__ (virConnectClose) *ConnectClose;
  __typeof__ (virConnectListAllDomains) *ConnectListAllDomains;
  __typeof__ (virDomainFree) *DomainFree;
  __typeof__ (virDomainGetName) *DomainGetName;
  __typeof__ (virDomainGetUUIDString) *DomainGetUUIDString;
  __typeof__ (virDomainGetXMLDesc) *DomainGetXMLDesc;
  __typeof__ (virDomainIsActive) *DomainIsActive;
  __typeof__ (virDomainLookupByName) *DomainLookupByName;
  __typeof__ (virDomainLookupByUUIDString) *DomainLookupByUUIDString;
  __typeof__ (virConnectAuthPtrDefault) *ConnectAuthPtrDefault;
} lv;

#define LIBVIRT_SYMBOLS(X) \
  X (Initialize) \
  X (SetErrorFunc) \
  X (GetLastError) \
  X (ConnectOpenAuth) \
  X (ConnectClose) \
  X (ConnectListAllDomains) \
  X (DomainFree) \
  X (DomainGetName) \
  X (DomainGetUUIDString) \
  X (DomainGetXMLDesc) \
  X (DomainIsActive) \
  X (DomainLookupByName) \
  X (DomainLookupByUUIDString) \
  X (ConnectAuthPtrDefault)

static int
load_libvirt (char **err)
{
  static void *handle;

  if (handle != NULL)
    return 0;
  handle = dlopen (LIBVIRT_SONAME, RTLD_NOW | RTLD_LOCAL);
  if (handle == NULL) {
    set_err (err, "-c/-d need libvirt, which could not be loaded: %s "
             "(on Debian, install libvirt0)", dlerror ());
    return -1;
  }
#define X(name)                                                         \
  if ((*(void **) &lv.name = dlsym (handle, "vir" #name)) == NULL) {    \
    set_err (err, "the libvirt library lacks vir%s", #name);            \
    dlclose (handle);                                                   \
    handle = NULL;                                                      \
    return -1;                                                          \
  }
  LIBVIRT_SYMBOLS (X)
#undef X
  return 0;
}

/* The message of libvirt's last error. */
static const char *
virt_message (void)
{
  virErrorPtr e = lv.GetLastError ();

  return e && e->message ? e->message : "unknown libvirt error";
}

static virConnectPtr
open_connection (const char *uri, char **err)
{
  virConnectPtr conn;

  if (load_libvirt (err) == -1)
    return NULL;
  if (lv.Initialize () == -1) {
    set_err (err, "libvirt: initialisation failed");
    return NULL;
  }
  lv.SetErrorFunc (NULL, quiet_errors);
  xmlSetGenericErrorFunc (NULL, quiet_xml);
  conn = lv.ConnectOpenAuth (uri, *lv.ConnectAuthPtrDefault, VIR_CONNECT_RO);
  if (conn == NULL)
    set_err (err, "could not connect to libvirt (URI %s): %s",
             uri ? uri : "default", virt_message ());
  return conn;
}

void
gbox_libvirt_free_domain (struct gbox_libvirt_domain *dom)
{
  size_t i;

  for (i = 0; i < dom->nr_disks; ++i) {
    free (dom->disks[i].source);
    free (dom->disks[i].format);
  }
  free (dom->disks);
  free (dom->name);
  free (dom->uuid);
  memset (dom, 0, sizeof *dom);
}

/* The attribute NAME of the first element XPATH finds below NODE, or
 * NULL; xmlFree it. */
static char *
attr_at (xmlXPathContextPtr ctx, xmlNodePtr node, const char *xpath,
         const char *name)
{
  xmlXPathObjectPtr obj;
  char *r = NULL;

  ctx->node = node;
  obj = xmlXPathEvalExpression (BAD_CAST xpath, ctx);
  if (obj && obj->nodesetval && obj->nodesetval->nodeNr > 0)
    r = (char *) xmlGetProp (obj->nodesetval->nodeTab[0], BAD_CAST name);
  xmlXPathFreeObject (obj);
  return r;
}

static bool
has_child (xmlNodePtr node, const char *name)
{
  xmlNodePtr c;

  for (c = node->children; c; c = c->next)
    if (c->type == XML_ELEMENT_NODE && xmlStrcmp (c->name, BAD_CAST name) == 0)
      return true;
  return false;
}

/* The drive source of one network disk, or NULL with *ERR set. */
static char *
network_source (xmlXPathContextPtr ctx, xmlNodePtr disk, const char *target,
                char **err)
{
  char *protocol = attr_at (ctx, disk, "./source", "protocol");
  char *export = attr_at (ctx, disk, "./source", "name");
  char *host = attr_at (ctx, disk, "./source/host", "name");
  char *port = attr_at (ctx, disk, "./source/host", "port");
  char *transport = attr_at (ctx, disk, "./source/host", "transport");
  char *socket = attr_at (ctx, disk, "./source/host", "socket");
  /* The export name and the socket path %XX-escaped in the URI, an IPv6
   * host in brackets. */
  xmlChar *exp = xmlURIEscapeStr (BAD_CAST (export ? export : ""),
                                  BAD_CAST "/");
  xmlChar *sock = socket ? xmlURIEscapeStr (BAD_CAST socket, BAD_CAST "/")
    : NULL;
  bool v6 = host && strchr (host, ':') != NULL;
  char *r = NULL;

  if (protocol == NULL || strcmp (protocol, "nbd") != 0)
    set_err (err, "disk %s: network protocol '%s' is not supported "
             "(only nbd)", target, protocol ? protocol : "");
  else if (transport && strcmp (transport, "unix") == 0) {
    if (socket == NULL)
      set_err (err, "disk %s: nbd over a unix socket without a socket path",
               target);
    else if (!exp || !sock ||
             asprintf (&r, "nbd+unix:///%s?socket=%s", exp, sock) == -1)
      r = NULL;
  }
  else if (host == NULL)
    set_err (err, "disk %s: nbd disk without a host", target);
  else if (!exp ||
           asprintf (&r, "nbd://%s%s%s%s%s/%s", v6 ? "[" : "", host,
                     v6 ? "]" : "", port ? ":" : "", port ? port : "",
                     exp) == -1)
    r = NULL;
  xmlFree (exp);
  xmlFree (sock);
  xmlFree (protocol);
  xmlFree (export);
  xmlFree (host);
  xmlFree (port);
  xmlFree (transport);
  xmlFree (socket);
  if (r == NULL)
    set_err (err, "out of memory");
  return r;
}

int
gbox_libvirt_parse_disks (const char *desc, struct gbox_libvirt_domain *dom,
                          char **err)
{
  xmlDocPtr doc;
  xmlXPathContextPtr ctx = NULL;
  xmlXPathObjectPtr obj = NULL;
  int i, n, r = -1;

  doc = xmlReadMemory (desc, strlen (desc), NULL, NULL,
                       XML_PARSE_NONET | XML_PARSE_NOERROR |
                       XML_PARSE_NOWARNING);
  if (doc == NULL) {
    set_err (err, "cannot parse the domain's XML description");
    return -1;
  }
  ctx = xmlXPathNewContext (doc);
  if (ctx)
    obj = xmlXPathEvalExpression (BAD_CAST "/domain/devices/disk", ctx);
  if (obj == NULL) {
    set_err (err, "out of memory");
    goto out;
  }
  n = obj->nodesetval ? obj->nodesetval->nodeNr : 0;
  if (n > MAX_DISKS) {
    set_err (err, "too many disks (%d)", n);
    goto out;
  }
  dom->disks = calloc (n > 0 ? n : 1, sizeof *dom->disks);
  if (dom->disks == NULL) {
    set_err (err, "out of memory");
    goto out;
  }
  for (i = 0; i < n; ++i) {
    xmlNodePtr node = obj->nodesetval->nodeTab[i];
    char *type = (char *) xmlGetProp (node, BAD_CAST "type");
    char *target = attr_at (ctx, node, "./target", "dev");
    const char *tgt = target ? target : "?";
    char *src = NULL, *s;
    bool skip = false;

    if (type == NULL || strcmp (type, "file") == 0) {
      s = attr_at (ctx, node, "./source", "file");
      skip = s == NULL;
      src = s ? strdup (s) : NULL;
      xmlFree (s);
    }
    else if (strcmp (type, "block") == 0) {
      s = attr_at (ctx, node, "./source", "dev");
      skip = s == NULL;
      src = s ? strdup (s) : NULL;
      xmlFree (s);
    }
    else if (strcmp (type, "network") == 0)
      src = network_source (ctx, node, tgt, err);
    else
      set_err (err, "disk %s: source type '%s' is not supported (files, "
               "block devices and nbd network disks are)", tgt, type);
    xmlFree (type);
    if (skip) {                 /* an empty CD-ROM or floppy drive */
      xmlFree (target);
      continue;
    }
    if (src == NULL || src[0] == '\0') {
      set_err (err, "disk %s: no source", tgt);
      free (src);
      xmlFree (target);
      goto out;
    }
    xmlFree (target);
    dom->disks[dom->nr_disks].source = src;
    s = attr_at (ctx, node, "./driver", "type");
    if (s) {
      dom->disks[dom->nr_disks].format = strdup (s);
      xmlFree (s);
    }
    dom->disks[dom->nr_disks].readonly = has_child (node, "readonly");
    dom->nr_disks++;
  }
  r = 0;
 out:
  xmlXPathFreeObject (obj);
  xmlXPathFreeContext (ctx);
  xmlFreeDoc (doc);
  return r;
}

/* Fill DOM from the libvirt domain D.  -1 with *ERR. */
static int
read_domain (virDomainPtr d, struct gbox_libvirt_domain *dom, char **err)
{
  char uuid[VIR_UUID_STRING_BUFLEN];
  const char *name = lv.DomainGetName (d);
  char *desc;
  int active, r;

  dom->name = strdup (name ? name : "");
  if (lv.DomainGetUUIDString (d, uuid) == 0)
    dom->uuid = strdup (uuid);
  if (dom->name == NULL) {
    set_err (err, "out of memory");
    return -1;
  }
  active = lv.DomainIsActive (d);
  dom->active = active != 0;    /* unknown (-1) counts as running */
  desc = lv.DomainGetXMLDesc (d, 0);
  if (desc == NULL) {
    set_err (err, "%s: cannot read the domain's XML: %s", dom->name,
             virt_message ());
    return -1;
  }
  r = gbox_libvirt_parse_disks (desc, dom, err);
  free (desc);
  return r;
}

int
gbox_libvirt_get_domain (const char *uri, const char *name,
                         struct gbox_libvirt_domain *dom, char **err)
{
  virConnectPtr conn;
  virDomainPtr d;
  int r = -1;

  memset (dom, 0, sizeof *dom);
  conn = open_connection (uri, err);
  if (conn == NULL)
    return -1;
  d = lv.DomainLookupByUUIDString (conn, name);
  if (d == NULL)
    d = lv.DomainLookupByName (conn, name);
  if (d == NULL)
    set_err (err, "no libvirt domain called '%s': %s", name, virt_message ());
  else {
    r = read_domain (d, dom, err);
    lv.DomainFree (d);
  }
  lv.ConnectClose (conn);
  if (r == -1)
    gbox_libvirt_free_domain (dom);
  else if (dom->nr_disks == 0) {
    set_err (err, "libvirt domain '%s' has no disks", dom->name);
    gbox_libvirt_free_domain (dom);
    r = -1;
  }
  return r;
}

static int
compare_names (const void *p1, const void *p2)
{
  const struct gbox_libvirt_domain *d1 = p1, *d2 = p2;

  return strcmp (d1->name, d2->name);
}

int
gbox_libvirt_list_domains (const char *uri, struct gbox_libvirt_domain **doms,
                           char ***errs, size_t *n, char **err)
{
  virConnectPtr conn;
  virDomainPtr *list = NULL;
  int nr, i;

  *doms = NULL;
  *errs = NULL;
  *n = 0;
  conn = open_connection (uri, err);
  if (conn == NULL)
    return -1;
  nr = lv.ConnectListAllDomains (conn, &list, 0);
  if (nr < 0 || nr > MAX_DOMAINS) {
    set_err (err, "could not list the libvirt domains: %s",
             nr < 0 ? virt_message () : "too many");
    goto fail;
  }
  *doms = calloc (nr > 0 ? nr : 1, sizeof **doms);
  *errs = calloc (nr > 0 ? nr : 1, sizeof **errs);
  if (*doms == NULL || *errs == NULL) {
    set_err (err, "out of memory");
    goto fail;
  }
  for (i = 0; i < nr; ++i) {
    struct gbox_libvirt_domain *dom = &(*doms)[i];
    char *why = NULL;

    if (read_domain (list[i], dom, &why) == -1) {
      size_t k;
      /* Keep the name; forget any disk read so far. */
      for (k = 0; k < dom->nr_disks; ++k) {
        free (dom->disks[k].source);
        free (dom->disks[k].format);
      }
      dom->nr_disks = 0;
      if (dom->name == NULL) {
        free (why);
        set_err (err, "out of memory");
        goto fail;
      }
      (*errs)[i] = why ? why : strdup ("cannot read the domain");
    }
  }
  /* Sort by name, the errors along with their domains. */
  {
    struct { struct gbox_libvirt_domain d; char *e; } *tmp;
    tmp = calloc (nr > 0 ? nr : 1, sizeof *tmp);
    if (tmp == NULL) {
      set_err (err, "out of memory");
      goto fail;
    }
    for (i = 0; i < nr; ++i) {
      tmp[i].d = (*doms)[i];
      tmp[i].e = (*errs)[i];
    }
    qsort (tmp, nr, sizeof *tmp, compare_names);
    for (i = 0; i < nr; ++i) {
      (*doms)[i] = tmp[i].d;
      (*errs)[i] = tmp[i].e;
    }
    free (tmp);
  }
  *n = nr;
  for (i = 0; i < nr; ++i)
    lv.DomainFree (list[i]);
  free (list);
  lv.ConnectClose (conn);
  return 0;

 fail:
  if (list) {
    for (i = 0; i < nr; ++i)
      lv.DomainFree (list[i]);
    free (list);
  }
  if (*doms) {
    for (i = 0; i < nr; ++i) {
      gbox_libvirt_free_domain (&(*doms)[i]);
      if (*errs)
        free ((*errs)[i]);
    }
  }
  free (*doms);
  free (*errs);
  *doms = NULL;
  *errs = NULL;
  lv.ConnectClose (conn);
  return -1;
}
