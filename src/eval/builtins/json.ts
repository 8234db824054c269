/**
 * `builtins.toJSON` / `builtins.fromJSON` (Nix 2.8 value-to-json.cc,
 * json-to-value.cc over nlohmann::json).
 *
 * toJSON: keys sorted bytewise, no spaces; strings escape `"` `\` `\n \r \t`
 * and other C0 bytes as `\u00XX`, everything else raw; floats as C++ `%g`;
 * paths are copied to the store; sets with `__toString` / `outPath` become
 * that string; functions error. The result keeps the collected context.
 * fromJSON: duplicate keys → last wins; integers wrap to i64 (unsigned
 * range), integers beyond 64 bits become floats; a NUL truncates a string
 * (2.8 stores C strings); errors use nlohmann's message texts.
 */
import type { Pos } from '../ast.js';
import { coerceToString } from '../coerce.js';
import { EvalError, EvalErrorCode, stackOverflow } from '../errors.js';
import { formatFloat } from '../print.js';
import type { EvalState } from '../state.js';
import {
  Lambda, NixAttrs, NixFloat, NixPath, NixString, PrimOp, PrimOpApp, Thunk, canReplaceCell, force, forceStrNoCtx, mkInt, mkString,
  showType, type Lazy, type Value,
} from '../value.js';
import type { BuiltinRegistry } from './registry.js';

export function jsonString(s: string): string {
  let out = '"';
  let run = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 32 && c !== 34 && c !== 92) continue;
    out += s.slice(run, i);
    run = i + 1;
    if (c === 34) out += '\\"';
    else if (c === 92) out += '\\\\';
    else if (c === 10) out += '\\n';
    else if (c === 13) out += '\\r';
    else if (c === 9) out += '\\t';
    else out += '\\u00' + (c < 16 ? '0' : '') + c.toString(16);
  }
  return out + s.slice(run) + '"';
}

/**
 * Output accumulator: bytes written straight into a growing buffer, so
 * serialising allocates no intermediate strings (the GC copies less).
 */
class Sink {
  private buf = Buffer.allocUnsafe(4096);
  private n = 0;
  depth = 0;

  private room(k: number): void {
    if (this.n + k <= this.buf.length) return;
    const b = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.n + k));
    this.buf.copy(b, 0, 0, this.n);
    this.buf = b;
  }

  /** A byte string as it is. */
  raw(s: string): void {
    const len = s.length;
    this.room(len);
    if (len > 8) {
      this.n += this.buf.write(s, this.n, len, 'latin1');
      return;
    }
    const b = this.buf;
    let n = this.n;
    for (let i = 0; i < len; i++) b[n++] = s.charCodeAt(i);
    this.n = n;
  }

  /** An int: small ones digit by digit, without a temporary string. */
  int(v: number): void {
    if (v < 0 || v > 0x7fffffff) return this.raw(String(v));
    this.room(10);
    const b = this.buf;
    let n = this.n;
    let d = 1;
    while (d * 10 <= v) d *= 10;
    for (; d >= 1; d = (d / 10) | 0) {
      const q = (v / d) | 0;
      b[n++] = 48 + q;
      v -= q * d;
    }
    this.n = n;
  }

  byte(c: number): void {
    this.room(1);
    this.buf[this.n++] = c;
  }

  /** A byte string as a JSON string literal (escapes as `jsonString`). */
  str(s: string): void {
    const len = s.length;
    this.room(len * 6 + 2);
    const b = this.buf;
    let n = this.n;
    b[n++] = 34;
    if (len > 8 && !NEEDS_ESCAPE.test(s)) {
      // Native copy: no per-byte loop (slow until V8 optimises it).
      n += b.write(s, n, len, 'latin1');
      b[n++] = 34;
      this.n = n;
      return;
    }
    for (let i = 0; i < len; i++) {
      const c = s.charCodeAt(i);
      if (c >= 32 && c !== 34 && c !== 92) { b[n++] = c; continue; }
      b[n++] = 92;
      if (c === 34 || c === 92) b[n++] = c;
      else if (c === 10) b[n++] = 110;
      else if (c === 13) b[n++] = 114;
      else if (c === 9) b[n++] = 116;
      else {
        b[n++] = 117; b[n++] = 48; b[n++] = 48;
        b[n++] = HEX.charCodeAt(c >> 4);
        b[n++] = HEX.charCodeAt(c & 15);
      }
    }
    b[n++] = 34;
    this.n = n;
  }

  text(): string {
    return this.buf.toString('latin1', 0, this.n);
  }

  /** Empty it for reuse; false if its buffer is too big to keep. */
  reset(): boolean {
    this.n = 0;
    this.depth = 0;
    return this.buf.length <= 1 << 20;
  }
}

