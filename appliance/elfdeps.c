/* guestbox - the appliance builder.
 * Copyright (C) 2026 the guestbox authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

/** Host programs in the initrd: finding them, reading the ELF64 program
 * and dynamic headers with <elf.h>'s types (PT_INTERP, DT_NEEDED,
 * DT_RPATH, DT_RUNPATH; every offset and length checked against the
 * file: libelf would map untrusted sizes with fewer checks, and is one
 * more library in the appliance builder for a few fields), the
 * shared-library closure, and copying files while replicating the host's
 * symlinks (so /lib64/ld-linux-x86-64.so.2 keeps working on a usrmerged
 * host).  "#!" scripts bring their interpreter. */

#include <config.h>

#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "appliance-internal.h"

/* The files read are x86-64 ELF64 (checked first), little-endian as
 * the host that builds an x86-64 appliance: <elf.h>'s structures are
 * read as they are. */
#if __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "the appliance builder reads little-endian ELF files in place"
#endif

/* Where shared libraries are searched after RPATH/RUNPATH, before the
 * directories of /etc/ld.so.conf. */
static const char *const lib_dirs[] = {
  "/lib/x86_64-linux-gnu", "/usr/lib/x86_64-linux-gnu",
  "/lib64", "/usr/lib64", "/lib", "/usr/lib", NULL
};

/* Where programs are searched. */
static const char *const bin_dirs[] = {
  "/usr/sbin", "/usr/bin", "/sbin", "/bin",
  "/usr/local/sbin", "/usr/local/bin", NULL
};

#define MAX_ELF_STRING 4096
#define MAX_DYNAMIC (1024 * 1024)
#define MAX_STRTAB (16 * 1024 * 1024)
#define MAX_PHNUM 4096
#define MAX_NEEDED 1024

char *
gbox_app_find_program (const char *name)
{
  size_t i;
  struct stat st;

  if (strchr (name, '/'))
    return NULL;
  for (i = 0; bin_dirs[i]; ++i) {
    char *p = gbox_app_asprintf ("%s/%s", bin_dirs[i], name);
    if (!p)
      return NULL;
    if (stat (p, &st) == 0 && S_ISREG (st.st_mode) && access (p, X_OK) == 0)
      return p;
    free (p);
  }
  return NULL;
}

static int
pread_exact (int fd, void *buf, size_t len, uint64_t off)
{
  char *p = buf;

  while (len > 0) {
    ssize_t r = pread (fd, p, len, off);
    if (r == -1 && errno == EINTR)
      continue;
    if (r <= 0)
      return -1;
    p += r;
    len -= r;
    off += r;
  }
  return 0;
}

/* Split a ':'-separated path list into SV. */
static int
split_path (struct gbox_app_strv *sv, const char *s)
{
  while (*s) {
    const char *e = strchr (s, ':');
    size_t len = e ? (size_t) (e - s) : strlen (s);
    if (len > 0) {
      char *d = strndup (s, len);
      if (!d || gbox_app_strv_push (sv, d) == -1) {
        free (d);
        return -1;
      }
      free (d);
    }
    s += len;
    if (*s == ':')
      s++;
  }
  return 0;
}

void
gbox_app_elf_free (struct gbox_app_elf *e)
{
  free (e->interp);
  gbox_app_strv_free (&e->needed);
  gbox_app_strv_free (&e->rpath);
  gbox_app_strv_free (&e->runpath);
  e->interp = NULL;
}

int
gbox_app_elf_read (struct gbox_app_ctx *cx, const char *path,
                   struct gbox_app_elf *e)
{
  Elf64_Ehdr eh;
  Elf64_Phdr *ph = NULL;
  Elf64_Dyn *dyn = NULL;
  char *strtab = NULL;
  struct stat st;
  uint64_t fsize, dyn_off = 0, dyn_size = 0;
  uint64_t strtab_addr = 0, strsz = 0, strtab_off = 0;
  uint64_t needed[MAX_NEEDED];
  uint64_t rpath = UINT64_MAX, runpath = UINT64_MAX;
  size_t nneeded = 0, i;
  unsigned phnum;
  bool have_dyn = false, have_strtab = false, have_strsz = false;
  int fd, r = -1;

