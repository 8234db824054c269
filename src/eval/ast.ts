/**
 * The Nix expression AST: what the parser (eval-front) produces and the
 * compiler (`compile.ts`, eval-core) consumes.
 *
 * Mirrors the shape of Nix 2.8's `nixexpr.hh` *after* the parser's own
 * desugaring, because that is where Nix does it and where its parse-time
 * errors come from:
 *  - nested attribute paths are merged by the parser (`{ a.b = 1; a.c = 2; }`
 *    becomes `a = Attrs{ b; c }`; `{ a = { b = 1; }; a.c = 2; }` merges too),
 *    duplicate attributes / formals are parse errors;
 *  - `inherit x;` becomes an `AttrDef` with `inherited: true` and value `Var x`
 *    (resolved in the *outer* scope even inside `rec`/`let`);
 *    `inherit (e) x y;` becomes `Select(e, [x])` per name, sharing the one `e`
 *    node, with `inherited: false` (so in `rec`/`let`, `e` sees the new scope);
 *  - `let binds in e` is `Let { attrs: Attrs{ rec: true }, body }`; dynamic
 *    attributes in `let` are a parse error;
 *  - legacy `let { a = 1; body = a; }` is `Select(Attrs{ rec: true }, [body])`;
 *  - `f a b` is one `Call { fn: f, args: [a, b] }` (flattened, left to right);
 *  - `__curPos` is the `CurPos` node (not a `Var`).
 * Operators stay operators here (`BinOp`, `Not`, `Neg`); the compiler applies
 * 2.8's desugaring through scope lookups (`a - b` → `__sub a b`, `-x` →
 * `__sub 0 x`, `<`/`>`/`<=`/`>=` → `__lessThan`, `<p>` → `__findFile __nixPath "p"`),
 * so `let __sub = …; in 5 - 3` behaves as in 2.8.
 *
 * Invariants:
 *  - Every string in the AST (source text, identifiers, attribute names,
 *    string literal contents, paths) is a *byte string*: one JS char per byte
 *    (char codes 0..255), i.e. the UTF-8 source decoded as latin1. Nix strings
 *    are bytes; the evaluator keeps them that way.
 *  - Undefined-variable errors are NOT the parser's job: `compile()` reports
 *    them (Nix's `bindVars`), so `--parse` must call `checkScopes()` from
 *    `compile.ts` after parsing.
 *  - Stable: eval-front writes the parser against this file. Changes are
 *    additive only.
 */

/** Where an expression came from. One object per parsed file/string. */
export interface Source {
  /** `file`: a file on disk; `string`: `-E`/`--expr`; `stdin`: `-` / `--parse -`. */
  readonly origin: 'file' | 'string' | 'stdin';
  /**
   * For `file`: the absolute path (byte string). For `string`/`stdin`: ''.
   * Error positions print `path`, or `«string»` / `«stdin»`.
   */
  readonly path: string;
  /** The whole source text as a byte string (for error excerpts and 2.8's
   *  `unsafeGetAttrPos`/`__curPos` quirk, which reports the text of an `-E`
   *  expression as its `file`). */
  readonly text: string;
}

/** A source position. `line` and `column` are 1-based; `column` counts bytes
 *  like Nix (a tab is one column). */
export interface Pos {
  readonly file: Source;
  readonly line: number;
  readonly column: number;
}

/** One attribute name in an attribute path (`a.${b}."c${d}".e`). */
export type AttrName =
  | { readonly kind: 'static'; readonly name: string }
  /** `${e}` or an interpolated string key `"a${b}"`. A plain string key
   *  without interpolation (`"a b"`) must be given as `static`. */
  | { readonly kind: 'dynamic'; readonly expr: Expr };

export type AttrPath = readonly AttrName[];

/** A static attribute in a set / let / rec. */
export interface AttrDef {
  readonly name: string;
  readonly value: Expr;
  /** Position of the attribute name (for `inherit`: of the inherited name
   *  in 2.8 terms — the parser uses the position Nix 2.8 records, which is
   *  what `unsafeGetAttrPos` reports). */
  readonly pos: Pos;
  /** `inherit x;` (not `inherit (e) x;`): value is `Var x`, resolved in the
   *  scope *outside* a `rec`/`let`. */
  readonly inherited: boolean;
}

/** `${nameExpr} = value;` — evaluated in the outer scope (not the rec scope
 *  for names; values of a `rec` set do see the rec scope). */
export interface DynamicAttrDef {
  readonly nameExpr: Expr;
  readonly value: Expr;
  readonly pos: Pos;
}

export interface Formal {
  readonly name: string;
  /** Default expression; may refer to other formals and to the `@` name. */
  readonly default?: Expr;
  readonly pos: Pos;
}

export interface Formals {
  /** In source order; names are unique (the parser rejects duplicates). */
  readonly formals: readonly Formal[];
  readonly ellipsis: boolean;
}

interface Node {
  /** The position Nix 2.8 attaches to this expression (used in error
   *  messages and traces). Where Nix has no position use the start of the
   *  expression. */
  readonly pos: Pos;
}

export interface IntLit extends Node {
  readonly kind: 'Int';
  /** Always within i64 (the parser rejects `invalid integer` literals). */
  readonly value: bigint;
}

export interface FloatLit extends Node {
  readonly kind: 'Float';
  readonly value: number;
}

