/**
 * The Linux build sandbox (Nix 2.8 `LocalDerivationGoal` chroot builds): a
 * per-build helper mount namespace holding the store view, and the sandbox
 * made by the native helper (native/sandbox/) or, without it, by bubblewrap
 * under the perl helper; both take the same job (see docs/sandbox.md).
 *
 * Host layout, under the store dir so outputs can be renamed into the store:
 *
 *   <store>/.tix-sandbox/view         mount point of each build's store view (its helper ns)
 *   <store>/.tix-sandbox/lower        mount point of the tmpfs with the inputs' mount points
 *   <store>/.tix-sandbox/store-ro     mount point of the real store, bound ro
 *   <store>/.tix-sandbox/etc-default  /etc of ordinary builds (read-only in the sandbox)
 *   <store>/<drv>.chroot<store>       what this builder wrote to its store ($out): the
 *                                     path 2.8 uses too, so messages name the same place
 *   <store>/<drv>.chroot/.work        overlayfs scratch
 *   <store>/<drv>.chroot/etc          /etc of builds that need their own
 *
 * Mount points are shared by concurrent builds: every mount lives in one
 * build's private helper namespace, so the host never holds one.
 *
 * Inside: new user, mount, pid, net (unless fixed-output), ipc, uts and cgroup
 * namespaces; uid 1000/gid 100 mapped to the build user or to tix's own uid; no
 * capabilities; the builder is pid 1, so when it exits (or tix kills the
 * helper) the kernel kills everything it left behind.
 */
