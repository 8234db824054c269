/*
 * tix-sandbox: the build sandbox's native helper (see docs/sandbox.md).
 *
 * Does in one small process what the perl helper + bubblewrap do (and what
 * Nix 2.8's LocalDerivationGoal::startBuilder/runChild do after their fork):
 * the helper ("H") owns a private mount namespace holding the build's store
 * view and serves injections (2.8's addDependency); the sandbox ("S") is a
 * clone of H into new user, mount, pid, net, ipc, uts and cgroup namespaces
 * that builds its root on a tmpfs, binds the inputs, pivots, drops every
 * capability and execs the builder as pid 1. Saving bubblewrap's exec and
 * generality is the point: see the measurements in docs/sandbox.md.
 *
 * It speaks the perl helper's protocol on fd 3 (helper-script.ts), so
 * src/build/sandbox/linux.ts drives both alike:
 *   in:  "J <len>\n" + NUL-ended args: the helper header, the input names,
 *        "--", then a bubblewrap command line (only the options tix uses)
 *   out: "R overlay|plain", "P <sandbox pid>", "F <reason>", then for each
 *        "name\n" request: "K" or "E exists" or "E <reason>"
 * Exit status: the builder's, or 128+N when it was killed by signal N.
 *
 * Invariants (the escape tests in test/differential/sandbox-*.ts check them):
 * the host namespace never holds a mount; an injected mount target is created
 * exclusively and mounted through an O_NOFOLLOW fd; every input and
 * sandbox-path is read-only; the builder has no capabilities, no_new_privs,
 * only fds 0-2, and dies with tix.
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <net/if.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <grp.h>
#include <unistd.h>

#ifndef CLONE_NEWCGROUP
#define CLONE_NEWCGROUP 0x02000000
#endif
#ifndef MS_SLAVE
#define MS_SLAVE (1 << 19)
#endif
#ifndef PR_CAP_AMBIENT
#define PR_CAP_AMBIENT 47
#define PR_CAP_AMBIENT_CLEAR_ALL 4
#endif

#define CTL 3
#ifdef TIMING
#include <time.h>
static void tmark(const char *what) {
  struct timespec t;
  clock_gettime(CLOCK_REALTIME, &t);
  static int fd = -1;
  if (fd < 0) fd = open("/tmp/sbw/timing.log", O_WRONLY | O_APPEND | O_CREAT, 0644);
  dprintf(fd, "%d %.3f %s\n", (int)getpid(), t.tv_sec * 1e3 + t.tv_nsec / 1e6, what);
}
#define TM(x) tmark(x)
#else
#define TM(x)
#endif
#define MAXOPS 512

extern char **environ;

/* ---------- small utilities ---------- */

static const char *g_prefix = "tix-sandbox";
static int g_in_sandbox = 0;

static void die(const char *fmt, ...) {
  char msg[4096];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  dprintf(2, "%s: %s\n", g_prefix, msg);
  if (g_in_sandbox) dprintf(CTL, "F %s\n", msg); /* tix reports it as a setup failure */
  _exit(g_in_sandbox ? 1 : 125);
}

static void write_file(const char *path, const char *text) {
  int fd = open(path, O_WRONLY | O_CLOEXEC);
  if (fd < 0) die("open %s: %s", path, strerror(errno));
  size_t n = strlen(text);
  if (write(fd, text, n) != (ssize_t)n) die("write %s: %s", path, strerror(errno));
  close(fd);
}

static void write_all(int fd, const char *s, size_t n) {
  while (n > 0) {
    ssize_t w = write(fd, s, n);
    if (w < 0) {
      if (errno == EINTR) continue;
      return; /* tix is gone; the build goes on until it is killed */
    }
    s += w;
    n -= (size_t)w;
  }
}

static void say(const char *fmt, ...) {
  char line[4200];
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(line, sizeof line, fmt, ap);
  va_end(ap);
  if (n < 0) return;
  if ((size_t)n >= sizeof line) n = sizeof line - 1;
  write_all(CTL, line, (size_t)n);
}

static char *cat(const char *a, const char *b) {
  size_t la = strlen(a), lb = strlen(b);
  char *r = malloc(la + lb + 1);
  if (!r) die("out of memory");
  memcpy(r, a, la);
  memcpy(r + la, b, lb + 1);
  return r;
}

static char *cat3(const char *a, const char *b, const char *c) {
  char *ab = cat(a, b);
  char *r = cat(ab, c);
  free(ab);
  return r;
}

static int mnt(const char *src, const char *dst, const char *type, unsigned long flags, const char *data) {
  return mount(src, dst, type, flags, data);
}

static char *g_root; /* the new root's host path (a tmpfs, in S's namespace only) */

