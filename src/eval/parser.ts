/**
 * The Nix expression parser: a recursive-descent / precedence-climbing
 * rendering of Nix 2.8's bison grammar (src/libexpr/parser.y at 2.8.0),
 * including its parse-time desugaring (attribute-path merging, `inherit`,
 * legacy `let { … }`, `map or …`), its positions (what `unsafeGetAttrPos`
 * and `__curPos` report) and its error texts (`syntax error, unexpected …`,
 * `attribute 'a' already defined at …`, `duplicate formal function argument`).
 *
 * Operator table, lowest first (bison %right/%left/%nonassoc):
 *   ->  (right)  ||  &&  == !=  (nonassoc)  < > <= >=  (nonassoc)  //  (right)
 *   !  (prefix)  + -  * /  ++  (right)  ?  (nonassoc)  unary -
 */
import type * as A from './ast.js';
import { EvalError, showPosParens } from './errors.js';
import { LexError, tokenize, type Token, type TokenType } from './lexer.js';
import { stripIndentation, type IndPart } from './parse-strings.js';
import { absPath, addAttr, checkDuplicateFormals, indexOf, parseError, type MutAttrs } from './parse-desugar.js';
import { showId } from './parse-print.js';

export interface ParseOptions {
  /** Directory relative paths resolve against (file's dir, or cwd for -E / stdin). */
  basePath: string;
  /** `$HOME` for `~/…` paths. */
  home?: string;
}

/** Parse a source (its `text` is a byte string). Throws `EvalError` (E_PARSE). */
export function parse(source: A.Source, opts: ParseOptions): A.Expr {
  let tokens: Token[];
  try {
    tokens = tokenize(source.text);
  } catch (e) {
    if (e instanceof LexError) throw parseError(e.message, { file: source, line: e.line, column: e.column });
    throw e;
  }
  return new Parser(tokens, source, opts).parseStart();
}

export { parseError, absPath, canonPath } from './parse-desugar.js';

/** Bison's names for tokens in `unexpected …` / `expecting …`. */
function tokenName(t: Token): string {
  if (t.type === 'EOF') return 'end of file';
  if (t.type === 'CHAR') return GRAMMAR_CHARS.includes(t.value) ? `'${t.value}'` : 'invalid token';
  return t.type;
}
const GRAMMAR_CHARS = '<>+-*/?:{}@;!."()[]=,';

const BINARY: Partial<Record<TokenType, [A.BinaryOperator, number, 'left' | 'right' | 'none']>> = {
  IMPL: ['->', 1, 'right'],
  OR: ['||', 2, 'left'],
  AND: ['&&', 3, 'left'],
  EQ: ['==', 4, 'none'],
  NEQ: ['!=', 4, 'none'],
  LEQ: ['<=', 5, 'none'],
  GEQ: ['>=', 5, 'none'],
  UPDATE: ['//', 6, 'right'],
  CONCAT: ['++', 10, 'right'],
};
const BINARY_CHARS: Record<string, [A.BinaryOperator, number, 'left' | 'right' | 'none']> = {
  '<': ['<', 5, 'none'],
  '>': ['>', 5, 'none'],
  '+': ['+', 8, 'left'],
  '-': ['-', 8, 'left'],
  '*': ['*', 9, 'left'],
  '/': ['/', 9, 'left'],
};
const PREC_NOT = 7;
const PREC_HASATTR = 11;
const PREC_NEGATE = 12;


class Parser {
  private i = 0;

  constructor(private readonly toks: Token[], private readonly src: A.Source, private readonly opts: ParseOptions) {}

  // ---- token helpers ----
  private peek(k = 0): Token { return this.toks[Math.min(this.i + k, this.toks.length - 1)]!; }
  private next(): Token { return this.toks[this.i++]!; }
  private isChar(t: Token, c: string): boolean { return t.type === 'CHAR' && t.value === c; }
  private posOf(t: Token): A.Pos { return { file: this.src, line: t.line, column: t.column }; }
  /** Bison's location for an empty rule right after token `t`. */
  private endPosOf(t: Token): A.Pos { return { file: this.src, line: t.endLine, column: t.endColumn }; }

  private unexpected(t: Token, expecting?: string[]): EvalError {
    let msg = `syntax error, unexpected ${tokenName(t)}`;
    if (expecting && expecting.length > 0 && expecting.length <= 4) msg += `, expecting ${expecting.join(' or ')}`;
    return parseError(msg, this.posOf(t));
  }

