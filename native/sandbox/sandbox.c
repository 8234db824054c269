/*
 * The sandbox side ("S") of the native helper: Nix 2.8's runChild after its
 * clone (the chroot with its /dev, /proc, /etc, sandbox paths, build dir and
 * store view; pivot; no capabilities; exec), as bubblewrap does it for the
 * perl helper, with bubblewrap's own command line as its input.
 *
 * S is cloned by H into new user, mount, pid, ipc, uts, cgroup (and net)
 * namespaces, usually before the job is known (started ahead, like H). It
 * then prepares what does not depend on the job (identity, the new root, /dev,
 * /proc, /tmp, loopback, hostname), waits for the job, and does the rest.
 *
 * Early on, the new root (a tmpfs) becomes "/" and the host's root moves to
 * /oldroot, where mounts H makes later still propagate (S's copies are slaves
 * of H's); the sources of binds are looked up inside /oldroot (openat2
 * RESOLVE_IN_ROOT, so an absolute symlink means the host's path), and
 * /oldroot is detached before the exec.
 */
#include "mounts.h"
#include <grp.h>
#include <linux/capability.h>
#include <linux/openat2.h>
#include <net/if.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/vfs.h>

#define OVERLAYFS_MAGIC 0x794c7630
#include <sys/syscall.h>
#include <unistd.h>

#ifndef MS_SLAVE
#define MS_SLAVE (1 << 19)
#endif
#ifndef PR_CAP_AMBIENT
#define PR_CAP_AMBIENT 47
#define PR_CAP_AMBIENT_CLEAR_ALL 4
#endif

extern char **environ;

static void drop_privileges(void) {
  for (int cap = 0; cap <= 63; cap++)
    if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0 && errno != EINVAL) die("drop capability %d: %s", cap, strerror(errno));
  if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 && errno != EINVAL) die("clear ambient capabilities: %s", strerror(errno));
  struct __user_cap_header_struct hdr = {_LINUX_CAPABILITY_VERSION_3, 0};
  struct __user_cap_data_struct data[2];
  memset(data, 0, sizeof data);
  if (syscall(SYS_capset, &hdr, data) < 0) die("capset: %s", strerror(errno));
  if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) die("no_new_privs: %s", strerror(errno));
}

/** The build's identity; the parent-death signal (cleared by a uid change) is set after it. */
static void become(long uid, long gid, int in, int root_mode) {
  gid_t g = (gid_t)gid;
  /* As non-root, setgroups is 'deny' in the helper's user namespace and so here too (as with bwrap). */
  if (setgroups(1, &g) < 0 && !(errno == EPERM && !root_mode)) die("setgroups: %s", strerror(errno));
  prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0);
  if (setresgid(g, g, g) < 0) die("setresgid: %s", strerror(errno));
  if (setresuid((uid_t)uid, (uid_t)uid, (uid_t)uid) < 0) die("setresuid: %s", strerror(errno));
  if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) < 0) die("prctl: %s", strerror(errno));
  struct pollfd pf = {in, POLLIN, 0};
  if (poll(&pf, 1, 0) > 0 && (pf.revents & (POLLHUP | POLLERR))) _exit(1); /* H died before that */
}