/**
 * mkdir -p with mode for every missing component (the last one too when
 * `last`); below the new root, only the components under it are tried.
 */
static void mkdirs(const char *path, mode_t mode, int last) {
  char *p = strdup(path);
  if (!p) die("out of memory");
  size_t lr = g_root ? strlen(g_root) : 0;
  char *start = lr && strncmp(p, g_root, lr) == 0 && p[lr] == '/' ? p + lr + 1 : p + 1;
  for (char *s = start;; s++) {
    if (*s == '/' || *s == '\0') {
      int end = *s == '\0';
      if (end && !last) break;
      *s = '\0';
      if (mkdir(p, mode) < 0 && errno != EEXIST) die("mkdir %s: %s", p, strerror(errno));
      if (end) break;
      *s = '/';
    }
  }
  free(p);
}

/* ---------- the job ---------- */

struct job {
  long huid, hgid, uid, gid;
  const char *store, *ro, *view, *lower, *upper, *work, *ovextra;
  int n;
  char **names;
  char **bw; /* the bubblewrap command line, NULL-ended; bw[0] is bwrap's path (unused) */
  int nbw;
};

static char *read_job(int *count) {
  char hdr[32];
  size_t h = 0;
  for (;;) {
    ssize_t r = read(CTL, hdr + h, 1);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) _exit(0); /* EOF: tix went away or did not need us */
    if (hdr[h] == '\n') break;
    if (++h >= sizeof hdr - 1) _exit(0);
  }
  hdr[h] = '\0';
  if (hdr[0] != 'J' || hdr[1] != ' ') _exit(0);
  size_t len = strtoul(hdr + 2, NULL, 10);
  char *buf = malloc(len + 1);
  if (!buf) die("out of memory");
  size_t got = 0;
  while (got < len) {
    ssize_t r = read(CTL, buf + got, len - got);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) _exit(0);
    got += (size_t)r;
  }
  buf[len] = '\0';
  int c = 0;
  for (size_t i = 0; i < len; i++) c += buf[i] == '\0';
  *count = c;
  return buf;
}

static void parse_job(struct job *j, char *buf, int count) {
  char **a = calloc((size_t)count + 1, sizeof *a);
  if (!a) die("out of memory");
  char *p = buf;
  for (int i = 0; i < count; i++) {
    a[i] = p;
    p += strlen(p) + 1;
  }
  if (count < 23) die("malformed job");
  int k = 10; /* syscall numbers and O_* flags: the perl helper's, not needed here */
  j->huid = strtol(a[k++], NULL, 10);
  j->hgid = strtol(a[k++], NULL, 10);
  j->store = a[k++];
  j->ro = a[k++];
  j->view = a[k++];
  j->lower = a[k++];
  j->upper = a[k++];
  j->work = a[k++];
  j->ovextra = a[k++];
  j->uid = strtol(a[k++], NULL, 10);
  j->gid = strtol(a[k++], NULL, 10);
  j->n = atoi(a[k++]);
  if (j->n < 0 || k + j->n + 2 > count) die("malformed job");
  j->names = a + k;
  k += j->n;
  if (strcmp(a[k++], "--") != 0) die("malformed job");
  j->bw = a + k;
  j->nbw = count - k;
}

static int valid_name(const char *s) {
  if (strlen(s) < 34 || s[32] != '-') return 0;
  for (int i = 0; i < 32; i++)
    if (!(isdigit((unsigned char)s[i]) || islower((unsigned char)s[i]))) return 0;
  for (const char *c = s + 33; *c; c++)
    if (!isalnum((unsigned char)*c) && !strchr("+-._?=", *c)) return 0;
  return 1;
}

/* ---------- H: the helper namespace and the store view ---------- */