/** Sinks for reuse (toJSON is re-entrant: forcing a value may call it again). */
const sinks: Sink[] = [];

const HEX = '0123456789abcdef';
const NEEDS_ESCAPE = /["\\\x00-\x1f]/;

/** 2.8 serialises 50k nested sets and overflows its stack before 70k. */
export const MAX_JSON_DEPTH = 60000;

/**
 * Serialise a value (forcing it deeply) to JSON text; adds context to `ctx`.
 * With `strict: false` (`nix-instantiate --eval --json`), an unevaluated
 * thunk is an error, as in 2.8; `out` then holds the text written so far.
 */
export function valueToJSON(state: EvalState, v: Lazy, ctx: Set<string>, pos?: Pos, opts: { strict?: boolean; out?: string[] } = {}): string {
  const sink = sinks.pop() ?? new Sink();
  let text: string | undefined;
  try {
    write(state, v, ctx, pos, sink, opts.strict ?? true);
    text = sink.text();
    return text;
  } finally {
    opts.out?.push(text ?? sink.text());
    if (sink.reset()) sinks.push(sink);
  }
}

function write(state: EvalState, lz: Lazy, ctx: Set<string>, pos: Pos | undefined, out: Sink, strict: boolean): void {
  if (lz instanceof Thunk) {
    if (lz.code === null) lz = lz.value as Value;
    else if (!strict) throw new EvalError(EvalErrorCode.E_TYPE, 'cannot convert a thunk to JSON', pos);
    else lz = lz.force();
  }
  const v: Value = lz;
  switch (typeof v) {
    case 'number': out.int(v); return;
    case 'bigint': out.raw(v.toString()); return;
    case 'boolean': out.raw(v ? 'true' : 'false'); return;
    case 'string': out.str(v); return;
  }
  if (v === null) { out.raw('null'); return; }
  if (v instanceof NixString) {
    for (const c of v.context) ctx.add(c);
    out.str(v.s);
    return;
  }
  if (v instanceof NixPath) {
    const sp = state.copyPathToStore(v.path, pos);
    ctx.add(sp);
    out.str(sp);
    return;
  }
  if (v instanceof NixFloat) { out.raw(formatFloat(v.value)); return; }
  if (v instanceof NixAttrs || Array.isArray(v)) {
    if (++out.depth > MAX_JSON_DEPTH) throw stackOverflow();
    try {
      if (v instanceof NixAttrs) writeAttrs(state, v, ctx, pos, out, strict);
      else writeList(state, v, ctx, pos, out, strict);
    } finally {
      out.depth--;
    }
    return;
  }
  void (v instanceof Lambda || v instanceof PrimOp || v instanceof PrimOpApp);
  throw new EvalError(EvalErrorCode.E_TYPE, `cannot convert ${showType(v)} to JSON`, pos);
}

/** Force a container slot, leaving the value in place of the thunk. */
function slot(xs: Lazy[], i: number): Lazy {
  const x = xs[i]!;
  if (!(x instanceof Thunk) || !x.evaluated) return x;
  const v = x.value as Value;
  if (canReplaceCell(v)) xs[i] = v;
  return v;
}

function writeList(state: EvalState, v: Lazy[], ctx: Set<string>, pos: Pos | undefined, out: Sink, strict: boolean): void {
  out.byte(91);
  // try/finally: like 2.8's RAII writers, an error still closes the brackets.
  try {
    for (let i = 0; i < v.length; i++) {
      if (i > 0) out.byte(44);
      const x = v[i]!;
      write(state, x, ctx, pos, out, strict);
      if (x instanceof Thunk) slot(v, i);
    }
  } finally {
    out.byte(93);
  }
}

function writeAttrs(state: EvalState, v: NixAttrs, ctx: Set<string>, pos: Pos | undefined, out: Sink, strict: boolean): void {
  if (v.has('__toString')) {
    out.str(coerceToString(state, v, ctx, { coerceMore: false, copyToStore: false }, pos));
    return;
  }
  const op = v.get('outPath');
  if (op !== undefined) return write(state, op, ctx, v.posOf('outPath') ?? pos, out, strict);
  out.byte(123);
  const names = v.names, values = v.values, positions = v.positions;
  try {
    for (let i = 0; i < names.length; i++) {
      if (i > 0) out.byte(44);
      out.str(names[i]!);
      out.byte(58);
      const x = values[i]!;
      write(state, x, ctx, positions?.[i] ?? pos, out, strict);
      if (x instanceof Thunk) slot(values, i);
    }
  } finally {
    out.byte(125);
  }
}

// ---- fromJSON -------------------------------------------------------------

class JsonError extends Error {}

/** Trie of sorted key sequences: objects of one shape share their `names`. */
class ShapeNode {
  names: string[] | null = null;
  /** The child added last, with its key: objects of one shape follow one
   *  path, so the next key is checked in the source text without slicing. */
  lastKey: string | null = null;
  lastChild: ShapeNode | null = null;
  private next: Map<string, ShapeNode> | null = null;
  child(k: string): ShapeNode | null {
    if (k === this.lastKey) return this.lastChild;
    const next = (this.next ??= new Map());
    let c = next.get(k);
    if (c === undefined) {
      if (++ShapeNode.count > 10000) return null;
      next.set(k, (c = new ShapeNode()));
    }
    // Only keys whose source text is the key itself (no escapes, no quotes).
    if (PLAIN_KEY.test(k)) {
      this.lastKey = k;
      this.lastChild = c;
    }
    return c;
  }
  static count = 0;
}

const PLAIN_KEY = /^[\x20-\x21\x23-\x5b\x5d-\x7e]*$/;

/** Shared across fromJSON calls (bounded by ShapeNode.count). */
const shapes = new ShapeNode();

const NUMBER_RE = /-?(?:0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?/y;

const I64_MAX = 9223372036854775807n;
const U64_MAX = 18446744073709551615n;

/** A JSON parser with nlohmann's number rules and error texts. */
class JsonParser {
  private i = 0;
  private line = 1;
  private lineStart = 0;
  /** Keys and values of the objects being parsed (innermost on top). */
  private readonly keyStack: string[] = [];
  private readonly valStack: Lazy[] = [];
  private top = 0;
  constructor(private readonly s: string) {}

  private fail(ctx: string, detail: string, expected?: string, at = this.i): never {
    const col = at - this.lineStart + 1;
    throw new JsonError(`[json.exception.parse_error.101] parse error at line ${this.line}, column ${col}: syntax error while parsing ${ctx} - ${detail}${expected ? `; expected ${expected}` : ''}`);
  }

  private ws(): void {
    const s = this.s;
    let i = this.i;
    for (;;) {
      const c = s.charCodeAt(i);
      if (c > 32) break; // the common case: no whitespace at all
      if (c === 32 || c === 9 || c === 13) i++;
      else if (c === 10) { i++; this.line++; this.lineStart = i; }
      else break;
    }
    this.i = i;
  }

  private describe(): string {
    const c = this.s[this.i];
    if (c === undefined) return 'end of input';
    if ('[]{}:,'.includes(c)) return `'${c}'`;
    if (c === '"') return 'string literal';
    if (c === '-' || (c >= '0' && c <= '9')) return 'number literal';
    if (this.s.startsWith('true', this.i)) return 'true literal';
    if (this.s.startsWith('false', this.i)) return 'false literal';
    if (this.s.startsWith('null', this.i)) return 'null literal';
    return '<parse error>';
  }

  /** Column reported for an unexpected token: after its first char, or 1 past the end. */
  private unexpected(ctx: string, expected: string): never {
    const d = this.describe();
    if (d === '<parse error>') {
      const start = this.i;
      this.fail(ctx, `invalid literal; last read: '${this.s.slice(this.lineStart, start + 1)}'`, expected, start);
    }
    this.fail(ctx, `unexpected ${d}`, expected, this.i);
  }

  parseTop(): Value {
    this.ws();
    const v = this.value('value');
    this.ws();
    if (this.i < this.s.length) this.unexpected('value', 'end of input');
    return v;
  }

  private value(ctx: string): Value {
    const s = this.s;
    const c = s.charCodeAt(this.i);
    if (c === 123) return this.object();
    if (c === 91) return this.array();
    if (c === 34) return truncateAtNul(this.string());
    if (c === 45 || (c >= 48 && c <= 57)) return this.number();
    if (s.startsWith('true', this.i)) { this.i += 4; return true; }
    if (s.startsWith('false', this.i)) { this.i += 5; return false; }
    if (s.startsWith('null', this.i)) { this.i += 4; return null; }
    this.unexpected(ctx, "'[', '{', or a literal");
  }

  private object(): Value {
    this.i++;
    if (this.s.charCodeAt(this.i) <= 32) this.ws();
    if (this.s[this.i] === '}') { this.i++; return new NixAttrs(); }
    // Keys usually arrive sorted and unique: keep them in order and share one
    // `names` array between objects of the same shape (a trie of key runs);
    // otherwise fall back to a Map (last duplicate wins, as in 2.8). Keys and
    // values wait on the parser's stacks, so the set gets exact-size arrays.
    let node: ShapeNode | null = shapes;
    const ks = this.keyStack, vs = this.valStack;
    const base = this.top;
    let m: Map<string, Lazy> | null = null;
    try {
      for (;;) {
        if (this.s.charCodeAt(this.i) !== 34) this.unexpected('object key', 'string literal');
        const k = this.key(node);
        if (this.s.charCodeAt(this.i) <= 32) this.ws();
        if (this.s.charCodeAt(this.i) !== 58) this.unexpected('object separator', "':'");
        this.i++;
        if (this.s.charCodeAt(this.i) <= 32) this.ws();
        const v = this.value('value');
        const top = this.top;
        if (m !== null) m.set(k, v);
        else if (top === base || ks[top - 1]! < k) {
          ks[top] = k;
          vs[top] = v;
          this.top = top + 1;
          if (node !== null) node = node.child(k);
        } else {
          m = new Map();
          for (let j = base; j < top; j++) m.set(ks[j]!, vs[j]!);
          m.set(k, v);
        }
        if (this.s.charCodeAt(this.i) <= 32) this.ws();
        const c = this.s.charCodeAt(this.i);
        if (c === 44) { this.i++; if (this.s.charCodeAt(this.i) <= 32) this.ws(); continue; }
        if (c === 125) {
          this.i++;
          if (m !== null) return NixAttrs.fromMap(m);
          const n = this.top - base;
          const values: Lazy[] = new Array(n);
          for (let j = 0; j < n; j++) values[j] = vs[base + j]!;
          let names = node !== null ? node.names : null;
          if (names === null) {
            names = new Array(n);
            for (let j = 0; j < n; j++) names[j] = ks[base + j]!;
            if (node !== null) node.names = names;
          }
          return new NixAttrs(names, values, null);
        }
        this.unexpected('object', "'}'");
      }
    } finally {
      // Stale slots above `top` are overwritten later (the parser is short-lived).
      this.top = base;
    }
  }

  /** An object key; the key the shape trie expects next is matched in place. */
  private key(node: ShapeNode | null): string {
    const k = node !== null ? node.lastKey : null;
    if (k !== null) {
      const s = this.s, at = this.i + 1, n = k.length;
      if (s.charCodeAt(at + n) === 34 && s.startsWith(k, at)) {
        this.i = at + n + 1;
        return k;
      }
    }
    return this.string();
  }

  private array(): Value {
    this.i++;
    const out: Value[] = [];
    if (this.s.charCodeAt(this.i) <= 32) this.ws();
    if (this.s[this.i] === ']') { this.i++; return out; }
    for (;;) {
      out.push(this.value('value'));
      if (this.s.charCodeAt(this.i) <= 32) this.ws();
      const c = this.s.charCodeAt(this.i);
      if (c === 44) { this.i++; if (this.s.charCodeAt(this.i) <= 32) this.ws(); continue; }
      if (c === 93) { this.i++; return out; }
      this.unexpected('array', "']'");
    }
  }

  private number(): Value {
    // Fast path: a plain integer of ≤ 15 digits, read without allocating.
    const s = this.s;
    let j = this.i;
    const neg = s.charCodeAt(j) === 45;
    if (neg) j++;
    const first = j;
    let v = 0;
    for (let c = s.charCodeAt(j); c >= 48 && c <= 57; c = s.charCodeAt(++j)) v = v * 10 + (c - 48);
    const digits = j - first;
    const next = s.charCodeAt(j);
    if (digits > 0 && digits <= 15 && (digits === 1 || s.charCodeAt(first) !== 48)
      && next !== 46 && next !== 101 && next !== 69) {
      this.i = j;
      return neg ? (v === 0 ? 0 : -v) : v;
    }
    return this.slowNumber();
  }

  private slowNumber(): Value {
    const m = NUMBER_RE;
    m.lastIndex = this.i;
    const r = m.exec(this.s);
    if (!r) this.fail('value', `invalid number; last read: '${this.s.slice(this.i, this.i + 1)}'`, undefined, this.i + 1);
    const text = r[0];
    this.i += text.length;
    if (r[1] === undefined && r[2] === undefined) {
      if (text.length <= 15) return Number(text);
      const b = BigInt(text);
      if (b >= 0n && b <= U64_MAX) return mkInt(b);
      if (b < 0n && b >= -I64_MAX - 1n) return mkInt(b);
    }
    const f = Number(text);
    if (!Number.isFinite(f)) throw new JsonError(`[json.exception.out_of_range.406] number overflow parsing '${text}'`);
    return new NixFloat(f);
  }

  private string(): string {
    const s = this.s;
    const start = this.i;
    this.i++;
    // Fast path: a run of printable ASCII up to the closing quote.
    let j = this.i;
    for (;;) {
      const c = s.charCodeAt(j);
      if (c === 34) {
        const str = s.slice(this.i, j);
        this.i = j + 1;
        return str;
      }
      if (!(c >= 32 && c < 128 && c !== 92)) break;
      j++;
    }
    let out = s.slice(this.i, j);
    this.i = j;
    for (;;) {
      const c = s.charCodeAt(this.i);
      if (Number.isNaN(c)) this.stringError(start, 'invalid string: missing closing quote');
      if (c === 34) { this.i++; return out; }
      if (c === 92) {
        const e = s[this.i + 1];
        const simple: Record<string, string> = { '"': '"', '\\': '\\', '/': '/', b: '\b', f: '\f', n: '\n', r: '\r', t: '\t' };
        if (e !== undefined && simple[e] !== undefined) { out += simple[e]; this.i += 2; continue; }
        if (e === 'u') { out += this.unicodeEscape(start); continue; }
        this.i += 2;
        this.stringError(start, "invalid string: forbidden character after backslash");
      }
      if (c < 32) {
        this.i++;
        this.stringError(start, `invalid string: control character U+${c.toString(16).toUpperCase().padStart(4, '0')} (${CONTROL_NAMES[c] ?? ''}) must be escaped to \\u${c.toString(16).toUpperCase().padStart(4, '0')}`);
      }
      const n = utf8SeqLen(s, this.i);
      if (n === 0) { this.i++; this.stringError(start, 'invalid string: ill-formed UTF-8 byte'); }
      out += s.slice(this.i, this.i + n);
      this.i += n;
    }
  }

  private unicodeEscape(start: number): string {
    const hex4 = (at: number): number => {
      const h = this.s.slice(at, at + 4);
      if (!/^[0-9a-fA-F]{4}$/.test(h)) {
        this.i = at + Math.min(4, h.length);
        this.stringError(start, "invalid string: '\\u' must be followed by 4 hex digits");
      }
      return parseInt(h, 16);
    };
    let cp = hex4(this.i + 2);
    this.i += 6;
    if (cp >= 0xd800 && cp <= 0xdbff) {
      if (this.s[this.i] !== '\\' || this.s[this.i + 1] !== 'u') {
        this.stringError(start, 'invalid string: surrogate U+D800..U+DBFF must be followed by U+DC00..U+DFFF');
      }
      const lo = hex4(this.i + 2);
      this.i += 6;
      if (lo < 0xdc00 || lo > 0xdfff) this.stringError(start, 'invalid string: surrogate U+D800..U+DBFF must be followed by U+DC00..U+DFFF');
      cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
    } else if (cp >= 0xdc00 && cp <= 0xdfff) {
      this.stringError(start, 'invalid string: surrogate U+DC00..U+DFFF must follow U+D800..U+DBFF');
    }
    return Buffer.from(String.fromCodePoint(cp), 'utf8').toString('latin1');
  }

  private stringError(start: number, msg: string): never {
    this.fail('value', `${msg}; last read: '${this.s.slice(start, this.i)}'`, undefined, this.i);
  }
}

const CONTROL_NAMES: Record<number, string> = { 0: 'NUL', 1: 'SOH', 2: 'STX', 3: 'ETX', 4: 'EOT', 5: 'ENQ', 6: 'ACK', 7: 'BEL', 8: 'BS', 9: 'HT', 10: 'LF', 11: 'VT', 12: 'FF', 13: 'CR' };

/** Length of a valid UTF-8 sequence at `i` (bytes as chars), or 0. */
function utf8SeqLen(s: string, i: number): number {
  const c = s.charCodeAt(i);
  if (c < 0x80) return 1;
  const cont = (k: number, lo = 0x80, hi = 0xbf) => {
    const x = s.charCodeAt(i + k);
    return x >= lo && x <= hi;
  };
  if (c >= 0xc2 && c <= 0xdf) return cont(1) ? 2 : 0;
  if (c === 0xe0) return cont(1, 0xa0) && cont(2) ? 3 : 0;
  if ((c >= 0xe1 && c <= 0xec) || c === 0xee || c === 0xef) return cont(1) && cont(2) ? 3 : 0;
  if (c === 0xed) return cont(1, 0x80, 0x9f) && cont(2) ? 3 : 0;
  if (c === 0xf0) return cont(1, 0x90) && cont(2) && cont(3) ? 4 : 0;
  if (c >= 0xf1 && c <= 0xf3) return cont(1) && cont(2) && cont(3) ? 4 : 0;
  if (c === 0xf4) return cont(1, 0x80, 0x8f) && cont(2) && cont(3) ? 4 : 0;
  return 0;
}

function truncateAtNul(s: string): string {
  const k = s.indexOf('\0');
  return k < 0 ? s : s.slice(0, k);
}

export function parseJSON(text: string, pos?: Pos): Value {
  try {
    return new JsonParser(text).parseTop();
  } catch (e) {
    if (e instanceof JsonError) throw new EvalError(EvalErrorCode.E_JSON, e.message, pos);
    throw e;
  }
}

export function register(r: BuiltinRegistry): void {
  r.add('toJSON', 1, (args: Lazy[], pos, state) => {
    const ctx = new Set<string>();
    const s = valueToJSON(state, args[0]!, ctx, pos);
    return mkString(s, ctx);
  });
  r.add('fromJSON', 1, (args: Lazy[], pos) => parseJSON(forceStrNoCtx(args[0]!, pos), pos));
}

