# Benchmark builds for bench/recursive.ts (run by tix and by the reference).
with import ../../test/differential/recursive-fixtures/config.nix;
let
  n = builtins.getEnv "TIX_BENCH_N";
  salt = builtins.getEnv "TIX_BENCH_SALT";
in
{
  # One inner `nix path-info` timed from inside the builder, $n times.
  pathInfo = mkDerivation {
    name = "bench-path-info-${salt}";
    dummy = builtins.toFile "dummy" "bla bla";
    requiredSystemFeatures = [ "recursive-nix" ];
    buildCommand = ''
      start=$(date +%s%N)
      for i in $(seq ${n}); do nix path-info $dummy > /dev/null; done
      end=$(date +%s%N)
      echo $(( (end - start) / ${n} )) > $out
    '';
  };
  # $n inner builds, one `nix-build -E` each, all linked from $out.
  manyBuilds = mkDerivation {
    name = "bench-many-${salt}";
    requiredSystemFeatures = [ "recursive-nix" ];
    buildCommand = ''
      mkdir $out
      for i in $(seq ${n}); do
        p=$(nix-build --no-out-link -E "
          with import ${../../test/differential/recursive-fixtures/config.nix};
          mkDerivation { name = \"inner-$i-${salt}\"; buildCommand = \"echo $i > \$out\"; }")
        ln -s $p $out/$i
      done
    '';
  };
}
