/* guestbox - internal declarations shared by the files of common/.
 * Copyright (C) 2026 the guestbox authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

/**
 * The handle's layout and the private helpers of libguestbox.a, in one
 * section per file.  Commands include guestbox.h only.
 */

#ifndef GUESTBOX_INTERNAL_H
#define GUESTBOX_INTERNAL_H

#include <stdarg.h>
#include <stdbool.h>
#include <sys/types.h>
#include <rpc/types.h>
#include <rpc/xdr.h>

#include "guestbox.h"

/* Drives one appliance can hold (one SCSI target each). */
#define GBOX_MAX_DRIVES 255

/* Tail of the console kept for error messages. */
#define GBOX_CONSOLE_TAIL 8192

enum gbox_state {
  GBOX_STATE_CONFIG = 0,        /* adding drives, settings */
  GBOX_STATE_READY,             /* daemon answering */
  GBOX_STATE_DEAD,              /* qemu or daemon gone; only close is useful */
};

/* One backing file of a qcow2 chain opened with --format=qcow2: found,
 * probed and opened by us, handed to qemu as a descriptor. */
struct gbox_backing {
  char *name;                   /* the file, as resolved */
  char *format;                 /* probed */
  int fd;                       /* read-only */
};

/* Backing files followed in one chain, at most. */
#define GBOX_MAX_CHAIN 12

struct gbox_drive {
  char *source;                 /* as given by the user */
  char *format;                 /* explicit or probed: "raw", "qcow2", ... */
  bool format_explicit;
  bool readonly;
  bool write_later;             /* read-only (overlay) until
                                   gbox_make_writable commits it */
  bool writable;                /* write_later, and committed */
  int fd;                       /* the local source, opened once (the
                                   descriptor probed and given to qemu),
                                   or -1 */
  int fd_rw;                    /* write_later: the same file read-write */
  uint64_t size;                /* virtual size from the header, 0: ask
                                   qemu-img */
  struct gbox_backing *chain;   /* --format=qcow2: the backing files */
  size_t nr_chain;
  bool is_nbd;
  char *nbd_json;               /* blockdev "file" JSON for NBD sources */
  char *nbd_qemu_json;          /* the same for qemu: a Unix socket as a
                                   descriptor we connected ("nbdI") */
  char *nbd_socket;             /* that socket's path, or NULL */
  char *overlay;                /* throw-away qcow2 overlay (readonly) */
  bool discard;                 /* pass discards through (read-write) */
  unsigned blocksize;           /* sector size the guest sees; 0 = 512 */
};

struct gbox_h {
  /* Settings. */
  char *program;                /* "virt-cat": prefix of messages */
  int verbose;
  int trace;
  char *qemu;
  char *append;
  int memsize;                  /* MB */
  char *accel;                  /* "auto", "kvm", "tcg" */
  char *path;                   /* prebuilt appliance dir, or NULL */
  bool snapshot;                /* save/restore a booted appliance */
  unsigned launch_timeout;      /* seconds */
  unsigned call_timeout;        /* seconds of silence before giving up */
  unsigned call_deadline;       /* seconds one call may take in all */
  uint64_t memory_budget;       /* bytes one paged listing may take */

  /* Paged listings: the size of the last reply, and what the pages of
   * the listing in progress have taken so far. */
  uint32_t last_reply_len;
  uint64_t pages_taken;

  /* A cache of this handle's own, when the default one is unusable
   * (removed on close). */
  char *private_cache;

  /* Last error. */
  char *last_error;
  int last_errno;

  /* Callbacks. */
  gbox_event_cb event_cb;
  void *event_opaque;
  gbox_progress_cb progress_cb;
  void *progress_opaque;

  /* Drives. */
  struct gbox_drive *drives;
  size_t nr_drives;