/** Materialise one store path in the view (2.8's addDependency). NULL or an error. */
static const char *add_path(const struct job *j, const char *name, char *err, size_t errlen) {
  if (!valid_name(name)) return snprintf(err, errlen, "invalid store path name '%.200s'", name), err;
  char *src = cat3(j->ro, "/", name), *dst = cat3(j->view, "/", name);
  const char *res = NULL;
  struct stat st;
  int fd = -1;
  if (lstat(src, &st) < 0) {
    snprintf(err, errlen, "path is not in the store: %s", strerror(errno));
    res = err;
  } else if (S_ISLNK(st.st_mode)) {
    char t[4096];
    ssize_t n = readlink(src, t, sizeof t - 1);
    if (n < 0) {
      snprintf(err, errlen, "readlink: %s", strerror(errno));
      res = err;
    } else {
      t[n] = '\0';
      if (symlink(t, dst) < 0) res = errno == EEXIST ? "exists" : (snprintf(err, errlen, "symlink: %s", strerror(errno)), err);
    }
  } else if (S_ISDIR(st.st_mode) || S_ISREG(st.st_mode)) {
    if (S_ISDIR(st.st_mode)) {
      if (mkdir(dst, 0555) < 0) res = errno == EEXIST ? "exists" : (snprintf(err, errlen, "mkdir: %s", strerror(errno)), err);
      else if ((fd = open(dst, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) < 0) res = (snprintf(err, errlen, "open mount point: %s", strerror(errno)), err);
    } else {
      fd = open(dst, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0444);
      if (fd < 0) res = errno == EEXIST ? "exists" : (snprintf(err, errlen, "create: %s", strerror(errno)), err);
    }
    if (fd >= 0) {
      /* Through the fd: whatever the builder does to the name meanwhile, the
         mount lands on the inode we created, inside the view. */
      char target[64];
      snprintf(target, sizeof target, "/proc/self/fd/%d", fd);
      if (mnt(src, target, NULL, MS_BIND, NULL) < 0) res = (snprintf(err, errlen, "bind mount: %s", strerror(errno)), err);
      close(fd);
    }
  } else {
    res = "unsupported file type";
  }
  free(src);
  free(dst);
  return res;
}

/** Mount points for the inputs on the lower tmpfs (cheap, unlike on disk); returns how many to bind. */
static int premake(const struct job *j, char **bind) {
  int nb = 0;
  for (int i = 0; i < j->n; i++) {
    const char *name = j->names[i];
    if (!valid_name(name)) die("invalid store path name '%s'", name);
    char *src = cat3(j->ro, "/", name), *dst = cat3(j->lower, "/", name);
    struct stat st;
    if (lstat(src, &st) < 0) die("'%s' is not in the store: %s", name, strerror(errno));
    if (S_ISLNK(st.st_mode)) {
      char t[4096];
      ssize_t n = readlink(src, t, sizeof t - 1);
      if (n < 0) die("readlink: %s", strerror(errno));
      t[n] = '\0';
      if (symlink(t, dst) < 0) die("symlink: %s", strerror(errno));
    } else {
      if (S_ISDIR(st.st_mode) ? mkdir(dst, 0555) : mknod(dst, S_IFREG | 0444, 0)) die("create '%s': %s", dst, strerror(errno));
      bind[nb++] = (char *)name;
    }
    free(src);
    free(dst);
  }
  return nb;
}

/** The helper namespace with the view; returns 1 for overlay (inputs left to S), 0 for plain. */
static int setup_view(const struct job *j, char **bind, int *nbind) {
  if (j->huid != -1) {
    if (unshare(CLONE_NEWUSER | CLONE_NEWNS) < 0) die("cannot create a user namespace: %s", strerror(errno));
    char m[64];
    write_file("/proc/self/setgroups", "deny");
    snprintf(m, sizeof m, "0 %ld 1", j->huid);
    write_file("/proc/self/uid_map", m);
    snprintf(m, sizeof m, "0 %ld 1", j->hgid);
    write_file("/proc/self/gid_map", m);
  } else if (unshare(CLONE_NEWNS) < 0) {
    die("cannot create a mount namespace: %s", strerror(errno));
  }
  if (mnt(NULL, "/", NULL, MS_PRIVATE | MS_REC, NULL) < 0) die("make / private: %s", strerror(errno));
  /* A read-only source for every bind: binds and propagated copies inherit the flag. */
  if (mnt(j->store, j->ro, NULL, MS_BIND, NULL) < 0) die("bind '%s': %s", j->store, strerror(errno));
  struct statvfs sv;
  if (statvfs(j->ro, &sv) < 0) die("statvfs '%s': %s", j->ro, strerror(errno));
  unsigned long atime = (sv.f_flag & ST_NOATIME) ? MS_NOATIME : (sv.f_flag & ST_RELATIME) ? MS_RELATIME : MS_STRICTATIME;
  if (sv.f_flag & ST_NODIRATIME) atime |= MS_NODIRATIME;
  if (mnt(NULL, j->ro, NULL, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV | atime | ((sv.f_flag & ST_NOEXEC) ? MS_NOEXEC : 0), NULL) < 0)
    die("remount '%s' read-only: %s", j->ro, strerror(errno));
  int overlay = 0;
  *nbind = 0;
  if (strcmp(j->work, "-") != 0 && !strpbrk(j->lower, ",:\\") && !strpbrk(j->upper, ",:\\") && !strpbrk(j->work, ",:\\")) {
    if (mnt("tmpfs", j->lower, "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755") < 0) die("mount tmpfs on '%s': %s", j->lower, strerror(errno));
    *nbind = premake(j, bind);
    TM("premade");
    char *o = malloc(strlen(j->lower) + strlen(j->upper) + strlen(j->work) + strlen(j->ovextra) + 64);
    if (!o) die("out of memory");
    sprintf(o, "lowerdir=%s,upperdir=%s,workdir=%s%s%s", j->lower, j->upper, j->work, strcmp(j->ovextra, "-") ? "," : "", strcmp(j->ovextra, "-") ? j->ovextra : "");
    overlay = mnt("overlay", j->view, "overlay", MS_NOSUID | MS_NODEV, o) == 0;
    TM("overlay");
    free(o);
  }
  if (!overlay) {
    *nbind = 0;
    if (mnt(j->upper, j->view, NULL, MS_BIND, NULL) < 0) die("bind '%s': %s", j->upper, strerror(errno));
  }
  /* Shared: what the server mounts later propagates into the sandbox's slave copy. */
  if (mnt(NULL, j->view, NULL, MS_SHARED, NULL) < 0) die("make '%s' shared: %s", j->view, strerror(errno));
  if (!overlay) {
    char err[512];
    for (int i = 0; i < j->n; i++) {
      const char *e = add_path(j, j->names[i], err, sizeof err);
      if (e) die("cannot add '%s' to the sandbox: %s", j->names[i], e);
    }
  }
  return overlay;
}

/* ---------- S: the sandbox ---------- */

struct opts {
  long sb_uid, sb_gid;
  int share_net;
  const char *hostname, *chdir_to;
  char **env;
  int nenv;
  char **argv;
};

static char *in_root(const char *p) { return cat(g_root, p); }

/** Flags a bind remount must keep (locked in a less privileged namespace), plus `add`. */
static unsigned long remount_flags(const char *dst, unsigned long add) {
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

/** bwrap's bind_mount: recursive bind, then nosuid (+nodev unless devices, +ro) on it. */
static int bind_into(const char *src, const char *target, int ro, int devices, int try_) {
  struct stat st, dt;
  if (stat(src, &st) < 0) {
    if (try_ && errno == ENOENT) return 0;
    die("can't find source path %s: %s", src, strerror(errno));
  }
  char *dst = in_root(target);
  if (S_ISDIR(st.st_mode)) {
    mkdirs(dst, 0755, 1);
  } else if (lstat(dst, &dt) < 0) { /* e.g. /etc/x exists already: /etc is a read-only bind */
    mkdirs(dst, 0755, 0);
    if (mknod(dst, S_IFREG | 0444, 0) < 0) die("create '%s': %s", target, strerror(errno));
  }
  if (mnt(src, dst, NULL, MS_BIND | MS_REC, NULL) < 0) die("bind %s on %s: %s", src, target, strerror(errno));
  if (devices && !S_ISDIR(st.st_mode)) return free(dst), 1; /* a device node: nosuid means nothing there */
  unsigned long want = MS_NOSUID | (devices ? 0 : MS_NODEV) | (ro ? MS_RDONLY : 0);
  unsigned long f = remount_flags(dst, 0);
  if ((f & want) != want && mnt(NULL, dst, NULL, f | want, NULL) < 0) die("remount %s: %s", target, strerror(errno));
  free(dst);
  return 1;
}

static void mk_dir(const char *target, mode_t mode) {
  char *dst = in_root(target);
  mkdirs(dst, 0755, 0);
  /* An existing dir keeps its mode, as with bwrap (e.g. /tmp, a tmpfs, as the store's parent). */
  if (mkdir(dst, mode) < 0 && errno != EEXIST) die("mkdir %s: %s", target, strerror(errno));
  free(dst);
}

static void mount_tmpfs(const char *target, mode_t mode) {
  char *dst = in_root(target);
  char o[64];
  mkdirs(dst, 0755, 1);
  snprintf(o, sizeof o, "mode=%04o", (unsigned)mode);
  if (mnt("tmpfs", dst, "tmpfs", MS_NOSUID | MS_NODEV, o) < 0) die("mount tmpfs on %s: %s", target, strerror(errno));
  free(dst);
}

/** bwrap's --dev: a tmpfs with the six usual devices, stdio links, shm and a private devpts. */
static void mount_dev(const char *target) {
  static const char *const devs[] = {"null", "zero", "full", "random", "urandom", "tty"};
  static const char *const links[][2] = {
      {"stdin", "/proc/self/fd/0"}, {"stdout", "/proc/self/fd/1"}, {"stderr", "/proc/self/fd/2"},
      {"fd", "/proc/self/fd"},      {"core", "/proc/kcore"},       {"ptmx", "pts/ptmx"},
  };
  mount_tmpfs(target, 0755);
  for (size_t i = 0; i < sizeof devs / sizeof *devs; i++) {
    char *src = cat("/dev/", devs[i]), *t = cat3(target, "/", devs[i]);
    bind_into(src, t, 0, 1, 0);
    free(src);
    free(t);
  }
  for (size_t i = 0; i < sizeof links / sizeof *links; i++) {
    char *d = cat3(g_root, target, "/");
    char *l = cat(d, links[i][0]);
    if (symlink(links[i][1], l) < 0) die("symlink %s: %s", l, strerror(errno));
    free(d);
    free(l);
  }
  char *shm = cat(target, "/shm"), *pts = cat(target, "/pts");
  mk_dir(shm, 0755);
  mk_dir(pts, 0755);
  char *p = in_root(pts);
  if (mnt("devpts", p, "devpts", MS_NOSUID | MS_NOEXEC, "newinstance,ptmxmode=0666,mode=620") < 0) die("mount devpts: %s", strerror(errno));
  free(p);
  free(shm);
  free(pts);
}

/** A new /proc for the new pid namespace, with bwrap's read-only covers. */
static void mount_proc(const char *target) {
  static const char *const covers[] = {"sys", "sysrq-trigger", "irq", "bus"};
  char *dst = in_root(target);
  mkdirs(dst, 0755, 1);
  if (mnt("proc", dst, "proc", MS_NOSUID | MS_NOEXEC | MS_NODEV, NULL) < 0) die("mount proc: %s", strerror(errno));
  for (size_t i = 0; i < sizeof covers / sizeof *covers; i++) {
    char *c = cat3(dst, "/", covers[i]);
    if (access(c, F_OK) == 0) {
      if (mnt(c, c, NULL, MS_BIND | MS_REC, NULL) < 0) die("bind %s: %s", c, strerror(errno));
      if (mnt(NULL, c, NULL, remount_flags(c, MS_RDONLY | MS_NOSUID | MS_NODEV), NULL) < 0) die("remount %s: %s", c, strerror(errno));
    }
    free(c);
  }
  free(dst);
}

/**
 * A recursive read-only bind leaves the submounts of its source as they were:
 * make those read-only too (bwrap does the same; there are seldom any).
 */
static void submounts_ro(char **ro_targets, int n) {
  if (n == 0) return;
  FILE *f = fopen("/proc/self/mountinfo", "re");
  if (!f) die("open /proc/self/mountinfo: %s", strerror(errno));
  char *line = NULL;
  size_t cap = 0;
  size_t lr = strlen(g_root);
  while (getline(&line, &cap, f) > 0) {
    char *save, *tok = strtok_r(line, " ", &save);
    for (int i = 0; i < 4 && tok; i++) tok = strtok_r(NULL, " ", &save);
    if (!tok || strncmp(tok, g_root, lr) != 0) continue;
    const char *mp = tok + lr;
    char *opts = strtok_r(NULL, " ", &save);
    if (!opts || (strncmp(opts, "ro", 2) == 0 && (opts[2] == ',' || opts[2] == '\0'))) continue;
    if (strchr(mp, '\\')) continue; /* an escaped name: not one of ours */
    for (int i = 0; i < n; i++) {
      size_t lt = strlen(ro_targets[i]);
      if (strncmp(mp, ro_targets[i], lt) == 0 && mp[lt] == '/') {
        if (mnt(NULL, tok, NULL, remount_flags(tok, MS_RDONLY | MS_NOSUID | MS_NODEV), NULL) < 0) die("remount %s read-only: %s", mp, strerror(errno));
        break;
      }
    }
  }
  free(line);
  fclose(f);
}

static void loopback_up(void) {
  int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (s < 0) die("socket: %s", strerror(errno));
  struct ifreq ifr;
  memset(&ifr, 0, sizeof ifr);
  strcpy(ifr.ifr_name, "lo");
  ifr.ifr_flags = IFF_UP | IFF_LOOPBACK | IFF_RUNNING;
  if (ioctl(s, SIOCSIFFLAGS, &ifr) < 0) die("cannot set up the loopback interface: %s", strerror(errno));
  close(s);
}

static void drop_privileges(const struct opts *o) {
  for (int cap = 0; cap <= 63; cap++)
    if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0 && errno != EINVAL) die("drop capability %d: %s", cap, strerror(errno));
  if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 && errno != EINVAL) die("clear ambient capabilities: %s", strerror(errno));
  struct __user_cap_header_struct hdr = {_LINUX_CAPABILITY_VERSION_3, 0};
  struct __user_cap_data_struct data[2];
  memset(data, 0, sizeof data);
  if (syscall(SYS_capset, &hdr, data) < 0) die("capset: %s", strerror(errno));
  if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) die("no_new_privs: %s", strerror(errno));
  (void)o;
}

