/**
 * The Nix expression tokenizer, mirroring Nix 2.8's flex scanner
 * (src/libexpr/lexer.l at tag 2.8.0): longest match wins, ties go to the
 * rule listed first, and the start-condition stack (DEFAULT, STRING,
 * IND_STRING, INPATH, INPATH_SLASH) is driven by the scanner alone, so the
 * whole token stream can be produced before parsing.
 *
 * Input and token values are byte strings (one JS char per byte). Columns
 * count bytes; CR LF and a lone CR end a line, like Nix's `adjustLoc`.
 */
import { cString } from './value.js';

export type TokenType =
  | 'ID' | 'INT' | 'FLOAT' | 'STR' | 'IND_STR' | 'PATH' | 'HPATH' | 'SPATH' | 'URI' | 'PATH_END'
  | 'IF' | 'THEN' | 'ELSE' | 'ASSERT' | 'WITH' | 'LET' | 'IN' | 'REC' | 'INHERIT' | 'OR_KW' | 'ELLIPSIS'
  | 'EQ' | 'NEQ' | 'LEQ' | 'GEQ' | 'AND' | 'OR' | 'IMPL' | 'UPDATE' | 'CONCAT'
  | 'DOLLAR_CURLY' | 'IND_STRING_OPEN' | 'IND_STRING_CLOSE' | 'CHAR' | 'EOF';

export interface Token {
  type: TokenType;
  /** Raw text for most tokens; the unescaped value for STR / IND_STR; the char for CHAR. */
  value: string;
  /** IND_STR only: whether the text is subject to indentation stripping (not an escape). */
  hasIndentation?: boolean;
  line: number;
  column: number;
  /** Position just after the token (bison's last_line/last_column). */
  endLine: number;
  endColumn: number;
}

/** Raised for scanner-level errors (`invalid integer`, trailing slash); the
 *  parser turns it into an `EvalError` with a position. */
export class LexError extends Error {
  constructor(message: string, readonly line: number, readonly column: number) {
    super(message);
  }
}

const KEYWORDS: Record<string, TokenType> = {
  if: 'IF', then: 'THEN', else: 'ELSE', assert: 'ASSERT', with: 'WITH', let: 'LET',
  in: 'IN', rec: 'REC', inherit: 'INHERIT', or: 'OR_KW',
};

const TWO_CHAR: Record<string, TokenType> = {
  '==': 'EQ', '!=': 'NEQ', '<=': 'LEQ', '>=': 'GEQ', '&&': 'AND', '||': 'OR', '->': 'IMPL', '//': 'UPDATE', '++': 'CONCAT',
};

