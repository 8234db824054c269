/*
 * Mounts of the sandbox side ("S") of the native helper, as bubblewrap makes
 * them: binds of host paths (looked up under /oldroot), /dev, /proc, tmpfs,
 * read-only submounts, loopback. See sandbox.c.
 */
#include "mounts.h"
#include <linux/openat2.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <unistd.h>

int g_oldroot = -1; /* O_PATH fd of /oldroot: where bind sources are looked up */

/** An O_PATH fd of host path `p` (inside /oldroot), or -1 with errno. */
int open_host(const char *p) {
  struct open_how how;
  memset(&how, 0, sizeof how);
  how.flags = O_PATH | O_CLOEXEC;
  how.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS;
  int fd = (int)syscall(SYS_openat2, g_oldroot, p[0] == '/' ? p + 1 : p, &how, sizeof how);
  if (fd < 0 && errno == ENOSYS) { /* before Linux 5.6: a plain lookup (absolute symlinks then go astray) */
    char *q = cat("/oldroot", p);
    fd = open(q, O_PATH | O_CLOEXEC);
    free(q);
  }
  return fd;
}

const char *fdpath(int fd, char *buf, size_t len) {
  snprintf(buf, len, "/proc/self/fd/%d", fd);
  return buf;
}

/** Flags a bind remount must keep (locked in a less privileged namespace), plus `add`. */
unsigned long remount_flags(const char *dst, unsigned long add) {
  struct statvfs sv;
  if (statvfs(dst, &sv) < 0) die("statvfs '%s': %s", dst, strerror(errno));
  unsigned long f = MS_REMOUNT | MS_BIND | add;
  if (sv.f_flag & ST_RDONLY) f |= MS_RDONLY;
  if (sv.f_flag & ST_NOSUID) f |= MS_NOSUID;
  if (sv.f_flag & ST_NODEV) f |= MS_NODEV;
  if (sv.f_flag & ST_NOEXEC) f |= MS_NOEXEC;
  if (sv.f_flag & ST_NODIRATIME) f |= MS_NODIRATIME;
  f |= (sv.f_flag & ST_NOATIME) ? MS_NOATIME : (sv.f_flag & ST_RELATIME) ? MS_RELATIME : MS_STRICTATIME;
  return f;
}

/* The host's mount points as S's namespace has them (read early: H's namespace, which S's copies,
   is private from the host, so they do not change; only H's own mounts, under the store's
   .tix-sandbox, come later). n < 0: unknown. */
static char **host_mounts;
static int n_host_mounts = -1;

static void unescape(char *p);

/** Is `m` strictly below the dir `p`? */
static int below(const char *m, const char *p) {
  size_t l = strlen(p);
  if (l == 1) return m[0] == '/' && m[1] != '\0';
  return strncmp(m, p, l) == 0 && m[l] == '/';
}

void read_host_mounts(void) {
  FILE *f = fopen("/proc/self/mountinfo", "re");
  if (!f) return;
  char *line = NULL;
  size_t cap = 0;
  int n = 0, room = 64;
  char **list = malloc((size_t)room * sizeof *list);
  while (list && getline(&line, &cap, f) > 0) {
    char *save, *mp = strtok_r(line, " ", &save);
    for (int i = 0; i < 4 && mp; i++) mp = strtok_r(NULL, " ", &save);
    if (!mp) continue;
    unescape(mp);
    if (strncmp(mp, "/oldroot/", 9) != 0) continue;
    if (n == room) list = realloc(list, (size_t)(room *= 2) * sizeof *list);
    if (list) list[n++] = strdup(mp + 8);
  }
  free(line);
  fclose(f);
  if (list) host_mounts = list, n_host_mounts = n;
}

/** Might the host path `p` (resolved) have mounts below it, which a recursive bind brings along? */
int has_submounts(const char *p, const struct job *j) {
  if (n_host_mounts < 0 || !p) return 1;
  for (int i = 0; i < n_host_mounts; i++)
    if (below(host_mounts[i], p)) return 1;
  return below(j->ro, p) || below(j->lower, p) || below(j->view, p);
}

