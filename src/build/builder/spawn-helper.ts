/**
 * Starting unsandboxed builders through one small persistent helper process
 * instead of Node's `spawn` per build. Node's `spawn` forks this (large)
 * process and blocks until the child has exec'd: measured 3.8 ms at 47 MB
 * RSS and 35 ms at 256 MB, per build, on the main thread. The helper is a
 * tiny perl program (perl is already required by `bin/`): forking it costs
 * well under a millisecond, and nothing blocks here.
 *
 * The builder is set up as `direct.ts` does (Nix 2.8 `startBuilder` without
 * chroot): own session, stdin /dev/null, stdout and stderr on one pipe,
 * umask 022, cwd = build dir, only the given environment; an unstartable
 * builder prints Nix's "executing '…': <error>" and exits 1.
 *
 * Protocol. To the helper: `S <id> <n>\n` then n netstrings (`<len>:<bytes>,`):
 * cwd, builder, args…, then `\0` and env `K=V` entries; `K <id>\n` kills the
 * builder's process group. From the helper: `D <id> <len>\n<bytes>` output,
 * `E <id>\n` end of output, `X <id> <code> <signal>\n` exit status (sent when the
 * builder is reaped, even if something it started still holds the output pipe:
 * the caller then kills the process group, as with a direct spawn).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { PassThrough } from 'node:stream';
import type { BuilderProcess, SpawnRequest } from '../hooks.js';

const HELPER = String.raw`
use strict;
$SIG{PIPE} = 'IGNORE';
my $chld = 0; $SIG{CHLD} = sub { $chld = 1 };
binmode STDIN; binmode STDOUT; $| = 1;
my (%fh, %pid);
my $in = '';
sub out { my $s = shift; my $o = 0; while ($o < length $s) { my $n = syswrite(STDOUT, $s, length($s) - $o, $o); if (!defined $n) { next if $!{EINTR}; exit 0; } $o += $n; } }
sub take_netstring { my ($r) = @_; return undef unless $$r =~ /^(\d+):/; my $len = $1; my $h = length($len) + 1; return undef if length($$r) < $h + $len + 1; my $v = substr($$r, $h, $len); substr($$r, 0, $h + $len + 1) = ''; return $v; }
sub start {
  my ($id, @f) = @_;
  my ($cwd, $builder) = splice(@f, 0, 2);
  my (@args, %env); my $e = 0;
  for my $x (@f) { if ($x eq "\0") { $e = 1; next } if ($e) { my ($k, $v) = split /=/, $x, 2; $env{$k} = $v } else { push @args, $x } }
  pipe(my $r, my $w) or die "pipe: $!";
  my $pid = fork();
  if (!defined $pid) { close $r; close $w; out("D $id " . length("fork: $!\n") . "\nfork: $!\n"); out("E $id\nX $id 1 -\n"); return }
  if ($pid == 0) {
    close $r; POSIX::setsid();
    open(STDIN, '<', '/dev/null'); open(STDOUT, '>&', $w); open(STDERR, '>&', $w); close $w;
    umask 022; chdir $cwd;
    %ENV = (); $ENV{$_} = $env{$_} for sort keys %env;
    if (!-e $builder) { print "executing '$builder': No such file or directory\n"; POSIX::_exit(1) }
    if (!-x $builder || -d $builder) { print "executing '$builder': Permission denied\n"; POSIX::_exit(1) }
    exec { $builder } $builder, @args;
    print "executing '$builder': $!\n"; POSIX::_exit(1);
  }
  close $w;
  $fh{$id} = $r; $pid{$id} = $pid;
}
use POSIX ();
my %eof; my %pgid;
my $stdin_open = 1;
while ($stdin_open || %pid || %fh) {
  my $rin = ''; vec($rin, fileno(STDIN), 1) = 1 if $stdin_open;
  vec($rin, fileno($fh{$_}), 1) = 1 for keys %fh;
  # A builder whose output ended is about to exit: poll for its status. Running ones: SIGCHLD
  # interrupts select, and a short timeout covers a signal that lands just before it.
  my $wait = (grep { $eof{$_} } keys %pid) ? 0.001 : %pid ? 0.05 : undef;
  my $n = select(my $rout = $rin, undef, undef, $wait);
  if ($n > 0) {
    if ($stdin_open && vec($rout, fileno(STDIN), 1)) {
      my $got = sysread(STDIN, my $buf, 65536);
      if (!$got) { $stdin_open = 0 } else { $in .= $buf }
      while (1) {
        if ($in =~ /^K (\d+)\n/) { my $id = $1; substr($in, 0, length("K $id\n")) = ''; kill('KILL', -$pgid{$id}) if $pgid{$id}; next }
        if ($in =~ /^S (\d+) (\d+)\n/) {
          my ($id, $cnt) = ($1, $2); my $hdr = length("S $id $cnt\n");
          my $rest = substr($in, $hdr); my @f;
          for (1 .. $cnt) { my $v = take_netstring(\$rest); last unless defined $v; push @f, $v }
          last if @f < $cnt;
          $in = $rest; start($id, @f); $pgid{$id} = $pid{$id} if $pid{$id}; next;
        }
        last;
      }
    }
    for my $id (keys %fh) {
      next unless vec($rout, fileno($fh{$id}), 1);
      my $got = sysread($fh{$id}, my $buf, 65536);
      if ($got) { out("D $id " . length($buf) . "\n" . $buf) }
      elsif (defined $got || !$!{EINTR}) { close $fh{$id}; delete $fh{$id}; $eof{$id} = 1; delete $pgid{$id} unless $pid{$id}; out("E $id\n") }
    }
  }
  while ((my $p = waitpid(-1, POSIX::WNOHANG())) > 0) {
    my ($id) = grep { $pid{$_} == $p } keys %pid; next unless defined $id;
    my $st = $?; my $code = ($st & 127) ? '-' : ($st >> 8); my $sig = ($st & 127) || '-';
    delete $pid{$id}; if ($eof{$id}) { delete $eof{$id}; delete $pgid{$id} }
    out("X $id $code $sig\n");
  }
}
`;

const SIGNALS: Record<number, NodeJS.Signals> = {
  1: 'SIGHUP', 2: 'SIGINT', 3: 'SIGQUIT', 4: 'SIGILL', 6: 'SIGABRT', 7: 'SIGBUS', 8: 'SIGFPE', 9: 'SIGKILL',
  10: 'SIGUSR1', 11: 'SIGSEGV', 12: 'SIGUSR2', 13: 'SIGPIPE', 14: 'SIGALRM', 15: 'SIGTERM',
};

interface Job {
  output: PassThrough;
  exit: (s: { code: number | null; signal: NodeJS.Signals | null }) => void;
  /** Output ended / status received: the job is forgotten once both happened. */
  ended: boolean;
  exited: boolean;
}