  /* The appliance. */
  enum gbox_state state;
  char *tmpdir;                 /* private temp dir, removed on close */
  pid_t qemu_pid;               /* 0 when none */
  pid_t daemon_pid;             /* host-mode daemon started by tests, or 0 */
  int fd;                       /* the channel to the daemon, -1 when none */
  int qmp_fd;                   /* QMP monitor, -1 when none */
  int console_fd;               /* read end of qemu's stdout/stderr, or -1 */
  char console_tail[GBOX_CONSOLE_TAIL]; /* ring of the last console bytes */
  size_t console_pos;           /* total console bytes seen */
  char console_line[1024];      /* partial console line (for events) */
  size_t console_line_len;
  unsigned serial;              /* next call serial */
  bool restored;                /* this launch restored a snapshot */
  uint64_t attach_ms;           /* when the disks began to be attached */
  int snapshot_wanted;          /* 1: none to restore, 2: a bad one to
                                   replace; made on close (detached) */
  bool qmp_refused;             /* the last QMP command got an error reply */
  long failed_drive;            /* the drive the last launch failed on
                                   (qemu refused it, or its overlay could
                                   not be made), or -1 */
};

/* errors.c */
extern void gbox_int_error (gbox_h *h, const char *fs, ...)
  __attribute__((format (printf, 2, 3)));
/* Like gbox_int_error with ": strerror(errno)" appended; keeps errno. */
extern void gbox_int_perror (gbox_h *h, const char *fs, ...)
  __attribute__((format (printf, 2, 3)));
extern void gbox_int_set_error (gbox_h *h, int errnum, const char *msg);
/* handle.c: LIBGUESTFS_TMPDIR, else TMPDIR (NULL: neither); the
 * appliance cache under LIBGUESTFS_CACHEDIR (NULL: not set; free it). */
extern const char *gbox_int_env_tmpdir (void);
extern char *gbox_int_env_cachedir (void);
extern void gbox_int_debug (gbox_h *h, const char *fs, ...)
  __attribute__((format (printf, 2, 3)));
extern void gbox_int_event (gbox_h *h, enum gbox_event ev,
                            const char *buf, size_t len);
extern int gbox_int_errno_from_name (const char *name);

/* proto.c: the client side of the protocol. */
/* Read until the daemon's launch flag (or timeout_ms, or the peer dies). */
extern int gbox_int_wait_launch_flag (gbox_h *h, unsigned timeout_ms);
/* A plain call: ARGS may be NULL for procedures without arguments, RET
 * NULL for procedures without a reply body. */
extern int gbox_int_call (gbox_h *h, int proc,
                          xdrproc_t xdr_args, void *args,
                          xdrproc_t xdr_ret, void *ret);
/* A plain call in two halves, so that the caller works while the
 * daemon does (only one call at a time is ever in flight): _send
 * sends it and fills P, _recv reads its reply (after a failed _send,
 * _recv only returns -1). */
struct gbox_pending_call {
  int proc;
  unsigned serial;
  double start;
  bool sent;
};
extern int gbox_int_call_send (gbox_h *h, int proc,
                               xdrproc_t xdr_args, void *args,
                               struct gbox_pending_call *p);
extern int gbox_int_call_recv (gbox_h *h, struct gbox_pending_call *p,
                               xdrproc_t xdr_ret, void *ret);
/* actions.c: gbox_refresh's call, sent (its reply read with
 * gbox_int_call_recv). */
extern int gbox_int_refresh_send (gbox_h *h, int64_t sec, unsigned nsec,
                                  const void *seed, size_t seedlen,
                                  struct gbox_pending_call *p);
/* FileOut: the reply is followed by chunks, written to FD. */
/* FileOut with a byte limit (UINT64_MAX: none). */
extern int gbox_int_call_fileout_max (gbox_h *h, int proc,
                                      xdrproc_t xdr_args, void *args, int fd,
                                      uint64_t max);
extern int gbox_int_call_fileout (gbox_h *h, int proc,
                                  xdrproc_t xdr_args, void *args, int fd);
/* FileIn: the call is followed by chunks read from FD. */
extern int gbox_int_call_filein (gbox_h *h, int proc,
                                 xdrproc_t xdr_args, void *args, int fd,
                                 xdrproc_t xdr_ret, void *ret);
