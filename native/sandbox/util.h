/*
 * Shared by the two halves of the sandbox's native helper: tix-sandbox.c (the
 * helper "H": job, store view, injections, status) and sandbox.c (the sandbox
 * "S": its root, identity and the builder's exec). See tix-sandbox.c.
 */
#ifndef TIX_SANDBOX_UTIL_H
#define TIX_SANDBOX_UTIL_H
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stddef.h>
#include <sys/types.h>

/** The control socket to tix (fd 3 of the helper). */
#define CTL 3

#ifdef TIMING /* development only: phase timestamps (CLOCK_REALTIME, ms) appended to TIMING_LOG */
#ifndef TIMING_LOG
#define TIMING_LOG "/tmp/tix-sandbox-timing.log"
#endif
void tmark(const char *what);
#define TM(x) tmark(x)
#else
#define TM(x)
#endif

/** What a failure says: in S it is also reported to tix (an `F` line) as a setup failure. */
extern int g_in_sandbox;

__attribute__((noreturn, format(printf, 1, 2))) void die(const char *fmt, ...);
void write_file(const char *path, const char *text);
void write_all(int fd, const void *buf, size_t n);
/** Read exactly n bytes; 0 on EOF or error. */
int read_all(int fd, void *buf, size_t n);
__attribute__((format(printf, 1, 2))) void say(const char *fmt, ...);
char *cat(const char *a, const char *b);
char *cat3(const char *a, const char *b, const char *c);
/** mkdir -p with mode for every missing component (the last one too when `last`). */
void mkdirs(const char *path, mode_t mode, int last);

/** The job tix sends (helper-script.ts documents the layout; the perl helper reads the same). */
struct job {
  long huid, hgid, uid, gid;
  const char *store, *ro, *view, *lower, *upper, *work, *ovextra;
  int n;
  char **names;
  char **bw; /* the bubblewrap command line; bw[0] is bwrap's path (unused) */
  int nbw;
};

/**
 * Mount points for inputs [from, to) on the lower tmpfs (`lower`, an fd), their
 * sources in `ro`: a dir or file per input to bind (flags[i] = 1), a copy of a
 * symlink (0). Relative to the two dirs: one name to look up per call.
 */
void premake_range(const struct job *j, int ro, int lower, int from, int to, char *flags);

/** Split a job buffer of `len` bytes (NUL-ended fields) into `j`. */
void parse_job(struct job *j, char *buf, size_t len);
int valid_name(const char *s);

/** S: never returns. `in` carries "x" once the id maps are written, then the job; `back` S's share of the mount points (see tix-sandbox.c). */
__attribute__((noreturn)) void sandbox_main(int in, int back, int log, long sb_uid, long sb_gid, int new_net, int root_mode);
#endif