/**
 * bwrap's bind_mount: recursive bind of a host path, then nosuid (+nodev unless devices, +ro).
 * `resolved` (when given) gets the source's host path, symlinks resolved, or NULL.
 */
int bind_into_r(const char *src, const char *dst, int ro, int devices, int try_, char **resolved) {
  struct stat st, dt;
  char fp[64];
  int fd = open_host(src);
  if (fd < 0 || fstat(fd, &st) < 0) {
    if (try_ && errno == ENOENT) return 0;
    die("can't find source path %s: %s", src, strerror(errno));
  }
  if (S_ISDIR(st.st_mode)) {
    mkdirs(dst, 0755, 1);
  } else if (lstat(dst, &dt) < 0) { /* may exist: e.g. /etc/x, made by tix in the read-only /etc */
    mkdirs(dst, 0755, 0);
    if (mknod(dst, S_IFREG | 0444, 0) < 0) die("create '%s': %s", dst, strerror(errno));
  }
  if (mount(fdpath(fd, fp, sizeof fp), dst, NULL, MS_BIND | MS_REC, NULL) < 0) die("bind %s on %s: %s", src, dst, strerror(errno));
  if (resolved) {
    char real[4096];
    ssize_t n = readlink(fdpath(fd, fp, sizeof fp), real, sizeof real - 1);
    *resolved = NULL;
    if (n > 8 && (size_t)n < sizeof real - 1) {
      real[n] = '\0';
      if (strncmp(real, "/oldroot/", 9) == 0) *resolved = strdup(real + 8);
    }
  }
  close(fd);
  if (devices && !S_ISDIR(st.st_mode)) return 1; /* a device node: nosuid means nothing there */
  unsigned long want = MS_NOSUID | (devices ? 0 : MS_NODEV) | (ro ? MS_RDONLY : 0);
  unsigned long f = remount_flags(dst, 0);
  if ((f & want) != want && mount(NULL, dst, NULL, f | want, NULL) < 0) die("remount %s: %s", dst, strerror(errno));
  return 1;
}

int bind_into(const char *src, const char *dst, int ro, int devices, int try_) {
  return bind_into_r(src, dst, ro, devices, try_, NULL);
}

void mk_dir(const char *dst, mode_t mode) {
  mkdirs(dst, 0755, 0);
  /* An existing dir keeps its mode, as with bwrap (e.g. /tmp, a tmpfs, as the store's parent). */
  if (mkdir(dst, mode) < 0 && errno != EEXIST) die("mkdir %s: %s", dst, strerror(errno));
}

void mount_tmpfs(const char *dst, mode_t mode) {
  char o[64];
  mkdirs(dst, 0755, 1);
  snprintf(o, sizeof o, "mode=%04o", (unsigned)mode);
  if (mount("tmpfs", dst, "tmpfs", MS_NOSUID | MS_NODEV, o) < 0) die("mount tmpfs on %s: %s", dst, strerror(errno));
}

/** bwrap's --dev: a tmpfs with the six usual devices, stdio links, shm and a private devpts. */
void mount_dev(void) {
  static const char *const devs[] = {"null", "zero", "full", "random", "urandom", "tty"};
  static const char *const links[][2] = {
      {"/dev/stdin", "/proc/self/fd/0"}, {"/dev/stdout", "/proc/self/fd/1"}, {"/dev/stderr", "/proc/self/fd/2"},
      {"/dev/fd", "/proc/self/fd"},      {"/dev/core", "/proc/kcore"},       {"/dev/ptmx", "pts/ptmx"},
  };
  mount_tmpfs("/dev", 0755);
  for (size_t i = 0; i < sizeof devs / sizeof *devs; i++) {
    char *d = cat("/dev/", devs[i]);
    bind_into(d, d, 0, 1, 0);
    free(d);
  }
  for (size_t i = 0; i < sizeof links / sizeof *links; i++)
    if (symlink(links[i][1], links[i][0]) < 0) die("symlink %s: %s", links[i][0], strerror(errno));
  mk_dir("/dev/shm", 0755);
  mk_dir("/dev/pts", 0755);
  if (mount("devpts", "/dev/pts", "devpts", MS_NOSUID | MS_NOEXEC, "newinstance,ptmxmode=0666,mode=620") < 0) die("mount devpts: %s", strerror(errno));
}