  private expectChar(c: string, expecting?: string[]): Token {
    const t = this.peek();
    if (!this.isChar(t, c)) throw this.unexpected(t, expecting ?? [`'${c}'`]);
    return this.next();
  }

  private expectType(type: TokenType, expecting?: string[]): Token {
    const t = this.peek();
    if (t.type !== type) throw this.unexpected(t, expecting ?? [type]);
    return this.next();
  }

  // ---- grammar ----
  parseStart(): A.Expr {
    const e = this.parseExpr();
    const t = this.peek();
    if (t.type !== 'EOF') throw this.unexpected(t, ['end of file']);
    return e;
  }

  private parseExpr(): A.Expr {
    const t = this.peek();
    const pos = this.posOf(t);
    if (t.type === 'ID') {
      const n = this.peek(1);
      if (this.isChar(n, ':')) {
        this.i += 2;
        return { kind: 'Lambda', pos, arg: t.value, body: this.parseExpr() };
      }
      if (this.isChar(n, '@')) {
        this.i += 2;
        this.expectChar('{');
        const formals = this.parseFormals();
        this.expectChar('}');
        this.expectChar(':');
        return this.lambdaWithFormals(pos, formals, t.value);
      }
    }
    if (this.isChar(t, '{') && this.formalsAhead()) {
      this.next();
      const formals = this.parseFormals();
      this.expectChar('}');
      const n = this.peek();
      if (this.isChar(n, '@')) {
        this.next();
        const arg = this.expectType('ID').value;
        this.expectChar(':');
        return this.lambdaWithFormals(pos, formals, arg);
      }
      this.expectChar(':', ["':'", "'@'"]);
      return this.lambdaWithFormals(pos, formals, undefined);
    }
    switch (t.type) {
      case 'ASSERT': {
        this.next();
        const cond = this.parseExpr();
        this.expectChar(';');
        return { kind: 'Assert', pos, cond, body: this.parseExpr() };
      }
      case 'WITH': {
        this.next();
        const attrs = this.parseExpr();
        this.expectChar(';');
        return { kind: 'With', pos, attrs, body: this.parseExpr() };
      }
      case 'LET':
        if (!this.isChar(this.peek(1), '{')) {
          this.next();
          const attrs = this.parseBinds(t, 'IN');
          this.expectType('IN');
          if (attrs.dynamicAttrs.length > 0) throw parseError('dynamic attributes not allowed in let', pos);
          attrs.rec = true;
          return { kind: 'Let', pos, attrs, body: this.parseExpr() };
        }
        break;
      case 'IF': {
        this.next();
        const cond = this.parseExpr();
        this.expectType('THEN');
        const then = this.parseExpr();
        this.expectType('ELSE');
        return { kind: 'If', pos, cond, then, else: this.parseExpr() };
      }
    }
    return this.parseOp(0);
  }

  private lambdaWithFormals(pos: A.Pos, formals: A.Formals, arg: string | undefined): A.Expr {
    if (arg !== undefined && formals.formals.some((f) => f.name === arg)) {
      throw parseError(`duplicate formal function argument '${arg}'`, pos);
    }
    const body = this.parseExpr();
    return arg === undefined ? { kind: 'Lambda', pos, formals, body } : { kind: 'Lambda', pos, arg, formals, body };
  }

  /** At `{`: is this a formals list (`{ a, b ? 1, ... }:`) rather than a set? */
  private formalsAhead(): boolean {
    const a = this.peek(1);
    if (a.type === 'ELLIPSIS') return true;
    if (this.isChar(a, '}')) {
      const b = this.peek(2);
      return this.isChar(b, ':') || this.isChar(b, '@');
    }
    if (a.type !== 'ID') return false;
    const b = this.peek(2);
    return this.isChar(b, ',') || this.isChar(b, '?') || this.isChar(b, '}');
  }

