/* Small utilities of the sandbox's native helper (see util.h). */
#include "util.h"
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

int g_in_sandbox = 0;

#ifdef TIMING
void tmark(const char *what) {
  static int fd = -1;
  struct timespec t;
  clock_gettime(CLOCK_REALTIME, &t);
  if (fd < 0) fd = open(TIMING_LOG, O_WRONLY | O_APPEND | O_CREAT, 0644);
  dprintf(fd, "%d %.3f %s\n", (int)getpid(), t.tv_sec * 1e3 + t.tv_nsec / 1e6, what);
}
#endif

void die(const char *fmt, ...) {
  char msg[4096];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  dprintf(2, "tix-sandbox: %s\n", msg);
  if (g_in_sandbox) dprintf(CTL, "F %s\n", msg); /* tix reports it as a setup failure */
  _exit(g_in_sandbox ? 1 : 125);
}

void write_file(const char *path, const char *text) {
  int fd = open(path, O_WRONLY | O_CLOEXEC);
  if (fd < 0) die("open %s: %s", path, strerror(errno));
  size_t n = strlen(text);
  if (write(fd, text, n) != (ssize_t)n) die("write %s: %s", path, strerror(errno));
  close(fd);
}

void write_all(int fd, const void *buf, size_t n) {
  const char *s = buf;
  while (n > 0) {
    ssize_t w = write(fd, s, n);
    if (w < 0) {
      if (errno == EINTR) continue;
      return; /* the reader is gone (tix, or a sandbox that died): it is reported elsewhere */
    }
    s += w;
    n -= (size_t)w;
  }
}

int read_all(int fd, void *buf, size_t n) {
  char *s = buf;
  while (n > 0) {
    ssize_t r = read(fd, s, n);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) return 0;
    s += r;
    n -= (size_t)r;
  }
  return 1;
}

void say(const char *fmt, ...) {
  char line[4200];
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(line, sizeof line, fmt, ap);
  va_end(ap);
  if (n < 0) return;
  if ((size_t)n >= sizeof line) n = sizeof line - 1;
  write_all(CTL, line, (size_t)n);
}

char *cat(const char *a, const char *b) {
  size_t la = strlen(a), lb = strlen(b);
  char *r = malloc(la + lb + 1);
  if (!r) die("out of memory");
  memcpy(r, a, la);
  memcpy(r + la, b, lb + 1);
  return r;
}

char *cat3(const char *a, const char *b, const char *c) {
  char *ab = cat(a, b);
  char *r = cat(ab, c);
  free(ab);
  return r;
}

void mkdirs(const char *path, mode_t mode, int last) {
  char *p = strdup(path);
  if (!p) die("out of memory");
  for (char *s = p + 1;; s++) {
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

void parse_job(struct job *j, char *buf, size_t len) {
  int count = 0;
  for (size_t i = 0; i < len; i++) count += buf[i] == '\0';
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

void premake_range(const struct job *j, int ro, int lower, int from, int to, char *flags) {
  for (int i = from; i < to; i++) {
    const char *name = j->names[i];
    if (!valid_name(name)) die("invalid store path name '%s'", name);
    struct stat st;
    if (fstatat(ro, name, &st, AT_SYMLINK_NOFOLLOW) < 0) die("'%s' is not in the store: %s", name, strerror(errno));
    flags[i] = !S_ISLNK(st.st_mode);
    if (S_ISLNK(st.st_mode)) {
      char t[4096];
      ssize_t n = readlinkat(ro, name, t, sizeof t - 1);
      if (n < 0) die("readlink: %s", strerror(errno));
      t[n] = '\0';
      if (symlinkat(t, lower, name) < 0) die("symlink: %s", strerror(errno));
    } else if (S_ISDIR(st.st_mode) ? mkdirat(lower, name, 0555) : mknodat(lower, name, S_IFREG | 0444, 0)) {
      die("create '%s': %s", name, strerror(errno));
    }
  }
}

int valid_name(const char *s) {
  if (strlen(s) < 34 || s[32] != '-') return 0;
  for (int i = 0; i < 32; i++)
    if (!(isdigit((unsigned char)s[i]) || islower((unsigned char)s[i]))) return 0;
  for (const char *c = s + 33; *c; c++)
    if (!isalnum((unsigned char)*c) && !strchr("+-._?=", *c)) return 0;
  return 1;
}
