/**
 * `nix-instantiate --parse` output: Nix 2.8's `Expr::show` printers
 * (nixexpr.cc at 2.8.0), applied to our AST. Operators print in their
 * desugared 2.8 form (`a - b` → `(__sub a b)`, `a <= b` → `(! (__lessThan b a))`,
 * `<p>` → `(__findFile __nixPath "p")`), and calls on those forms flatten
 * the way 2.8's ExprCall does (`(a - b) c` → `(__sub a b c)`).
 *
 * `let` bindings and formals print in 2.8's *symbol* order (symbols compare
 * by address, i.e. creation order): names Nix interns at start-up come first,
 * then names in order of first appearance in the source.
 */
import type * as A from './ast.js';

/** Names 2.8's EvalState creates before parsing, in creation order. */
const PRECREATED = [
  '<with>', 'outPath', 'drvPath', 'type', 'meta', 'name', 'value', 'system', '__overrides', 'outputs',
  'outputName', '__ignoreNulls', 'file', 'line', 'column', '__functor', '__toString', 'right', 'wrong',
  '__structuredAttrs', 'builder', 'args', '__contentAddressed', '__impure', 'outputHash', 'outputHashAlgo',
  'outputHashMode', 'recurseForDerivations', 'description', 'self', '', 'startSet', 'operator', 'key',
  'path', 'prefix', 'builtins', 'true', 'false', 'null', '__currentTime', 'currentTime', '__currentSystem',
  'currentSystem', '__nixVersion', 'nixVersion', '__storeDir', 'storeDir', '__langVersion', 'langVersion',
  '__nixPath', 'nixPath',
  ...['abort', 'add', 'addErrorContext', 'all', 'any', 'appendContext', 'attrNames', 'attrValues', 'baseNameOf',
    'bitAnd', 'bitOr', 'bitXor', 'catAttrs', 'ceil', 'compareVersions', 'concatLists', 'concatMap',
    'concatStringsSep', 'deepSeq', 'derivationStrict', 'dirOf', 'div', 'elem', 'elemAt', 'fetchGit',
    'fetchMercurial', 'fetchTarball', 'fetchTree', 'fetchurl', 'filter', 'filterSource', 'findFile', 'floor',
    "foldl'", 'fromJSON', 'fromTOML', 'functionArgs', 'genList', 'genericClosure', 'getAttr', 'getContext',
    'getEnv', 'groupBy', 'hasAttr', 'hasContext', 'hashFile', 'hashString', 'head', 'import', 'intersectAttrs',
    'isAttrs', 'isBool', 'isFloat', 'isFunction', 'isInt', 'isList', 'isNull', 'isPath', 'isString', 'length',
    'lessThan', 'listToAttrs', 'map', 'mapAttrs', 'match', 'mul', 'parseDrvName', 'partition', 'pathExists',
    'placeholder', 'readDir', 'readFile', 'removeAttrs', 'replaceStrings', 'scopedImport', 'seq', 'sort',
    'split', 'splitVersion', 'storePath', 'stringLength', 'sub', 'substring', 'tail', 'throw', 'toFile',
    'toJSON', 'toPath', 'toString', 'toXML', 'trace', 'tryEval', 'typeOf', 'unsafeDiscardOutputDependency',
    'unsafeDiscardStringContext', 'unsafeGetAttrPos', 'zipAttrsWith'].flatMap((n) => ['__' + n, n]),
  'derivation',
];

class SymbolOrder {
  private readonly rank = new Map<string, number>();
  constructor(root: A.Expr) {
    PRECREATED.forEach((n) => { if (!this.rank.has(n)) this.rank.set(n, this.rank.size); });
    const seen: Array<[A.Pos, string]> = [];
    collectNames(root, seen);
    seen.sort((a, b) => a[0].line - b[0].line || a[0].column - b[0].column);
    for (const [, n] of seen) if (!this.rank.has(n)) this.rank.set(n, this.rank.size);
  }
  of(n: string): number { return this.rank.get(n) ?? Number.MAX_SAFE_INTEGER; }
}

