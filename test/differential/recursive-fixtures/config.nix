# Test helper for the recursive-nix scenario (spec recursive-nix.md §7.1),
# written for tix: `mkDerivation` runs `buildCommand` with bash. The tools, the
# store dir and the Nix client to use inside builders come from the
# environment of the evaluating process and are passed on as attributes, so
# inner evaluations inside builders see the same values.
let
  env = name: builtins.getEnv name;
  binDir = env "TIX_TEST_NIX_BIN";
  toolPath = env "TIX_TEST_PATH";
in
{
  inherit binDir toolPath;
  mkDerivation = args: derivation ({
    system = builtins.currentSystem;
    builder = "/bin/bash";
    args = [ "-e" (builtins.toFile "builder-${args.name}.sh" ''
      export HOME=$TMPDIR XDG_CACHE_HOME=$TMPDIR/cache
      eval "$buildCommand"
    '') ];
    PATH = "${binDir}:${toolPath}";
    TIX_TEST_NIX_BIN = binDir;
    TIX_TEST_PATH = toolPath;
    NIX_STORE_DIR = env "NIX_STORE_DIR";
    NIX_CONFIG = "experimental-features = nix-command";
    # bin/tix's pool trace (bench/recursive.ts checks that inner commands were pooled); "" = off.
    TIX_SERVER_TRACE = env "TIX_SERVER_TRACE";
  } // args);
}
