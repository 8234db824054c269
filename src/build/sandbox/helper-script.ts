/**
 * The per-build helper that owns the sandbox's "view" of the store.
 *
 * Mirrors the part of Nix 2.8 `LocalDerivationGoal::runChild` that prepares
 * the chroot store (bind the input closure, make the store a shared mount) and
 * `addDependency` (bind a new path into the running sandbox). Node cannot make
 * mount(2)/prctl(2) calls, so this is a short perl program (perl-base is
 * Essential on Debian). It loads no modules (IO::Handle alone costs ~6 ms)
 * and makes its own namespace, so one exec covers the whole helper:
 *
 *   0. unshare a private mount namespace (the "helper namespace"); as non-root
 *      also a user namespace mapping uid/gid 0 to ours, like `unshare -r`;
 *   1. bind the real store read-only at STORE_RO (only in this namespace);
 *   2. bind VIEW onto itself and mark it shared;
 *   3. bind each input from STORE_RO into VIEW (ro, because the source is ro);
 *   4. say `R` on fd 3, then fork an injection server that stays in this
 *      namespace, says `P <sandbox pid>`, binds the inputs (overlay mode) and
 *      answers `name\n` requests on fd 3 with `K\n` or `E <reason>\n`;
 *   5. exec bwrap, which binds VIEW as the store: its copy is a slave of VIEW,
 *      so anything the server mounts later appears live in the sandbox.
 *
 * Invariants: the host namespace never holds a mount (everything dies with the
 * helper namespace); every mount target is created exclusively (an existing
 * name is refused) and mounted through an O_NOFOLLOW fd, so a builder cannot
 * redirect a mount with a symlink or a renamed directory.
 *
 * argv: SYS_prctl; the job (see above): SYS_mount SYS_prctl SYS_setgroups SYS_setresgid SYS_setresuid SYS_unshare SYS_close
 *       SYS_mknodat O_DIRECTORY O_NOFOLLOW HOST_UID HOST_GID (-1 -1: root, no user namespace)
 *       REAL_STORE STORE_RO VIEW LOWER UPPER WORK OVERLAY_EXTRA
 *       UID GID N input-name×N -- bwrap-argv…
 * VIEW and LOWER are mount points shared by all builds (mounts are per helper
 * namespace); UPPER and WORK are this build's, on the store's file system.
 * The first line on fd 3 is `R overlay` or `R plain` (see step 2).
 * (UID/GID = -1: keep the current ids; otherwise drop to them before bwrap.)
 */