  memset (e, 0, sizeof *e);
  fd = open (path, O_RDONLY | O_CLOEXEC);
  if (fd == -1)
    return gbox_app_error (cx, "%s: %s", path, strerror (errno));
  if (fstat (fd, &st) == -1 || !S_ISREG (st.st_mode)) {
    gbox_app_error (cx, "%s: not a regular file", path);
    goto out;
  }
  fsize = st.st_size;
  if (fsize < sizeof eh || pread_exact (fd, &eh, sizeof eh, 0) == -1 ||
      memcmp (eh.e_ident, ELFMAG, SELFMAG) != 0) {
    gbox_app_error (cx, "%s: not an ELF file", path);
    goto out;
  }
  if (eh.e_ident[EI_CLASS] != ELFCLASS64 ||
      eh.e_ident[EI_DATA] != ELFDATA2LSB || eh.e_machine != EM_X86_64) {
    gbox_app_error (cx, "%s: not an x86-64 ELF64 file", path);
    goto out;
  }
  phnum = eh.e_phnum;
  if (eh.e_phentsize != sizeof (Elf64_Phdr) || phnum == 0 ||
      phnum > MAX_PHNUM || eh.e_phoff > fsize ||
      (uint64_t) phnum * sizeof (Elf64_Phdr) > fsize - eh.e_phoff) {
    gbox_app_error (cx, "%s: corrupt ELF program headers", path);
    goto out;
  }
  ph = malloc ((size_t) phnum * sizeof (Elf64_Phdr));
  if (!ph || pread_exact (fd, ph, (size_t) phnum * sizeof (Elf64_Phdr),
                          eh.e_phoff) == -1) {
    gbox_app_error (cx, "%s: cannot read ELF program headers", path);
    goto out;
  }

  for (i = 0; i < phnum; ++i) {
    uint64_t off = ph[i].p_offset, filesz = ph[i].p_filesz;

    if (ph[i].p_type == PT_INTERP) {
      char buf[MAX_ELF_STRING + 1];
      if (e->interp || filesz == 0 || filesz > MAX_ELF_STRING ||
          off > fsize || filesz > fsize - off ||
          pread_exact (fd, buf, filesz, off) == -1 ||
          memchr (buf, '\0', filesz) == NULL || buf[0] != '/') {
        gbox_app_error (cx, "%s: corrupt PT_INTERP", path);
        goto out;
      }
      e->interp = strdup (buf);
      if (!e->interp) {
        gbox_app_error (cx, "%s: out of memory", path);
        goto out;
      }
    }
    else if (ph[i].p_type == PT_DYNAMIC) {
      if (have_dyn || off > fsize || filesz > fsize - off ||
          filesz > MAX_DYNAMIC) {
        gbox_app_error (cx, "%s: corrupt PT_DYNAMIC", path);
        goto out;
      }
      have_dyn = true;
      dyn_off = off;
      dyn_size = filesz;
    }
  }
  if (!have_dyn) {              /* static: nothing more needed */
    r = 0;
    goto out;
  }

