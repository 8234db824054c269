/**
 * Indented-string (`''…''`) indentation stripping, as Nix 2.8's parser does
 * it (`stripIndentation` in parser.y): the minimum indentation of non-blank
 * lines is removed from every line; escapes (`''$`, `'''`, `''\n`) and
 * interpolations end a line's leading whitespace; a final line holding only
 * spaces is dropped. Each token stays a separate part, so `--parse` prints
 * the same concatenation Nix prints.
 */
import type * as A from './ast.js';
import { cString } from './value.js';

export type IndPart =
  | { kind: 'str'; text: string; hasIndentation: boolean; pos: A.Pos }
  | { kind: 'expr'; expr: A.Expr; pos: A.Pos };

function minIndentation(parts: IndPart[]): number {
  let atStartOfLine = true;
  let minIndent = 1000000;
  let curIndent = 0;
  for (const p of parts) {
    if (p.kind === 'expr' || !p.hasIndentation) {
      if (atStartOfLine) {
        atStartOfLine = false;
        if (curIndent < minIndent) minIndent = curIndent;
      }
      continue;
    }
    const s = p.text;
    for (let j = 0; j < s.length; j++) {
      const c = s[j];
      if (atStartOfLine) {
        if (c === ' ') curIndent++;
        else if (c === '\n') curIndent = 0;
        else {
          atStartOfLine = false;
          if (curIndent < minIndent) minIndent = curIndent;
        }
      } else if (c === '\n') {
        atStartOfLine = true;
        curIndent = 0;
      }
    }
  }
  return minIndent;
}

export function stripIndentation(pos: A.Pos, parts: IndPart[]): A.Expr {
  if (parts.length === 0) return { kind: 'Str', pos, value: '' };
  const minIndent = minIndentation(parts);
  const out: A.Expr[] = [];
  const partPos: A.Pos[] = [];
  let atStartOfLine = true;
  let curDropped = 0;
  for (let k = 0; k < parts.length; k++) {
    const p = parts[k]!;
    if (p.kind === 'expr') {
      atStartOfLine = false;
      curDropped = 0;
      out.push(p.expr);
      partPos.push(p.pos);
      continue;
    }
    let s2 = '';
    const t = p.text;
    for (let j = 0; j < t.length; j++) {
      const c = t[j]!;
      if (atStartOfLine) {
        if (c === ' ') {
          if (curDropped++ >= minIndent) s2 += c;
        } else if (c === '\n') {
          curDropped = 0;
          s2 += c;
        } else {
          atStartOfLine = false;
          curDropped = 0;
          s2 += c;
        }
      } else {
        s2 += c;
        if (c === '\n') atStartOfLine = true;
      }
    }
    if (k === parts.length - 1) {
      const nl = s2.lastIndexOf('\n');
      if (nl >= 0 && /^ *$/.test(s2.slice(nl + 1))) s2 = s2.slice(0, nl + 1);
    }
    // Stripped as scanned (NUL included); the value then ends at a NUL, as in 2.8.
    out.push({ kind: 'Str', pos: p.pos, value: cString(s2) });
    partPos.push(p.pos);
  }
  if (out.length === 1 && out[0]!.kind === 'Str') return { kind: 'Str', pos, value: (out[0] as A.StrLit).value };
  return { kind: 'Concat', pos, parts: out, forceString: true, partPos };
}
