/**
 * `nix-store --query` (nix-store.cc `opQuery`, graphs.cc), Nix 2.8 flags and
 * output: `--outputs` (default), `--requisites`/`-R`, `--references`,
 * `--referrers`, `--referrers-closure`, `--deriver`/`-d`, `--hash`, `--size`,
 * `--tree`, `--graph`, `--graphml`, `--binding`/`-b NAME`, `--resolve`,
 * `--roots`, modifiers `--use-output`/`-u`,
 * `--include-outputs`. Path lists print in Nix's topological order
 * (dependencies first).
 */
import { readFileSync } from 'node:fs';
import { NixError, CoreErrorCode, compareUtf8 } from '../../core/index.js';
import { StorePath, parseDerivation } from '../../formats/index.js';
import { drvOutputPaths, findRootsMap } from '../../store/index.js';
import { takeCommonFlags } from '../args.js';
import type { CliContext } from '../context.js';
import { followLinksToStorePath, usageError } from './store-common.js';
import { withAnyStore, type StoreView } from './store-view.js';
import { forceRealise } from './force-realise.js';

type Query =
  | 'outputs' | 'requisites' | 'references' | 'referrers' | 'referrers-closure' | 'deriver' | 'hash' | 'size'
  | 'tree' | 'graph' | 'graphml' | 'resolve' | 'roots' | 'binding';

const QUERY_FLAGS: Record<string, Query> = {
  '--outputs': 'outputs', '--requisites': 'requisites', '-R': 'requisites', '--references': 'references',
  '--referrers': 'referrers', '--referers': 'referrers', '--referrers-closure': 'referrers-closure',
  '--referers-closure': 'referrers-closure', '--deriver': 'deriver', '-d': 'deriver', '--hash': 'hash', '--size': 'size',
  '--tree': 'tree', '--graph': 'graph', '--graphml': 'graphml', '--resolve': 'resolve', '--roots': 'roots',
  '--binding': 'binding', '-b': 'binding',
};

interface QueryOpts {
  query: Query;
  bindingName: string;
  useOutput: boolean;
  forceRealise: boolean;
  includeOutputs: boolean;
  args: string[];
}

function parse(rest: string[]): QueryOpts {
  const o: QueryOpts = { query: 'outputs', bindingName: '', useOutput: false, forceRealise: false, includeOutputs: false, args: [] };
  let query: Query | undefined;
  const flags: string[] = [];
  for (const a of rest) {
    if (a.startsWith('-') && a !== '--') flags.push(a);
    else if (a !== '--') o.args.push(a);
  }
  for (const f of flags) {
    const prev = query;
    if (QUERY_FLAGS[f] !== undefined) {
      query = QUERY_FLAGS[f];
      if (query === 'binding') {
        if (o.args.length === 0) throw usageError('expected binding name');
        o.bindingName = o.args.shift()!;
      }
    } else if (f === '--use-output' || f === '-u') o.useOutput = true;
    else if (f === '--force-realise' || f === '--force-realize' || f === '-f') o.forceRealise = true;
    else if (f === '--include-outputs') o.includeOutputs = true;
    else throw usageError(`unknown flag '${f}'`);
    if (prev !== undefined && prev !== query) throw usageError(`query type '${f}' conflicts with earlier flag`);
  }
  o.query = query ?? 'outputs';
  return o;
}

export async function run(args: string[], ctx: CliContext): Promise<number> {
  const { rest, verbosity } = takeCommonFlags(args, ctx);
  const o = parse(rest);
  const realised = o.forceRealise ? await forceRealise(o.query, o.args, ctx, verbosity) : undefined;
  if (typeof realised === 'number') return realised;
  try {
    return await withAnyStore(ctx, async (v) => {
      const out: string[] = [];
      await runQuery(v, o, out, ctx);
      // Binding values are byte strings (one char per byte); the rest is text (--tree's box drawing).
      ctx.stdout.write(o.query === 'binding' ? Buffer.from(out.join(''), 'latin1') : out.join(''));
      return 0;
    });
  } finally {
    await realised?.();
  }
}

/** `maybeUseOutputs`: a derivation's output paths (from the .drv) or the path itself. */
async function maybeUseOutputs(v: StoreView, p: StorePath, useOutput: boolean): Promise<StorePath[]> {
  if (!useOutput || !p.isDerivation()) return [p];
  await v.info(p);
  const text = readFileSync(v.print(p), 'utf8');
  return drvOutputPaths(text).map(([, out]) => v.storeDir.parse(out)).sort(cmp);
}

