/*
 * tix-sandbox: the build sandbox's native helper (see docs/sandbox.md).
 *
 * Does in two small processes what the perl helper + bubblewrap do (and what
 * Nix 2.8's LocalDerivationGoal::startBuilder/runChild and addDependency do):
 * the helper ("H", this file) owns a private mount namespace holding the
 * build's store view and serves injections; the sandbox ("S", sandbox.c) is a
 * clone of H into new user, mount, pid, net, ipc, uts and cgroup namespaces
 * that builds its root, binds the inputs, drops every capability and execs
 * the builder as pid 1. Saving bubblewrap's exec and generality is the point;
 * the measurements are in docs/sandbox.md.
 *
 * Started ahead of its build (helper-pool.ts), H makes its namespace and clones
 * S at once; S prepares what does not depend on the job and waits. With the
 * job, H lays out the view (its mounts propagate into S, whose mounts are
 * slaves of H's) and forwards the job to S. A job S was not made for (a build
 * user's uid map, a fixed-output build's network) gets a fresh S instead.
 *
 * It speaks the perl helper's protocol on fd 3 (helper-script.ts), so
 * src/build/sandbox/linux.ts drives both alike:
 *   in:  "J <len>\n" + NUL-ended args: the helper header, the input names,
 *        "--", then a bubblewrap command line (only the options tix uses)
 *   out: "R overlay|plain", "P <sandbox pid>", "F <reason>", then for each
 *        "name\n" request "K", "E exists" or "E <reason>"; at the end
 *        "X <status>" (the builder's exit status, 128+N for signal N), said
 *        before H's own exit, whose namespace teardown tix need not wait for.
 *
 * Invariants (the escape tests in test/differential/sandbox-*.ts check them):
 * the host namespace never holds a mount; an injected mount target is created
 * exclusively and mounted through an O_NOFOLLOW fd; every input and
 * sandbox path is read-only; the builder has no capabilities, no_new_privs,
 * only fds 0-2, and dies with tix.
 */
#include "util.h"
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef CLONE_NEWCGROUP
#define CLONE_NEWCGROUP 0x02000000
#endif

#define SB_UID 1000 /* the builder's ids inside (chroot-files.ts: nixbld) */
#define SB_GID 100

