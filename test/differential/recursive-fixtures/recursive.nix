# The upstream recursive-nix scenario (spec recursive-nix.md §7.1), our own
# wording: the builder queries its inputs, fails to see an unrelated valid
# path, adds a path, builds inner derivations with `nix build --expr` and
# `nix-build -E`, and links what it made into $out.
with import ./config.nix;
mkDerivation {
  name = "recursive";
  dummy = builtins.toFile "dummy" "bla bla";
  unreachable = builtins.getEnv "TIX_TEST_UNREACHABLE";
  sandboxed = builtins.getEnv "TIX_TEST_SANDBOXED";
  requiredSystemFeatures = [ "recursive-nix" ];
  buildCommand = ''
    set -x
    mkdir $out
    echo "NIX_REMOTE=$NIX_REMOTE"

    nix path-info $dummy
    nix build --no-link $dummy

    if [[ -z $sandboxed ]]; then [[ -e $unreachable ]]; fi
    ! nix path-info $unreachable
    ! nix build --no-link $unreachable

    echo FOOBAR > foobar
    foobar=$(nix store add-path ./foobar)
    nix path-info $foobar
    nix build --no-link $foobar
    ln -s $foobar $out/foobar

    [[ $(nix path-info --all | wc -l) -eq 4 ]]

    nix build -L --impure --expr '
      with import ${./config.nix};
      mkDerivation {
        name = "inner1";
        buildCommand = "echo $fnord blaat > $out";
        fnord = builtins.toFile "fnord" "fnord";
      }'
    [[ $(nix path-info --json ./result) =~ fnord ]]
    ln -s $(nix path-info ./result) $out/inner1

    inner2=$(nix-build --no-out-link -E '
      with import ${./config.nix};
      mkDerivation { name = "inner2"; buildCommand = "echo inner2 > $out"; }')
    ln -s $inner2 $out/inner2
  '';
}