/** Parse the bubblewrap command line and build the sandbox in S. Never returns. */
static void run_sandbox(const struct job *j, char **bind, int nbind, int go_fd) {
  g_in_sandbox = 1;
  char **a = j->bw;
  struct opts o = {1000, 100, 0, NULL, "/", NULL, 0, NULL};
  o.env = calloc((size_t)j->nbw + 1, sizeof *o.env);
  char **ro_targets = calloc((size_t)j->nbw + 1, sizeof *ro_targets);
  int nro = 0;
  if (!o.env || !ro_targets) die("out of memory");

  /* Wait until H wrote our uid/gid maps (EOF: H died, so must we). */
  char c;
  ssize_t got;
  while ((got = read(go_fd, &c, 1)) < 0 && errno == EINTR) {
  }
  if (got != 1) _exit(1);
  if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) < 0) die("prctl: %s", strerror(errno));
  for (int i = 1; i < j->nbw; i++) { /* the identity first: setup files are made as the build user */
    if (!strcmp(a[i], "--uid") && i + 1 < j->nbw) o.sb_uid = strtol(a[++i], NULL, 10);
    else if (!strcmp(a[i], "--gid") && i + 1 < j->nbw) o.sb_gid = strtol(a[++i], NULL, 10);
    else if (!strcmp(a[i], "--")) break;
  }
  gid_t g = (gid_t)o.sb_gid;
  if (setgroups(1, &g) < 0 && !(errno == EPERM && j->huid != -1)) die("setgroups: %s", strerror(errno)); /* non-root: 'deny', as bwrap */
  prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0);
  if (setresgid(g, g, g) < 0) die("setresgid: %s", strerror(errno));
  if (setresuid((uid_t)o.sb_uid, (uid_t)o.sb_uid, (uid_t)o.sb_uid) < 0) die("setresuid: %s", strerror(errno));
  /* The uid change cleared the parent-death signal: set it again, then make sure H still lives. */
  if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) < 0) die("prctl: %s", strerror(errno));
  struct pollfd pf = {go_fd, POLLIN, 0};
  if (poll(&pf, 1, 0) > 0 && (pf.revents & (POLLHUP | POLLIN))) _exit(1);
  TM("S ids");

  mode_t old_umask = umask(0);
  if (mnt(NULL, "/", NULL, MS_SLAVE | MS_REC, NULL) < 0) die("make / a slave: %s", strerror(errno));
  if (mnt("tmpfs", g_root, "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755") < 0) die("mount the root tmpfs: %s", strerror(errno));

  mode_t perms = 0;
  int have_perms = 0;
  const char *store_target = NULL;
  for (int i = 1; i < j->nbw; i++) {
    const char *op = a[i];
#define ARG(k) (i + (k) < j->nbw ? a[i + (k)] : (die("%s needs an argument", op), ""))
    if (!strcmp(op, "--")) {
      o.argv = a + i + 1;
      break;
    } else if (!strcmp(op, "--unshare-all") || !strcmp(op, "--unshare-user") || !strcmp(op, "--die-with-parent") || !strcmp(op, "--new-session") ||
               !strcmp(op, "--as-pid-1") || !strcmp(op, "--clearenv")) {
      /* what S always is */
    } else if (!strcmp(op, "--share-net")) {
      o.share_net = 1;
    } else if (!strcmp(op, "--uid") || !strcmp(op, "--gid")) {
      i++;
    } else if (!strcmp(op, "--cap-drop")) {
      if (strcmp(ARG(1), "ALL") != 0) die("--cap-drop %s: only ALL is supported", a[i + 1]);
      i++;
    } else if (!strcmp(op, "--hostname")) {
      o.hostname = ARG(1), i++;
    } else if (!strcmp(op, "--perms")) {
      perms = (mode_t)strtol(ARG(1), NULL, 8), have_perms = 1, i++;
      continue;
    } else if (!strcmp(op, "--dev")) {
      mount_dev(ARG(1)), i++;
    } else if (!strcmp(op, "--proc")) {
      mount_proc(ARG(1)), i++;
    } else if (!strcmp(op, "--tmpfs")) {
      mount_tmpfs(ARG(1), have_perms ? perms : 0755), i++;
    } else if (!strcmp(op, "--dir")) {
      mk_dir(ARG(1), have_perms ? perms : 0755), i++;
    } else if (!strcmp(op, "--ro-bind") || !strcmp(op, "--ro-bind-try")) {
      if (bind_into(ARG(1), ARG(2), 1, 0, op[9] == '-')) ro_targets[nro++] = a[i + 2];
      i += 2;
    } else if (!strcmp(op, "--dev-bind-try") || !strcmp(op, "--dev-bind")) {
      bind_into(ARG(1), ARG(2), 0, 1, op[10] == '-'), i += 2;
    } else if (!strcmp(op, "--bind")) {
      if (!strcmp(ARG(1), j->view)) store_target = ARG(2);
      bind_into(ARG(1), ARG(2), 0, 0, 0), i += 2;
    } else if (!strcmp(op, "--setenv")) {
      o.env[o.nenv++] = cat3(ARG(1), "=", ARG(2)), i += 2;
    } else if (!strcmp(op, "--chdir")) {
      o.chdir_to = ARG(1), i++;
    } else {
      die("unsupported option '%s'", op);
    }
    have_perms = 0;
#undef ARG
  }
  if (!o.argv || !o.argv[0]) die("no command");
  submounts_ro(ro_targets, nro);
  TM("S submounts");
  /* The inputs, straight from the read-only store onto their mount points:
     one mount each, as nothing else runs in this namespace yet. */
  if (nbind > 0) {
    if (!store_target) die("the store view is not bound");
    char *base = cat3(g_root, store_target, "/");
    for (int i = 0; i < nbind; i++) {
      char *src = cat3(j->ro, "/", bind[i]), *dst = cat(base, bind[i]);
      if (mnt(src, dst, NULL, MS_BIND, NULL) < 0) die("cannot add '%s' to the sandbox: bind mount: %s", bind[i], strerror(errno));
      free(src);
      free(dst);
    }
    free(base);
  }
  if (!o.share_net) loopback_up();
  TM("S inputs");
  if (o.hostname && sethostname(o.hostname, strlen(o.hostname)) < 0) die("sethostname: %s", strerror(errno));
  /* pivot_root(".", ".") stacks the old root on the new one; detaching it leaves the new one. */
  if (chdir(g_root) < 0) die("chdir: %s", strerror(errno));
  if (syscall(SYS_pivot_root, ".", ".") < 0) die("pivot_root: %s", strerror(errno));
  if (umount2(".", MNT_DETACH) < 0) die("detach the old root: %s", strerror(errno));
  TM("S pivoted");
  if (chdir("/") < 0 || chdir(o.chdir_to) < 0) die("chdir %s: %s", o.chdir_to, strerror(errno));
  umask(old_umask);
  if (setsid() < 0) die("setsid: %s", strerror(errno));
  drop_privileges(&o);
  /* Default signal handling and mask for the builder, as the builder's own runner gives it. */
  sigset_t none;
  sigemptyset(&none);
  for (int s = 1; s < NSIG; s++) signal(s, SIG_DFL);
  sigprocmask(SIG_SETMASK, &none, NULL);
  g_in_sandbox = 0;
  g_prefix = "tix-sandbox";
  TM("S exec");
  /* Only stdin/out/err reach the builder (2.8's closeMostFDs). */
  if (syscall(SYS_close_range, 3, ~0U, 0) < 0) {
    for (int fd = 3; fd < 65536; fd++) close(fd);
  }
  environ = o.env;
  execvp(o.argv[0], o.argv);
  dprintf(2, "tix-sandbox: execvp %s: %s\n", o.argv[0], strerror(errno));
  _exit(1);
}

