/**
 * Non-function members and environment primops (Nix 2.8): true, false,
 * null, langVersion (6), nixVersion ("2.8.0"), storeDir, currentSystem,
 * currentTime, nixPath, getEnv (empty in pure mode).
 */
import { NixAttrs, forceStr, type Lazy } from '../value.js';
import type { BuiltinRegistry } from './registry.js';

export function register(r: BuiltinRegistry): void {
  r.constant('true', () => true);
  r.constant('false', () => false);
  r.constant('null', () => null);
  r.constant('langVersion', () => 6);
  r.constant('nixVersion', () => '2.8.0');
  r.constant('storeDir', (s) => s.storeDir);
  r.constant('currentSystem', (s) => s.io.currentSystem());
  r.constant('currentTime', (s) => s.io.currentTime());
  r.constant('nixPath', (s) => s.searchPath.map((e) => NixAttrs.fromEntries([
    ['path', e.path],
    ['prefix', e.prefix],
  ])));
  r.add('getEnv', 1, (args, pos, state) => { const n = args[0];
    const name = forceStr(n!, pos);
    if (state.pureEval) return '';
    return state.io.getEnv(name) ?? '';
  });
}