function collectNames(e: A.Expr, out: Array<[A.Pos, string]>): void {
  const stack: A.Expr[] = [e];
  while (stack.length > 0) {
    const x = stack.pop()!;
    switch (x.kind) {
      case 'Var': out.push([x.pos, x.name]); break;
      case 'Select': case 'HasAttr':
        stack.push(x.expr);
        if (x.kind === 'Select' && x.default) stack.push(x.default);
        for (const n of x.path) if (n.kind === 'dynamic') stack.push(n.expr);
        break;
      case 'Attrs':
        for (const a of x.attrs) { out.push([a.pos, a.name]); stack.push(a.value); }
        for (const d of x.dynamicAttrs) stack.push(d.nameExpr, d.value);
        break;
      case 'Let': stack.push(x.attrs, x.body); break;
      case 'Lambda':
        if (x.arg !== undefined) out.push([x.pos, x.arg]);
        for (const f of x.formals?.formals ?? []) { out.push([f.pos, f.name]); if (f.default) stack.push(f.default); }
        stack.push(x.body);
        break;
      case 'Call': stack.push(x.fn, ...x.args); break;
      case 'List': stack.push(...x.elems); break;
      case 'Concat': stack.push(...x.parts); break;
      case 'With': stack.push(x.attrs, x.body); break;
      case 'If': stack.push(x.cond, x.then, x.else); break;
      case 'Assert': stack.push(x.cond, x.body); break;
      case 'Not': case 'Neg': stack.push(x.expr); break;
      case 'BinOp': stack.push(x.lhs, x.rhs); break;
      default: break;
    }
  }
}