  dyn = malloc (dyn_size ? dyn_size : 1);
  if (!dyn || pread_exact (fd, dyn, dyn_size, dyn_off) == -1) {
    gbox_app_error (cx, "%s: cannot read the dynamic section", path);
    goto out;
  }
  for (i = 0; i < dyn_size / sizeof (Elf64_Dyn); ++i) {
    uint64_t val = dyn[i].d_un.d_val;
    if (dyn[i].d_tag == DT_NULL)
      break;
    switch (dyn[i].d_tag) {
    case DT_NEEDED:
      if (nneeded >= MAX_NEEDED) {
        gbox_app_error (cx, "%s: too many DT_NEEDED entries", path);
        goto out;
      }
      needed[nneeded++] = val;
      break;
    case DT_STRTAB: have_strtab = true; strtab_addr = val; break;
    case DT_STRSZ: have_strsz = true; strsz = val; break;
    case DT_RPATH: rpath = val; break;
    case DT_RUNPATH: runpath = val; break;
    }
  }
  if (nneeded == 0 && rpath == UINT64_MAX && runpath == UINT64_MAX) {
    r = 0;
    goto out;
  }
  if (!have_strtab || !have_strsz || strsz == 0 || strsz > MAX_STRTAB) {
    gbox_app_error (cx, "%s: corrupt dynamic string table", path);
    goto out;
  }
  /* Map the string table's address to a file offset through PT_LOAD. */
  for (i = 0; i < phnum; ++i)
    if (ph[i].p_type == PT_LOAD && strtab_addr >= ph[i].p_vaddr &&
        strtab_addr - ph[i].p_vaddr < ph[i].p_filesz) {
      strtab_off = ph[i].p_offset + (strtab_addr - ph[i].p_vaddr);
      break;
    }
  if (i == phnum || strtab_off > fsize || strsz > fsize - strtab_off) {
    gbox_app_error (cx, "%s: dynamic string table outside the file", path);
    goto out;
  }
  strtab = malloc (strsz + 1);
  if (!strtab || pread_exact (fd, strtab, strsz, strtab_off) == -1) {
    gbox_app_error (cx, "%s: cannot read the dynamic string table", path);
    goto out;
  }
  strtab[strsz] = '\0';
#define STR_OK(v) ((v) < strsz && memchr (strtab + (v), '\0', strsz - (v)) \
                   && strlen (strtab + (v)) <= MAX_ELF_STRING)
  for (i = 0; i < nneeded; ++i) {
    if (!STR_OK (needed[i]) || strtab[needed[i]] == '\0') {
      gbox_app_error (cx, "%s: corrupt DT_NEEDED entry", path);
      goto out;
    }
    if (gbox_app_strv_push (&e->needed, strtab + needed[i]) == -1)
      goto oom;
  }
  if (rpath != UINT64_MAX) {
    if (!STR_OK (rpath)) {
      gbox_app_error (cx, "%s: corrupt DT_RPATH", path);
      goto out;
    }
    if (split_path (&e->rpath, strtab + rpath) == -1)
      goto oom;
  }
  if (runpath != UINT64_MAX) {
    if (!STR_OK (runpath)) {
      gbox_app_error (cx, "%s: corrupt DT_RUNPATH", path);
      goto out;
    }
    if (split_path (&e->runpath, strtab + runpath) == -1)
      goto oom;
  }
#undef STR_OK
  r = 0;
  goto out;

 oom:
  gbox_app_error (cx, "%s: out of memory", path);
 out:
  if (r == -1)
    gbox_app_elf_free (e);
  free (ph);
  free (dyn);
  free (strtab);
  close (fd);
  return r;
}

/* The directories of /etc/ld.so.conf (with "include" globs, nested at
 * most a few levels), appended to DIRS. */
static void
read_ld_so_conf (const char *path, int depth, struct gbox_app_strv *dirs)
{
  struct gbox_app_ctx quiet = { 0 };
  char *text = NULL, *line, *save = NULL;

  if (depth > 4 || dirs->n > 256 ||
      gbox_app_read_file (&quiet, path, 1024 * 1024, &text, NULL) == -1)
    return;
  for (line = strtok_r (text, "\n", &save); line;
       line = strtok_r (NULL, "\n", &save)) {
    char *hash = strchr (line, '#'), *end;
    if (hash)
      *hash = '\0';
    while (*line == ' ' || *line == '\t')
      line++;
    end = line + strlen (line);
    while (end > line && (end[-1] == ' ' || end[-1] == '\t' ||
                          end[-1] == '\r'))
      *--end = '\0';
    if (strncmp (line, "include", 7) == 0 &&
        (line[7] == ' ' || line[7] == '\t')) {
      glob_t g;
      size_t i;
      char *pat = line + 8;
      while (*pat == ' ' || *pat == '\t')
        pat++;
      if (*pat != '/')
        continue;
      if (glob (pat, 0, NULL, &g) == 0) {
        for (i = 0; i < g.gl_pathc; ++i)
          read_ld_so_conf (g.gl_pathv[i], depth + 1, dirs);
        globfree (&g);
      }
    }
    else if (line[0] == '/' && !gbox_app_strv_contains (dirs, line))
      gbox_app_strv_push (dirs, line);
  }
  free (text);
}