export const HELPER_SCRIPT = String.raw`
# Started ahead of its build (see helper-pool.ts): die with tix, then wait for
# the job on fd 3, "J <bytes>\n" and the arguments below, each ended by NUL.
# EOF instead of a job (tix went away, or the helper was not needed): exit.
syscall(shift(@ARGV) + 0, 1, 9, 0, 0, 0); # PR_SET_PDEATHSIG SIGKILL
open(my $ctl, '+<&=', 3) or exit 125;
{
  my $hdr = <$ctl>;
  exit 0 unless defined $hdr && $hdr =~ /\AJ (\d+)\n\z/;
  my ($len, $job) = ($1 + 0, '');
  while (length($job) < $len) { my $r = read($ctl, $job, $len - length($job), length($job)); exit 0 unless $r; }
  @ARGV = split(/\0/, $job, -1);
  pop @ARGV; # after the last NUL
}
my ($SYS_MOUNT, $SYS_PRCTL, $SYS_SETGROUPS, $SYS_SETRESGID, $SYS_SETRESUID, $SYS_UNSHARE, $SYS_CLOSE, $SYS_MKNODAT, $O_DIRECTORY, $O_NOFOLLOW, $huid, $hgid,
    $store, $ro, $view, $lower, $upper, $work, $ovextra, $uid, $gid, $n) = splice(@ARGV, 0, 22);
my ($O_RDONLY, $O_WRONLY, $O_CREAT, $O_EXCL, $EEXIST) = (0, 1, 64, 128, 17);
my @inputs = splice(@ARGV, 0, $n);
shift @ARGV; # '--'
my ($MS_RDONLY, $MS_NOSUID, $MS_NODEV, $MS_NOATIME, $MS_REMOUNT, $MS_BIND, $MS_SHARED, $MS_RELATIME, $MS_STRICTATIME) =
   (1, 2, 4, 1024, 32, 4096, 1 << 20, 1 << 21, 1 << 24);
my $z = 0;
sub mnt { my ($s, $d, $f) = @_; return syscall($SYS_MOUNT, $s, $d, $z, $f, $z) == 0; }
sub mntfs { my ($t, $d, $f, $o) = @_; my $src = "$t"; my $ty = "$t"; my $op = "$o"; return syscall($SYS_MOUNT, $src, $d, $ty, $f, $op) == 0; }
sub fail { print STDERR "tix-sandbox: $_[0]\n"; exit 125; }
sub wr { my ($f, $t) = @_; open(my $h, '>', $f) or fail("open $f: $!"); print $h $t or fail("write $f: $!"); close($h) or fail("write $f: $!"); }
sub valid_name { my $x = shift; return $x =~ /\A[0-9a-z]{32}-[A-Za-z0-9+\-._?=]+\z/ && $x !~ /\A\./; }

# Materialise one store path in the view. Returns undef or an error string.
sub add {
  my ($name) = @_;
  return "invalid store path name '$name'" unless valid_name($name);
  my ($src, $dst) = ("$ro/$name", "$view/$name");
  lstat($src) or return "path is not in the store: $!";
  if (-l _) {
    my $t = readlink($src); defined $t or return "readlink: $!";
    symlink($t, $dst) or return ($! + 0 == $EEXIST ? "exists" : "symlink: $!");
    return undef;
  }
  my $fh;
  if (-d _) {
    mkdir($dst, 0555) or return ($! + 0 == $EEXIST ? "exists" : "mkdir: $!");
    sysopen($fh, $dst, $O_RDONLY | $O_DIRECTORY | $O_NOFOLLOW) or return "open mount point: $!";
  } elsif (-f _) {
    sysopen($fh, $dst, $O_WRONLY | $O_CREAT | $O_EXCL | $O_NOFOLLOW, 0444) or return ($! + 0 == $EEXIST ? "exists" : "create: $!");
  } else {
    return "unsupported file type";
  }
  # Mount through the fd: whatever the builder does to the name meanwhile,
  # the mount lands on the inode we created, inside the view.
  my $target = "/proc/self/fd/" . fileno($fh);
  my $ok = mnt($src, $target, $MS_BIND);
  my $err = "$!";
  close($fh);
  return $ok ? undef : "bind mount: $err";
}

# Wait until the sandbox (pid $cp) has bound the view at the store dir: its
# mountinfo shows the mount at '/newroot<store>' (bwrap's setup root) or, after
# its pivot_root, at '<store>'. The file is pollable: select() reports an
# exceptional condition once that namespace's mount table changed since the
# open, so this wakes at once instead of sleeping between looks. Only an optimisation:
# after 10 s, or if the mountinfo cannot be read, bind anyway (the binds then
# still land, as copies).
sub wait_for_store_mount {
  my $cp = shift;
  my $want = $store; $want =~ s/([ \t\n\\])/sprintf('\\%03o', ord($1))/ge;
  my $t0 = time();
  while (time() - $t0 < 10) {
    # Reopened each time: a reader sees only mounts under the root the process
    # had when the file was opened, and bwrap pivots to a new root.
    my $m;
    unless (open($m, '<', "/proc/$cp/mountinfo")) {
      exit 0 unless -e "/proc/$cp"; # the sandbox is gone
      return;
    }
    while (my $l = <$m>) {
      my $mp = (split(/ /, $l))[4];
      return if $mp eq $want || $mp eq "/newroot$want";
    }
    # Any mount change since the open ends the wait.
    my $ein = ''; vec($ein, fileno($m), 1) = 1;
    select(undef, undef, $ein, 0.05); # a missed change costs at most this
    close($m);
  }
}

# Mount points for the inputs in the lower tmpfs: cheap, unlike on disk.
# Returns the names to bind (symlinks are copied, not bound).
sub premake {
  my @bind;
  for my $name (@inputs) {
    fail("invalid store path name '$name'") unless valid_name($name);
    my ($src, $dst) = ("$ro/$name", "$lower/$name");
    lstat($src) or fail("'$name' is not in the store: $!");
    if (-l _) { my $t = readlink($src); symlink($t, $dst) or fail("symlink: $!"); next; }
    elsif (-d _) { mkdir($dst, 0555) or fail("mkdir: $!"); }
    else { syscall($SYS_MKNODAT, -100, $dst, 0100444, 0) == 0 or fail("create: $!"); } # one call, no fd
    push @bind, $name;
  }
  return @bind;
}

# 0. the helper namespace.
if ($huid ne '-1') {
  syscall($SYS_UNSHARE, 0x10000000 | 0x20000) == 0 or fail("cannot create a user namespace: $!");
  wr('/proc/self/setgroups', 'deny'); wr("/proc/self/uid_map", "0 $huid 1"); wr("/proc/self/gid_map", "0 $hgid 1");
} else {
  syscall($SYS_UNSHARE, 0x20000) == 0 or fail("cannot create a mount namespace: $!");
}
my $slash = '/';
syscall($SYS_MOUNT, $z, $slash, $z, (1 << 18) | 16384, $z) == 0 or fail("make / private: $!"); # MS_PRIVATE|MS_REC

# 1. read-only source of everything we bind (flags are inherited by binds
#    and by propagated copies, unlike 'mount --bind -o ro').
mnt($store, $ro, $MS_BIND) or fail("bind '$store': $!");
my $ok = 0;
for my $atime (0, $MS_NOATIME, $MS_RELATIME, $MS_STRICTATIME) {
  if (mnt($z, $ro, $MS_REMOUNT | $MS_BIND | $MS_RDONLY | $MS_NOSUID | $MS_NODEV | $atime)) { $ok = 1; last; }
}
$ok or fail("remount '$ro' read-only: $!");
# 2. the view, a shared mount so later binds under it propagate. Fast path:
#    an overlay of a tmpfs holding the inputs' mount points (a mkdir on disk
#    costs ~0.3 ms) under UPPER, which receives what the builder writes, on
#    the store's file system so outputs can be renamed into the store.
#    Fallback (no overlay, e.g. an old kernel without unprivileged overlayfs):
#    UPPER itself is the view, mount points made on disk.
my $mode = 'plain';
my @premade;
if ($work ne '-' && "$lower$upper$work" !~ /[,:\\]/) {
  mntfs('tmpfs', $lower, $MS_NOSUID | $MS_NODEV, 'mode=0755') or fail("mount tmpfs on '$lower': $!");
  @premade = premake();
  my $o = "lowerdir=$lower,upperdir=$upper,workdir=$work" . ($ovextra eq '-' ? '' : ",$ovextra");
  $mode = 'overlay' if mntfs('overlay', $view, $MS_NOSUID | $MS_NODEV, $o);
}
if ($mode eq 'overlay') {
  # The inputs are bound later, by the server, once bwrap has bound the view:
  # they then propagate into the sandbox (one mount each) instead of being
  # copied twice by bwrap (its namespace copy and its recursive bind).
  mnt($z, $view, $MS_SHARED) or fail("make '$view' shared: $!");
} else {
  mnt($upper, $view, $MS_BIND) or fail("bind '$upper': $!");
  mnt($z, $view, $MS_SHARED) or fail("make '$view' shared: $!");
  for my $i (@inputs) { my $e = add($i); fail("cannot add '$i' to the sandbox: $e") if defined $e; }
}

# Ready, said before the fork: the server may be killed (with bwrap) before it runs.
select((select($ctl), $| = 1)[0]);
print $ctl "R $mode\n";
# --info-fd tells the server the sandbox's pid (passed on to tix, which kills
# and waits for it); in overlay mode bwrap also waits on --block-fd until the
# server has bound the inputs. Both pipes survive exec ($^F).
$^F = 255;
my ($br, $bw, $ir, $iw);
pipe($ir, $iw) or fail("pipe: $!");
pipe($br, $bw) or fail("pipe: $!") if $mode eq 'overlay';
my $pid = fork();
defined $pid or fail("fork: $!");
if ($pid == 0) {
  # 4. injection server. Dies with bwrap (its parent) via PR_SET_PDEATHSIG.
  syscall($SYS_PRCTL, 1, 9, $z, $z, $z);
  open(STDIN, '<', '/dev/null'); open(STDOUT, '>', '/dev/null'); open(STDERR, '>', '/dev/null');
  close($iw);
  my $info = do { local $/; <$ir> };
  close($ir);
  my ($cp) = ($info // '') =~ /"child-pid":\s*(\d+)/;
  unless (defined $cp) { kill 9, getppid(); exit 1; } # no sandbox pid: never release a builder blind
  print $ctl "P $cp\n";
  if ($mode eq 'overlay') {
    close($br);
    wait_for_store_mount($cp) if @premade; # nothing to bind: release the builder at once
    # Straight onto the path, not through an fd as in add(): the builder has
    # not run yet (bwrap waits on the block fd), so nothing can have moved
    # these mount points we made; this halves the cost of a bind.
    for my $i (@premade) {
      next if mnt("$ro/$i", "$view/$i", $MS_BIND);
      my $e = "bind mount: $!";
      print $ctl "F cannot add '$i' to the sandbox: $e\n";
      kill 9, $cp, getppid(); # never let the builder start without its inputs
      exit 1;
    }
    syswrite($bw, "x"); close($bw);
  }
  while (my $line = <$ctl>) {
    chomp $line;
    my $e = add($line);
    print $ctl (defined $e ? "E $e\n" : "K\n");
  }
  exit 0;
}
close($ctl);
close($ir);
splice(@ARGV, 1, 0, '--info-fd', fileno($iw));
if ($mode eq 'overlay') {
  close($bw);
  splice(@ARGV, 1, 0, '--block-fd', fileno($br));
}
# 5. the sandbox. SIGKILL if tix dies; one log stream for stdout and stderr.
syscall($SYS_PRCTL, 1, 9, $z, $z, $z);
if ($uid ne '-1') {
  my $g = pack('L', $gid + 0);
  syscall($SYS_SETGROUPS, 1, $g) == 0 or fail("setgroups: $!");
  syscall($SYS_SETRESGID, $gid + 0, $gid + 0, $gid + 0) == 0 or fail("setresgid: $!");
  syscall($SYS_SETRESUID, $uid + 0, $uid + 0, $uid + 0) == 0 or fail("setresuid: $!");
}
open(STDERR, '>&', \*STDOUT) or fail("dup stderr: $!");
# bwrap passes every open fd on to the builder: close all but stdio and its pipes
# (Nix's closeMostFDs), whatever tix itself inherited.
my %keep = map { $_ => 1 } (0, 1, 2, fileno($iw), ($mode eq 'overlay' ? (fileno($br)) : ()));
opendir(my $fdh, '/proc/self/fd') or fail("opendir /proc/self/fd: $!");
my @fds = grep { /\A\d+\z/ && !$keep{$_} } readdir($fdh);
closedir($fdh);
syscall($SYS_CLOSE, $_ + 0) for @fds;
{ exec { $ARGV[0] } @ARGV; }
print STDOUT "tix-sandbox: exec $ARGV[0]: $!\n";
exit 125;
`;

/** Syscall numbers the helper needs, per Node `process.arch`. */
export interface SyscallNumbers {
  mount: number;
  unshare: number;
  close: number;
  O_DIRECTORY: number;
  O_NOFOLLOW: number;
  prctl: number;
  setgroups: number;
  setresgid: number;
  setresuid: number;
  mknodat: number;
}

const SYSCALLS: Record<string, SyscallNumbers> = {
  x64: { mount: 165, unshare: 272, close: 3, prctl: 157, setgroups: 116, setresgid: 119, setresuid: 117, mknodat: 259, O_DIRECTORY: 0o200000, O_NOFOLLOW: 0o400000 },
  arm64: { mount: 40, unshare: 97, close: 57, prctl: 167, setgroups: 159, setresgid: 149, setresuid: 147, mknodat: 33, O_DIRECTORY: 0o40000, O_NOFOLLOW: 0o100000 },
};

export function syscallNumbers(arch: string = process.arch): SyscallNumbers | undefined {
  return SYSCALLS[arch];
}
