/**
 * Expression printer in Nix 2.8's `Expr::show` format, as used in
 * `assertion '…' failed` messages (and by `nix-instantiate --parse`, whose
 * output is the same format): every compound is parenthesised, operators
 * appear in their desugared form (`(__sub a b)`, `(__lessThan a b)`).
 */
import type * as A from './ast.js';
import { formatFloat } from './print.js';
import { compareBytes } from './value.js';

const ID = /^[a-zA-Z_][a-zA-Z0-9_'-]*$/;

const NEEDS_ESCAPE = /["\\\n\r\t$]/;

export function showString(s: string): string {
  if (!NEEDS_ESCAPE.test(s)) return '"' + s + '"';
  let out = '"';
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!;
    if (c === '"' || c === '\\') out += '\\' + c;
    else if (c === '\n') out += '\\n';
    else if (c === '\r') out += '\\r';
    else if (c === '\t') out += '\\t';
    else if (c === '$' && s[i + 1] === '{') out += '\\$';
    else out += c;
  }
  return out + '"';
}

/** Attribute name as 2.8 prints it: bare when identifier-like, else quoted. */
export function showAttrName(name: string): string {
  return ID.test(name) && name !== 'if' ? name : showString(name);
}

function showAttrPath(path: A.AttrPath): string {
  return path.map((n) => (n.kind === 'static' ? showAttrName(n.name) : `"\${${showExpr(n.expr)}}"`)).join('.');
}

function showBinOp(e: A.BinOp): string {
  const l = showExpr(e.lhs), r = showExpr(e.rhs);
  switch (e.op) {
    case '-': return `(__sub ${l} ${r})`;
    case '*': return `(__mul ${l} ${r})`;
    case '/': return `(__div ${l} ${r})`;
    case '<': return `(__lessThan ${l} ${r})`;
    case '>': return `(__lessThan ${r} ${l})`;
    case '<=': return `(! (__lessThan ${r} ${l}))`;
    case '>=': return `(! (__lessThan ${l} ${r}))`;
    default: return `(${l} ${e.op} ${r})`;
  }
}

function showAttrs(e: A.Attrs): string {
  let out = e.rec ? 'rec { ' : '{ ';
  const defs = [...e.attrs].sort((a, b) => compareBytes(a.name, b.name));
  for (const d of defs) {
    out += d.inherited ? `inherit ${showAttrName(d.name)} ; ` : `${showAttrName(d.name)} = ${showExpr(d.value)}; `;
  }
  for (const d of e.dynamicAttrs) out += `"\${${showExpr(d.nameExpr)}}" = ${showExpr(d.value)}; `;
  return out + '}';
}

function showLambda(e: A.Lambda): string {
  let out = '(';
  if (e.formals) {
    const fs = [...e.formals.formals].reverse().map((f) => (f.default ? `${f.name} ? ${showExpr(f.default)}` : f.name));
    if (e.formals.ellipsis) fs.push('...');
    out += `{ ${fs.join(', ')}${fs.length > 0 ? ' ' : ''}}`;
    if (e.arg !== undefined) out += ` @ ${e.arg}`;
  } else {
    out += e.arg;
  }
  return out + `: ${showExpr(e.body)})`;
}

export function showExpr(e: A.Expr): string {
  switch (e.kind) {
    case 'Int': return e.value.toString();
    case 'Float': return formatFloat(e.value);
    case 'Str': return showString(e.value);
    case 'Path': return e.value;
    case 'SearchPath': return `(__findFile __nixPath ${showString(e.path)})`;
    case 'Concat': return `(${e.parts.map(showExpr).join(' + ')})`;
    case 'Var': return e.name;
    case 'CurPos': return '__curPos';
    case 'Select':
      return `(${showExpr(e.expr)}).${showAttrPath(e.path)}${e.default ? ` or (${showExpr(e.default)})` : ''}`;
    case 'HasAttr': return `((${showExpr(e.expr)}) ? ${showAttrPath(e.path)})`;
    case 'Attrs': return showAttrs(e);
    case 'List': return `[ ${e.elems.map((x) => `(${showExpr(x)}) `).join('')}]`;
    case 'Lambda': return showLambda(e);
    case 'Call': return `(${showExpr(e.fn)} ${e.args.map(showExpr).join(' ')})`;
    case 'Let': {
      let out = '(let ';
      for (const d of e.attrs.attrs) {
        out += d.inherited ? `inherit ${showAttrName(d.name)}; ` : `${showAttrName(d.name)} = ${showExpr(d.value)}; `;
      }
      return out + `in ${showExpr(e.body)})`;
    }
    case 'With': return `(with ${showExpr(e.attrs)}; ${showExpr(e.body)})`;
    case 'If': return `(if ${showExpr(e.cond)} then ${showExpr(e.then)} else ${showExpr(e.else)})`;
    case 'Assert': return `assert ${showExpr(e.cond)}; ${showExpr(e.body)}`;
    case 'Not': return `(! ${showExpr(e.expr)})`;
    case 'Neg': return `(__sub 0 ${showExpr(e.expr)})`;
    case 'BinOp': return showBinOp(e);
  }
}
