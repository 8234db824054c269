# Probes of the beyond-upstream items, run by recursive-e2e.test.ts. Each
# builder records what happened in $out instead of failing, so the test can
# compare tix with the reference.
with import ./config.nix;
let
  salt = builtins.getEnv "TIX_TEST_SALT";
  probe = name: cmd: mkDerivation {
    inherit name;
    NIX_REMOTE = "daemon";
    unreachable = builtins.getEnv "TIX_TEST_UNREACHABLE";
    lingerMs = builtins.getEnv "TIX_TEST_LINGER_MS";
    tixRepo = builtins.getEnv "TIX_TEST_REPO";
    hostState = builtins.getEnv "TIX_TEST_STATE";
    requiredSystemFeatures = [ "recursive-nix" ];
    buildCommand = ''
      mkdir $out
      sock=''${NIX_REMOTE#unix://}
      ${cmd}
    '';
  };
in
{
  # 6.1: reading a path outside the closure by name (NarFromPath over the socket).
  dump = probe "probe-dump" ''
    node ${./nar-probe.mjs} "$tixRepo" "$NIX_STORE_DIR" "$sock" "$unreachable" > $out/result
    cut -d' ' -f1 $out/result | tr -d : > $out/status
  '';
  # 6.4: a client that connects and closes before the handshake.
  hangup = probe "probe-hangup" ''
    node -e "const s=require('net').connect(process.argv[1]);s.on('connect',()=>s.destroy());s.on('error',()=>{})" "$sock"
    node -e "const s=require('net').connect(process.argv[1]);s.on('connect',()=>{s.write(Buffer.from('garbage, not a worker protocol handshake'));s.end()});s.on('error',()=>{})" "$sock"
    nix path-info $unreachable 2>/dev/null || true
    echo survived > $out/status
  '';
  # 6.4: a client that keeps its connection open after the builder exits.
  linger = probe "probe-linger" ''
    setsid node -e "const s=require('net').connect(process.argv[1]);s.on('error',()=>{});setTimeout(()=>process.exit(0),Number(process.argv[2]))" "$sock" "$lingerMs" > /dev/null 2>&1 < /dev/null &
    echo $! > $out/linger-pid
    sleep 0.5
    echo done > $out/status
  '';
  # 6.7: an inner fixed-output derivation whose output is not valid yet.
  fod = probe "probe-fod" ''
    if nix-build --no-out-link -E 'derivation { name = "fod-${salt}"; system = builtins.currentSystem; builder = "/bin/bash";
          args = [ "-c" "echo hello > $out" ]; outputHashMode = "flat"; outputHashAlgo = "sha256";
          outputHash = "5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03"; }' > $out/result 2> $out/err
    then echo built > $out/status; else echo refused > $out/status; fi
  '';
  # 6.6: an inner derivation needing a system feature the outer one lacks.
  feature = probe "probe-feature" ''
    if nix-build --no-out-link -E 'derivation { name = "needs-big-parallel"; system = builtins.currentSystem; builder = "/bin/bash";
          requiredSystemFeatures = [ "big-parallel" ]; args = [ "-c" "echo hi > $out" ]; }' > $out/result 2> $out/err
    then echo built > $out/status; else echo refused > $out/status; fi
  '';
  # 2.1/6: the socket overrides a drv's own NIX_REMOTE; SetOptions from the
  # inner client (--max-jobs 0, substituters) are ignored.
  options = probe "probe-options" ''
    echo "$NIX_REMOTE" > $out/remote
    ls -A > $out/builddir
    if nix-build --no-out-link --max-jobs 0 --option substituters file:///nonexistent -E 'derivation { name = "opts-${salt}";
          system = builtins.currentSystem; builder = "/bin/bash"; args = [ "-c" "echo > $out" ]; }' > $out/result 2> $out/err
    then echo built > $out/status; else echo refused > $out/status; fi
  '';
  # Without the feature: no socket, NIX_REMOTE untouched.
  plain = mkDerivation {
    name = "probe-plain";
    NIX_REMOTE = "daemon";
    buildCommand = ''
      mkdir $out
      echo "$NIX_REMOTE" > $out/remote
      ls -A > $out/builddir
      echo done > $out/status
    '';
  };
  # 3: a path added through the socket is live for a host GC run during the build.
  gc = probe "probe-gc" ''
    echo "gc me not ${salt}" > ./added
    added=$(nix-store --add ./added)
    NIX_REMOTE= NIX_STATE_DIR=$hostState nix-store --gc --print-live > $out/live 2> $out/gc || true
    if grep -qx "$added" $out/live; then echo kept > $out/status; else echo collected > $out/status; fi
  '';
  # 6.4: a made-up realisation id, then an ordinary op on the same connection.
  realisation = probe "probe-realisation" ''
    node ${./realisation-probe.mjs} "$tixRepo" "$sock" "$unreachable" > $out/result
    echo survived > $out/status
  '';
}
