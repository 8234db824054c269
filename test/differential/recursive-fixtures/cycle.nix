# 6.5: a builder that asks for its own derivation (a recursion cycle). The
# builder evaluates this same file again from the host path (unsandboxed), so
# the inner request names the very drv being built.
with import ./config.nix;
mkDerivation {
  name = "cycle";
  requiredSystemFeatures = [ "recursive-nix" ];
  TIX_TEST_FIXTURES = builtins.getEnv "TIX_TEST_FIXTURES";
  buildCommand = ''
    mkdir $out
    if timeout 60 nix-build --no-out-link $TIX_TEST_FIXTURES/cycle.nix 2> $out/err; then
      echo built > $out/status
    else
      echo "refused $?" > $out/status
    fi
  '';
}
