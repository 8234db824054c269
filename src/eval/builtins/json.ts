/**
 * `builtins.toJSON` / `builtins.fromJSON` (Nix 2.8 value-to-json.cc,
 * json-to-value.cc over nlohmann::json).
 *
 * toJSON: keys sorted bytewise, no spaces; strings escape `"` `\` `\n \r \t`
 * and other C0 bytes as `\u00XX`, everything else raw; floats as C++ `%g`;
 * paths are copied to the store; sets with `__toString` / `outPath` become
 * that string; functions error. The result keeps the collected context.
 * fromJSON: json-parse.ts.
 */
import type { Pos } from '../ast.js';
import { coerceToString } from '../coerce.js';
import { EvalError, EvalErrorCode, stackOverflow } from '../errors.js';
import { formatFloat } from '../print.js';
import type { EvalState } from '../state.js';
import {
  Lambda, NixAttrs, NixFloat, NixPath, NixString, PrimOp, PrimOpApp, Thunk, canReplaceCell, force, forceStrNoCtx, mkString,
  showType, type Lazy, type Value,
} from '../value.js';
import { listElem, settleListElem } from '../list.js';
import type { BuiltinRegistry } from './registry.js';
import { parseJSON } from './json-parse.js';

export { parseJSON };

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
    // 2.8's text, with the placeholder frame its --show-trace prints.
    else if (!strict) throw new EvalError(EvalErrorCode.E_TYPE, 'cannot convert a thunk to JSON', pos).addFrame('message for the trace', null);
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
  void (v instanceof PrimOp || v instanceof PrimOpApp);
  // 2.8 places it at the function (`Value::determinePos`) and adds its
  // placeholder frame at the enclosing attribute (or the call).
  const at = v instanceof Lambda ? v.info.pos : pos;
  throw new EvalError(EvalErrorCode.E_TYPE, `cannot convert ${showType(v)} to JSON`, at).addFrame('message for the trace', pos);
}

function writeList(state: EvalState, v: Lazy[], ctx: Set<string>, pos: Pos | undefined, out: Sink, strict: boolean): void {
  out.byte(91);
  // try/finally: like 2.8's RAII writers, an error still closes the brackets.
  try {
    for (let i = 0; i < v.length; i++) {
      if (i > 0) out.byte(44);
      write(state, listElem(v, i), ctx, pos, out, strict);
      settleListElem(v, i);
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
  const names = v.names, positions = v.positions;
  try {
    for (let i = 0; i < names.length; i++) {
      if (i > 0) out.byte(44);
      out.str(names[i]!);
      out.byte(58);
      const x = v.valueAt(i);
      write(state, x, ctx, positions?.[i] ?? pos, out, strict);
      if (x instanceof Thunk && x.evaluated && canReplaceCell(x.value as Value)) v.setValueAt(i, x.value as Value);
    }
  } finally {
    out.byte(125);
  }
}

// ---- fromJSON -------------------------------------------------------------

export function register(r: BuiltinRegistry): void {
  r.add('toJSON', 1, (args: Lazy[], pos, state) => {
    const ctx = new Set<string>();
    const s = valueToJSON(state, args[0]!, ctx, pos);
    return mkString(s, ctx);
  });
  r.add('fromJSON', 1, (args: Lazy[], pos) => parseJSON(forceStrNoCtx(args[0]!, pos), pos));
}