class SpawnHelper {
  private readonly child: ChildProcess;
  private readonly jobs = new Map<number, Job>();
  private nextId = 1;
  private buf: Buffer = Buffer.alloc(0);
  private dead = false;

  constructor(perl: string) {
    // Its stderr is not the user's: a perl diagnostic must never appear in a command's output.
    this.child = spawn(perl, ['-e', HELPER], { stdio: ['pipe', 'pipe', 'ignore'] });
    this.child.stdout!.on('data', (c: Buffer) => this.onData(c));
    this.child.on('exit', () => this.onDeath());
    this.child.on('error', () => this.onDeath());
    this.child.stdin!.on('error', () => this.onDeath());
    this.idle();
  }

  get alive(): boolean {
    return !this.dead;
  }

  start(req: SpawnRequest): BuilderProcess {
    const id = this.nextId++;
    const output = new PassThrough();
    let exit!: Job['exit'];
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((r) => (exit = r));
    this.jobs.set(id, { output, exit, ended: false, exited: false });
    this.busy();
    const fields = [req.cwd, req.builder, ...req.args, '\0', ...Object.entries(req.env).map(([k, v]) => `${k}=${v}`)];
    const parts: Buffer[] = [Buffer.from(`S ${id} ${fields.length}\n`)];
    for (const f of fields) {
      const b = Buffer.from(f, 'utf8');
      parts.push(Buffer.from(`${b.length}:`), b, Buffer.from(','));
    }
    this.child.stdin!.write(Buffer.concat(parts));
    return {
      pid: -1,
      output,
      exited,
      kill: () => {
        if (!this.dead) this.child.stdin!.write(`K ${id}\n`);
      },
    };
  }

