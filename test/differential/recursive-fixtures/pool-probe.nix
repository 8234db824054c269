# Where tix's own client inside a recursive build is served from (bin/tix's
# pool trace, see docs/recursive-builds.md "Inner commands and the
# warm-process pool"): $out holds the trace lines of one inner command.
with import ./config.nix;
mkDerivation {
  name = "pool-probe-${builtins.getEnv "TIX_TEST_SALT"}";
  dummy = builtins.toFile "dummy" "bla bla";
  requiredSystemFeatures = [ "recursive-nix" ];
  buildCommand = ''
    export TIX_SERVER_TRACE=$TMPDIR/pool-trace
    nix path-info $dummy
    cat $TIX_SERVER_TRACE > $out
  '';
}
