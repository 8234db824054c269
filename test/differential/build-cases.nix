# Derivations built by both the reference Nix 2.8 and tix (test/differential/build.test.ts).
# Builders use absolute paths only: PATH is /path-not-set inside builds.
let
  sys = "x86_64-linux";
  sh = "/bin/bash";
  # The trailing `:` keeps bash from exec'ing a final coreutils command: 2.8 kills a builder whose
  # log pipe closes before it exits (coreutils closes stdio early), a race we do not reproduce.
  mk = name: script: attrs: derivation ({ inherit name; system = sys; builder = sh; args = [ "-c" (script + "\n:") ]; } // attrs);
  src = builtins.toFile "src.txt" "some \"quoted\"\ttext\n";
  leaf = i: mk "leaf-${toString i}" "echo leaf ${toString i} > $out" { };
  leaves = builtins.genList leaf 200;
  chain = n: if n == 0 then mk "chain-0" "echo 0 > $out" { } else mk "chain-${toString n}" "echo ${chain (n - 1)} ${toString n} > $out" { };
in rec {
  plain = mk "plain" "echo hello > $out" { };
  withdep = mk "withdep" "echo ${plain} $src > $out" { inherit src; dep = plain; flag = true; off = false; nothing = null; num = 42; list = [ "a" 1 "b" ]; };
  envdump = mk "envdump" "export -p > $out; echo cwd=$(pwd) >> $out; /bin/ls -la | /usr/bin/cut -c1-10,40- | /usr/bin/tail -n +4 >> $out" { extra = "x y"; PATH = "/overridden"; };
  passfile = mk "passfile" "/bin/cat $bigPath $otherPath > $out; echo $small >> $out; echo \${big-unset} >> $out" { big = "large\nvalue"; other = "o"; small = "s"; passAsFile = [ "big" "other" ]; };
  structured = mk "structured" "source .attrs.sh; /bin/mkdir \${outputs[out]}; /bin/cp .attrs.json .attrs.sh \${outputs[out]}/; export -p | /bin/grep -v OLDPWD > \${outputs[out]}/env" {
    __structuredAttrs = true; foo = [ 1 2 "x" ]; bar = { a = 1; b = "s p"; }; s = "a'b\"c$d"; n = 42; f = false; t = true; z = null; fl = 1.5; fl2 = 2.0; nested = { x = [ 1 ]; }; lst = [ "a" [ "b" ] ];
  };
  structuredMulti = mk "smulti" "source $NIX_ATTRS_SH_FILE; echo \${outputs[dev]} > \${outputs[out]}; echo dev > \${outputs[dev]}" { __structuredAttrs = true; outputs = [ "out" "dev" ]; };
  structuredChecksOk = mk "schecks" "source .attrs.sh; echo ${plain} > \${outputs[out]}" { __structuredAttrs = true; outputChecks.out.allowedReferences = [ plain ]; };
  structuredChecksBad = mk "schecksbad" "source .attrs.sh; echo ${plain} > \${outputs[out]}" { __structuredAttrs = true; outputChecks.out.disallowedReferences = [ plain ]; };
  fixed = mk "fixed" "printf 'hello\\n' > $out" { outputHashMode = "flat"; outputHashAlgo = "sha256"; outputHash = "5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03"; };
  fixedSri = mk "fixed" "echo hello > $out" { outputHash = "sha256-WJG1tSLV3whtD/CxEPvZ0hu0/HFjrzTQgoai6Eb2vgM="; };
  fixedRec = mk "fixedrec" "/bin/mkdir $out" { outputHashMode = "recursive"; outputHashAlgo = "sha256"; outputHash = "0sjjj9z1dhilhpc8pq4154czrb79z9cm044jvn75kxcjv6v5l2m5"; };
  fixedSha1 = mk "fixedsha1" "echo hello > $out" { outputHashAlgo = "sha1"; outputHash = "f572d396fae9206628714fb2ce00f72e94f2258f"; };
  fixedBad = mk "fixedbad" "echo hi > $out" { outputHashAlgo = "sha256"; outputHash = "0000000000000000000000000000000000000000000000000000"; };
  fixedBadRec = mk "fixedbadrec" "/bin/mkdir $out; echo x > $out/f" { outputHashMode = "recursive"; outputHash = "sha256-AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="; };
  fixedImpure = mk "fiximpure" "echo hello > $out; echo \"$TIX_IMPURE_TEST\" >&2" { outputHash = "sha256-WJG1tSLV3whtD/CxEPvZ0hu0/HFjrzTQgoai6Eb2vgM="; impureEnvVars = [ "TIX_IMPURE_TEST" ]; };
  fixedFails = mk "fixfails" "exit 3" { outputHash = "sha256-WJG1tSLV3whtD/CxEPvZ0hu0/HFjrzTQgoai6Eb2vgM="; };
  usefixed = mk "usefixed" "/bin/cat ${fixed} > $out" { };
  usefixed2 = mk "usefixed" "/bin/cat ${fixedSri} > $out" { };
  multi = mk "multi" "/bin/mkdir $out $dev; echo $dev > $out/devpath; echo dev > $dev/file; echo $out > $out/self" { outputs = [ "out" "dev" ]; };
  usemulti = mk "usemulti" "echo ${multi.dev} > $out" { };
  threeOutputs = mk "three" "echo $bin > $out; echo $lib > $bin; echo lib > $lib" { outputs = [ "bin" "lib" "out" ]; };
  cycle = mk "cyc" "echo $dev > $out; echo $out > $dev" { outputs = [ "out" "dev" ]; };
  selfref = mk "selfref" "/bin/mkdir $out; echo $out > $out/me; /bin/ln -s $out/me $out/link" { };
  symlinkOut = mk "symout" "/bin/ln -s ${plain} $out" { };
  execFiles = mk "execs" "/bin/mkdir -p $out/bin $out/share/d; printf '#!/bin/sh\\n' > $out/bin/x; /bin/chmod 755 $out/bin/x; echo data > $out/share/d/f; /bin/chmod 600 $out/share/d/f" { };
  refInName = mk "refinname" "/bin/mkdir $out; /usr/bin/touch $out/${builtins.baseNameOf plain}" { };
  bareHashRef = mk "barehash" "echo ${builtins.substring 0 32 (builtins.baseNameOf plain)} > $out" { dep = plain; };
  unreferencedDep = mk "unrefdep" "echo nothing > $out" { dep = plain; };
  discardedContext = mk "discarded" "echo ${builtins.unsafeDiscardStringContext plain} > $out" { };
  placeholderArg = mk "placeholder" "echo ${builtins.placeholder "out"} > $out; echo $dev > $out.txt; echo x > ${builtins.placeholder "dev"}" { outputs = [ "out" "dev" ]; };
  allowedOk = mk "allowedok" "echo ${plain} > $out" { allowedReferences = [ plain ]; };
  allowedEmptyOk = mk "allowedempty" "echo none > $out" { allowedReferences = [ ]; };
  allowedBad = mk "allowedbad" "echo ${withdep} > $out" { allowedReferences = [ ]; };
  disallowedBad = mk "disallowedbad" "echo ${withdep} > $out" { disallowedReferences = [ withdep ]; };
  disallowedOk = mk "disallowedok" "echo ${withdep} > $out" { disallowedReferences = [ plain ]; };
  requisitesBad = mk "reqbad" "echo ${withdep} > $out" { allowedRequisites = [ withdep ]; };
  requisitesOk = mk "reqok" "echo ${withdep} > $out" { allowedRequisites = [ withdep plain src ]; };
  disRequisitesBad = mk "disreqbad" "echo ${withdep} > $out" { disallowedRequisites = [ plain ]; };
  allowedSelf = mk "allowedself" "echo $out > $out" { allowedReferences = [ "out" ]; };
  failing = mk "failing" "for i in 1 2 3 4 5 6 7 8 9 10 11 12; do echo line $i; done; exit 3" { };
  failingSignal = mk "failsig" "echo dying; kill -9 $$" { };
  noOutput = mk "noout" "true" { };
  depFails = mk "depfails" "echo ${failing} > $out" { };
  timesOut = mk "timesout" "echo start; /bin/sleep 30" { };
  stderrLog = mk "stderrlog" "echo to-stdout; echo to-stderr >&2; printf 'no newline'; echo > $out" { };
  carriageReturn = mk "cr" "printf 'abc\\rX\\nnext\\n'; echo > $out" { };
  unicode = mk "unicode" "echo 'héllo wörld ☃' > $out" { };
  specialArgs = derivation { name = "specialargs"; system = sys; builder = sh; args = [ "-c" "printf '%s|' \"$@\" > $out" "argv0" "a b" "c\"d" "e\\f" "" "tab\there" ]; };
  inputFile = mk "inputfile" "/bin/cat $f > $out" { f = ./build-cases.nix; };
  chain10 = chain 10;
  graph201 = mk "graph-root" "echo ${toString leaves} > $out" { };
  wide = mk "wide" "/bin/mkdir $out; echo ${toString (builtins.genList (i: leaf i) 20)} > $out/refs" { };
  exportRefs = mk "exportrefs" "/bin/cat graph > $out; echo --- >> $out; /bin/cat drvgraph >> $out" { exportReferencesGraph = [ "graph" withdep "drvgraph" usemulti.drvPath ]; };
  exportRefsStructured = mk "exportrefssa" "source .attrs.sh; /bin/mkdir \${outputs[out]}; /bin/cp .attrs.json .attrs.sh \${outputs[out]}/" {
    __structuredAttrs = true; exportReferencesGraph = { graph = withdep; drvgraph = usemulti.drvPath; both = [ plain fixed ]; empty = [ ]; }; };
  exportRefsNotInput = mk "exportrefsbad" "echo > $out" { exportReferencesGraph = [ "g" (builtins.unsafeDiscardStringContext plain) ]; };
  chatty = mk "chatty" "for i in 1 2 3 4 5 6 7 8 9 10; do echo 0123456789012345678901234567890123456789; /bin/sleep 0.05; done; echo > $out" { };
  noBuilder = derivation { name = "nobuilder"; system = sys; builder = "/nonexistent"; };
  nondet = mk "nondet" "echo $RANDOM$RANDOM$RANDOM > $out" { };
}