const PC = '[a-zA-Z0-9._\\-+]';
const RE = {
  id: /[a-zA-Z_][a-zA-Z0-9_'-]*/y,
  int: /[0-9]+/y,
  float: /(?:[1-9][0-9]*\.[0-9]*|0?\.[0-9]+)(?:[Ee][+-]?[0-9]+)?/y,
  path: new RegExp(`${PC}*(?:\\/${PC}+)+\\/?`, 'y'),
  pathSegDollar: new RegExp(`${PC}*\\/\\$\\{`, 'y'),
  pathSeg: new RegExp(`${PC}*\\/`, 'y'),
  hpath: new RegExp(`~(?:\\/${PC}+)+\\/?`, 'y'),
  spath: new RegExp(`<${PC}+(?:\\/${PC}+)*>`, 'y'),
  uri: /[a-zA-Z][a-zA-Z0-9+\-.]*:[a-zA-Z0-9%/?:@&=+$,\-_.!~*']+/y,
  ws: /[ \t\r\n]+/y,
  lineComment: /#[^\r\n]*/y,
  blockComment: /\/\*(?:[^*]|\*+[^*/])*\*+\//y,
  indOpen: /''(?: *\n)?/y,
  pathChars: new RegExp(`${PC}+`, 'y'),
  // STRING state: a run of ordinary content; `$` before `"` is content too.
  strRun: /(?:[^$"\\]|\$[^{"\\]|\\[\s\S]|\$\\[\s\S])+/y,
  strRunDollarQuote: /(?:[^$"\\]|\$[^{"\\]|\\[\s\S]|\$\\[\s\S])*\$(?=")/y,
  indRun: /(?:[^$']|\$[^{']|'[^'$])+/y,
};

function matchLen(re: RegExp, s: string, i: number): number {
  re.lastIndex = i;
  const m = re.exec(s);
  return m === null ? -1 : m[0].length;
}

/** Nix's unescapeStr: `\n \r \t`, `\X` → X, CR and CR LF → LF. */
export function unescapeStr(s: string): string {
  if (s.indexOf('\\') < 0 && s.indexOf('\r') < 0) return s;
  let out = '';
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!;
    if (c === '\\') {
      const d = s[++i];
      if (d === undefined) break;
      out += d === 'n' ? '\n' : d === 'r' ? '\r' : d === 't' ? '\t' : d;
    } else if (c === '\r') {
      out += '\n';
      if (s[i + 1] === '\n') i++;
    } else out += c;
  }
  return out;
}

type State = 'DEFAULT' | 'STRING' | 'IND_STRING' | 'INPATH' | 'INPATH_SLASH';

/** Tokenise a whole source text (byte string). Throws LexError. */
export function tokenize(src: string): Token[] {
  return new Lexer(src).run();
}

class Lexer {
  private pos = 0;
  private line = 1;
  private col = 1;
  /** Location of the token before the last one (flex `prev_yylloc`, for PATH_END). */
  private prevLine = 1;
  private prevCol = 1;
  /** Start of the token before that (flex's `prev_yylloc` as seen at end of input). */
  private prev2Line = 1;
  private prev2Col = 1;
  private stack: State[] = [];
  private readonly out: Token[] = [];
  /** Set by a NUL where a token starts: 2.8's catch-all rule returns the
   *  character, and a 0 is end of input to the parser. */
  private endedAtNul = false;

  constructor(private readonly src: string) {}

  private get state(): State {
    return this.stack.length === 0 ? 'DEFAULT' : this.stack[this.stack.length - 1]!;
  }

  private push(s: State): void { this.stack.push(s); }
  private pop(): void { this.stack.pop(); }

  /** Consume `len` bytes and return the start position (like adjustLoc). */
  private advance(len: number): { line: number; column: number } {
    const start = { line: this.line, column: this.col };
    this.prev2Line = this.prevLine;
    this.prev2Col = this.prevCol;
    this.prevLine = start.line;
    this.prevCol = start.column;
    const s = this.src;
    const end = this.pos + len;
    for (let i = this.pos; i < end; i++) {
      const c = s.charCodeAt(i);
      if (c === 13) {
        if (s.charCodeAt(i + 1) === 10 && i + 1 < end) i++;
        this.line++;
        this.col = 1;
      } else if (c === 10) {
        this.line++;
        this.col = 1;
      } else this.col++;
    }
    this.pos = end;
    return start;
  }

  private emit(type: TokenType, len: number, value?: string, extra?: Partial<Token>): void {
    const text = this.src.substr(this.pos, len);
    const start = this.advance(len);
    this.out.push({ type, value: value ?? text, line: start.line, column: start.column, endLine: this.line, endColumn: this.col, ...extra });
  }

  run(): Token[] {
    const n = this.src.length;
    while (this.pos < n && !this.endedAtNul) {
      switch (this.state) {
        case 'STRING': this.lexString(); break;
        case 'IND_STRING': this.lexIndString(); break;
        case 'INPATH': case 'INPATH_SLASH': this.lexInPath(); break;
        default: this.lexDefault(); break;
      }
    }
    if (this.endedAtNul) return this.out;
    const st = this.state;
    if (st === 'INPATH') {
      // At end of input flex restores the location saved before the last token.
      this.pop();
      this.prevLine = this.prev2Line;
      this.prevCol = this.prev2Col;
      this.out.push({ type: 'PATH_END', value: '', line: this.prevLine, column: this.prevCol, endLine: this.line, endColumn: this.col });
    } else if (st === 'INPATH_SLASH') {
      throw new LexError('path has a trailing slash', this.prevLine, this.prevCol);
    }
    // At end of input flex leaves the location of the last scanned text.
    this.out.push({ type: 'EOF', value: '', line: this.prevLine, column: this.prevCol, endLine: this.line, endColumn: this.col });
    return this.out;
  }

  private lexString(): void {
    const s = this.src;
    const i = this.pos;
    const a = matchLen(RE.strRunDollarQuote, s, i);
    const b = matchLen(RE.strRun, s, i);
    const len = Math.max(a, b);
    if (len > 0) {
      // The value ends at a NUL (2.8 keeps string values as C strings).
      this.emit('STR', len, cString(unescapeStr(s.substr(i, len))));
      return;
    }
    if (s.startsWith('${', i)) { this.push('DEFAULT'); this.emit('DOLLAR_CURLY', 2); return; }
    if (s[i] === '"') { this.pop(); this.emit('CHAR', 1); return; }
    // A lone `$`, `\` or `$\` at end of input: Nix returns a STR token without a
    // value and lets the parser fail at end of file.
    const l = s.startsWith('$\\', i) ? 2 : 1;
    this.emit('STR', l, '');
  }

  private lexIndString(): void {
    const s = this.src;
    const i = this.pos;
    const candidates: Array<[number, () => void]> = [];
    const run = matchLen(RE.indRun, s, i);
    if (run > 0) candidates.push([run, () => this.emit('IND_STR', run, undefined, { hasIndentation: true })]);
    if (s.startsWith("''$", i)) candidates.push([3, () => this.emit('IND_STR', 3, '$')]);
    if (s[i] === '$') candidates.push([1, () => this.emit('IND_STR', 1, '$')]);
    if (s.startsWith("'''", i)) candidates.push([3, () => this.emit('IND_STR', 3, "''")]);
    if (s.startsWith("''\\", i) && i + 3 < s.length) {
      candidates.push([4, () => this.emit('IND_STR', 4, unescapeStr(s.substr(i + 2, 2)))]);
    }
    if (s.startsWith('${', i)) candidates.push([2, () => { this.push('DEFAULT'); this.emit('DOLLAR_CURLY', 2); }]);
    if (s.startsWith("''", i)) candidates.push([2, () => { this.pop(); this.emit('IND_STRING_CLOSE', 2); }]);
    if (s[i] === "'") candidates.push([1, () => this.emit('IND_STR', 1, "'")]);
    pickLongest(candidates)();
  }

  private lexInPath(): void {
    const s = this.src;
    const i = this.pos;
    if (s.startsWith('${', i)) {
      this.pop();
      this.push('INPATH');
      this.push('DEFAULT');
      this.emit('DOLLAR_CURLY', 2);
      return;
    }
    const len = Math.max(matchLen(RE.path, s, i), matchLen(RE.pathSeg, s, i), matchLen(RE.pathChars, s, i));
    if (len > 0) {
      this.pop();
      this.push(s[i + len - 1] === '/' ? 'INPATH_SLASH' : 'INPATH');
      this.emit('STR', len);
      return;
    }
    if (this.state === 'INPATH_SLASH') {
      throw new LexError('path has a trailing slash', this.line, this.col);
    }
    this.pop();
    this.out.push({ type: 'PATH_END', value: '', line: this.prevLine, column: this.prevCol, endLine: this.line, endColumn: this.col });
  }

  private lexDefault(): void {
    const s = this.src;
    const i = this.pos;
    const c = s[i]!;
    if (c === '\0') {
      const start = this.advance(1);
      this.out.push({ type: 'EOF', value: '', line: start.line, column: start.column, endLine: this.line, endColumn: this.col });
      this.endedAtNul = true;
      return;
    }
    // Whitespace and comments first: they never compete with tokens.
    let l = matchLen(RE.ws, s, i);
    if (l > 0) { this.advance(l); return; }
    if (c === '#') { this.advance(matchLen(RE.lineComment, s, i)); return; }
    if (c === '/' && s[i + 1] === '*') {
      l = matchLen(RE.blockComment, s, i);
      if (l > 0) { this.advance(l); return; }
    }
    const cands: Array<[number, () => void]> = [];
    const id = matchLen(RE.id, s, i);
    if (id > 0) {
      const word = s.substr(i, id);
      const kw = Object.hasOwn(KEYWORDS, word) ? KEYWORDS[word] : undefined;
      cands.push([id, () => this.emit(kw ?? 'ID', id)]);
    }
    if (s.startsWith('...', i)) cands.push([3, () => this.emit('ELLIPSIS', 3)]);
    const twoText = s.substr(i, 2);
    const two = Object.hasOwn(TWO_CHAR, twoText) ? TWO_CHAR[twoText] : undefined;
    if (two !== undefined) cands.push([2, () => this.emit(two, 2)]);
    const int = matchLen(RE.int, s, i);
    if (int > 0) cands.push([int, () => this.emitInt(int)]);
    const fl = matchLen(RE.float, s, i);
    if (fl > 0) cands.push([fl, () => this.emitFloat(fl)]);
    if (s.startsWith('${', i)) cands.push([2, () => { this.push('DEFAULT'); this.emit('DOLLAR_CURLY', 2); }]);
    if (c === '}') cands.push([1, () => { if (this.stack.length > 0) this.pop(); this.emit('CHAR', 1); }]);
    if (c === '{') cands.push([1, () => { this.push('DEFAULT'); this.emit('CHAR', 1); }]);
    if (c === '"') cands.push([1, () => { this.push('STRING'); this.emit('CHAR', 1); }]);
    if (c === "'" && s[i + 1] === "'") {
      const n = matchLen(RE.indOpen, s, i);
      cands.push([n, () => { this.push('IND_STRING'); this.emit('IND_STRING_OPEN', n); }]);
    }
    const segD = matchLen(RE.pathSegDollar, s, i);
    const hstartD = s.startsWith('~/${', i) ? 4 : -1;
    if (segD > 0 || hstartD > 0) {
      cands.push([Math.max(segD, hstartD), () => this.startInterpolatedPath()]);
    }
    const p = matchLen(RE.path, s, i);
    if (p > 0) cands.push([p, () => this.emitPath('PATH', p)]);
    if (c === '~') {
      const h = matchLen(RE.hpath, s, i);
      if (h > 0) cands.push([h, () => this.emitPath('HPATH', h)]);
    }
    if (c === '<') {
      const sp = matchLen(RE.spath, s, i);
      if (sp > 0) cands.push([sp, () => this.emit('SPATH', sp)]);
    }
    const u = matchLen(RE.uri, s, i);
    if (u > 0) cands.push([u, () => this.emit('URI', u)]);
    cands.push([1, () => this.emit('CHAR', 1)]);
    pickLongest(cands)();
  }

  /** `a/${…}` / `~/${…}`: the first segment becomes PATH/HPATH, then INPATH_SLASH. */
  private startInterpolatedPath(): void {
    const s = this.src;
    const i = this.pos;
    if (s.startsWith('~/', i)) {
      this.push('INPATH_SLASH');
      this.emit('HPATH', 2);
      return;
    }
    const l = matchLen(RE.pathSeg, s, i);
    this.push('INPATH_SLASH');
    this.emit('PATH', l);
  }

  private emitPath(type: 'PATH' | 'HPATH', len: number): void {
    const last = this.src[this.pos + len - 1];
    this.push(last === '/' ? 'INPATH_SLASH' : 'INPATH');
    this.emit(type, len);
  }

  private emitInt(len: number): void {
    const text = this.src.substr(this.pos, len);
    const v = BigInt(text);
    if (v > 9223372036854775807n) throw new LexError(`invalid integer '${text}'`, this.line, this.col);
    this.emit('INT', len);
  }

  private emitFloat(len: number): void {
    const text = this.src.substr(this.pos, len);
    const v = Number(text);
    // strtod sets ERANGE on overflow (and on underflow to denormal/zero).
    const mant = /[1-9]/.test(text.replace(/[eE].*$/, ''));
    if (!Number.isFinite(v) || (mant && (v === 0 || Math.abs(v) < 2.2250738585072014e-308))) {
      throw new LexError(`invalid float '${text}'`, this.line, this.col);
    }
    this.emit('FLOAT', len);
  }
}

/** Longest candidate; ties go to the earliest (flex rule order). */
function pickLongest(cands: Array<[number, () => void]>): () => void {
  let best = cands[0]!;
  for (const c of cands) if (c[0] > best[0]) best = c;
  return best[1];
}