/* ---------- H after the clone: ids, pid, injections, exit status ---------- */

static void write_maps(pid_t pid, const struct job *j, long sb_uid, long sb_gid) {
  char path[64], m[64];
  long ou = j->uid != -1 ? j->uid : 0, og = j->gid != -1 ? j->gid : 0; /* the build user, or H's uid 0 (tix's uid) */
  snprintf(path, sizeof path, "/proc/%d/uid_map", (int)pid);
  snprintf(m, sizeof m, "%ld %ld 1", sb_uid, ou);
  write_file(path, m);
  snprintf(path, sizeof path, "/proc/%d/gid_map", (int)pid);
  snprintf(m, sizeof m, "%ld %ld 1", sb_gid, og);
  write_file(path, m);
}

/** Serve `name\n` requests until the sandbox exits; then exit with its status. */
static void serve(const struct job *j, pid_t child, int sfd, int mnt_ns) {
  (void)mnt_ns; /* held open, so the sandbox's mounts are torn down by our exit, not by its pid 1's */
  char buf[8192];
  size_t have = 0;
  int ctl_open = 1;
  for (;;) {
    struct pollfd p[2] = {{sfd, POLLIN, 0}, {ctl_open ? CTL : -1, POLLIN, 0}};
    if (poll(p, 2, -1) < 0) {
      if (errno == EINTR) continue;
      die("poll: %s", strerror(errno));
    }
    if (p[0].revents) {
      struct signalfd_siginfo si;
      while (read(sfd, &si, sizeof si) < 0 && errno == EINTR) {
      }
      int st;
      pid_t r = waitpid(child, &st, WNOHANG);
      TM("H reaped");
      if (r == child) {
        /* 128+N for a signal, as bwrap reports it (process-status.ts maps it back). */
        int code = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
        TM("H exiting");
        /* Said before exiting: our exit tears down the namespaces (ours and, through
           mnt_ns, the sandbox's), which tix need not wait for; the pid namespace is
           already empty (its pid 1 is reaped only after everything in it). */
        say("X %d\n", code);
        _exit(code);
      }
    }
    if (p[1].revents) {
      ssize_t n = read(CTL, buf + have, sizeof buf - 1 - have);
      if (n <= 0) {
        if (n < 0 && errno == EINTR) continue;
        ctl_open = 0;
        continue;
      }
      have += (size_t)n;
      char *nl;
      while ((nl = memchr(buf, '\n', have))) {
        *nl = '\0';
        char err[512];
        const char *e = add_path(j, buf, err, sizeof err);
        if (e) say("E %s\n", e);
        else say("K\n");
        size_t used = (size_t)(nl - buf) + 1;
        memmove(buf, nl + 1, have - used);
        have -= used;
      }
      if (have == sizeof buf - 1) have = 0; /* an absurd line: drop it */
    }
  }
}

