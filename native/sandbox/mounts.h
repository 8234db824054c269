/* Mounts of the sandbox side of the native helper (mounts.c). */
#ifndef TIX_SANDBOX_MOUNTS_H
#define TIX_SANDBOX_MOUNTS_H
#include "util.h"

/** O_PATH fd of /oldroot (the host's root, after S pivoted): where bind sources are looked up. */
extern int g_oldroot;

/** An O_PATH fd of host path `p` (inside /oldroot), or -1 with errno. */
int open_host(const char *p);
/** "/proc/self/fd/<fd>" in buf. */
const char *fdpath(int fd, char *buf, size_t len);
/** Flags a bind remount must keep (locked in a less privileged namespace), plus `add`. */
unsigned long remount_flags(const char *dst, unsigned long add);
/** List the host's mount points (early: S's copy of them does not change but for H's own). */
void read_host_mounts(void);
/** Might the host path `p` (resolved) have mounts below it, which a recursive bind brings along? */
int has_submounts(const char *p, const struct job *j);
/** bwrap's bind_mount; `resolved` (when given) gets the source's host path, or NULL. */
int bind_into_r(const char *src, const char *dst, int ro, int devices, int try_, char **resolved);
int bind_into(const char *src, const char *dst, int ro, int devices, int try_);
void mk_dir(const char *dst, mode_t mode);
void mount_tmpfs(const char *dst, mode_t mode);
void mount_dev(void);
void mount_proc(void);
/** Make the submounts below these read-only bind targets read-only too. */
void submounts_ro(char **targets, int n);
void loopback_up(void);
#endif