/* Expand $ORIGIN in DIR for an object whose directory is ORIGIN; NULL for
 * other dynamic-string tokens (we do not guess those). */
static char *
expand_origin (const char *dir, const char *origin)
{
  const char *p;

  if (strncmp (dir, "$ORIGIN", 7) == 0)
    p = dir + 7;
  else if (strncmp (dir, "${ORIGIN}", 9) == 0)
    p = dir + 9;
  else
    return strchr (dir, '$') ? NULL : strdup (dir);
  if (strchr (p, '$'))
    return NULL;
  return gbox_app_asprintf ("%s%s", origin, p);
}

/* Look NAME up in the directories of SV (relative to ORIGIN). */
static char *
search_dirs (const struct gbox_app_strv *sv, const char *const *fixed,
             const char *name, const char *origin)
{
  size_t i;

  for (i = 0; sv ? i < sv->n : fixed[i] != NULL; ++i) {
    char *dir = expand_origin (sv ? sv->v[i] : fixed[i], origin);
    char *p;
    if (!dir)
      continue;
    p = gbox_app_asprintf ("%s/%s", dir, name);
    free (dir);
    if (p && gbox_app_is_elf_x86_64 (p))
      return p;
    free (p);
  }
  return NULL;
}

static char *
dirname_of_real (const char *path)
{
  char *real = realpath (path, NULL), *slash;

  if (!real)
    return strdup ("/");
  slash = strrchr (real, '/');
  if (slash == real)
    slash[1] = '\0';
  else if (slash)
    *slash = '\0';
  return real;
}

/* Add PATH to the closure unless its real path is already in SEEN. */
static int
closure_add (struct gbox_app_ctx *cx, const char *path,
             struct gbox_app_strv *seen, struct gbox_app_strv *libs,
             struct gbox_app_strv *queue)
{
  char *real = realpath (path, NULL);
  int r = 0;

  if (!real)
    return gbox_app_error (cx, "%s: %s", path, strerror (errno));
  if (!gbox_app_strv_contains (seen, real)) {
    if (seen->n >= GBOX_APP_MAX_ELF_OBJECTS)
      r = gbox_app_error (cx, "%s: too many shared libraries", path);
    else if (gbox_app_strv_push (seen, real) == -1 ||
             gbox_app_strv_push (libs, path) == -1 ||
             gbox_app_strv_push (queue, path) == -1)
      r = gbox_app_error (cx, "out of memory");
  }
  free (real);
  return r;
}

int
gbox_app_elf_closure (struct gbox_app_ctx *cx, const char *path,
                      struct gbox_app_strv *libs)
{
  struct gbox_app_strv seen = { 0 }, queue = { 0 }, conf = { 0 };
  struct gbox_app_strv main_rpath = { 0 };
  size_t qi, i;
  int r = -1;
  char *real;

  real = realpath (path, NULL);
  if (!real)
    return gbox_app_error (cx, "%s: %s", path, strerror (errno));
  if (gbox_app_strv_push (&seen, real) == -1 ||
      gbox_app_strv_push (&queue, path) == -1) {
    free (real);
    gbox_app_error (cx, "out of memory");
    goto out;
  }
  free (real);
  read_ld_so_conf ("/etc/ld.so.conf", 0, &conf);