const cmp = (a: StorePath, b: StorePath): number => compareUtf8(a.baseName, b.baseName);

async function runQuery(v: StoreView, o: QueryOpts, out: string[], ctx: CliContext): Promise<void> {
  const resolveArg = (a: string): StorePath => followLinksToStorePath(v, a);
  switch (o.query) {
    case 'outputs':
      for (const a of o.args) for (const p of await maybeUseOutputs(v, resolveArg(a), true)) out.push(v.print(p) + '\n');
      return;
    case 'requisites': case 'references': case 'referrers': case 'referrers-closure': {
      if (o.query === 'requisites' && !o.includeOutputs && v.local !== undefined) {
        // Local store: closure and order in one walk over row ids.
        const start: StorePath[] = [];
        for (const a of o.args) start.push(...(await maybeUseOutputs(v, resolveArg(a), o.useOutput)));
        for (const p of v.local.queryRequisitesInPrintOrder(start)) out.push(p + '\n');
        return;
      }
      const paths = new Map<string, StorePath>();
      const add = (p: StorePath): void => void paths.set(p.baseName, p);
      const refsCache = new Map<string, string[]>();
      for (const a of o.args) {
        for (const j of await maybeUseOutputs(v, resolveArg(a), o.useOutput)) {
          if (o.query === 'requisites') (await v.closure([j], { includeOutputs: o.includeOutputs }, refsCache)).forEach(add);
          else if (o.query === 'references') (await v.info(j)).references.forEach(add);
          else if (o.query === 'referrers') (await v.store.queryReferrers(j)).forEach(add);
          else (await v.closure([j], { flipDirection: true })).forEach(add);
        }
      }
      for (const p of (await v.topoSort([...paths.values()], refsCache)).reverse()) out.push(v.print(p) + '\n');
      return;
    }
    case 'deriver':
      for (const a of o.args) {
        const i = await v.info(resolveArg(a));
        out.push((i.deriver ? v.print(i.deriver) : 'unknown-deriver') + '\n');
      }
      return;
    case 'hash': case 'size':
      for (const a of o.args) {
        for (const p of await maybeUseOutputs(v, resolveArg(a), o.useOutput)) {
          const i = await v.info(p);
          out.push((o.query === 'hash' ? i.narHash.toString('base32') : String(i.narSize)) + '\n');
        }
      }
      return;
    case 'tree': {
      const done = new Set<string>();
      for (const a of o.args) await printTree(v, resolveArg(a), '', '', done, out);
      return;
    }
    case 'graph': case 'graphml': {
      const roots: StorePath[] = [];
      for (const a of o.args) roots.push(...(await maybeUseOutputs(v, resolveArg(a), o.useOutput)));
      await (o.query === 'graph' ? printDotGraph : printGraphML)(v, roots, out);
      return;
    }
    case 'binding':
      for (const a of o.args) {
        const drvPath = await useDeriver(v, resolveArg(a));
        const drv = parseDerivation(readFileSync(v.print(drvPath)), drvPath.name.slice(0, -4));
        const value = drv.env.get(o.bindingName);
        if (value === undefined) {
          throw new NixError('E0201', `derivation '${v.print(drvPath)}' has no environment binding named '${o.bindingName}'`);
        }
        out.push(value + '\n');
      }
      return;
    case 'resolve':
      for (const a of o.args) out.push(v.print(resolveArg(a)) + '\n');
      return;
    case 'roots':
      await printRoots(v, o, out, ctx);
      return;
    default:
      throw new Error(`Assertion failed: query ${o.query}`);
  }
}

async function printRoots(v: StoreView, o: QueryOpts, out: string[], ctx: CliContext): Promise<void> {
  const referrers = new Set<string>();
  const settings = ctx.settings;
  const keepOutputs = settings.getBool('keep-outputs', false);
  const keepDerivations = settings.getBool('keep-derivations', true);
  for (const a of o.args) {
    for (const p of await maybeUseOutputs(v, followLinksToStorePath(v, a), o.useOutput)) {
      for (const q of await v.closure([p], { flipDirection: true, includeOutputs: keepOutputs, includeDerivers: keepDerivations })) referrers.add(v.print(q));
    }
  }
  const roots = v.local
    ? await findRootsMap(v.local, false, { info: (m) => ctx.stderr.write(m + '\n') })
    : new Map([...(await v.store.findRoots(false))].map(([p, ls]) => [v.print(p), ls]));
  for (const t of [...roots.keys()].sort(compareUtf8)) {
    if (!referrers.has(t)) continue;
    for (const l of [...roots.get(t)!].sort(compareUtf8)) out.push(`${l} -> ${t}\n`);
  }
}