/** A /proc of the new pid namespace, with bwrap's read-only covers. */
void mount_proc(void) {
  static const char *const covers[] = {"/proc/sys", "/proc/sysrq-trigger", "/proc/irq", "/proc/bus"};
  mkdirs("/proc", 0755, 1);
  if (mount("proc", "/proc", "proc", MS_NOSUID | MS_NOEXEC | MS_NODEV, NULL) < 0) die("mount proc: %s", strerror(errno));
  for (size_t i = 0; i < sizeof covers / sizeof *covers; i++) {
    if (access(covers[i], F_OK) != 0) continue;
    if (mount(covers[i], covers[i], NULL, MS_BIND | MS_REC, NULL) < 0) die("bind %s: %s", covers[i], strerror(errno));
    if (mount(NULL, covers[i], NULL, remount_flags(covers[i], MS_RDONLY | MS_NOSUID | MS_NODEV), NULL) < 0) die("remount %s: %s", covers[i], strerror(errno));
  }
}

/** Decode mountinfo's octal escapes (\040 for a space, …) in place. */
static void unescape(char *p) {
  char *o = p;
  for (; *p; p++, o++) {
    if (p[0] == '\\' && p[1] >= '0' && p[1] <= '3' && p[2] >= '0' && p[2] <= '7' && p[3] >= '0' && p[3] <= '7') {
      *o = (char)((p[1] - '0') * 64 + (p[2] - '0') * 8 + (p[3] - '0'));
      p += 3;
    } else {
      *o = *p;
    }
  }
  *o = '\0';
}

/** Submounts of a recursive read-only bind keep their flags: make them read-only too (bwrap does). */
void submounts_ro(char **targets, int n) {
  if (n == 0) return;
  FILE *f = fopen("/proc/self/mountinfo", "re");
  if (!f) die("open /proc/self/mountinfo: %s", strerror(errno));
  char *line = NULL;
  size_t cap = 0;
  while (getline(&line, &cap, f) > 0) {
    char *save, *mp = strtok_r(line, " ", &save);
    for (int i = 0; i < 4 && mp; i++) mp = strtok_r(NULL, " ", &save);
    char *opts = mp ? strtok_r(NULL, " ", &save) : NULL;
    if (!opts || (strncmp(opts, "ro", 2) == 0 && (opts[2] == ',' || opts[2] == '\0'))) continue;
    unescape(mp);
    for (int i = 0; i < n; i++) {
      size_t lt = strlen(targets[i]);
      if (strncmp(mp, targets[i], lt) == 0 && mp[lt] == '/') {
        if (mount(NULL, mp, NULL, remount_flags(mp, MS_RDONLY | MS_NOSUID | MS_NODEV), NULL) < 0) die("remount %s read-only: %s", mp, strerror(errno));
        break;
      }
    }
  }
  free(line);
  fclose(f);
}

void loopback_up(void) {
  int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (s < 0) die("socket: %s", strerror(errno));
  struct ifreq ifr;
  memset(&ifr, 0, sizeof ifr);
  strcpy(ifr.ifr_name, "lo");
  ifr.ifr_flags = IFF_UP | IFF_LOOPBACK | IFF_RUNNING;
  if (ioctl(s, SIOCSIFFLAGS, &ifr) < 0) die("cannot set up the loopback interface: %s", strerror(errno));
  close(s);
}