import { mkdirSync, chmodSync, chownSync, renameSync, existsSync, statSync, writeFileSync } from 'node:fs';
import type { Socket } from 'node:net';
import { PassThrough } from 'node:stream';
import { basename, dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { NixError } from '../../core/index.js';
import { SandboxErrorCode } from './errors.js';
import { buildFinished, startHelper, takeHelper, type HelperChild } from './helper-pool.js';
import { writeEtc, SANDBOX_UID, SANDBOX_GID } from './chroot-files.js';
import { ancestors, chownTree, ensureShared, lexists, rmTree } from './host-fs.js';
import { cancelRemoveAtExit, claimChroot, discardChroot, releaseChroot, removeAtExit } from './leftovers.js';
import { makeSpareChroot, takeSpareChroot } from './spare-chroot.js';
import { alive, mapStatus, sandboxSetupFailure } from './process-status.js';
import { forgetProbe, type SandboxTools } from './availability.js';
import type { SandboxPath } from './settings.js';
import type { BuilderProcess, Sandbox, SpawnRequest } from './types.js';
import type { BuildUser } from './build-user.js';

export interface LinuxSandboxOptions {
  /** Store dir as builders see it; also the host location (no diverted stores). */
  storeDir: string;
  /** Names the chroot dir; any unique string (normally the drv's base name). */
  id: string;
  buildDir: string;
  buildDirInSandbox: string;
  /** Full store paths visible from the start. */
  inputClosure: Iterable<string>;
  /** Full store paths the builder writes (moved into the store by `destroy`). */
  outputs: Iterable<string>;
  network: boolean;
  /** Give the builder /dev/kvm (the `kvm` system feature). */
  kvm?: boolean;
  sandboxPaths: readonly SandboxPath[];
  tools: SandboxTools;
  buildUser?: BuildUser;
}

/** The native helper's exit status when the host's mounts changed while it waited for its job. */
const STALE_HELPER = 75;

const STORE_NAME_RE = /^[0-9a-z]{32}-[A-Za-z0-9+\-._?=]+$/;

type Reply = { ok: true } | { ok: false; reason: string };

export class LinuxSandbox implements Sandbox {
  readonly buildDirInSandbox: string;
  private readonly sharedDir: string;
  private readonly chrootDir: string;
  private readonly upperDir: string;
  private readonly workDir: string;
  private etcDir: string;
  /** `overlay` or `plain` (reported by the helper). */
  viewMode = '';
  /** Host pid of the sandbox's pid 1 (the builder), once the helper reported it. */
  private sandboxPid = 0;
  private readonly present = new Set<string>();
  private readonly outputNames: string[];
  private readonly moved = new Set<string>();
  /** Taken at creation, so it starts up while the build is prepared; given its job by `spawn`. */
  private helper: HelperChild;
  private spawned = false;
  private ctl: Socket | undefined;
  private ctlBuffer = '';
  private readonly pending: ((r: Reply) => void)[] = [];
  private builderDone = false;
  /** The builder's status, once the (native) helper reported it. */
  private onStatus: ((code: number) => void) | undefined;
  /** Resolves when the builder's status is known (helper exit, or its `X` line). */
  private helperExit: Promise<void> | undefined;
  private destroyed = false;

  constructor(private readonly opts: LinuxSandboxOptions) {
    this.buildDirInSandbox = opts.buildDirInSandbox;
    this.sharedDir = join(opts.storeDir, '.tix-sandbox');
    this.chrootDir = join(opts.storeDir, `${opts.id}.chroot`);
    this.upperDir = this.chrootDir + opts.storeDir;
    this.workDir = join(this.chrootDir, '.work');
    this.etcDir = join(this.sharedDir, 'etc-default');
    this.outputNames = [...opts.outputs].map((p) => this.nameOf(p));
    const outs = new Set(this.outputNames);
    for (const p of opts.inputClosure) {
      const n = this.nameOf(p);
      if (!outs.has(n)) this.present.add(n); // an output being rebuilt must not be bound in
    }
    this.prepare();
    this.helper = takeHelper(opts.tools);
  }

  /** Lay out the host side (no mounts: those live in the helper ns). */
  private prepare(): void {
    const { buildUser } = this.opts;
    ensureShared(this.sharedDir);
    claimChroot(this.sharedDir, this.opts.id); // before the dir exists: a sweep never takes a live build's
    cancelRemoveAtExit(this.chrootDir);
    rmTree(this.chrootDir); // a leftover of an interrupted build (2.8 does the same)
    const spare = takeSpareChroot(this.sharedDir, this.chrootDir);
    if (!spare) mkdirSync(this.chrootDir, { mode: 0o750 });
    // A spare made by a process that named the store by another path lacks this upper dir.
    if (!spare || !lexists(this.upperDir) || !lexists(this.workDir)) {
      // Builders create their outputs here; the sticky bit keeps them off each other's entries.
      mkdirSync(this.upperDir, { recursive: true, mode: 0o755 });
      chmodSync(this.upperDir, 0o1775);
      mkdirSync(this.workDir, { recursive: true, mode: 0o700 });
    }
    const etcShared = !this.opts.network && this.buildDirInSandbox === '/build' && !this.opts.sandboxPaths.some((p) => p.target.startsWith('/etc/'));
    if (!etcShared) {
      this.etcDir = join(this.chrootDir, 'etc');
      writeEtc(this.etcDir, this.buildDirInSandbox, this.opts.network);
      for (const sp of this.opts.sandboxPaths) this.placeholderInEtc(sp);
    }
    if (buildUser) {
      chownSync(this.chrootDir, 0, buildUser.gid);
      chownSync(this.upperDir, 0, buildUser.gid);
    }
  }

  /** `/etc` is bound read-only, so a sandbox path inside it needs its mount point made now. */
  private placeholderInEtc(sp: SandboxPath): void {
    if (!sp.target.startsWith('/etc/')) return;
    const etc = this.etcDir;
    const target = join(etc, sp.target.slice(5));
    chmodSync(etc, 0o755);
    try {
      mkdirSync(dirname(target), { recursive: true });
      const isDir = existsSync(sp.source) && statSync(sp.source).isDirectory();
      if (!existsSync(target)) {
        if (isDir) mkdirSync(target);
        else writeFileSync(target, ''); // an empty file as the bind mount point
      }
    } finally {
      chmodSync(etc, 0o755);
    }
  }

  private nameOf(path: string): string {
    // A prefix test and a slice (no path parsing): this runs for every input; the regex has no '/'.
    const dir = this.opts.storeDir;
    const name = path.startsWith(dir) && path.charCodeAt(dir.length) === 47 ? path.slice(dir.length + 1) : '';
    if (!STORE_NAME_RE.test(name)) {
      throw new NixError(SandboxErrorCode.E_ADD_PATH_FAILED, `path '${path}' is not in the Nix store`);
    }
    return name;
  }

  private bwrapArgs(req: SpawnRequest): string[] {
    const { storeDir, buildDir, network, sandboxPaths } = this.opts;
    const a = ['--unshare-all', '--unshare-user', '--uid', String(SANDBOX_UID), '--gid', String(SANDBOX_GID)];
    if (network) a.push('--share-net');
    a.push('--die-with-parent', '--new-session', '--as-pid-1', '--cap-drop', 'ALL', '--hostname', 'localhost');
    a.push('--dev', '/dev', '--proc', '/proc');
    if (this.opts.kvm) a.push('--dev-bind-try', '/dev/kvm', '/dev/kvm'); // 2.8: with the 'kvm' system feature
    a.push('--perms', '1777', '--tmpfs', '/tmp');
    // Parents of the store and build dir as 2.8's createDirs makes them (bwrap would use 0700).
    for (const d of ancestors(storeDir, this.buildDirInSandbox)) a.push('--perms', '0755', '--dir', d);
    a.push('--ro-bind', this.etcDir, '/etc');
    for (const sp of sandboxPaths) {
      if (sp.target === this.buildDirInSandbox || sp.target === '/proc') continue; // 2.8 skips /proc
      a.push(sp.optional ? '--ro-bind-try' : '--ro-bind', sp.source, sp.target);
    }
    a.push('--bind', buildDir, this.buildDirInSandbox);
    a.push('--bind', join(this.sharedDir, 'view'), storeDir);
    a.push('--clearenv');
    for (const [k, v] of Object.entries(req.env)) a.push('--setenv', k, v);
    a.push('--chdir', req.cwd, '--', req.builder, ...req.args);
    return a;
  }

  /** The helper's arguments before the bwrap command line (see helper-script.ts). */
  private helperArgs(): string[] {
    const { tools, storeDir, buildUser } = this.opts;
    const sc = tools.syscalls;
    const names = [...this.present];
    const shared = (d: string): string => join(this.sharedDir, d);
    return [
      ...[sc.mount, sc.prctl, sc.setgroups, sc.setresgid, sc.setresuid, sc.unshare, sc.close, sc.mknodat, sc.O_DIRECTORY, sc.O_NOFOLLOW].map(String),
      tools.root ? '-1' : String(process.getuid!()), tools.root ? '-1' : String(process.getgid!()),
      storeDir, shared('store-ro'), shared('view'), shared('lower'),
      this.upperDir, process.env.TIX_SANDBOX_OVERLAY === '0' ? '-' : this.workDir, tools.root ? '-' : 'userxattr',
      buildUser ? String(buildUser.uid) : '-1', buildUser ? String(buildUser.gid) : '-1',
      String(names.length), ...names, '--',
    ];
  }

  async spawn(req: SpawnRequest): Promise<BuilderProcess> {
    if (this.spawned) throw new Error('Assertion failed: sandbox already spawned');
    if (this.destroyed) throw new Error('Assertion failed: sandbox destroyed');
    this.spawned = true;
    const { tools, buildUser } = this.opts;
    // The build dir is complete now (env files, the recursive-nix socket): hand it to the build user.
    if (buildUser) chownTree(this.opts.buildDir, buildUser.uid, buildUser.gid);
    const job = [...this.helperArgs(), tools.bwrap, ...this.bwrapArgs(req)].map((a) => a + '\0').join('');
    // A native helper whose copy of the host's mounts went stale while it waited for the job
    // (it exits 75 then, before the job): again with a fresh one.
    for (let i = 0; i < 5; i++) {
      const r = await this.attempt(job, this.helper);
      if (r !== 'stale') return r;
      this.ctlBuffer = '';
      this.helper = startHelper(tools);
    }
    throw new NixError(SandboxErrorCode.E_SANDBOX_SETUP, "while setting up the build environment: the host's mounts keep changing");
  }

  private async attempt(job: string, child: HelperChild): Promise<BuilderProcess | 'stale'> {
    if (child.exitCode !== null || child.signalCode !== null || (child.stdio[3] as Socket).destroyed) {
      if (child.exitCode === STALE_HELPER) return 'stale';
      throw new NixError(SandboxErrorCode.E_SANDBOX_SETUP, 'while setting up the build environment: the sandbox helper exited early');
    }
    // Consume the log from the start: while we wait for the helper, a quick
    // builder may finish, and a child pipe nobody listens to is drained and
    // ended by Node (its 'end' would be gone before the caller listens).
    const output = new PassThrough();
    child.stdout!.pipe(output);
    let killedByUs = false;
    let setupErr = '';
    child.stderr!.on('data', (d: Buffer) => {
      if (setupErr.length < 65536) setupErr += d.toString();
    });
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
      const done = (code: number | null, signal: NodeJS.Signals | null): void => {
        this.failPending('the builder is not running');
        resolve(killedByUs ? { code: null, signal: 'SIGKILL' } : mapStatus(code, signal));
      };
      child.on('exit', done);
      // The native helper says the status before its own exit, which tears down namespaces.
      this.onStatus = (code) => {
        this.builderDone = true; // the helper reaped it: never signal or wait for that pid again
        done(code, null);
      };
    });
    this.helperExit = exited.then(() => undefined);
    this.ctl = child.stdio[3] as Socket;
    this.ctl.write(`J ${Buffer.byteLength(job)}\n${job}`);
    this.ctl.setEncoding('utf8');
    this.ctl.on('error', () => this.failPending('the sandbox helper closed its control channel'));
    this.ctl.on('close', () => this.failPending('the builder is not running'));
    // 'R' comes before the helper execs bwrap; the channel closes only after
    // the server (or a helper that failed before forking it) is gone, so a
    // close without 'R' means setup failed, however fast the builder exits.
    const ready = new Promise<boolean>((resolve) => {
      this.ctl!.on('data', (d: string) => this.onCtlData(d, resolve));
      this.ctl!.once('close', () => resolve(false));
    });
    if (!(await ready)) {
      await exited;
      if (child.exitCode === STALE_HELPER) return 'stale';
      forgetProbe(this.opts.storeDir); // user namespaces may have been turned off since it was remembered
      const msg = setupErr.trim().replace(/^tix-sandbox: /gm, '') || 'the sandbox helper exited early';
      throw new NixError(SandboxErrorCode.E_SANDBOX_SETUP, `while setting up the build environment: ${msg}`);
    }
    return {
      pid: child.pid!,
      output,
      exited,
      kill: () => {
        if (child.exitCode === null && child.signalCode === null) {
          killedByUs = true;
          this.killSandbox();
        }
      },
    };
  }

  private onCtlData(chunk: string, onReady?: (ok: boolean) => void): void {
    this.ctlBuffer += chunk;
    let nl: number;
    while ((nl = this.ctlBuffer.indexOf('\n')) >= 0) {
      const line = this.ctlBuffer.slice(0, nl);
      this.ctlBuffer = this.ctlBuffer.slice(nl + 1);
      if (line.startsWith('R ')) {
        this.viewMode = line.slice(2);
        onReady?.(true);
        continue;
      }
      if (line.startsWith('P ')) {
        this.sandboxPid = Number(line.slice(2));
        continue;
      }
      if (line.startsWith('X ')) {
        this.onStatus?.(Number(line.slice(2)));
        continue;
      }
      if (line.startsWith('F ')) {
        // The server could not bind an input and killed the sandbox before the builder ran.
        sandboxSetupFailure(line.slice(2));
        continue;
      }
      const resolve = this.pending.shift();
      if (!resolve) continue;
      resolve(line === 'K' ? { ok: true } : { ok: false, reason: line.replace(/^E /, '') });
    }
  }

  private failPending(reason: string): void {
    for (const r of this.pending.splice(0)) r({ ok: false, reason });
  }

  async addPath(path: string): Promise<void> {
    const name = this.nameOf(path);
    if (this.present.has(name)) return; // already bound (input or earlier add)
    if (!this.spawned) {
      this.present.add(name); // not started yet: part of the initial view
      return;
    }
    const ctl = this.ctl;
    if (!ctl || ctl.destroyed || this.helper.exitCode !== null || this.helper.signalCode !== null) {
      throw new NixError(SandboxErrorCode.E_ADD_PATH_FAILED, `could not add path '${path}' to sandbox: the builder is not running`);
    }
    const reply = await new Promise<Reply>((resolve) => {
      this.pending.push(resolve);
      ctl.write(name + '\n');
    });
    if (reply.ok) {
      this.present.add(name);
      return;
    }
    if (reply.reason === 'exists') {
      throw new NixError(SandboxErrorCode.E_PATH_EXISTS_IN_SANDBOX, `store path '${path}' already exists in the sandbox`);
    }
    throw new NixError(SandboxErrorCode.E_ADD_PATH_FAILED, `could not add path '${path}' to sandbox: ${reply.reason}`);
  }

  outputLocation(path: string): string {
    const name = basename(path);
    return this.moved.has(name) || !this.outputNames.includes(name) ? path : join(this.upperDir, name);
  }

  /** SIGKILL the builder (pid 1: the kernel takes its namespace with it) and bwrap. */
  private killSandbox(): void {
    if (this.sandboxPid > 0 && !this.builderDone) {
      try {
        process.kill(this.sandboxPid, 'SIGKILL');
      } catch {
        /* already gone */
      }
    }
    this.helper.kill('SIGKILL');
  }

  /**
   * Wait until the sandbox's pid 1 is gone: its exit kills and reaps the whole
   * pid namespace, so after this no builder process can touch the outputs.
   */
  private async sandboxGone(): Promise<void> {
    const pid = this.sandboxPid;
    if (pid <= 0 || this.builderDone) return;
    for (let i = 0; i < 2000 && alive(pid); i++) await sleep(1);
  }

  async destroy(): Promise<void> {
    if (this.destroyed) return;
    this.destroyed = true;
    const h = this.helper;
    if (h && h.exitCode === null && h.signalCode === null) this.killSandbox();
    if (this.helperExit) await this.helperExit;
    await this.sandboxGone();
    this.ctl?.destroy();
    // The next build of this process may find its helper started (not after a helper that never got its job).
    if (this.spawned && this.viewMode !== '') setImmediate(() => buildFinished(this.opts.tools));
    try {
      const kept = this.moveOutputs();
      if (kept.size === 0) {
        discardChroot(this.sharedDir, this.chrootDir);
        releaseChroot(this.sharedDir, this.opts.id);
        makeSpareChroot(this.sharedDir, this.opts.storeDir); // for the next build's prepare()
      } else {
        rmTree(this.chrootDir, kept);
        removeAtExit(this.sharedDir, this.opts.id, this.chrootDir); // the caller still reads `outputLocation`
      }
    } finally {
      this.opts.buildUser?.release();
    }
  }

  /**
   * Outputs leave the chroot for their store location (as 2.8 does after the
   * build, failed or not). An output whose store path already exists (`--check`)
   * stays in the view, where `outputLocation` points.
   */
  private moveOutputs(): Set<string> {
    const kept = new Set<string>();
    const uid = process.getuid?.() ?? 0;
    const gid = process.getgid?.() ?? 0;
    for (const name of this.outputNames) {
      const src = join(this.upperDir, name);
      const dst = join(this.opts.storeDir, name);
      if (!lexists(src)) continue;
      if (this.opts.buildUser) chownTree(src, uid, gid);
      if (lexists(dst)) {
        kept.add(src);
        continue;
      }
      renameSync(src, dst);
      this.moved.add(name);
    }
    return kept;
  }
}
