/**
 * `builtins.fromJSON` (Nix 2.8 json-to-value.cc over nlohmann::json):
 * duplicate keys → last wins; integers wrap to i64 (unsigned range),
 * integers beyond 64 bits become floats; a NUL truncates a string (2.8
 * stores C strings). Errors are nlohmann's: its lexer's texts, line and
 * column of what it read, and its "last read" token text.
 */
import type { Pos } from '../ast.js';
import { EvalError, EvalErrorCode } from '../errors.js';
import { NixAttrs, NixFloat, cString, mkInt, type Lazy, type Value } from '../value.js';

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
  /**
   * Where nlohmann's lexer last reset its token text (the start of the last
   * string or number): its "last read" is everything read since, whitespace,
   * punctuation and literals included.
   */
  private tokStart = 0;
  constructor(private readonly s: string) {}

  /**
   * A lexer error after reading up to `end` (exclusive); `eof`: the end of
   * input was read too, which counts in the column but not in the text.
   * Line and column count the characters read, as nlohmann does (a newline
   * read starts line n+1 at column 0).
   */
  private lexError(ctx: string, msg: string, end: number, eof: boolean, expected?: string): never {
    const s = this.s;
    let line = 1;
    for (let k = s.indexOf('\n'); k >= 0 && k < end; k = s.indexOf('\n', k + 1)) line++;
    const col = end - (s.lastIndexOf('\n', end - 1) + 1) + (eof ? 1 : 0);
    const text = s.slice(this.tokStart, end).replace(/[\x00-\x1f]/g, (c) => `<U+${c.charCodeAt(0).toString(16).toUpperCase().padStart(4, '0')}>`);
    throw new JsonError(`[json.exception.parse_error.101] parse error at line ${line}, column ${col}: syntax error while parsing ${ctx} - ${msg}; last read: '${text}'${expected ? `; expected ${expected}` : ''}`);
  }

  /** A lexer error at the character at `at` (read, unless it is the end of input). */
  private lexErrorAt(ctx: string, msg: string, at: number, expected?: string): never {
    const eof = at >= this.s.length;
    this.lexError(ctx, msg, eof ? this.s.length : at + 1, eof, expected);
  }

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

  /**
   * Column reported for an unexpected token: after its first char, or 1 past
   * the end. Where a value was wanted, a lexer error has no "expected" part.
   */
  private unexpected(ctx: string, expected: string, inValue = false): never {
    const d = this.describe();
    if (d === '<parse error>') {
      // The lexer reads a literal up to its first wrong character.
      const s = this.s, j = this.i;
      const word = s[j] === 't' ? 'true' : s[j] === 'f' ? 'false' : s[j] === 'n' ? 'null' : '';
      let k = 0;
      while (k < word.length && s[j + k] === word[k]) k++;
      this.lexErrorAt(ctx, 'invalid literal', j + k, inValue ? undefined : expected);
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
    if (c === 34) return cString(this.string());
    if (c === 45 || (c >= 48 && c <= 57)) return this.number();
    if (s.startsWith('true', this.i)) { this.i += 4; return true; }
    if (s.startsWith('false', this.i)) { this.i += 5; return false; }
    if (s.startsWith('null', this.i)) { this.i += 4; return null; }
    this.unexpected(ctx, "'[', '{', or a literal", true);
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
          let names = node !== null ? node.names : null;
          if (names === null) {
            names = new Array(n);
            for (let j = 0; j < n; j++) names[j] = ks[base + j]!;
            if (node !== null) node.names = names;
          }
          if (n <= 2) return NixAttrs.small(names, vs[base]!, n === 2 ? vs[base + 1] : undefined, null);
          const values: Lazy[] = new Array(n);
          for (let j = 0; j < n; j++) values[j] = vs[base + j]!;
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
    this.tokStart = this.i;
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
    this.tokStart = j;
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
    this.checkNumber();
    const m = NUMBER_RE;
    m.lastIndex = this.i;
    const r = m.exec(this.s)!;
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

  /** nlohmann's number scanner: the first character it cannot go on with is the error. */
  private checkNumber(): void {
    const s = this.s;
    const digit = (k: number): boolean => {
      const c = s.charCodeAt(k);
      return c >= 48 && c <= 57;
    };
    const bad = (msg: string, at: number): never => this.lexErrorAt('value', `invalid number; ${msg}`, at);
    let j = this.i;
    if (s[j] === '-' && !digit(++j)) bad("expected digit after '-'", j);
    if (s[j] === '0') j++;
    else while (digit(j)) j++;
    if (s[j] === '.') {
      if (!digit(++j)) bad("expected digit after '.'", j);
      while (digit(j)) j++;
    }
    if (s[j] === 'e' || s[j] === 'E') {
      j++;
      if (s[j] === '+' || s[j] === '-') {
        if (!digit(++j)) bad('expected digit after exponent sign', j);
      } else if (!digit(j)) bad("expected '+', '-', or digit after exponent", j);
    }
  }

  private string(): string {
    const s = this.s;
    const start = this.i;
    this.tokStart = start;
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
      if (Number.isNaN(c)) this.stringError(start, 'invalid string: missing closing quote', s.length, true);
      if (c === 34) { this.i++; return out; }
      if (c === 92) {
        const e = s[this.i + 1];
        const simple: Record<string, string> = { '"': '"', '\\': '\\', '/': '/', b: '\b', f: '\f', n: '\n', r: '\r', t: '\t' };
        if (e !== undefined && simple[e] !== undefined) { out += simple[e]; this.i += 2; continue; }
        if (e === 'u') { out += this.unicodeEscape(start); continue; }
        this.stringErrorAt(start, 'invalid string: forbidden character after backslash', this.i + 1);
      }
      if (c < 32) {
        const hex = c.toString(16).toUpperCase().padStart(4, '0');
        const short = SHORT_ESCAPES[c] !== undefined ? ` or \\${SHORT_ESCAPES[c]}` : '';
        this.stringErrorAt(start, `invalid string: control character U+${hex} (${CONTROL_NAMES[c]}) must be escaped to \\u${hex}${short}`, this.i);
      }
      const n = utf8SeqLen(s, this.i);
      if (n === 0) this.stringErrorAt(start, 'invalid string: ill-formed UTF-8 byte', utf8BadByte(s, this.i));
      out += s.slice(this.i, this.i + n);
      this.i += n;
    }
  }

  private unicodeEscape(start: number): string {
    const hex4 = (at: number): number => {
      const h = this.s.slice(at, at + 4);
      if (!/^[0-9a-fA-F]{4}$/.test(h)) {
        let k = at;
        while (k < at + 4 && /[0-9a-fA-F]/.test(this.s[k] ?? '')) k++;
        this.stringErrorAt(start, "invalid string: '\\u' must be followed by 4 hex digits", k);
      }
      return parseInt(h, 16);
    };
    let cp = hex4(this.i + 2);
    this.i += 6;
    if (cp >= 0xd800 && cp <= 0xdbff) {
      if (this.s[this.i] !== '\\' || this.s[this.i + 1] !== 'u') {
        const at = this.s[this.i] === '\\' ? this.i + 1 : this.i;
        this.stringErrorAt(start, 'invalid string: surrogate U+D800..U+DBFF must be followed by U+DC00..U+DFFF', at);
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

  /** A string's lexer error after reading up to `end` (`eof`: and the end of input). */
  private stringError(start: number, msg: string, end = this.i, eof = false): never {
    this.tokStart = start;
    this.lexError('value', msg, end, eof);
  }

  private stringErrorAt(start: number, msg: string, at: number): never {
    this.tokStart = start;
    this.lexErrorAt('value', msg, at);
  }
}

const CONTROL_NAMES = ['NUL', 'SOH', 'STX', 'ETX', 'EOT', 'ENQ', 'ACK', 'BEL', 'BS', 'HT', 'LF', 'VT', 'FF', 'CR', 'SO', 'SI',
  'DLE', 'DC1', 'DC2', 'DC3', 'DC4', 'NAK', 'SYN', 'ETB', 'CAN', 'EM', 'SUB', 'ESC', 'FS', 'GS', 'RS', 'US'];
/** The control characters JSON also lets a string write as a short escape. */
const SHORT_ESCAPES: Record<number, string> = { 8: 'b', 9: 't', 10: 'n', 12: 'f', 13: 'r' };

/** Index of the byte that makes the UTF-8 sequence at `i` ill-formed (the lexer reads up to it). */
function utf8BadByte(s: string, i: number): number {
  const c = s.charCodeAt(i);
  const [n, lo1, hi1] = c >= 0xc2 && c <= 0xdf ? [2, 0x80, 0xbf]
    : c === 0xe0 ? [3, 0xa0, 0xbf] : c === 0xed ? [3, 0x80, 0x9f] : c >= 0xe1 && c <= 0xef ? [3, 0x80, 0xbf]
    : c === 0xf0 ? [4, 0x90, 0xbf] : c === 0xf4 ? [4, 0x80, 0x8f] : c >= 0xf1 && c <= 0xf3 ? [4, 0x80, 0xbf] : [1, 0, 0];
  for (let k = 1; k < n; k++) {
    const x = s.charCodeAt(i + k);
    const [lo, hi] = k === 1 ? [lo1, hi1] : [0x80, 0xbf];
    if (!(x >= lo && x <= hi)) return i + k;
  }
  return i;
}

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


export function parseJSON(text: string, pos?: Pos): Value {
  try {
    return new JsonParser(text).parseTop();
  } catch (e) {
    // 2.8: the parser's message without a position, under a frame at the call.
    if (e instanceof JsonError) throw new EvalError(EvalErrorCode.E_JSON, e.message, null).addFrame('while decoding a JSON string', pos);
    throw e;
  }
}
