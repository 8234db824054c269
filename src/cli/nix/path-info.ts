/**
 * `nix path-info` (nix/path-info.cc, store-api.cc `pathInfoToJSON`, Nix 2.8):
 * `-r`, `--json`, `-s`/`--size`, `-S`/`--closure-size`, `-h`, `--sigs`, `--all`.
 * Plain output is topologically sorted (dependencies first); JSON is sorted
 * by path, with invalid paths as `{"path":…,"valid":false}`. Works on any
 * store (local, or the daemon/`unix://` store of a recursive build).
 */
import type { StorePath } from '../../formats/index.js';
import type { ValidPathInfo } from '../../store/index.js';
import { takeCommonFlags } from '../args.js';
import type { CliContext } from '../context.js';
import { cmpPaths, withAnyStore, type StoreView } from '../nix-store/store-view.js';
import { dropWords, nixUsage, resolveInstallables, resolvePathInstallables } from './store-common.js';

interface Opts {
  recursive: boolean;
  json: boolean;
  size: boolean;
  closureSize: boolean;
  human: boolean;
  sigs: boolean;
  all: boolean;
  args: string[];
}

function parse(rest: string[]): Opts {
  const o: Opts = { recursive: false, json: false, size: false, closureSize: false, human: false, sigs: false, all: false, args: [] };
  const short: Record<string, keyof Opts> = { r: 'recursive', s: 'size', S: 'closureSize', h: 'human' };
  for (const a of rest) {
    if (a === '--recursive') o.recursive = true;
    else if (a === '--json') o.json = true;
    else if (a === '--size') o.size = true;
    else if (a === '--closure-size') o.closureSize = true;
    else if (a === '--human-readable') o.human = true;
    else if (a === '--sigs') o.sigs = true;
    else if (a === '--all') o.all = true;
    else if (/^-[rsSh]+$/.test(a)) for (const c of a.slice(1)) (o as unknown as Record<string, boolean>)[short[c]!] = true;
    else if (a.startsWith('-') && a !== '-') throw nixUsage(`unrecognised flag '${a}'`);
    else o.args.push(a);
  }
  return o;
}

async function closureSize(v: StoreView, p: StorePath): Promise<number> {
  let n = 0;
  for (const q of await v.closure([p])) n += (await v.info(q)).narSize;
  return n;
}

function fmtSize(value: number, human: boolean): string {
  if (!human) return '\t' + String(value).padStart(11);
  const idents = ' KMGTPEZY';
  let res = value;
  let power = 0;
  while (res > 1024 && power < idents.length - 1) {
    power++;
    res /= 1024;
  }
  return '\t' + res.toFixed(1).padStart(6) + idents[power];
}

async function jsonOf(v: StoreView, i: ValidPathInfo, o: Opts): Promise<Record<string, unknown>> {
  const j: Record<string, unknown> = {
    path: v.print(i.path), narHash: i.narHash.sri, narSize: i.narSize, references: i.references.map((r) => v.print(r)),
  };
  if (i.ca) j.ca = i.ca;
  if (o.closureSize) j.closureSize = await closureSize(v, i.path);
  if (i.deriver) j.deriver = v.print(i.deriver);
  if (i.registrationTime) j.registrationTime = i.registrationTime;
  if (i.ultimate) j.ultimate = true;
  if (i.sigs.length > 0) j.signatures = i.sigs;
  return j;
}

export async function run(args: string[], ctx: CliContext): Promise<number> {
  const { rest } = takeCommonFlags(dropWords(args, ['path-info']), ctx);
  const o = parse(rest);
  if (!o.all && o.args.length === 0) throw nixUsage("'nix path-info' requires at least one installable");
  return withAnyStore(ctx, async (v) => {
    const r = o.all ? { paths: await v.store.queryAllValidPaths(), unknown: [] } : await resolvePathInstallables(v, resolveInstallables(v.storeDir, o.args), ctx);
    let paths = r.paths;
    const unknown = r.unknown;
    if (o.recursive) {
      if (unknown.length > 0) await v.info(unknown[0]!);
      paths = await v.closure(paths);
    }
    if (o.json) {
      const sorted = [...new Map(paths.map((p) => [p.baseName, p])).values()].sort(cmpPaths);
      const arr: unknown[] = [];
      for (const p of sorted) {
        const i = await v.tryInfo(p);
        arr.push(i === undefined ? { path: v.print(p), valid: false } : await jsonOf(v, i, o));
      }
      ctx.stdout.write(JSON.stringify(arr));
      return 0;
    }
    if (unknown.length > 0) await v.info(unknown[0]!);
    const sorted = (await v.topoSort(paths)).reverse();
    const width = Math.max(0, ...sorted.map((p) => v.print(p).length));
    let out = '';
    for (const p of sorted) {
      const i = await v.info(p);
      const s = v.print(p);
      out += s;
      if (o.size || o.closureSize || o.sigs) out += ' '.repeat(Math.max(0, width - s.length));
      if (o.size) out += fmtSize(i.narSize, o.human);
      if (o.closureSize) out += fmtSize(await closureSize(v, p), o.human);
      if (o.sigs) {
        const ss: string[] = [];
        if (i.ultimate) ss.push('ultimate');
        if (i.ca) ss.push('ca:' + i.ca);
        ss.push(...i.sigs);
        out += '\t' + ss.join(' ');
      }
      out += '\n';
    }
    ctx.stdout.write(out);
    return 0;
  });
}
