/**
 * `builtins.match` / `builtins.split` with Nix 2.8's regex flavour:
 * libstdc++ `std::regex` in POSIX *extended* mode, over bytes.
 *
 * The ERE is translated to a JS RegExp (no `u` flag, so one char = one byte):
 *  - only `\` + one of `^$\.*+?()[{|` is a valid escape (`\d`, `\]`, `\}` are errors);
 *  - bracket expressions are POSIX (`]` first is literal, `\` is literal,
 *    `[:class:]` in the C locale, `[.x.]`/`[=x=]`), ranges must be ordered;
 *  - `.` matches any byte but NUL; quantifiers stack (`a**`, `x+?` = `(x+)?`);
 *  - a quantifier with nothing to repeat, `{,n}`, unbalanced parens → error.
 * `split` follows std::regex_iterator: leftmost-*longest* match (POSIX), and
 * after an empty match first a non-empty match at the same place.
 * Known divergence: captures inside repeated groups follow JS (`(a*)*` on
 * `aaa` gives `["aaa"]`, 2.8 gives `[""]`).
 */
import { EvalError, EvalErrorCode } from '../errors.js';
import { Thunk, forceStrNoCtx, forceStringValue, strOf, type Lazy, type Value } from '../value.js';
import type { BuiltinRegistry } from './registry.js';
import type { Pos } from '../ast.js';

class RegexSyntax extends Error {}

const SPECIAL_ESCAPES = '^$\\.*+?()[{|';

const CLASSES: Record<string, string> = {
  alpha: 'A-Za-z', digit: '0-9', alnum: '0-9A-Za-z', upper: 'A-Z', lower: 'a-z',
  space: ' \\t\\n\\x0b\\x0c\\r', blank: ' \\t', punct: '!-\\/:-@\\[-`{-~', print: ' -~', graph: '!-~',
  cntrl: '\\x00-\\x1f\\x7f', xdigit: '0-9A-Fa-f', w: '0-9A-Za-z_', s: ' \\t\\n\\x0b\\x0c\\r', d: '0-9',
};

function hex(c: string): string {
  const n = c.charCodeAt(0);
  return '\\x' + (n < 16 ? '0' : '') + n.toString(16);
}

function lit(c: string): string {
  return /[A-Za-z0-9_ ]/.test(c) ? c : hex(c);
}

/** Translate a POSIX ERE (byte string) to JS RegExp source. */
export function translateERE(re: string): { source: string; hasAlternation: boolean } {
  let i = 0;
  let groups = 0;
  let hasAlternation = false;

  const parseAlt = (depth: number): string => {
    let out = '';
    let branch = '';
    let lastAtom: string | null = null;
    const flush = () => { if (lastAtom !== null) branch += lastAtom; lastAtom = null; };
    while (i < re.length) {
      const c = re[i]!;
      if (c === '|') {
        flush();
        hasAlternation = true;
        out += branch + '|';
        branch = '';
        i++;
        continue;
      }
      if (c === ')') {
        if (depth === 0) throw new RegexSyntax('unbalanced )');
        break;
      }
      if (c === '*' || c === '+' || c === '?' || c === '{') {
        if (lastAtom === null) throw new RegexSyntax('nothing to repeat');
        const q = parseQuantifier();
        lastAtom = `(?:${lastAtom})${q}`;
        continue;
      }
      flush();
      if (c === '^' || c === '$') {
        branch += c;
        i++;
        continue;
      }
      lastAtom = parseAtom(depth);
    }
    flush();
    return out + branch;
  };

  const parseQuantifier = (): string => {
    const c = re[i]!;
    i++;
    if (c !== '{') return c;
    const m = /^(\d+)(,(\d*))?\}/.exec(re.slice(i));
    if (!m) throw new RegexSyntax('bad brace');
    i += m[0].length;
    const lo = Number(m[1]);
    if (m[3] !== undefined && m[3] !== '' && Number(m[3]) < lo) throw new RegexSyntax('bad range');
    return `{${m[1]}${m[2] ?? ''}}`;
  };

  const parseAtom = (depth: number): string => {
    const c = re[i]!;
    if (c === '(') {
      i++;
      groups++;
      const inner = parseAlt(depth + 1);
      if (re[i] !== ')') throw new RegexSyntax('unbalanced (');
      i++;
      return `(${inner})`;
    }
    if (c === '.') { i++; return '[^\\x00]'; }
    if (c === '[') return parseBracket();
    if (c === '\\') {
      const d = re[i + 1];
      if (d === undefined || !SPECIAL_ESCAPES.includes(d)) throw new RegexSyntax('bad escape');
      i += 2;
      return lit(d);
    }
    i++;
    return lit(c);
  };

  const parseBracket = (): string => {
    i++;
    let neg = false;
    if (re[i] === '^') { neg = true; i++; }
    let body = '';
    let first = true;
    // Previous single char (for ranges) and whether a range may start here.
    for (;;) {
      if (i >= re.length) throw new RegexSyntax('unterminated [');
      const c = re[i]!;
      if (c === ']' && !first) { i++; break; }
      first = false;
      let startChar: string | null = null;
      if (c === '[' && (re[i + 1] === ':' || re[i + 1] === '.' || re[i + 1] === '=')) {
        const kind = re[i + 1]!;
        const end = re.indexOf(kind + ']', i + 2);
        if (end < 0) throw new RegexSyntax('bad bracket class');
        const name = re.slice(i + 2, end);
        i = end + 2;
        if (kind === ':') {
          const cls = CLASSES[name];
          if (cls === undefined) throw new RegexSyntax('bad class');
          if (re[i] === '-' && re[i + 1] !== ']') throw new RegexSyntax('bad range');
          body += cls;
          continue;
        }
        if (name.length !== 1) throw new RegexSyntax('bad collating element');
        startChar = name;
      } else {
        startChar = c;
        i++;
      }
      if (re[i] === '-' && re[i + 1] !== undefined && re[i + 1] !== ']') {
        let endChar = re[i + 1]!;
        i += 2;
        if (endChar === '[' && re[i] === '.') {
          const end = re.indexOf('.]', i + 1);
          if (end < 0) throw new RegexSyntax('bad collating element');
          endChar = re.slice(i + 1, end);
          i = end + 2;
          if (endChar.length !== 1) throw new RegexSyntax('bad collating element');
        }
        if (endChar.charCodeAt(0) < startChar.charCodeAt(0)) throw new RegexSyntax('bad range');
        if (re[i] === '-' && re[i + 1] !== ']') throw new RegexSyntax('bad range');
        body += `${hex(startChar)}-${hex(endChar)}`;
      } else {
        body += hex(startChar);
      }
    }
    return `[${neg ? '^' : ''}${body}]`;
  };

  const source = parseAlt(0);
  if (i < re.length) throw new RegexSyntax('trailing');
  return { source, hasAlternation };
}

