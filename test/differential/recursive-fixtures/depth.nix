# 6.5: nested recursive builds. Level k builds level k+1 through its socket,
# up to `max`; each level records whether its inner request was accepted.
{ level ? 1, max ? 4 }:
with import ./config.nix;
mkDerivation {
  name = "depth-${toString level}";
  requiredSystemFeatures = [ "recursive-nix" ];
  TIX_TEST_FIXTURES = builtins.getEnv "TIX_TEST_FIXTURES";
  buildCommand = if level >= max then "mkdir $out; echo leaf > $out/status" else ''
    mkdir $out
    if inner=$(nix-build --no-out-link -E "import $TIX_TEST_FIXTURES/depth.nix { level = ${toString (level + 1)}; max = ${toString max}; }" 2> $out/err); then
      ln -s $inner $out/inner
      echo ok > $out/status
    else
      echo refused > $out/status
    fi
  '';
}
