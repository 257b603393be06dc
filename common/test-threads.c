/* guestbox - two handles used by two threads at the same time.
 * Copyright (C) 2026 the guestbox authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

/**
 * Each thread connects its own handle to its own host-mode daemon on
 * its own tree, then downloads, lists and stats in a loop while the
 * other does the same.  Different contents per thread show that no
 * state leaks between handles.
 */

#include <config.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <unistd.h>
#include <sys/stat.h>

#include "guestbox-internal.h"
#include "test-helpers.h"

#define NTHREADS 2
#define ITERATIONS 50
#define FILE_SIZE (3 * 1024 * 1024 + 777)

struct worker {
  int id;
  char *sysroot;
  unsigned nr_files;            /* entries in /d */
  unsigned ok_iterations;
};

struct drain {
  int fd;
  uint32_t seed;
  uint64_t total;
  bool match;
};

static void *
drain_thread (void *arg)
{
  struct drain *d = arg;
  unsigned char *buf = malloc (65536), *want = malloc (65536);
  ssize_t r;

  d->match = true;
  while ((r = read (d->fd, buf, 65536)) > 0) {
    test_fill (want, r, d->total, d->seed);
    if (memcmp (buf, want, r) != 0)
      d->match = false;
    d->total += r;
  }
  close (d->fd);
  free (buf);
  free (want);
  return NULL;
}

static void *
worker_thread (void *arg)
{
  struct worker *w = arg;
  gbox_h *h = test_connect_daemon (w->sysroot);
  unsigned i;

  gbox_set_program (h, w->id == 0 ? "worker0" : "worker1");
  for (i = 0; i < ITERATIONS; ++i) {
    struct drain d = { .seed = 100 + w->id };
    struct gbox_dirent *ents = NULL;
    struct gbox_stat st;
    size_t n = 0;
    pthread_t t;
    int p[2], r1, r2, r3;

    if (pipe2 (p, O_CLOEXEC) == -1)
      abort ();
    d.fd = p[0];
    pthread_create (&t, NULL, drain_thread, &d);
    r1 = gbox_download (h, "/data", p[1]);
    close (p[1]);
    pthread_join (t, NULL);

    r2 = gbox_readdir_stat_all (h, "/d", &ents, &n);
    r3 = gbox_lstat (h, "/data", &st);

    if (r1 == 0 && d.match && d.total == FILE_SIZE &&
        r2 == 0 && n == w->nr_files &&
        r3 == 0 && st.size == FILE_SIZE)
      w->ok_iterations++;
    else
      CHECK (false, "thread %d iteration %u: download %d (%" PRIu64
             " bytes, match %d), readdir %d (%zu entries), lstat %d: %s",
             w->id, i, r1, d.total, d.match, r2, n, r3, gbox_last_error (h));
    gbox_free_dirents (ents, n);
  }
  gbox_close (h);
  return NULL;
}

int
main (int argc, char *argv[])
{
  struct worker w[NTHREADS];
  pthread_t t[NTHREADS];
  double t0;
  int i;
  unsigned j;

  test_daemon_path ();
  for (i = 0; i < NTHREADS; ++i) {
    char path[4096];

    w[i].id = i;
    w[i].sysroot = test_mkdtemp ();
    w[i].nr_files = 50 + 25 * i;
    w[i].ok_iterations = 0;
    snprintf (path, sizeof path, "%s/data", w[i].sysroot);
    test_make_file (path, FILE_SIZE, 100 + i);
    snprintf (path, sizeof path, "%s/d", w[i].sysroot);
    mkdir (path, 0755);
    for (j = 0; j < w[i].nr_files; ++j) {
      snprintf (path, sizeof path, "%s/d/f%u", w[i].sysroot, j);
      test_make_file (path, j, j);
    }
  }

  t0 = test_now ();
  for (i = 0; i < NTHREADS; ++i)
    pthread_create (&t[i], NULL, worker_thread, &w[i]);
  for (i = 0; i < NTHREADS; ++i)
    pthread_join (t[i], NULL);
  printf ("%d threads x %d iterations in %.2f s\n", NTHREADS, ITERATIONS,
          test_now () - t0);

  for (i = 0; i < NTHREADS; ++i) {
    CHECK (w[i].ok_iterations == ITERATIONS,
           "thread %d: %u/%d iterations correct (download %d bytes, "
           "list %u entries, lstat)", i, w[i].ok_iterations, ITERATIONS,
           FILE_SIZE, w[i].nr_files);
    gbox_int_rmtree (w[i].sysroot);
    free (w[i].sysroot);
  }
  return check_finish ("test-threads");
}
