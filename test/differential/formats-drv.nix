# Derivations for the formats differential test: each attribute is
# instantiated by the reference Nix; tix must parse and re-print every .drv
# byte-identically and recompute its output paths and drv path.
let
  sys = "x86_64-linux";
  mk = attrs: derivation ({ system = sys; builder = "/bin/sh"; } // attrs);
  hello = builtins.toFile "hello.txt" "hello\n";
  ref = builtins.toFile "ref.txt" "see ${hello}\n";
  plain = mk { name = "plain"; args = [ "-c" "echo hello > $out" ]; };
  fixed = mk { name = "fixed"; args = [ "-c" "printf 'hello\\n' > $out" ]; outputHashMode = "flat"; outputHashAlgo = "sha256";
    outputHash = "5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03"; };
  fixed2 = mk { name = "fixed"; args = [ "-c" "echo hello > $out" ]; outputHash = "sha256-WJG1tSLV3whtD/CxEPvZ0hu0/HFjrzTQgoai6Eb2vgM="; };
  multi = mk { name = "multi"; outputs = [ "out" "dev" ]; args = [ "-c" "mkdir $out $dev" ]; };
  multi3 = mk { name = "multi3"; outputs = [ "bin" "lib" "out" ]; };
  cafloat = mk { name = "cafloat"; __contentAddressed = true; outputHashMode = "recursive"; outputHashAlgo = "sha256"; args = [ "-c" "echo ca > $out" ]; };
  chain = n: if n == 0 then plain else mk { name = "chain${toString n}"; prev = chain (n - 1); };
  left = mk { name = "left"; p = plain; };
  right = mk { name = "right"; p = plain; };
  inner = mk { name = "inner"; q = plain; };
in {
  inherit plain fixed fixed2 multi multi3 cafloat left right;
  withdep = mk { name = "withdep"; args = [ "-c" "echo ${plain} $src > $out" ]; src = hello; dep = plain;
    flag = true; off = false; nothing = null; num = 42; list = [ "a" 1 "b" ]; };
  fixedrec = mk { name = "fixedrec"; args = [ "-c" "mkdir $out" ]; outputHashMode = "recursive"; outputHashAlgo = "sha256";
    outputHash = "0sjjj9z1dhilhpc8pq4154czrb79z9cm044jvn75kxcjv6v5l2m5"; };
  fixedmd5 = mk { name = "fixedmd5"; outputHashAlgo = "md5"; outputHash = "b1946ac92492d2347c6235b4d2611184"; };
  fixedsha1rec = mk { name = "fixedsha1rec"; outputHashMode = "recursive"; outputHash = "sha1:3vicji760wsl599i1ki8m0w4rf111jar"; };
  fixedsha512 = mk { name = "fixedsha512"; outputHash = "sha512-3a81oZNherrMQXNJriBBMRLm+k6JqX6iCp7u5ktV05ohkpkqJ0/BqDa6PCOj/uu9RU1EI2Q86A4qmslPpUyknw=="; };
  usefixed = mk { name = "usefixed"; args = [ "-c" "cat ${fixed} > $out" ]; };
  usefixed2 = mk { name = "usefixed"; args = [ "-c" "cat ${fixed2} > $out" ]; };
  usemulti = mk { name = "usemulti"; args = [ "-c" "echo ${multi.dev} > $out" ]; };
  usemulti3 = mk { name = "usemulti3"; a = multi3.lib; b = multi3.bin; c = multi3.out; d = multi3; };
  escapes = mk { name = "escapes"; s = "tab\there\r\nback\\slash \"q\" $dollar \${x}"; args = [ "-c" "echo 'a\"b'" "\\" "" ]; };
  unicode = mk { name = "unicode"; s = "日本語 é 🙂 naïve"; "key é" = "v"; };
  coerce = mk { name = "coerce"; fl = 1.5; neg = -3; big = 9007199254740993; nested = [ [ "x" "y" ] true false null 3 ]; };
  pathinput = mk { name = "pathinput"; p = ./formats-drv.nix; };
  ignorenulls = mk { name = "ignorenulls"; __ignoreNulls = true; a = null; b = "kept"; };
  structured = mk { name = "structured"; __structuredAttrs = true; outputs = [ "out" "doc" ];
    n = 1; f = 2.5; b = true; z = null; l = [ 1 "two" [ 3 ] ]; nested = { x.y = "deep"; q = "a\"b\n"; }; dep = plain; };
  passasfile = mk { name = "passasfile"; passAsFile = [ "big" ]; big = builtins.concatStringsSep "\n" (builtins.genList toString 500); };
  drvpathctx = mk { name = "drvpathctx"; d = "${inner.drvPath}"; };
  placeholder = mk { name = "placeholder"; y = builtins.placeholder "out"; z = builtins.placeholder "dev"; outputs = [ "out" "dev" ]; };
  usecafloat = mk { name = "usecafloat"; dep = cafloat; };
  longname = mk { name = builtins.concatStringsSep "" (builtins.genList (_: "n") 150); };
  specialname = mk { name = "a+b-c.d_e?f=g"; };
  chain5 = chain 5;
  diamond = mk { name = "diamond"; l = left; r = right; };
  fodep = mk { name = "fodep"; dep = plain; outputHashMode = "recursive"; outputHash = "sha256-WJG1tSLV3whtD/CxEPvZ0hu0/HFjrzTQgoai6Eb2vgM="; };
  oddbuilder = derivation { name = "oddbuilder"; system = "aarch64-darwin"; builder = "/bin/my \"builder\"\t"; args = [ ]; };
  discarded = mk { name = "discarded"; s = builtins.unsafeDiscardStringContext "${plain}"; };
  splitoutputs = mk { name = "splitoutputs"; outputs = [ "out" "b c" ]; };
  bigenv = mk { name = "bigenv"; v = builtins.concatStringsSep "" (builtins.genList (i: "x${toString i}\t") 2000); };
  reftext = mk { name = "reftext"; f = ref; g = hello; };
  tofileargs = mk { name = "tofileargs"; args = [ (builtins.toFile "script.sh" "echo hi > $out") ]; };
  emptystr = mk { name = "emptystr"; e = ""; args = [ "" "" ]; };
  impure = mk { name = "impure"; __impure = true; };
}