interface Compiled {
  whole: RegExp;
  search: RegExp;
  sticky: RegExp;
  stickyEnd: RegExp;
  hasAlternation: boolean;
}

const cache = new Map<string, Compiled>();

/** The last pattern looked up: a `match` in a loop passes the same string. */
let lastRe: string | null = null;
let lastCompiled: Compiled | null = null;

function compile(re: string, pos: Pos | undefined): Compiled {
  if (re === lastRe) return lastCompiled!;
  let c = cache.get(re);
  if (c) {
    lastRe = re;
    lastCompiled = c;
    return c;
  }
  let t: { source: string; hasAlternation: boolean };
  try {
    t = translateERE(re);
    c = {
      whole: new RegExp(`^(?:${t.source})$`),
      search: new RegExp(t.source, 'g'),
      sticky: new RegExp(t.source, 'y'),
      stickyEnd: new RegExp(`(?:${t.source})$`, 'y'),
      hasAlternation: t.hasAlternation,
    };
  } catch (e) {
    if (e instanceof RegexSyntax || e instanceof SyntaxError) {
      throw new EvalError(EvalErrorCode.E_INVALID_REGEX, `invalid regular expression '${re}'`, pos);
    }
    throw e;
  }
  cache.set(re, c);
  lastRe = re;
  lastCompiled = c;
  return c;
}

function groupsOf(m: RegExpExecArray): Value[] {
  const out: Value[] = new Array(m.length - 1);
  for (let k = 1; k < m.length; k++) out[k - 1] = m[k] === undefined ? null : m[k]!;
  return out;
}

/** Longest match starting exactly at `start` that ends after `minEnd`. */
function longestAt(c: Compiled, s: string, start: number, minEnd: number): RegExpExecArray | null {
  for (let end = s.length; end >= minEnd; end--) {
    c.stickyEnd.lastIndex = start;
    const m = c.stickyEnd.exec(end === s.length ? s : s.slice(0, end));
    if (m) return m;
  }
  return null;
}

/** std::regex_search from `from`: leftmost, then (POSIX) longest. */
function search(c: Compiled, s: string, from: number): RegExpExecArray | null {
  c.search.lastIndex = from;
  const m = c.search.exec(s);
  if (!m || !c.hasAlternation) return m;
  return longestAt(c, s, m.index, m.index + m[0].length + 1) ?? m;
}

/** Match that must start at `at` and be non-empty (regex_iterator after an empty match). */
function nonEmptyAt(c: Compiled, s: string, at: number): RegExpExecArray | null {
  c.sticky.lastIndex = at;
  const m = c.sticky.exec(s);
  if (m && m[0].length > 0 && !c.hasAlternation) return m;
  return longestAt(c, s, at, at + 1);
}

export function regexMatch(re: string, s: string, pos?: Pos): Value {
  const c = compile(re, pos);
  const m = c.whole.exec(s);
  return m ? groupsOf(m) : null;
}

export function regexSplit(re: string, s: string, pos?: Pos): Value[] {
  const c = compile(re, pos);
  const out: Value[] = [];
  let prefixStart = 0;
  let m = search(c, s, 0);
  while (m) {
    const start = m.index;
    const end = start + m[0].length;
    out.push(s.slice(prefixStart, start), groupsOf(m));
    prefixStart = end;
    let next: RegExpExecArray | null = null;
    let from = end;
    if (start === end) {
      if (end >= s.length) break;
      next = nonEmptyAt(c, s, end);
      from = end + 1;
    }
    m = next ?? (from <= s.length ? search(c, s, from) : null);
  }
  out.push(s.slice(prefixStart));
  return out;
}

export function register(r: BuiltinRegistry): void {
  r.add('match', 2, (args: Lazy[], pos) => {
    // Plain strings (the usual literal pattern, a forced subject) are taken
    // without the force helpers: calls are dear in the cold tiers.
    const a0 = args[0]!;
    const c = compile(typeof a0 === 'string' ? a0 : forceStrNoCtx(a0, pos), pos);
    const l1 = args[1]!;
    const a1 = l1 instanceof Thunk ? l1.force() : l1;
    const m = c.whole.exec(typeof a1 === 'string' ? a1 : strOf(forceStringValue(a1, pos)));
    return m ? groupsOf(m) : null;
  });
  r.add('split', 2, (args: Lazy[], pos) => {
    const re = forceStrNoCtx(args[0]!, pos);
    compile(re, pos);
    const sv = forceStringValue(args[1]!, pos);
    const parts = regexSplit(re, strOf(sv), pos);
    // No match: 2.8 returns the original string value (context included).
    return parts.length === 1 ? [sv] : parts;
  });
}