/** A string without interpolation (also URIs like `http://x`, which are
 *  plain strings in Nix). `value` is a byte string, escapes resolved,
 *  indentation of `''…''` already stripped. */
export interface StrLit extends Node {
  readonly kind: 'Str';
  readonly value: string;
}

/** An absolute, normalised path literal. The parser resolves relative paths
 *  against the file's directory (or cwd for `-E`/stdin) and `~/x` against
 *  `$HOME`, like Nix 2.8 does at parse time. */
export interface PathLit extends Node {
  readonly kind: 'Path';
  readonly value: string;
}

/** `<nixpkgs/lib>`: `path` is the text between the angle brackets. The
 *  compiler turns it into `__findFile __nixPath "nixpkgs/lib"`. */
export interface SearchPath extends Node {
  readonly kind: 'SearchPath';
  readonly path: string;
}

/**
 * Nix's ExprConcatStrings.
 *  - `forceString: true`: an interpolated string `"a${b}c"` / `''…${b}…''`
 *    (also `"${x}"` alone, which forces string coercion). Literal parts are
 *    `Str` nodes.
 *  - `forceString: false`: an interpolated path `./a/${b}`; `parts[0]` is a
 *    `Path` node (the literal prefix, resolved like `PathLit`), later
 *    literal parts are `Str` nodes.
 */
export interface Concat extends Node {
  readonly kind: 'Concat';
  readonly parts: readonly Expr[];
  readonly forceString: boolean;
  /** Optional (additive): the position 2.8 records per part — for an
   *  interpolation, the `${` token; for a literal part, its start. Coercion
   *  errors are reported there. Falls back to each part's own `pos`. */
  readonly partPos?: readonly Pos[];
}

export interface Var extends Node {
  readonly kind: 'Var';
  readonly name: string;
}

/** `__curPos` */
export interface CurPos extends Node {
  readonly kind: 'CurPos';
}

/** `e.a.b` / `e.a.b or def`. `pos` is the position Nix 2.8 gives ExprSelect. */
export interface Select extends Node {
  readonly kind: 'Select';
  readonly expr: Expr;
  readonly path: AttrPath;
  readonly default?: Expr;
}

/** `e ? a.b` */
export interface HasAttr extends Node {
  readonly kind: 'HasAttr';
  readonly expr: Expr;
  readonly path: AttrPath;
}

/** `{ … }` / `rec { … }` (also the binding block of `let`). */
export interface Attrs extends Node {
  readonly kind: 'Attrs';
  readonly rec: boolean;
  /** Where a set literal's `{` is (2.8's `Bindings::pos` of its value); `pos`
   *  is the end of the token before the bindings (inherit positions). */
  readonly openPos?: Pos;
  /** Static attributes, unique names, in source order. */
  readonly attrs: readonly AttrDef[];
  /** Dynamic attributes in source order. */
  readonly dynamicAttrs: readonly DynamicAttrDef[];
}

export interface List extends Node {
  readonly kind: 'List';
  readonly elems: readonly Expr[];
}

/** `x: body`, `{ a, b ? 1, ... }: body`, `args@{ a }: body`, `{ a }@args: body`. */
export interface Lambda extends Node {
  readonly kind: 'Lambda';
  /** The plain argument name, or the `@` name with formals. */
  readonly arg?: string;
  readonly formals?: Formals;
  readonly body: Expr;
}

/** `fn a b …` (application flattened left to right; never empty). */
export interface Call extends Node {
  readonly kind: 'Call';
  readonly fn: Expr;
  readonly args: readonly Expr[];
}

/** `let … in body`; `attrs.rec` is true and `attrs.dynamicAttrs` empty. */
export interface Let extends Node {
  readonly kind: 'Let';
  readonly attrs: Attrs;
  readonly body: Expr;
}

export interface With extends Node {
  readonly kind: 'With';
  readonly attrs: Expr;
  readonly body: Expr;
}

export interface If extends Node {
  readonly kind: 'If';
  readonly cond: Expr;
  readonly then: Expr;
  readonly else: Expr;
}

export interface Assert extends Node {
  readonly kind: 'Assert';
  readonly cond: Expr;
  readonly body: Expr;
}

/** `!e` */
export interface Not extends Node {
  readonly kind: 'Not';
  readonly expr: Expr;
}

/** Unary minus `-e` (2.8: `__sub 0 e`). */
export interface Neg extends Node {
  readonly kind: 'Neg';
  readonly expr: Expr;
}

export type BinaryOperator =
  | '==' | '!=' | '<' | '>' | '<=' | '>='
  | '&&' | '||' | '->'
  | '//' | '++'
  | '+' | '-' | '*' | '/';

/** Binary operators. `+` is Nix's 2-part ExprConcatStrings(forceString=false)
 *  (numbers add, paths/strings concatenate by the left operand's type). */
export interface BinOp extends Node {
  readonly kind: 'BinOp';
  readonly op: BinaryOperator;
  readonly lhs: Expr;
  readonly rhs: Expr;
  /** `+` only: where each operand's source starts (2.8's ExprConcatStrings
   *  positions, where coercion errors are reported). */
  readonly operandPos?: readonly [Pos, Pos];
}

export type Expr =
  | IntLit | FloatLit | StrLit | PathLit | SearchPath | Concat
  | Var | CurPos | Select | HasAttr | Attrs | List
  | Lambda | Call | Let | With | If | Assert
  | Not | Neg | BinOp;

export type ExprKind = Expr['kind'];
