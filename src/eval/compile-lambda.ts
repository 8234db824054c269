/**
 * Lambdas (Nix 2.8 `ExprLambda` + the formals part of `callFunction`):
 * `x: …`, `{ a, b ? d, ... }: …`, `args@{ … }: …`. Defaults are thunks in
 * the body's environment, so they can refer to other formals; the `@`
 * binding is the argument as passed (without defaults); without `...` an
 * unexpected attribute is an error naming it.
 */
import type * as A from './ast.js';
import type { Compiler } from './compile.js';
import { EvalError, EvalErrorCode, showPosParens } from './errors.js';
import { Scope } from './scope.js';
import { didYouMean } from './suggest.js';
import {
  Lambda, NixAttrs, Thunk, compareBytes, force, wrongType,
  type Code, type Env, type Lazy, type LambdaInfo,
} from './value.js';

function describe(name: string | null, pos: A.Pos): string {
  return name === null ? `anonymous function at ${showPosParens(pos)}` : `'${name}' at ${showPosParens(pos)}`;
}

export function compileLambda(c: Compiler, e: A.Lambda, scope: Scope, name: string | null): Code {
  const vars = new Map<string, number>();
  const formals = e.formals?.formals ?? [];
  formals.forEach((f, i) => vars.set(f.name, i + 1));
  const argSlot = e.arg !== undefined ? formals.length + 1 : -1;
  if (e.arg !== undefined) vars.set(e.arg, argSlot);
  const inner = new Scope(scope, vars);
  const body = c.compile(e.body, inner);
  const innerInfo = e.body.kind === 'Lambda' ? (body as LambdaCode).lambdaInfo ?? null : null;
  const defaults: Array<Code | null> = formals.map((f) => (f.default ? c.compile(f.default, inner) : null));
  const nslots = vars.size;
  const pos = e.pos;

  let enter: LambdaInfo['enter'];
  if (!e.formals) {
    enter = (closureEnv, arg) => [closureEnv, arg];
  } else {
    const names = formals.map((f) => f.name);
    const nameSet = new Set(names);
    const ellipsis = e.formals.ellipsis;
    enter = (closureEnv, arg, callPos) => {
      const attrs = force(arg);
      if (!(attrs instanceof NixAttrs)) throw wrongType(attrs, 'a set', callPos);
      const env: Env = new Array(nslots + 1);
      env[0] = closureEnv;
      let used = 0;
      for (let i = 0; i < names.length; i++) {
        const v = attrs.get(names[i]!);
        if (v !== undefined) {
          env[i + 1] = v;
          used++;
        } else {
          const d = defaults[i];
          if (d === null || d === undefined) {
            throw new EvalError(EvalErrorCode.E_EVAL,
              `${describe(name, pos)} called without required argument '${names[i]}'`, callPos);
          }
          env[i + 1] = new Thunk(d, env);
        }
      }
      if (!ellipsis && used !== attrs.size) {
        for (const k of attrs.keys()) {
          if (nameSet.has(k)) continue;
          const err = new EvalError(EvalErrorCode.E_EVAL,
            `${describe(name, pos)} called with unexpected argument '${k}'`, callPos);
          const s = didYouMean(k, names);
          if (s) err.suggestion = s;
          throw err;
        }
      }
      if (argSlot > 0) env[argSlot] = attrs;
      return env;
    };
  }

  const info: LambdaInfo = {
    name,
    pos,
    formals: e.formals
      ? formals.map((f) => ({ name: f.name, hasDefault: f.default !== undefined, pos: f.pos }))
        .sort((a, b) => compareBytes(a.name, b.name))
      : null,
    ellipsis: e.formals?.ellipsis ?? false,
    arg: e.arg ?? null,
    enter,
    body,
    inner: innerInfo,
  };
  const code: LambdaCode = (env) => new Lambda(info, env);
  code.lambdaInfo = info;
  return code;
}

/** A lambda expression's code, tagged with the info its closures share. */
type LambdaCode = Code & { lambdaInfo?: LambdaInfo };

export type { Lazy };
