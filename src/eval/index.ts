/** Public surface of `eval`: the Nix language evaluator (no store access; see io.ts). */
export type * as Ast from './ast.js';
export type { Source, Pos, Expr } from './ast.js';
export * from './errors.js';
export * from './value.js';
export * from './list.js';
export * from './io.js';
export { EvalState, type EvalOptions, type SearchPathEntry } from './state.js';
export { printValue, forceValueDeep, formatFloat } from './print.js';
export { showExpr, showString, showAttrName } from './show-expr.js';
export { coerceToString, coerceToStringValue, coerceToPath, floatToStringF, type CoerceOptions } from './coerce.js';
export { eqValues, lessThan } from './compare.js';
export { call1, callN } from './call.js';
export { missingAttr } from './compile-select.js';
export { BuiltinRegistry, GLOBAL, type BuiltinFn, type BuiltinSpec } from './builtins/registry.js';
export { isStorePath } from './builtins/context.js';
export { placeholder } from './builtins/fs.js';
export { canonPath, dirOf, baseNameOf } from './paths.js';
export { parse, type ParseOptions } from './parser.js';
// eval-front's builtin families register themselves (json, xml, toml, regex).
import './builtins/json.js';
import './builtins/xml.js';
import './builtins/toml.js';
import './builtins/regex.js';
export { valueToXML, type XmlOptions } from './builtins/xml.js';
export { valueToJSON } from './builtins/json.js';
export { printAst } from './parse-print.js';