  for (qi = 0; qi < queue.n; ++qi) {
    struct gbox_app_elf e;
    char *origin;
    const char *obj = queue.v[qi];

    if (gbox_app_elf_read (cx, obj, &e) == -1)
      goto out;
    if (qi == 0) {
      /* The executable's DT_RPATH applies to all its libraries too. */
      for (i = 0; i < e.rpath.n; ++i)
        gbox_app_strv_push (&main_rpath, e.rpath.v[i]);
    }
    if (e.interp) {
      if (!gbox_app_is_elf_x86_64 (e.interp)) {
        gbox_app_error (cx, "%s: program interpreter %s not found",
                        obj, e.interp);
        gbox_app_elf_free (&e);
        goto out;
      }
      if (closure_add (cx, e.interp, &seen, libs, &queue) == -1) {
        gbox_app_elf_free (&e);
        goto out;
      }
    }
    origin = dirname_of_real (obj);
    for (i = 0; i < e.needed.n; ++i) {
      const char *name = e.needed.v[i];
      char *found = NULL;

      if (strchr (name, '/'))
        found = gbox_app_is_elf_x86_64 (name) ? strdup (name) : NULL;
      else {
        if (e.runpath.n == 0) {
          found = search_dirs (&e.rpath, NULL, name, origin);
          if (!found && qi > 0)
            found = search_dirs (&main_rpath, NULL, name, origin);
        }
        if (!found)
          found = search_dirs (&e.runpath, NULL, name, origin);
        if (!found)
          found = search_dirs (NULL, lib_dirs, name, origin);
        if (!found)
          found = search_dirs (&conf, NULL, name, origin);
      }
      if (!found) {
        gbox_app_error (cx, "%s: shared library %s not found", obj, name);
        free (origin);
        gbox_app_elf_free (&e);
        goto out;
      }
      if (closure_add (cx, found, &seen, libs, &queue) == -1) {
        free (found);
        free (origin);
        gbox_app_elf_free (&e);
        goto out;
      }
      free (found);
    }
    free (origin);
    gbox_app_elf_free (&e);
  }
  r = 0;

 out:
  gbox_app_strv_free (&seen);
  gbox_app_strv_free (&queue);
  gbox_app_strv_free (&conf);
  gbox_app_strv_free (&main_rpath);
  return r;
}

int
gbox_app_add_host_path (struct gbox_app_ctx *cx, struct gbox_app_cpio *a,
                        const char *path, char **real_out)
{
  char *pending = NULL, *resolved = NULL;
  size_t rlen = 0;
  unsigned hops = 0;
  struct stat st;
  int r = -1;

  if (path[0] != '/')
    return gbox_app_error (cx, "%s: not an absolute path", path);
  pending = strdup (path);
  resolved = malloc (PATH_MAX + 1);
  if (!pending || !resolved) {
    gbox_app_error (cx, "out of memory");
    goto out;
  }
  resolved[0] = '\0';

  /* Walk PENDING one component at a time; RESOLVED holds the real path of
   * what is done so far.  Each symlink met is put into the archive and
   * its target spliced in front of the rest. */
  while (*pending) {
    char *p = pending, *comp, *rest;
    size_t clen;

    while (*p == '/')
      p++;
    if (!*p)
      break;
    comp = p;
    while (*p && *p != '/')
      p++;
    clen = p - comp;
    rest = p;

    if (clen == 1 && comp[0] == '.') {
      memmove (pending, rest, strlen (rest) + 1);
      continue;
    }
    if (clen == 2 && comp[0] == '.' && comp[1] == '.') {
      char *slash = strrchr (resolved, '/');
      if (slash)
        *slash = '\0';
      rlen = strlen (resolved);
      memmove (pending, rest, strlen (rest) + 1);
      continue;
    }
    if (rlen + 1 + clen > PATH_MAX) {
      gbox_app_error (cx, "%s: path too long", path);
      goto out;
    }
    resolved[rlen] = '/';
    memcpy (resolved + rlen + 1, comp, clen);
    resolved[rlen + 1 + clen] = '\0';

    if (lstat (resolved, &st) == -1) {
      gbox_app_error (cx, "%s: %s", resolved, strerror (errno));
      goto out;
    }
    if (S_ISLNK (st.st_mode)) {
      char target[PATH_MAX + 1];
      ssize_t tlen;
      char *np;

      if (++hops > GBOX_APP_MAX_SYMLINKS) {
        gbox_app_error (cx, "%s: too many levels of symbolic links", path);
        goto out;
      }
      tlen = readlink (resolved, target, PATH_MAX);
      if (tlen <= 0) {
        gbox_app_error (cx, "%s: readlink: %s", resolved,
                        tlen == 0 ? "empty" : strerror (errno));
        goto out;
      }
      target[tlen] = '\0';
      if (gbox_app_cpio_add_symlink (cx, a, resolved, target) == -1)
        goto out;
      np = gbox_app_asprintf ("%s%s", target, rest);
      if (!np) {
        gbox_app_error (cx, "out of memory");
        goto out;
      }
      free (pending);
      pending = np;
      if (target[0] == '/')
        resolved[0] = '\0';
      else
        resolved[rlen] = '\0';
      rlen = strlen (resolved);
      continue;
    }
    rlen += 1 + clen;
    memmove (pending, rest, strlen (rest) + 1);
  }

  if (rlen == 0) {
    gbox_app_error (cx, "%s: resolves to /", path);
    goto out;
  }
  if (stat (resolved, &st) == -1) {
    gbox_app_error (cx, "%s: %s", resolved, strerror (errno));
    goto out;
  }
  if (S_ISREG (st.st_mode))
    r = gbox_app_cpio_add_file (cx, a, resolved, resolved,
                                st.st_mode & 0777);
  else if (S_ISDIR (st.st_mode))
    r = gbox_app_cpio_add_dir (cx, a, resolved, st.st_mode & 0777);
  else
    r = gbox_app_error (cx, "%s: not a regular file or directory", resolved);
  if (r == 0 && real_out) {
    *real_out = strdup (resolved);
    if (!*real_out)
      r = gbox_app_error (cx, "out of memory");
  }

 out:
  free (pending);
  free (resolved);
  return r;
}