/** What does not depend on the job: the new root with /proc, /dev and /tmp; lo; hostname. */
static void early(int new_net) {
  if (mount(NULL, "/", NULL, MS_SLAVE | MS_REC, NULL) < 0) die("make / a slave: %s", strerror(errno));
  if (mount("tmpfs", "/tmp", "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755") < 0) die("mount the root tmpfs: %s", strerror(errno));
  if (mkdir("/tmp/oldroot", 0755) < 0) die("mkdir /oldroot: %s", strerror(errno));
  if (syscall(SYS_pivot_root, "/tmp", "/tmp/oldroot") < 0) die("pivot_root: %s", strerror(errno));
  if (chdir("/") < 0) die("chdir /: %s", strerror(errno));
  g_oldroot = open("/oldroot", O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (g_oldroot < 0) die("open /oldroot: %s", strerror(errno));
  mount_proc();
  read_host_mounts();
  mount_dev();
  mount_tmpfs("/tmp", 01777);
  if (new_net) loopback_up();
  if (sethostname("localhost", 9) < 0) die("sethostname: %s", strerror(errno));
}

/**
 * The job H forwards: u32 length, the job as tix sent it, u32 n, u32 split;
 * S makes the mount points of inputs [split, n) and sends their flags back;
 * then, once the view is ready, its kind ('o' overlay, 'p' plain) and n flags
 * (1: bind that input): see wait_view.
 */
static char *read_job(int in, int back, struct job *j, char **flags) {
  uint32_t len, n, split;
  if (!read_all(in, &len, sizeof len)) _exit(1); /* H died, or the helper was not needed */
  char *buf = malloc((size_t)len + 1);
  if (!buf || !read_all(in, buf, len) || !read_all(in, &n, sizeof n) || !read_all(in, &split, sizeof split)) _exit(1);
  parse_job(j, buf, len);
  g_in_sandbox = 1;
  if ((int)n != j->n || split > n) die("malformed job");
  *flags = malloc((size_t)n + 1);
  if (!*flags) die("out of memory");
  if (split < n) {
    int ro = open_host(j->ro), lower = open_host(j->lower);
    if (ro < 0 || lower < 0) die("open '%s': %s", ro < 0 ? j->ro : j->lower, strerror(errno));
    TM("S premake start");
    premake_range(j, ro, lower, (int)split, (int)n, *flags);
    TM("S premake end");
    write_all(back, *flags + split, n - split);
    close(ro);
    close(lower);
  }
  close(back);
  return buf;
}

/* The second message: H's view is ready. Read where it is first needed, so /etc, the sandbox
   paths and /build are bound while H still prepares the view. */
static int g_in = -1;
static char g_view_kind;
static char *g_flags;
static size_t g_n;

static void wait_view(void) {
  if (g_view_kind) return;
  if (!read_all(g_in, &g_view_kind, 1) || !read_all(g_in, g_flags, g_n)) _exit(1);
}

struct run {
  const char *chdir_to, *store_target, *hostname;
  char **env, **argv;
  int nenv;
};

/** bwrap's command line, minus what early() did already (the same /dev, /proc, /tmp). */
static void run_ops(const struct job *j, struct run *r, char **ro_targets, int *nro, int *submounts) {
  char **a = j->bw;
  mode_t perms = 0755;
  for (int i = 1; i < j->nbw; i++) {
    const char *op = a[i];
    int left = j->nbw - i - 1;
#define NEED(k) (left < (k) ? die("%s needs %d arguments", op, k) : (void)0)
    if (!strcmp(op, "--")) {
      r->argv = a + i + 1;
      return;
    } else if (!strcmp(op, "--unshare-all") || !strcmp(op, "--unshare-user") || !strcmp(op, "--die-with-parent") ||
               !strcmp(op, "--new-session") || !strcmp(op, "--as-pid-1") || !strcmp(op, "--clearenv") || !strcmp(op, "--share-net")) {
      /* what S is (the network: H chose it) */
    } else if (!strcmp(op, "--uid") || !strcmp(op, "--gid")) {
      NEED(1), i++; /* H chose them */
    } else if (!strcmp(op, "--cap-drop")) {
      NEED(1);
      if (strcmp(a[++i], "ALL") != 0) die("--cap-drop %s: only ALL is supported", a[i]);
    } else if (!strcmp(op, "--hostname")) {
      NEED(1), r->hostname = a[++i];
    } else if (!strcmp(op, "--perms")) {
      NEED(1), perms = (mode_t)strtol(a[++i], NULL, 8);
      continue;
    } else if (!strcmp(op, "--dev") || !strcmp(op, "--proc")) {
      NEED(1);
      if (strcmp(a[++i], op[2] == 'd' ? "/dev" : "/proc") != 0) die("%s %s: only at its usual place", op, a[i]);
    } else if (!strcmp(op, "--tmpfs")) {
      NEED(1), i++;
      if (strcmp(a[i], "/tmp") != 0) mount_tmpfs(a[i], perms);
      else if (perms != 01777) die("--tmpfs /tmp: only with mode 1777");
    } else if (!strcmp(op, "--dir")) {
      NEED(1), mk_dir(a[++i], perms);
    } else if (!strcmp(op, "--ro-bind") || !strcmp(op, "--ro-bind-try")) {
      NEED(2);
      char *real = NULL;
      if (bind_into_r(a[i + 1], a[i + 2], 1, 0, op[9] == '-', &real)) {
        ro_targets[(*nro)++] = a[i + 2];
        *submounts |= has_submounts(real, j);
        free(real);
      }
      i += 2;
    } else if (!strcmp(op, "--dev-bind") || !strcmp(op, "--dev-bind-try")) {
      NEED(2), bind_into(a[i + 1], a[i + 2], 0, 1, op[10] == '-'), i += 2;
    } else if (!strcmp(op, "--bind")) {
      NEED(2);
      if (!strcmp(a[i + 1], j->view)) r->store_target = a[i + 2], wait_view();
      bind_into(a[i + 1], a[i + 2], 0, 0, 0), i += 2;
    } else if (!strcmp(op, "--setenv")) {
      NEED(2), r->env[r->nenv++] = cat3(a[i + 1], "=", a[i + 2]), i += 2;
    } else if (!strcmp(op, "--chdir")) {
      NEED(1), r->chdir_to = a[++i];
    } else {
      die("unsupported option '%s'", op);
    }
    perms = 0755;
#undef NEED
  }
  die("no command");
}

/** The inputs, from the store read-only onto their mount points in the view: one mount each. */
static void bind_inputs(const struct job *j, const char *flags, const char *store_target) {
  char fp[64];
  int ro = open_host(j->ro);
  if (ro < 0) die("open '%s': %s", j->ro, strerror(errno));
  /* H's bind of the store propagated here before its read-only remount, which does not. */
  if (mount(NULL, fdpath(ro, fp, sizeof fp), NULL, remount_flags(fdpath(ro, fp, sizeof fp), MS_RDONLY | MS_NOSUID | MS_NODEV), NULL) < 0)
    die("remount the store read-only: %s", strerror(errno));
  struct statvfs sv;
  if (statvfs(fdpath(ro, fp, sizeof fp), &sv) < 0 || !(sv.f_flag & ST_RDONLY)) die("the store source is not read-only");
  if (!store_target) die("the store view is not bound");
  /* From the store's directory, each source is one name to look up (no magic link, no long path). */
  if (fchdir(ro) < 0) die("chdir to the store: %s", strerror(errno));
  size_t lt = strlen(store_target);
  char *dst = malloc(lt + 256 + 2);
  if (!dst) die("out of memory");
  memcpy(dst, store_target, lt);
  dst[lt] = '/';
  for (int i = 0; i < j->n; i++) {
    if (!flags[i]) continue;
    size_t ln = strlen(j->names[i]);
    if (ln > 255) die("store path name too long: %s", j->names[i]);
    memcpy(dst + lt + 1, j->names[i], ln + 1);
    if (mount(j->names[i], dst, NULL, MS_BIND, NULL) < 0) die("cannot add '%s' to the sandbox: bind mount: %s", j->names[i], strerror(errno));
  }
  free(dst);
  if (chdir("/") < 0) die("chdir /: %s", strerror(errno));
  close(ro);
}

void sandbox_main(int in, int back, int log, long sb_uid, long sb_gid, int new_net, int root_mode) {
  g_in_sandbox = 0; /* before the job: H notices a dead S and starts another, which reports */
  if (dup2(log, 1) < 0 || dup2(log, 2) < 0) _exit(1); /* one log stream */
  close(log);
  char c;
  if (!read_all(in, &c, 1)) _exit(1); /* the maps are written (EOF: H died) */
  become(sb_uid, sb_gid, in, root_mode);
  mode_t old_umask = umask(0);
  early(new_net);
  TM("S early");
  struct job j;
  char *flags;
  read_job(in, back, &j, &flags);
  g_in = in, g_flags = flags, g_n = (size_t)j.n;
  TM("S job");
  struct run r = {"/", NULL, NULL, NULL, NULL, 0};
  char **ro_targets = calloc((size_t)j.nbw + 1, sizeof *ro_targets);
  r.env = calloc((size_t)j.nbw + 1, sizeof *r.env);
  if (!ro_targets || !r.env) die("out of memory");
  int nro = 0;
  int submounts = 0;
  run_ops(&j, &r, ro_targets, &nro, &submounts);
  wait_view();
  char view_kind = g_view_kind;
  if (!r.argv || !r.argv[0]) die("no command");
  TM("S ops");
  /* The store must be H's view, never the bare directory it is mounted on. */
  struct statfs sf;
  if (!r.store_target || statfs(r.store_target, &sf) < 0) die("the store view is not bound");
  if ((view_kind == 'o') != (sf.f_type == OVERLAYFS_MAGIC)) die("the store view is not the helper's (filesystem type %lx)", (long)sf.f_type);
  if (submounts) submounts_ro(ro_targets, nro); /* reading mountinfo costs ~0.15 ms: only when needed */
  TM("S submounts");
  bind_inputs(&j, flags, r.store_target);
  if (r.hostname && strcmp(r.hostname, "localhost") != 0 && sethostname(r.hostname, strlen(r.hostname)) < 0) die("sethostname: %s", strerror(errno));
  TM("S inputs");
  close(g_oldroot);
  if (umount2("/oldroot", MNT_DETACH) < 0 || rmdir("/oldroot") < 0) die("detach the old root: %s", strerror(errno));
  if (chdir(r.chdir_to) < 0) die("chdir %s: %s", r.chdir_to, strerror(errno));
  umask(old_umask);
  if (setsid() < 0) die("setsid: %s", strerror(errno));
  drop_privileges();
  sigset_t none;
  sigemptyset(&none);
  for (int s = 1; s < NSIG; s++) signal(s, SIG_DFL);
  sigprocmask(SIG_SETMASK, &none, NULL);
  g_in_sandbox = 0;
  TM("S exec");
  /* Only stdin/out/err reach the builder (2.8's closeMostFDs). */
  if (syscall(SYS_close_range, 3, ~0U, 0) < 0)
    for (int fd = 3; fd < 65536; fd++) close(fd);
  environ = r.env;
  /* argv[0] is the builder's base name, as 2.8 gives it (bwrap cannot). */
  const char *file = r.argv[0], *base = strrchr(file, '/');
  r.argv[0] = (char *)(base && base[1] ? base + 1 : file);
  execvp(file, r.argv);
  dprintf(2, "tix-sandbox: execvp %s: %s\n", file, strerror(errno));
  _exit(1);
}