/** 2.8's `showId` for symbols. */
export function showId(s: string): string {
  if (s === '') return '""';
  if (s === 'if') return '"if"';
  if (/^[a-zA-Z_][a-zA-Z0-9_'-]*$/.test(s)) return s;
  return showString(s);
}

/** 2.8's parser-side `showString`: escapes `"` `\` `$`, `\n \r \t`. */
export function showString(s: string): string {
  let out = '"';
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!;
    if (c === '"' || c === '\\' || c === '$') out += '\\' + c;
    else if (c === '\n') out += '\\n';
    else if (c === '\r') out += '\\r';
    else if (c === '\t') out += '\\t';
    else out += c;
  }
  return out + '"';
}

/** C++ `ostream << double` (printf `%g`, precision 6). */
export function formatFloatG(x: number): string {
  if (Number.isNaN(x)) return x < 0 ? '-nan' : 'nan';
  if (!Number.isFinite(x)) return x < 0 ? '-inf' : 'inf';
  if (x === 0) return Object.is(x, -0) ? '-0' : '0';
  const [mant, expS] = x.toExponential(5).split('e') as [string, string];
  const exp = Number(expS);
  const strip = (s: string) => (s.includes('.') ? s.replace(/0+$/, '').replace(/\.$/, '') : s);
  if (exp < -4 || exp >= 6) {
    const e = Math.abs(exp);
    return `${strip(mant)}e${exp < 0 ? '-' : '+'}${e < 10 ? '0' + e : e}`;
  }
  return strip(x.toFixed(5 - exp));
}

export function showAttrPath(path: A.AttrPath, p: Printer): string {
  return path.map((n) => (n.kind === 'static' ? showId(n.name) : `"\${${p.show(n.expr)}}"`)).join('.');
}

const CALL_OPS: Partial<Record<A.BinaryOperator, string>> = { '-': '__sub', '*': '__mul', '/': '__div' };

class Printer {
  constructor(private readonly order: SymbolOrder) {}

  /** The `(fn args…)` form of an expression that 2.8 represents as ExprCall, if any. */
  private callForm(e: A.Expr): [string, A.Expr[]] | undefined {
    switch (e.kind) {
      case 'Call': return [this.show(e.fn), [...e.args]];
      case 'Neg': return ['__sub', [{ kind: 'Int', pos: e.pos, value: 0n }, e.expr]];
      case 'SearchPath': return ['__findFile', [{ kind: 'Var', pos: e.pos, name: '__nixPath' }, { kind: 'Str', pos: e.pos, value: e.path }]];
      case 'BinOp': {
        const f = CALL_OPS[e.op];
        if (f) return [f, [e.lhs, e.rhs]];
        if (e.op === '<') return ['__lessThan', [e.lhs, e.rhs]];
        if (e.op === '>') return ['__lessThan', [e.rhs, e.lhs]];
        return undefined;
      }
      default: return undefined;
    }
  }

  show(e: A.Expr): string {
    switch (e.kind) {
      case 'Int': return e.value.toString();
      case 'Float': return formatFloatG(e.value);
      case 'Str': return showString(e.value);
      case 'Path': return e.value;
      case 'Var': return showId(e.name);
      case 'CurPos': return '__curPos';
      case 'Select':
        return `(${this.show(e.expr)}).${showAttrPath(e.path, this)}${e.default ? ` or (${this.show(e.default)})` : ''}`;
      case 'HasAttr': return `((${this.show(e.expr)}) ? ${showAttrPath(e.path, this)})`;
      case 'Attrs': return this.showAttrs(e);
      case 'List': return `[ ${e.elems.map((x) => `(${this.show(x)}) `).join('')}]`;
      case 'Lambda': return this.showLambda(e);
      case 'Let': {
        const defs = [...e.attrs.attrs].sort((a, b) => this.order.of(a.name) - this.order.of(b.name));
        const body = defs.map((d) => (d.inherited ? `inherit ${showId(d.name)}; ` : `${showId(d.name)} = ${this.show(d.value)}; `)).join('');
        return `(let ${body}in ${this.show(e.body)})`;
      }
      case 'With': return `(with ${this.show(e.attrs)}; ${this.show(e.body)})`;
      case 'If': return `(if ${this.show(e.cond)} then ${this.show(e.then)} else ${this.show(e.else)})`;
      case 'Assert': return `assert ${this.show(e.cond)}; ${this.show(e.body)}`;
      case 'Not': return `(! ${this.show(e.expr)})`;
      case 'Concat': return `(${e.parts.map((x) => this.show(x)).join(' + ')})`;
      case 'Call': {
        const inner = this.callForm(e.fn);
        const [f, args] = inner && e.fn.kind !== 'Call' ? [inner[0], [...inner[1], ...e.args]] : [this.show(e.fn), e.args];
        return `(${f}${args.map((a) => ' ' + this.show(a)).join('')})`;
      }
      case 'Neg': case 'SearchPath': {
        const [f, args] = this.callForm(e)!;
        return `(${f}${args.map((a) => ' ' + this.show(a)).join('')})`;
      }
      case 'BinOp': {
        if (e.op === '+') return `(${this.show(e.lhs)} + ${this.show(e.rhs)})`;
        if (e.op === '<=') return `(! (__lessThan ${this.show(e.rhs)} ${this.show(e.lhs)}))`;
        if (e.op === '>=') return `(! (__lessThan ${this.show(e.lhs)} ${this.show(e.rhs)}))`;
        const cf = this.callForm(e);
        if (cf) return `(${cf[0]}${cf[1].map((a) => ' ' + this.show(a)).join('')})`;
        return `(${this.show(e.lhs)} ${e.op} ${this.show(e.rhs)})`;
      }
    }
  }

  private showAttrs(e: A.Attrs): string {
    const sorted = [...e.attrs].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    let s = e.rec ? 'rec { ' : '{ ';
    for (const d of sorted) s += d.inherited ? `inherit ${showId(d.name)} ; ` : `${showId(d.name)} = ${this.show(d.value)}; `;
    for (const d of e.dynamicAttrs) s += `"\${${this.show(d.nameExpr)}}" = ${this.show(d.value)}; `;
    return s + '}';
  }

  private showLambda(e: A.Lambda): string {
    let s = '(';
    if (e.formals) {
      const fs = [...e.formals.formals].sort((a, b) => this.order.of(a.name) - this.order.of(b.name));
      const items = fs.map((f) => (f.default ? `${showId(f.name)} ? ${this.show(f.default)}` : showId(f.name)));
      if (e.formals.ellipsis) items.push('...');
      s += `{ ${items.join(', ')} }`;
      if (e.arg !== undefined && e.arg !== '') s += ' @ ';
    }
    if (e.arg !== undefined) s += showId(e.arg);
    return `${s}: ${this.show(e.body)})`;
  }
}

/** Print an expression exactly like `nix-instantiate --parse` (no trailing newline). */
export function printAst(e: A.Expr): string {
  return new Printer(new SymbolOrder(e)).show(e);
}

/** Attribute path text for messages (`a.b`, `"${…}"` for dynamic parts). */
export function printAttrPath(path: A.AttrPath, root?: A.Expr): string {
  return showAttrPath(path, new Printer(new SymbolOrder(root ?? { kind: 'List', pos: undefined as never, elems: [] })));
}