async function printTree(v: StoreView, p: StorePath, firstPad: string, tailPad: string, done: Set<string>, out: string[]): Promise<void> {
  if (done.has(p.baseName)) {
    out.push(`${firstPad}${v.print(p)} [...]\n`);
    return;
  }
  done.add(p.baseName);
  out.push(`${firstPad}${v.print(p)}\n`);
  const sorted = (await v.topoSort((await v.info(p)).references)).reverse();
  for (let n = 0; n < sorted.length; n++) {
    const last = n + 1 === sorted.length;
    await printTree(v, sorted[n]!, tailPad + (last ? '└───' : '├───'), tailPad + (last ? '    ' : '│   '), done, out);
  }
}

/** Nix's `useDeriver`: a derivation itself, else the deriver recorded for the path. */
async function useDeriver(v: StoreView, p: StorePath): Promise<StorePath> {
  if (p.isDerivation()) return p;
  const i = await v.info(p);
  if (i.deriver === undefined) throw new NixError('E0201', `deriver of path '${v.print(p)}' is not known`);
  return i.deriver;
}

/**
 * graphml.cc `printGraphML` (2.8): the same walk as the dot graph; the
 * `name` attribute is 2.8's `symbolicName`, which yields the name up to and
 * including its first `-` (empty without one), kept as 2.8 prints it.
 */
async function printGraphML(v: StoreView, roots: StorePath[], out: string[]): Promise<void> {
  out.push(
    "<?xml version='1.0' encoding='utf-8'?>\n" +
      "<graphml xmlns='http://graphml.graphdrawing.org/xmlns'\n" +
      "    xmlns:xsi='http://www.w3.org/2001/XMLSchema-instance'\n" +
      "    xsi:schemaLocation='http://graphml.graphdrawing.org/xmlns/1.0/graphml.xsd'>\n" +
      "<key id='narSize' for='node' attr.name='narSize' attr.type='int'/>" +
      "<key id='name' for='node' attr.name='name' attr.type='string'/>" +
      "<key id='type' for='node' attr.name='type' attr.type='string'/>" +
      "<graph id='G' edgedefault='directed'>\n",
  );
  await walkGraph(v, roots, (p, narSize, refs) => {
    out.push(
      `  <node id="${p.baseName}">\n    <data key="narSize">${narSize}</data>\n` +
        `    <data key="name">${p.name.slice(0, p.name.indexOf('-') + 1)}</data>\n` +
        `    <data key="type">${p.isDerivation() ? 'derivation' : 'output-path'}</data>\n  </node>\n`,
    );
    for (const r of refs) out.push(`  <edge source="${p.baseName}" target="${r.baseName}"/>\n`);
  });
  out.push('</graph>\n</graphml>\n');
}

const COLOURS = ['black', 'red', 'green', 'blue', 'magenta', 'burlywood'];

async function printDotGraph(v: StoreView, roots: StorePath[], out: string[]): Promise<void> {
  let colour = 0;
  out.push('digraph G {\n');
  await walkGraph(v, roots, (p, _narSize, refs) => {
    out.push(`"${p.baseName}" [label = "${p.name}", shape = box, style = filled, fillcolor = "#ff0000"];\n`);
    for (const r of refs) out.push(`"${r.baseName}" -> "${p.baseName}" [color = "${COLOURS[colour++ % COLOURS.length]}"];\n`);
  });
  out.push('}\n');
}

/**
 * dotgraph.cc's walk, which graphml.cc repeats: the pending path with the
 * smallest name next, each path once; `refs` leaves out self-references.
 */
async function walkGraph(v: StoreView, roots: StorePath[], visit: (p: StorePath, narSize: number, refs: StorePath[]) => void): Promise<void> {
  const work = new Map(roots.map((p) => [p.baseName, p]));
  const done = new Set<string>();
  while (work.size > 0) {
    const first = [...work.keys()].sort(compareUtf8)[0]!;
    const p = work.get(first)!;
    work.delete(first);
    if (done.has(first)) continue;
    done.add(first);
    const info = await v.info(p);
    const refs = info.references.filter((r) => !r.equals(p));
    for (const r of refs) work.set(r.baseName, r);
    visit(p, info.narSize, refs);
  }
}