static int mnt(const char *src, const char *dst, const char *type, unsigned long flags, const char *data) {
  return mount(src, dst, type, flags, data);
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

/** The read-only store source and (when an overlay can be tried) the lower tmpfs. Returns whether it can. */
static int view_begin(const struct job *j) {
  /* A read-only source for every bind: binds and copies inherit the flag (S's copy, made by
     propagation before this remount, is made read-only by S). */
  if (mnt(j->store, j->ro, NULL, MS_BIND, NULL) < 0) die("bind '%s': %s", j->store, strerror(errno));
  struct statvfs sv;
  if (statvfs(j->ro, &sv) < 0) die("statvfs '%s': %s", j->ro, strerror(errno));
  unsigned long atime = (sv.f_flag & ST_NOATIME) ? MS_NOATIME : (sv.f_flag & ST_RELATIME) ? MS_RELATIME : MS_STRICTATIME;
  if (sv.f_flag & ST_NODIRATIME) atime |= MS_NODIRATIME;
  if (mnt(NULL, j->ro, NULL, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV | atime | ((sv.f_flag & ST_NOEXEC) ? MS_NOEXEC : 0), NULL) < 0)
    die("remount '%s' read-only: %s", j->ro, strerror(errno));
  if (strcmp(j->work, "-") == 0 || strpbrk(j->lower, ",:\\") || strpbrk(j->upper, ",:\\") || strpbrk(j->work, ",:\\")) return 0;
  if (mnt("tmpfs", j->lower, "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755") < 0) die("mount tmpfs on '%s': %s", j->lower, strerror(errno));
  return 1;
}

/**
 * The view, once the mount points are there: an overlay of the lower tmpfs
 * under UPPER (a mkdir on disk costs far more than on a tmpfs). Returns 1 for
 * overlay (S then binds the inputs); 0 for the fallback without overlayfs
 * (UPPER itself, the inputs bound here, before S binds the view).
 */
static int view_end(const struct job *j, int can_overlay, char *flags) {
  int overlay = 0;
  if (can_overlay) {
    char *o = malloc(strlen(j->lower) + strlen(j->upper) + strlen(j->work) + strlen(j->ovextra) + 64);
    if (!o) die("out of memory");
    sprintf(o, "lowerdir=%s,upperdir=%s,workdir=%s%s%s", j->lower, j->upper, j->work, strcmp(j->ovextra, "-") ? "," : "", strcmp(j->ovextra, "-") ? j->ovextra : "");
    overlay = mnt("overlay", j->view, "overlay", MS_NOSUID | MS_NODEV, o) == 0;
    TM("overlay");
    free(o);
  }
  if (!overlay && mnt(j->upper, j->view, NULL, MS_BIND, NULL) < 0) die("bind '%s': %s", j->upper, strerror(errno));
  /* Shared (a new mount under a shared one is, but say it): what the server mounts
     later propagates into the sandbox's slave copy. */
  if (mnt(NULL, j->view, NULL, MS_SHARED, NULL) < 0) die("make '%s' shared: %s", j->view, strerror(errno));
  if (!overlay) {
    memset(flags, 0, (size_t)j->n);
    char err[512];
    for (int i = 0; i < j->n; i++) {
      const char *e = add_path(j, j->names[i], err, sizeof err);
      if (e) die("cannot add '%s' to the sandbox: %s", j->names[i], e);
    }
  }
  return overlay;
}

/* ---------- H: the namespaces, S, and the job ---------- */

/** The helper namespace: private from the host, then shared within, so what H mounts reaches S. */
static void setup_ns(int root_mode) {
  if (!root_mode) {
    /* Our uid as 0 of a user namespace of our own, like `unshare -r`. */
    char m[64];
    uid_t u = getuid();
    gid_t g = getgid();
    if (unshare(CLONE_NEWUSER | CLONE_NEWNS) < 0) die("cannot create a user namespace: %s", strerror(errno));
    write_file("/proc/self/setgroups", "deny");
    snprintf(m, sizeof m, "0 %ld 1", (long)u);
    write_file("/proc/self/uid_map", m);
    snprintf(m, sizeof m, "0 %ld 1", (long)g);
    write_file("/proc/self/gid_map", m);
  } else if (unshare(CLONE_NEWNS) < 0) {
    die("cannot create a mount namespace: %s", strerror(errno));
  }
  if (mnt(NULL, "/", NULL, MS_PRIVATE | MS_REC, NULL) < 0) die("make / private: %s", strerror(errno));
  if (mnt(NULL, "/", NULL, MS_SHARED | MS_REC, NULL) < 0) die("make / shared: %s", strerror(errno));
}

struct sandbox {
  pid_t pid;
  int to;     /* H's end of S's input pipe: "x", then the job; open as long as H lives */
  int back;   /* S's share of the mount points comes back here */
  int mnt_ns; /* held, so S's mounts are torn down by H's exit, not on the builder's path */
};

/** Clone S: uid/gid `ou`/`og` (in H's namespace) become the builder's 1000/100. */
static struct sandbox start_sandbox(long ou, long og, int new_net, int log, int root_mode) {
  struct sandbox s = {0, -1, -1, -1};
  int p[2], b[2];
  if (pipe2(p, O_CLOEXEC) < 0 || pipe2(b, O_CLOEXEC) < 0) die("pipe: %s", strerror(errno));
  unsigned long flags = CLONE_NEWUSER | CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWIPC | CLONE_NEWUTS | CLONE_NEWCGROUP | (new_net ? CLONE_NEWNET : 0);
  s.pid = (pid_t)syscall(SYS_clone, flags | SIGCHLD, 0, 0, 0, 0);
  if (s.pid < 0) die("clone: %s", strerror(errno));
  if (s.pid == 0) {
    close(p[1]);
    close(b[0]);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    sandbox_main(p[0], b[1], log, SB_UID, SB_GID, new_net, root_mode);
  }
  close(p[0]);
  close(b[1]);
  s.to = p[1];
  s.back = b[0];
  char path[64], m[64];
  snprintf(path, sizeof path, "/proc/%d/ns/mnt", (int)s.pid);
  s.mnt_ns = open(path, O_RDONLY | O_CLOEXEC);
  snprintf(path, sizeof path, "/proc/%d/uid_map", (int)s.pid);
  snprintf(m, sizeof m, "%d %ld 1", SB_UID, ou);
  write_file(path, m);
  snprintf(path, sizeof path, "/proc/%d/gid_map", (int)s.pid);
  snprintf(m, sizeof m, "%d %ld 1", SB_GID, og);
  write_file(path, m);
  write_all(s.to, "x", 1);
  return s;
}

/** Kill and reap an S not taken (unless it is dead and reaped already). */
static void stop_sandbox(struct sandbox *s, int reaped) {
  if (!reaped) {
    kill(s->pid, SIGKILL);
    while (waitpid(s->pid, NULL, 0) < 0 && errno == EINTR) {
    }
  }
  close(s->to);
  close(s->back);
  if (s->mnt_ns >= 0) close(s->mnt_ns);
}

/** Is this job one the early S was made for (no build user, own network, bwrap's usual mounts)? */
static int fits_early(const struct job *j) {
  int dev = 0, proc = 0, tmp = 0;
  for (int i = 1; i + 1 < j->nbw && strcmp(j->bw[i], "--"); i++) {
    const char *o = j->bw[i], *v = j->bw[i + 1];
    if (!strcmp(o, "--share-net")) return 0;
    if ((!strcmp(o, "--uid") && atol(v) != SB_UID) || (!strcmp(o, "--gid") && atol(v) != SB_GID)) return 0;
    dev |= !strcmp(o, "--dev") && !strcmp(v, "/dev");
    proc |= !strcmp(o, "--proc") && !strcmp(v, "/proc");
    tmp |= !strcmp(o, "--perms") && !strcmp(v, "1777") && i + 3 < j->nbw && !strcmp(j->bw[i + 2], "--tmpfs") && !strcmp(j->bw[i + 3], "/tmp");
  }
  return j->uid == -1 && j->gid == -1 && dev && proc && tmp;
}

/**
 * Look the inputs' mount points up in the view, last first, while S binds
 * them first first: a first lookup of a name in an overlay costs about 7 µs
 * (the larger half of a bind there), and S's copy of the view shares our
 * dentries, so on a second core S finds most of its names looked up already.
 */
static void warm_lookups(const struct job *j, const char *flags) {
  if (j->n < 32) return;
  int v = open(j->view, O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (v < 0) return;
  struct stat st;
  for (int i = j->n - 1; i >= j->n / 2; i--)
    if (flags[i]) fstatat(v, j->names[i], &st, AT_SYMLINK_NOFOLLOW);
  close(v);
}

/** Serve `name\n` requests until S exits; then report and exit with its status. */
static void serve(const struct job *j, pid_t child, int sfd) {
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
      if (waitpid(child, &st, WNOHANG) == child) {
        /* 128+N for a signal, as bwrap reports it (process-status.ts maps it back). The pid
           namespace is already empty: its pid 1 is reaped only after everything in it. */
        int code = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
        TM("H reaped");
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

/**
 * The job from tix: "J <len>\n" and len bytes. EOF first: tix went away or did not need us.
 * `host_mi` is the host's mountinfo, opened before we left its namespace: our namespace (and
 * S's) is a copy of the host's mounts at that time, private from then on, so when they change
 * while we wait (a new mount under a sandbox path, the build dir's file system…) we are stale:
 * exit 75 (EX_TEMPFAIL; tix starts a fresh helper for the job) instead of building with them.
 */
static char *read_job(size_t *len, int host_mi) {
  struct pollfd p[2] = {{CTL, POLLIN, 0}, {host_mi, POLLPRI, 0}};
  while (host_mi >= 0) {
    if (poll(p, 2, -1) < 0) {
      if (errno == EINTR) continue;
      break;
    }
    if (p[1].revents & (POLLPRI | POLLERR)) {
      dprintf(2, "tix-sandbox: the host's mounts changed since this helper started\n");
      _exit(75);
    }
    if (p[0].revents) break;
  }
  char hdr[32];
  size_t h = 0;
  for (;;) {
    if (!read_all(CTL, hdr + h, 1)) _exit(0);
    if (hdr[h] == '\n') break;
    if (++h >= sizeof hdr - 1) _exit(0);
  }
  hdr[h] = '\0';
  if (hdr[0] != 'J' || hdr[1] != ' ') _exit(0);
  *len = strtoul(hdr + 2, NULL, 10);
  char *buf = malloc(*len + 1);
  if (!buf) die("out of memory");
  if (!read_all(CTL, buf, *len)) _exit(0);
  buf[*len] = '\0';
  return buf;
}

int main(void) {
  prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
  signal(SIGPIPE, SIG_IGN);
  /* Anything tix leaked to us beyond stdio and the control socket. */
  if (syscall(SYS_close_range, 4, ~0U, 0) < 0)
    for (int fd = 4; fd < 1024; fd++) close(fd);
  TM("H start");
  int root_mode = geteuid() == 0;
  long host_uid = (long)getuid(); /* before setup_ns: then we are 0 */
  int host_mi = open("/proc/self/mountinfo", O_RDONLY | O_CLOEXEC); /* the host's, see read_job */
  setup_ns(root_mode);
  sigset_t chld;
  sigemptyset(&chld);
  sigaddset(&chld, SIGCHLD);
  sigprocmask(SIG_BLOCK, &chld, NULL);
  int sfd = signalfd(-1, &chld, SFD_CLOEXEC);
  if (sfd < 0) die("signalfd: %s", strerror(errno));
  int log = fcntl(1, F_DUPFD_CLOEXEC, 10);
  if (log < 0) die("dup: %s", strerror(errno));
  /* The log pipe is the sandbox's alone: it ends when the sandbox's last process does. */
  int devnull = open("/dev/null", O_WRONLY | O_CLOEXEC);
  if (devnull < 0 || dup2(devnull, 1) < 0) die("/dev/null: %s", strerror(errno));
  close(devnull);
  struct sandbox s = start_sandbox(0, 0, 1, log, root_mode); /* ahead of the job */
  size_t len;
  char *buf = read_job(&len, host_mi);
  TM("job");
  char *copy = malloc(len + 1); /* parse_job splits its buffer; S gets it whole */
  if (!copy) die("out of memory");
  memcpy(copy, buf, len + 1);
  struct job j;
  parse_job(&j, copy, len);
  if (j.huid != (root_mode ? -1 : host_uid)) die("the job is for another user");
  char *flags = calloc((size_t)j.n + 1, 1);
  if (!flags) die("out of memory");
  int dead = waitpid(s.pid, NULL, WNOHANG) == s.pid; /* it failed early: a fresh one reports why */
  int early = !dead && fits_early(&j);
  if (!early) {
    int net = 1;
    for (int i = 1; i < j.nbw && strcmp(j.bw[i], "--"); i++) net &= strcmp(j.bw[i], "--share-net") != 0;
    stop_sandbox(&s, dead);
    s = start_sandbox(j.uid != -1 ? j.uid : 0, j.gid != -1 ? j.gid : 0, net, log, root_mode);
  }
  close(log);
  int can_overlay = view_begin(&j);
  /* Many inputs: S makes the second half of the mount points meanwhile, on the other core
     (it can write the lower tmpfs: it runs as our uid, unlike a build user's S). */
  uint32_t split = early && can_overlay && j.n >= 64 ? (uint32_t)j.n / 2 : (uint32_t)j.n;
  uint32_t l32 = (uint32_t)len, n32 = (uint32_t)j.n;
  write_all(s.to, &l32, sizeof l32);
  write_all(s.to, buf, len);
  write_all(s.to, &n32, sizeof n32);
  write_all(s.to, &split, sizeof split);
  if (can_overlay) {
    int ro = open(j.ro, O_PATH | O_DIRECTORY | O_CLOEXEC), lower = open(j.lower, O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (ro < 0 || lower < 0) die("open '%s': %s", ro < 0 ? j.ro : j.lower, strerror(errno));
    TM("H premake start");
    premake_range(&j, ro, lower, 0, (int)split, flags);
    TM("H premake end");
    close(ro);
    close(lower);
    if (split < n32 && !read_all(s.back, flags + split, n32 - split)) _exit(1); /* S failed and said why */
    TM("premade");
  }
  int overlay = view_end(&j, can_overlay, flags);
  say("R %s\n", overlay ? "overlay" : "plain");
  TM("R");
  /* The view is ready: its kind (S checks it), then the flags. Never zero bytes: S waits for it. */
  write_all(s.to, overlay ? "o" : "p", 1);
  write_all(s.to, flags, (size_t)j.n);
  say("P %d\n", (int)s.pid);
  if (overlay) warm_lookups(&j, flags);
  serve(&j, s.pid, sfd);
  return 0;
}