/* Mark the appliance dead (qemu gone, channel broken). */
extern void gbox_int_set_dead (gbox_h *h, const char *why);

/* console.c: qemu's output, as log events and a ring for errors. */
/* Drain pending console output (non-blocking); called from poll loops. */
extern void gbox_int_read_console (gbox_h *h);
/* The last console lines, for error messages (static buffer in h). */
extern const char *gbox_int_console_tail (gbox_h *h, size_t maxlines,
                                          char *buf, size_t buflen);

/* procs.c: the procedures of procs.def, their names and trace lines. */
struct gbox_int_proc {
  int proc;
  const char *name;             /* "mount_ro" */
  /* "NAME ARGS..." for GBOX_TRACE into BUF (ARGS not NULL). */
  void (*trace) (const char *name, const void *args, char *buf, size_t len);
};
extern const struct gbox_int_proc gbox_int_procs[];
extern const size_t gbox_int_nr_procs;
/* The procedure's name, or "unknown_procedure". */
extern const char *gbox_int_proc_name (int proc);
/* "NAME ARGS..." for tracing a call, truncated to fit BUF. */
extern void gbox_int_proc_args (int proc, const void *args,
                                char *buf, size_t len);

/* actions.c: the gbox_* call of every procedure (procs.def), read by
 * the test proving every procedure has one. */
struct gbox_int_proc_call {
  int proc;
  void (*call) (void);          /* the gbox_* call (type erased) */
};
extern const struct gbox_int_proc_call gbox_int_proc_calls[];
extern const size_t gbox_int_nr_proc_calls;

/* sigcleanup.c: the qemu children and temp dirs of live handles,
 * killed and removed on a fatal signal. */
extern void gbox_int_register_child (gbox_h *h);  /* h->qemu_pid, h->tmpdir */
/* Forget the entries of PID (if > 0) and of TMPDIR (if not NULL). */
extern void gbox_int_unregister_child (pid_t pid, const char *tmpdir);
/* Kill and reap qemu; close our ends; remove the temp dir. */
extern void gbox_int_kill_qemu (gbox_h *h);

/* command.c: running host programs (argv, never a shell). */
struct gbox_cmd {
  /* Set by the caller (the rest zeroed). */
  const char *const *argv;
  unsigned timeout_ms;          /* 0: none; else killed after this */
  size_t out_max;               /* stdout kept up to this (0: none) */
  size_t err_max;               /* stderr likewise */
  /* Each stdout line (ended by '\n' or '\r', at most 255 bytes). */
  void (*out_line) (void *opaque, const char *line);
  void *opaque;
  volatile pid_t *child;        /* if set: the pid while it runs */
  int fd3;                      /* > 2: given to the program as its
                                 * descriptor 3 (0: none) */
  /* The standard streams: stdin /dev/null, stdout and stderr captured
   * (or /dev/null) unless bit N of STDIO_SET says STDIO[N] instead
   * (0 stdin, 1 stdout, 2 stderr: ours to inherit them, or any
   * descriptor). */
  int stdio[3];
  unsigned stdio_set;
  int dir_fd;                   /* > 2: run in that directory (0: here) */
  const char *program;          /* set: a failed exec says "PROGRAM: error:
                                 * ARGV0: WHY" (else "ARGV0: WHY") */
  /* Results: OUT and ERR are NUL-terminated (NULL when not kept). */
  char *out, *err;
  size_t out_len, err_len;
  int status;                   /* as from waitpid */
  bool timed_out;
};
/* Run and wait.  0: it ran (see gbox_int_cmd_ok), -1: it could not be
 * started (errno set).  Free the results with gbox_int_cmd_free. */
extern int gbox_int_cmd_run (struct gbox_cmd *c);
/* Exited with status 0 within the timeout. */
extern bool gbox_int_cmd_ok (const struct gbox_cmd *c);
extern void gbox_int_cmd_free (struct gbox_cmd *c);
/* Start it and return its pid at once (-1: errno), for a program that
 * runs while the caller feeds or drains its pipes (STDIO); nothing is
 * captured and TIMEOUT_MS does not apply.  Wait with gbox_int_cmd_wait,
 * which sets STATUS; 0, or -1 (errno). */
