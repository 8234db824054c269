# A recursive build: the outer builder calls `nix-build -E` on an inner
# derivation while it runs, and links the inner result into its own output.
# The outer output then references the inner one, so it is in the closure.
let
  # The tools the builder may use: tix's own commands (nix-build, nix-store…)
  # and the host's shell utilities. Passed in by examples/run.sh.
  path = builtins.getEnv "TIX_EXAMPLE_PATH";
in
derivation {
  name = "recursive-example";
  system = builtins.currentSystem;
  builder = "/bin/bash";
  requiredSystemFeatures = [ "recursive-nix" ];
  PATH = path;
  args = [ "-c" ''
    set -euo pipefail
    inner=$(nix-build --no-out-link -E '
      derivation {
        name = "inner";
        system = builtins.currentSystem;
        builder = "/bin/bash";
        args = [ "-c" "echo hello from the inner build > $out" ];
      }')
    echo "inner result: $inner"
    mkdir $out
    ln -s "$inner" $out/inner
    cat "$inner" > $out/message
  '' ];
}
