/**
 * The builder's differential cases over build-cases.nix, shared by the
 * unsandboxed (build.test.ts) and sandboxed (sandbox-buildset.test.ts) runs
 * so both always cover the same set.
 */

export interface Case {
  id: string;
  attrs: string[];
  flags?: string[];
}

export const c = (id: string, flags?: string[], attrs?: string[]): Case => ({ id, attrs: attrs ?? [id], ...(flags ? { flags } : {}) });

/** Order matters: later cases may rely on outputs of earlier ones. */
export const CASES: Case[] = [
  c('plain'), c('withdep'), c('envdump'), c('passfile'), c('structured'), c('structuredMulti'),
  c('structuredChecksOk'), c('structuredChecksBad'), c('fixed'), c('fixedSri'), c('fixedRec'), c('fixedSha1'),
  c('fixedBad'), c('fixedBadRec'), c('fixedImpure'), c('fixedFails'), c('usefixed'), c('usefixed2'), c('multi'),
  c('usemulti'), c('threeOutputs'), c('cycle'), c('selfref'), c('symlinkOut'), c('execFiles'), c('refInName'),
  c('bareHashRef'), c('unreferencedDep'), c('discardedContext'), c('placeholderArg'), c('allowedOk'),
  c('allowedEmptyOk'), c('allowedBad'), c('disallowedBad'), c('disallowedOk'), c('requisitesBad'),
  c('requisitesOk'), c('disRequisitesBad'), c('allowedSelf'), c('failing'), c('failingSignal'), c('noOutput'),
  c('depFails'), c('timeout', ['--timeout', '1'], ['timesOut']), c('silent', ['--max-silent-time', '1'], ['timesOut']),
  c('stderrLog'), c('carriageReturn'), c('unicode'), c('specialArgs'), c('inputFile'), c('chain10'),
  c('graph201', ['-j', '2']), c('wide'), c('checkOk', ['--check'], ['plain']), c('nondet'),
  c('checkNondet', ['--check'], ['nondet']), c('keepGoing', ['--keep-going'], ['failingSignal', 'fixedFails', 'wide']),
  c('quiet', ['-Q'], ['failing']), c('exportRefs'), c('exportRefsStructured'), c('exportRefsNotInput'), c('noBuilder'),
];

/** Front ends: `nix-build` and `nix build` evaluate with each implementation's own evaluator. */
export const FRONT_CASES: Array<{ id: string; prog: string; args: string[] }> = [
  { id: 'nix-build multi', prog: 'nix-build', args: ['build-cases.nix', '-A', 'multi', '-A', 'usemulti'] },
  { id: 'nix-build placeholder', prog: 'nix-build', args: ['build-cases.nix', '-A', 'placeholderArg', '-o', 'ph'] },
  { id: 'nix-build structured', prog: 'nix-build', args: ['build-cases.nix', '-A', 'structured', '--no-out-link'] },
  { id: 'nix-build failing', prog: 'nix-build', args: ['build-cases.nix', '-A', 'failing', '--no-out-link'] },
  { id: 'nix-build depFails -k', prog: 'nix-build', args: ['build-cases.nix', '-A', 'depFails', '-A', 'fixedBad', '-k', '--no-out-link'] },
  { id: 'nix-build -E', prog: 'nix-build', args: ['-E', 'with import ./build-cases.nix; [ plain withdep ]', '--no-out-link'] },
  { id: 'nix-build --arg', prog: 'nix-build', args: ['-E', '{ n }: derivation { name = "arg-${n}"; system = "x86_64-linux"; builder = "/bin/bash"; args = ["-c" "echo ${n} > $out"]; }', '--argstr', 'n', 'x', '--no-out-link'] },
  { id: 'nix-build --dry-run', prog: 'nix-build', args: ['build-cases.nix', '-A', 'chain10', '--dry-run'] },
  { id: 'nix-build --check', prog: 'nix-build', args: ['build-cases.nix', '-A', 'plain', '--check', '--no-out-link'] },
  { id: 'nix build --json', prog: 'nix', args: ['build', '-f', 'build-cases.nix', 'multi.dev', 'threeOutputs', '--json', '--no-link'] },
  { id: 'nix build links', prog: 'nix', args: ['build', '-f', 'build-cases.nix', 'multi', 'selfref'] },
  { id: 'nix build failing', prog: 'nix', args: ['build', '-f', 'build-cases.nix', 'failing', '--no-link'] },
  { id: 'nix build --rebuild', prog: 'nix', args: ['build', '-f', 'build-cases.nix', 'nondet', '--rebuild', '--no-link'] },
];