extern pid_t gbox_int_cmd_start (struct gbox_cmd *c);
extern int gbox_int_cmd_wait (struct gbox_cmd *c, pid_t pid);
/* Start a long-lived child in its own process group, its stdout and
 * stderr on a pipe (*OUTFD, close-on-exec).  The pid, or -1 (errno). */
/* ENVP: the child's environment, or NULL for ours. */
extern pid_t gbox_int_cmd_spawn (const char *const *argv,
                                 const char *const *envp, int *outfd);

/* cmdline.c: the qemu command line. */
struct gbox_argv {
  char **v;                     /* NULL-terminated */
  size_t n, alloc;
};
extern void gbox_int_free_argv (struct gbox_argv *a);
/* How this launch uses the machine. */
enum gbox_launch_mode {
  LAUNCH_PLAIN,                 /* cold boot, anonymous RAM */
  LAUNCH_CREATE,                /* cold boot saved as a snapshot */
  LAUNCH_RESTORE,               /* restore a snapshot */
};
/* The per-launch parts of the command line.  The snapshot key is the
 * command line built with placeholders here. */
struct gbox_machine {
  enum gbox_launch_mode mode;
  const char *tmpdir;           /* sockets */
  const char *ram;              /* RAM file (CREATE, RESTORE) */
  const char *share;            /* "on" (CREATE) or "off" (RESTORE) */
  /* Add -sandbox without asking qemu whether it takes it: only for a
   * snapshot lookup and the restore of what it found (a snapshot whose
   * key has -sandbox and this qemu binary's identity proves it). */
  bool assume_sandbox;
};
extern int gbox_int_build_cmdline (gbox_h *h, struct gbox_argv *a,
                                   const char *accel, const char *kernel,
                                   const char *initrd,
                                   const struct gbox_machine *m);

/* qmp.c: a minimal QMP client on h->qmp_fd.  CMD is a full JSON object;
 * on success *RETURN (if not NULL) gets the whole reply line. */
extern int gbox_int_qmp_handshake (gbox_h *h, unsigned timeout_ms,
                                   char **greeting);
extern int gbox_int_qmp (gbox_h *h, const char *cmd, char **ret_json);
/* The same, passing FD along (for "getfd"). */
extern int gbox_int_qmp_fd (gbox_h *h, const char *cmd, int fd,
                            char **ret_json);
/* The string member NAME of the reply JSON's "return" object (of JSON
 * itself when it has none), or NULL. */
extern char *gbox_int_qmp_string (const char *json, const char *name);

/* drives.c */
/* Read FILENAME's header: *FORMAT gets "raw", "qcow2", "vmdk", ...;
 * *BACKING the backing file name an image header names (or NULL). */
extern int gbox_int_probe_format (gbox_h *h, const char *filename,
                                  char **format, char **backing);
/* Parse an NBD URI into the JSON of a blockdev "nbd" node; NULL and an
 * error if SOURCE is not a valid NBD URI. */
extern char *gbox_int_nbd_json (gbox_h *h, const char *source);
/* The same through a descriptor open on the image. */
extern int gbox_int_probe_format_fd (gbox_h *h, int fd, const char *filename,
                                     char **format, char **backing);
extern int gbox_int_prepare_drives (gbox_h *h);  /* overlays */
extern int gbox_int_hotadd_drives (gbox_h *h);   /* QMP device_add */
/* gbox_int_hotadd_drives in two halves: the block nodes and devices
 * (0 or -1), then the wait for the guest (0 or -2). */
extern int gbox_int_attach_drives (gbox_h *h);
extern int gbox_int_drives_ready (gbox_h *h);
extern void gbox_int_free_drives (gbox_h *h);