  private onData(c: Buffer): void {
    this.buf = this.buf.length === 0 ? c : Buffer.concat([this.buf, c]);
    for (;;) {
      const nl = this.buf.indexOf(10);
      if (nl < 0) return;
      const head = this.buf.subarray(0, nl).toString('latin1').split(' ');
      const id = Number(head[1]);
      const job = this.jobs.get(id);
      if (head[0] === 'D') {
        const len = Number(head[2]);
        if (this.buf.length < nl + 1 + len) return;
        job?.output.write(Buffer.from(this.buf.subarray(nl + 1, nl + 1 + len)));
        this.buf = this.buf.subarray(nl + 1 + len);
        continue;
      }
      this.buf = this.buf.subarray(nl + 1);
      if (job === undefined) continue;
      if (head[0] === 'E') {
        job.ended = true;
        job.output.end();
      }
      if (head[0] === 'X') {
        job.exited = true;
        job.exit(head[2] === '-' ? { code: null, signal: SIGNALS[Number(head[3])] ?? 'SIGKILL' } : { code: Number(head[2]), signal: null });
      }
      if (job.ended && job.exited) {
        this.jobs.delete(id);
        if (this.jobs.size === 0) this.idle();
      }
    }
  }

  /** Builders that were running are lost: report them as killed. */
  private onDeath(): void {
    if (this.dead) return;
    this.dead = true;
    for (const j of this.jobs.values()) {
      j.output.end();
      j.exit({ code: null, signal: 'SIGKILL' });
    }
    this.jobs.clear();
  }

  /** Without running builds the helper must not keep this process alive. */
  private idle(): void {
    this.child.unref();
    (this.child.stdout as unknown as { unref?(): void }).unref?.();
    (this.child.stdin as unknown as { unref?(): void }).unref?.();
  }

  private busy(): void {
    this.child.ref();
    (this.child.stdout as unknown as { ref?(): void }).ref?.();
    (this.child.stdin as unknown as { ref?(): void }).ref?.();
  }
}

let helper: SpawnHelper | undefined;
let builds = 0;
const PERL = ['/usr/bin/perl', '/bin/perl'].find((p) => existsSync(p));

/**
 * Run a helper program (`bzip2`) through the spawn helper if this process has
 * one already, so it does not block the main thread either; undefined when
 * there is none (the caller spawns it itself). Resolves to the exit code.
 */
export function runViaHelper(file: string, args: readonly string[], cwd: string): Promise<number | null> | undefined {
  if (helper === undefined || !helper.alive) return undefined;
  const p = helper.start({ builder: file, args, env: {}, cwd });
  p.output.resume();
  return p.exited.then((s) => s.code);
}

/**
 * A started builder through the helper, or undefined when the direct spawn
 * should be used: the first build of a process (one builder does not pay for
 * a helper), no perl, or `TIX_SPAWN_HELPER=0`; `TIX_SPAWN_HELPER=always` uses
 * it from the first build (tests).
 */
export function spawnViaHelper(req: SpawnRequest): BuilderProcess | undefined {
  const mode = process.env.TIX_SPAWN_HELPER;
  if (PERL === undefined || mode === '0') return undefined;
  const first = builds++ === 0;
  if (first && mode !== 'always' && (helper === undefined || !helper.alive)) return undefined;
  if (helper === undefined || !helper.alive) helper = new SpawnHelper(PERL);
  return helper.start(req);
}

/**
 * Start the helper ahead of any build (e.g. while a warm process waits for a
 * job), so even a process's first builder is not spawned by forking it.
 */
export function prestartSpawnHelper(): void {
  if (PERL === undefined || process.env.TIX_SPAWN_HELPER === '0') return;
  if (helper === undefined || !helper.alive) helper = new SpawnHelper(PERL);
}