  private parseFormals(): A.Formals {
    const formals: A.Formal[] = [];
    let ellipsis = false;
    for (;;) {
      const t = this.peek();
      if (this.isChar(t, '}')) break;
      if (t.type === 'ELLIPSIS') {
        this.next();
        ellipsis = true;
        break;
      }
      if (t.type !== 'ID') throw this.unexpected(t);
      this.next();
      let def: A.Expr | undefined;
      if (this.isChar(this.peek(), '?')) {
        this.next();
        def = this.parseExpr();
      }
      formals.push(def === undefined ? { name: t.value, pos: this.posOf(t) } : { name: t.value, pos: this.posOf(t), default: def });
      if (!this.isChar(this.peek(), ',')) break;
      this.next();
    }
    if (!this.isChar(this.peek(), '}')) throw this.unexpected(this.peek(), ["'}'"]);
    checkDuplicateFormals(formals);
    return { formals, ellipsis };
  }

  private parseOp(minPrec: number): A.Expr {
    let left: A.Expr;
    const t = this.peek();
    const start = this.posOf(t);
    if (this.isChar(t, '!')) {
      this.next();
      left = { kind: 'Not', pos: this.posOf(t), expr: this.parseOp(PREC_NOT + 1) };
    } else if (this.isChar(t, '-')) {
      this.next();
      left = { kind: 'Neg', pos: this.posOf(t), expr: this.parseOp(PREC_NEGATE + 1) };
    } else {
      left = this.parseApp();
    }
    for (;;) {
      const op = this.peek();
      if (this.isChar(op, '?')) {
        if (PREC_HASATTR < minPrec) break;
        this.next();
        left = { kind: 'HasAttr', pos: start, expr: left, path: this.parseAttrPath() };
        if (this.isChar(this.peek(), '?')) throw this.unexpected(this.peek());
        continue;
      }
      const info = op.type === 'CHAR' ? BINARY_CHARS[op.value] : BINARY[op.type];
      if (info === undefined) break;
      const [name, prec, assoc] = info;
      if (prec < minPrec) break;
      this.next();
      const rhsStart = this.posOf(this.peek());
      const rhs = this.parseOp(assoc === 'right' ? prec : prec + 1);
      left = name === '+'
        ? { kind: 'BinOp', pos: start, op: name, lhs: left, rhs, operandPos: [start, rhsStart] }
        : { kind: 'BinOp', pos: start, op: name, lhs: left, rhs };
      if (assoc === 'none') {
        const n = this.peek();
        const ni = n.type === 'CHAR' ? BINARY_CHARS[n.value] : BINARY[n.type];
        if (ni !== undefined && ni[1] === prec) throw this.unexpected(n);
      }
    }
    return left;
  }

  private startsSelect(t: Token): boolean {
    switch (t.type) {
      case 'ID': case 'INT': case 'FLOAT': case 'IND_STRING_OPEN': case 'PATH': case 'HPATH':
      case 'SPATH': case 'URI': case 'REC':
        return true;
      case 'LET':
        return this.isChar(this.peek(1), '{');
      case 'CHAR':
        return t.value === '"' || t.value === '(' || t.value === '{' || t.value === '[';
      default:
        return false;
    }
  }

  private parseApp(): A.Expr {
    const start = this.posOf(this.peek());
    const first = this.parseSelect();
    if (!this.startsSelect(this.peek())) return first;
    // `(f a) b` extends the inner call, as Nix's parser does.
    let fn = first;
    const args: A.Expr[] = [];
    if (first.kind === 'Call') {
      fn = first.fn;
      args.push(...first.args);
    }
    while (this.startsSelect(this.peek())) args.push(this.parseSelect());
    return { kind: 'Call', pos: start, fn, args };
  }

  private parseSelect(): A.Expr {
    const start = this.posOf(this.peek());
    const e = this.parseSimple();
    const t = this.peek();
    if (this.isChar(t, '.')) {
      this.next();
      const path = this.parseAttrPath();
      if (this.peek().type === 'OR_KW') {
        this.next();
        return { kind: 'Select', pos: start, expr: e, path, default: this.parseSelect() };
      }
      return { kind: 'Select', pos: start, expr: e, path };
    }
    if (t.type === 'OR_KW') {
      // Legacy: `map or [...]` calls `map` with the variable `or`.
      this.next();
      return { kind: 'Call', pos: start, fn: e, args: [{ kind: 'Var', pos: start, name: 'or' }] };
    }
    return e;
  }