int main(void) {
  prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
  signal(SIGPIPE, SIG_IGN);
  /* Anything tix leaked to us beyond stdio and the control socket. */
  if (syscall(SYS_close_range, 4, ~0U, 0) < 0) {
    for (int fd = 4; fd < 1024; fd++) close(fd);
  }
  int count;
  char *buf = read_job(&count);
  struct job j;
  parse_job(&j, buf, count);
  TM("job");
  char **bind = calloc((size_t)j.n + 1, sizeof *bind);
  if (!bind) die("out of memory");
  int nbind;
  int overlay = setup_view(&j, bind, &nbind);
  /* The new root's mount point, beside the view: created on first use. */
  const char *slash = strrchr(j.view, '/');
  char *shared = strndup(j.view, (size_t)(slash - j.view));
  g_root = cat(shared, "/root");
  if (mkdir(g_root, 0755) < 0 && errno != EEXIST) die("mkdir %s: %s", g_root, strerror(errno));
  say("R %s\n", overlay ? "overlay" : "plain");
  TM("R");

  long sb_uid = 1000, sb_gid = 100;
  int share_net = 0;
  for (int i = 1; i < j.nbw && strcmp(j.bw[i], "--"); i++) {
    if (!strcmp(j.bw[i], "--uid") && i + 1 < j.nbw) sb_uid = strtol(j.bw[++i], NULL, 10);
    else if (!strcmp(j.bw[i], "--gid") && i + 1 < j.nbw) sb_gid = strtol(j.bw[++i], NULL, 10);
    else if (!strcmp(j.bw[i], "--share-net")) share_net = 1;
  }
  sigset_t chld;
  sigemptyset(&chld);
  sigaddset(&chld, SIGCHLD);
  sigprocmask(SIG_BLOCK, &chld, NULL);
  int sfd = signalfd(-1, &chld, SFD_CLOEXEC);
  if (sfd < 0) die("signalfd: %s", strerror(errno));
  int go[2];
  if (pipe2(go, O_CLOEXEC) < 0) die("pipe: %s", strerror(errno));
  unsigned long flags = CLONE_NEWUSER | CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWIPC | CLONE_NEWUTS | CLONE_NEWCGROUP | (share_net ? 0 : CLONE_NEWNET);
  pid_t pid = (pid_t)syscall(SYS_clone, flags | SIGCHLD, 0, 0, 0, 0);
  if (pid < 0) die("clone: %s", strerror(errno));
  TM("cloned");
  if (pid == 0) {
    close(go[1]);
    close(sfd);
    if (dup2(1, 2) < 0) die("dup2: %s", strerror(errno)); /* one log stream */
    run_sandbox(&j, bind, nbind, go[0]);
  }
  close(go[0]);
  char nsp[64];
  snprintf(nsp, sizeof nsp, "/proc/%d/ns/mnt", (int)pid);
  int mnt_ns = open(nsp, O_RDONLY | O_CLOEXEC);
  /* The log pipe is the sandbox's alone: it ends when the sandbox's last process does. */
  int devnull = open("/dev/null", O_WRONLY | O_CLOEXEC);
  if (devnull >= 0) dup2(devnull, 1), close(devnull);
  write_maps(pid, &j, sb_uid, sb_gid);
  write_all(go[1], "x", 1); /* go[1] stays open: S sees H die as EOF until its own parent-death signal is set */
  say("P %d\n", (int)pid);
  serve(&j, pid, sfd, mnt_ns);
  return 0;
}