/* snapshot.c: saving a booted appliance and restoring it. */
struct gbox_snapshot {
  char *dir;                    /* CACHEDIR/snapshot (0700) */
  const char *slot;             /* "current" or "current-v" (verbose) */
  char *prekey;                 /* key known before qemu starts */
  bool assume_sandbox;          /* prekey made without asking qemu */
  /* A published snapshot (lookup). */
  char *found;                  /* its directory */
  char *ram;                    /* its RAM file */
  int state_fd;                 /* its device state, or -1 */
  char *postkey;                /* its key lines checked once qemu runs */
  /* One being made (begin .. end). */
  int lock_fd;                  /* flock on DIR/lock, or -1 */
  char *newdir;                 /* unpublished directory */
  char *newram;                 /* its RAM file (share=on while booting) */
};
extern void gbox_int_snapshot_init (struct gbox_snapshot *s);
extern void gbox_int_snapshot_free (struct gbox_snapshot *s);
/* Set s->dir (created 0700 if needed), s->slot and s->prekey.  -1 on
 * error (no snapshot then). */
extern int gbox_int_snapshot_setup (gbox_h *h, struct gbox_snapshot *s,
                                    const char *cachedir,
                                    const char *const *canon_argv,
                                    const char *kernel, const char *initrd);
/* 1: a snapshot matching s->prekey was found (found, ram, state_fd,
 * postkey set); 0: none, with the reason in *WHY (malloc'd). */
extern int gbox_int_snapshot_lookup (gbox_h *h, struct gbox_snapshot *s,
                                     char **why);
/* The key lines that need the running qemu (its executable and version
 * from the QMP greeting).  Malloc'd, or NULL. */
extern char *gbox_int_snapshot_postkey (gbox_h *h, const char *greeting);
/* Take the snapshot lock (never waits) and make the new directory and
 * RAM file.  1: ours to make; 0: another process is making one. */
extern int gbox_int_snapshot_begin (gbox_h *h, struct gbox_snapshot *s);
/* Migrate the running appliance's device state to NEWDIR/state. */
extern int gbox_int_snapshot_save (gbox_h *h, struct gbox_snapshot *s,
                                   uint64_t deadline);
/* Once qemu is gone: sync, write the key, publish atomically. */
extern int gbox_int_snapshot_publish (gbox_h *h, struct gbox_snapshot *s,
                                      const char *postkey);
/* Drop an unpublished directory, release the lock. */
extern void gbox_int_snapshot_end (gbox_h *h, struct gbox_snapshot *s);
/* In a qemu started with -incoming defer: load s->state_fd, wait until
 * the guest runs. */
extern int gbox_int_snapshot_load (gbox_h *h, struct gbox_snapshot *s,
                                   uint64_t deadline);
/* launch.c: after a successful shutdown call, QMP "quit". */
extern void gbox_int_quit_qemu (gbox_h *h);

/* The restored daemon: set its clock, reseed its RNG (the call sent;
 * its reply read with gbox_int_call_recv). */
extern int gbox_int_snapshot_refresh (gbox_h *h,
                                      struct gbox_pending_call *p);
/* launch.c, from gbox_close once the command's appliance is gone: when
 * its launch found no snapshot to restore, make one in a detached
 * process (which holds the snapshot lock while it works). */
extern void gbox_int_snapshot_detach (gbox_h *h);

/* appliance.c: find or build the cached appliance. */
extern int gbox_int_find_appliance (gbox_h *h, char **kernel, char **initrd,
                                    char **cachedir);
extern void gbox_int_remove_private_cache (gbox_h *h);

/* Utilities (utils.c). */
extern char *gbox_int_strdup (gbox_h *h, const char *s);
extern char *gbox_int_asprintf (gbox_h *h, const char *fs, ...)
  __attribute__((format (printf, 2, 3)));
extern int gbox_int_rmtree (const char *dir);
extern uint64_t gbox_int_now_ms (void);
/* In a child before exec: close every descriptor from FIRST up. */
extern void gbox_int_close_fds_from (int first);

#endif /* GUESTBOX_INTERNAL_H */