  private parseSimple(): A.Expr {
    const t = this.peek();
    const pos = this.posOf(t);
    switch (t.type) {
      case 'ID':
        this.next();
        return t.value === '__curPos' ? { kind: 'CurPos', pos } : { kind: 'Var', pos, name: t.value };
      case 'INT':
        this.next();
        return { kind: 'Int', pos, value: BigInt(t.value) };
      case 'FLOAT':
        this.next();
        return { kind: 'Float', pos, value: Number(t.value) };
      case 'IND_STRING_OPEN':
        return this.parseIndString();
      case 'PATH': case 'HPATH':
        return this.parsePath();
      case 'SPATH':
        this.next();
        return { kind: 'SearchPath', pos, path: t.value.slice(1, -1) };
      case 'URI':
        this.next();
        return { kind: 'Str', pos, value: t.value };
      case 'LET': {
        this.next();
        const open = this.expectChar('{');
        const attrs = this.parseBinds(open, '}');
        this.expectChar('}');
        attrs.rec = true;
        return { kind: 'Select', pos, expr: attrs, path: [{ kind: 'static', name: 'body' }] };
      }
      case 'REC': {
        this.next();
        const open = this.expectChar('{');
        const attrs = this.parseBinds(open, '}');
        this.expectChar('}');
        attrs.rec = true;
        attrs.openPos = this.posOf(open);
        return attrs;
      }
      case 'CHAR':
        switch (t.value) {
          case '"':
            return this.parseString();
          case '(': {
            this.next();
            const e = this.parseExpr();
            this.expectChar(')');
            return e;
          }
          case '{': {
            this.next();
            const attrs = this.parseBinds(t, '}');
            this.expectChar('}');
            attrs.openPos = pos;
            return attrs;
          }
          case '[': {
            this.next();
            const elems: A.Expr[] = [];
            while (this.startsSelect(this.peek())) elems.push(this.parseSelect());
            if (!this.isChar(this.peek(), ']')) throw this.unexpected(this.peek());
            this.next();
            return { kind: 'List', pos, elems };
          }
        }
    }
    throw this.unexpected(t);
  }

  /** `"…"`. The literal's position is its opening quote (what 2.8 reports for
   *  an operand); each part records its own start / its `${` (`partPos`). */
  private parseString(): A.Expr {
    const pos = this.posOf(this.next());
    const parts: A.Expr[] = [];
    const partPos: A.Pos[] = [];
    for (;;) {
      const t = this.peek();
      if (t.type === 'STR') {
        this.next();
        partPos.push(this.posOf(t));
        parts.push({ kind: 'Str', pos: this.posOf(t), value: t.value });
      } else if (t.type === 'DOLLAR_CURLY') {
        this.next();
        partPos.push(this.posOf(t));
        parts.push(this.parseExpr());
        this.expectChar('}');
      } else break;
    }
    this.expectChar('"');
    if (parts.length === 0) return { kind: 'Str', pos, value: '' };
    if (parts.length === 1 && this.toks[this.i - 2]!.type === 'STR') return { kind: 'Str', pos, value: (parts[0] as A.StrLit).value };
    return { kind: 'Concat', pos, parts, forceString: true, partPos };
  }

  private parseIndString(): A.Expr {
    const open = this.next();
    const parts: IndPart[] = [];
    for (;;) {
      const t = this.peek();
      if (t.type === 'IND_STR') {
        this.next();
        parts.push({ kind: 'str', text: t.value, hasIndentation: t.hasIndentation === true, pos: this.posOf(t) });
      } else if (t.type === 'DOLLAR_CURLY') {
        this.next();
        parts.push({ kind: 'expr', expr: this.parseExpr(), pos: this.posOf(t) });
        this.expectChar('}');
      } else break;
    }
    this.expectType('IND_STRING_CLOSE', ['IND_STR', 'DOLLAR_CURLY', 'IND_STRING_CLOSE']);
    return stripIndentation(this.posOf(open), parts);
  }