static int
add_program (struct gbox_app_ctx *cx, struct gbox_app_cpio *a,
             const char *path, const char *as_name, int depth)
{
  unsigned char head[256];
  ssize_t n;
  int fd;

  if (depth > 4)
    return gbox_app_error (cx, "%s: too many nested script interpreters",
                           path);
  fd = open (path, O_RDONLY | O_CLOEXEC);
  if (fd == -1)
    return gbox_app_error (cx, "%s: %s", path, strerror (errno));
  n = pread (fd, head, sizeof head - 1, 0);
  close (fd);
  if (n < 4)
    return gbox_app_error (cx, "%s: not a program", path);
  head[n] = '\0';

  if (head[0] == '#' && head[1] == '!') {
    /* A script: its interpreter comes along (first word after "#!"). */
    char interp[256];
    size_t i = 2, o = 0;
    while (head[i] == ' ' || head[i] == '\t')
      i++;
    while (head[i] && head[i] != ' ' && head[i] != '\t' && head[i] != '\n'
           && o < sizeof interp - 1)
      interp[o++] = head[i++];
    interp[o] = '\0';
    if (interp[0] != '/')
      return gbox_app_error (cx, "%s: bad \"#!\" line", path);
    if (add_program (cx, a, interp, NULL, depth + 1) == -1)
      return -1;
  }
  else {
    struct gbox_app_strv libs = { 0 };
    size_t i;
    if (gbox_app_elf_closure (cx, path, &libs) == -1)
      return -1;
    for (i = 0; i < libs.n; ++i)
      if (gbox_app_add_host_path (cx, a, libs.v[i], NULL) == -1) {
        gbox_app_strv_free (&libs);
        return -1;
      }
    gbox_app_strv_free (&libs);
  }

  if (as_name) {
    char *real = realpath (path, NULL);
    int r;
    if (!real)
      return gbox_app_error (cx, "%s: %s", path, strerror (errno));
    r = gbox_app_cpio_add_file (cx, a, as_name, real, 0755);
    free (real);
    return r;
  }
  return gbox_app_add_host_path (cx, a, path, NULL);
}

int
gbox_app_add_program (struct gbox_app_ctx *cx, struct gbox_app_cpio *a,
                      const char *path, const char *as_name)
{
  return add_program (cx, a, path, as_name, 0);
}
