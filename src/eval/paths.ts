/**
 * Path text helpers (Nix 2.8 `canonPath`, `dirOf`, `baseNameOf`). Paths are
 * byte strings; no filesystem access here.
 */

/** Make absolute and normalise: collapse `//`, drop `.`, resolve `..`
 *  lexically, no trailing slash (root stays `/`). */
export function canonPath(path: string): string {
  const out: string[] = [];
  for (const seg of path.split('/')) {
    if (seg === '' || seg === '.') continue;
    if (seg === '..') out.pop();
    else out.push(seg);
  }
  return '/' + out.join('/');
}

/** 2.8 `dirOf` on a path string: everything before the last `/` ("/" for
 *  top-level, "." when there is no slash). */
export function dirOf(path: string): string {
  const i = path.lastIndexOf('/');
  if (i < 0) return '.';
  if (i === 0) return '/';
  return path.slice(0, i);
}

/** 2.8 `baseNameOf`: last component, ignoring one trailing slash. */
export function baseNameOf(path: string): string {
  let end = path.length;
  if (end > 0 && path[end - 1] === '/') end--;
  const i = path.lastIndexOf('/', end - 1);
  return path.slice(i + 1, end);
}