  private parsePath(): A.Expr {
    const t = this.next();
    const pos = this.posOf(t);
    let value: string;
    if (t.type === 'PATH') {
      value = absPath(t.value, this.opts.basePath);
      if (t.value.endsWith('/') && t.value.length > 1) value += '/';
    } else {
      value = (this.opts.home ?? '') + t.value.slice(1);
    }
    const head: A.Expr = { kind: 'Path', pos, value };
    const parts: A.Expr[] = [head];
    const partPos: A.Pos[] = [pos];
    for (;;) {
      const n = this.peek();
      if (n.type === 'STR') {
        this.next();
        partPos.push(this.posOf(n));
        parts.push({ kind: 'Str', pos: this.posOf(n), value: n.value });
        // Grammar: a literal part right after the path must be followed by `${`.
        if (parts.length === 2 && this.peek().type !== 'DOLLAR_CURLY') throw this.unexpected(this.peek(), ['DOLLAR_CURLY']);
      } else if (n.type === 'DOLLAR_CURLY') {
        this.next();
        partPos.push(this.posOf(n));
        parts.push(this.parseExpr());
        this.expectChar('}');
      } else break;
    }
    this.expectType('PATH_END');
    return parts.length === 1 ? head : { kind: 'Concat', pos, parts, forceString: false, partPos };
  }

  private parseAttrName(): A.AttrName {
    const t = this.peek();
    if (t.type === 'ID' || t.type === 'OR_KW') {
      this.next();
      return { kind: 'static', name: t.value };
    }
    if (this.isChar(t, '"')) {
      const e = this.parseString();
      return e.kind === 'Str' ? { kind: 'static', name: e.value } : { kind: 'dynamic', expr: e };
    }
    if (t.type === 'DOLLAR_CURLY') {
      this.next();
      const e = this.parseExpr();
      this.expectChar('}');
      return e.kind === 'Str' ? { kind: 'static', name: e.value } : { kind: 'dynamic', expr: e };
    }
    throw this.unexpected(t, ['ID', 'OR_KW', 'DOLLAR_CURLY', `'"'`]);
  }

  private parseAttrPath(): A.AttrName[] {
    const path = [this.parseAttrName()];
    while (this.isChar(this.peek(), '.')) {
      this.next();
      path.push(this.parseAttrName());
    }
    return path;
  }

  /** `binds` up to (not including) the terminator; `before` is the token the
   *  empty rule follows (its end is the set's position in 2.8). */
  private parseBinds(before: Token, end: '}' | 'IN'): MutAttrs {
    const bindsPos = this.endPosOf(before);
    const attrs: MutAttrs = { kind: 'Attrs', pos: bindsPos, rec: false, attrs: [], dynamicAttrs: [] };
    for (;;) {
      const t = this.peek();
      if (end === '}' ? this.isChar(t, '}') : t.type === 'IN') return attrs;
      if (t.type === 'INHERIT') {
        this.parseInherit(attrs, bindsPos);
        continue;
      }
      if (!(t.type === 'ID' || t.type === 'OR_KW' || t.type === 'DOLLAR_CURLY' || this.isChar(t, '"'))) throw this.unexpected(t);
      const pathPos = this.posOf(t);
      const path = this.parseAttrPath();
      this.expectChar('=', ["'.'", "'='"]);
      const value = this.parseExpr();
      this.expectChar(';');
      addAttr(attrs, path, value, pathPos);
    }
  }

  private parseInherit(attrs: MutAttrs, bindsPos: A.Pos): void {
    const kw = this.next();
    let from: A.Expr | undefined;
    let namesPos = this.endPosOf(kw);
    if (this.isChar(this.peek(), '(')) {
      this.next();
      from = this.parseExpr();
      namesPos = this.endPosOf(this.expectChar(')'));
    }
    for (;;) {
      const t = this.peek();
      if (this.isChar(t, ';')) break;
      if (!(t.type === 'ID' || t.type === 'OR_KW' || t.type === 'DOLLAR_CURLY' || this.isChar(t, '"'))) throw this.unexpected(t);
      const namePos = this.posOf(t);
      const n = this.parseAttrName();
      if (n.kind !== 'static') throw parseError('dynamic attributes not allowed in inherit', namePos);
      const idx = indexOf(attrs);
      const prev = idx.get(n.name);
      if (prev !== undefined) {
        throw parseError(`attribute '${showId(n.name)}' already defined at ${showPosParens(attrs.attrs[prev]!.pos)}`, namesPos);
      }
      const value: A.Expr = from === undefined
        ? { kind: 'Var', pos: bindsPos, name: n.name }
        : { kind: 'Select', pos: bindsPos, expr: from, path: [{ kind: 'static', name: n.name }] };
      idx.set(n.name, attrs.attrs.length);
      attrs.attrs.push({ name: n.name, value, pos: namesPos, inherited: from === undefined });
    }
    this.next();
  }
}
