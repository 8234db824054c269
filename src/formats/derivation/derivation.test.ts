import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { StoreDir } from '../store-path.js';
import { parseDerivation, derivationNameFromPath } from './aterm-parse.js';
import { printDerivation } from './aterm-write.js';
import { hashDerivationModulo, preloadInputDerivations } from './hash-modulo.js';
import { checkDerivationOutputs, computeDrvPath, fillInOutputPaths } from './output-paths.js';
import { showDerivationJson } from './json.js';
import { derivationType, type Derivation } from './types.js';

const SD = new StoreDir('/nix/store');
const S = '/nix/store/';
const sha = (s: string): string => createHash('sha256').update(Buffer.from(s, 'latin1')).digest('hex');

// spec formats.md §4.4 (/nix/store); texts are byte-exact.
const PLAIN = `Derive([("out","${S}91dkhdfrdzngb4m62zak427y2vpamanj-plain","","")],[],[],"x86_64-linux","/bin/sh",["-c","echo hello > $out"],[("builder","/bin/sh"),("name","plain"),("out","${S}91dkhdfrdzngb4m62zak427y2vpamanj-plain"),("system","x86_64-linux")])`;
const WITHDEP = `Derive([("out","${S}k26mbkjgglk6ni8qh8n9nrxi6wn9wma4-withdep","","")],[("${S}v17r5l1xbgiqdravaj0dra2js09d47h6-plain.drv",["out"])],["${S}y19k6ahg57qh010idhn1y2kzf25mq75z-src.txt"],"x86_64-linux","/bin/sh",["-c","echo ${S}91dkhdfrdzngb4m62zak427y2vpamanj-plain $src > $out"],[("builder","/bin/sh"),("dep","${S}91dkhdfrdzngb4m62zak427y2vpamanj-plain"),("flag","1"),("list","a 1 b"),("name","withdep"),("nothing",""),("num","42"),("off",""),("out","${S}k26mbkjgglk6ni8qh8n9nrxi6wn9wma4-withdep"),("src","${S}y19k6ahg57qh010idhn1y2kzf25mq75z-src.txt"),("system","x86_64-linux")])`;
const WITHDEP_MASKED = `Derive([("out","","","")],[("d662613f56c143dfbed00add3bf0e71cfb0f1f623cecdf770106385709df5444",["out"])],["${S}y19k6ahg57qh010idhn1y2kzf25mq75z-src.txt"],"x86_64-linux","/bin/sh",["-c","echo ${S}91dkhdfrdzngb4m62zak427y2vpamanj-plain $src > $out"],[("builder","/bin/sh"),("dep","${S}91dkhdfrdzngb4m62zak427y2vpamanj-plain"),("flag","1"),("list","a 1 b"),("name","withdep"),("nothing",""),("num","42"),("off",""),("out",""),("src","${S}y19k6ahg57qh010idhn1y2kzf25mq75z-src.txt"),("system","x86_64-linux")])`;
const FIXED = `Derive([("out","${S}ilghkg8sqnh9275b62zcvsq9kpkym8yl-fixed","sha256","5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03")],[],[],"x86_64-linux","/bin/sh",["-c","printf 'hello\\\\n' > $out"],[("builder","/bin/sh"),("name","fixed"),("out","${S}ilghkg8sqnh9275b62zcvsq9kpkym8yl-fixed"),("outputHash","5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03"),("outputHashAlgo","sha256"),("outputHashMode","flat"),("system","x86_64-linux")])`;
const FIXEDREC = `Derive([("out","${S}017sb64aw45kdxxalyhga2gr1l7v2d38-fixedrec","r:sha256","a50a5ab6d992f5598edd92105059fae9acfc192981e08bd88534c2167e92526a")],[],[],"x86_64-linux","/bin/sh",["-c","/bin/mkdir $out"],[("builder","/bin/sh"),("name","fixedrec"),("out","${S}017sb64aw45kdxxalyhga2gr1l7v2d38-fixedrec"),("outputHash","0sjjj9z1dhilhpc8pq4154czrb79z9cm044jvn75kxcjv6v5l2m5"),("outputHashAlgo","sha256"),("outputHashMode","recursive"),("system","x86_64-linux")])`;
const USEFIXED = `Derive([("out","${S}ibpf677gkavmk4wcvkd0sf3pfvpcj522-usefixed","","")],[("${S}c757kvbc3hd958dq02iy2irqhq6lvjhq-fixed.drv",["out"])],[],"x86_64-linux","/bin/sh",["-c","/bin/cat ${S}ilghkg8sqnh9275b62zcvsq9kpkym8yl-fixed > $out"],[("builder","/bin/sh"),("name","usefixed"),("out","${S}ibpf677gkavmk4wcvkd0sf3pfvpcj522-usefixed"),("system","x86_64-linux")])`;
const USEFIXED_MASKED = `Derive([("out","","","")],[("c3b6d1eebd533918f719647ec106431221274c38fe835ea9cf516b1b1f3aa07f",["out"])],[],"x86_64-linux","/bin/sh",["-c","/bin/cat ${S}ilghkg8sqnh9275b62zcvsq9kpkym8yl-fixed > $out"],[("builder","/bin/sh"),("name","usefixed"),("out",""),("system","x86_64-linux")])`;
const MULTI = `Derive([("dev","${S}ggpvk59fzhzsa3wpz4dsdmh93vvsx516-multi-dev","",""),("out","${S}vmahqahn2vsy7pj4x5xpky5d68l8dsj6-multi","","")],[],[],"x86_64-linux","/bin/sh",["-c","/bin/mkdir $out $dev; echo $dev > $out/devpath; echo dev > $dev/file; echo $out > $out/self"],[("builder","/bin/sh"),("dev","${S}ggpvk59fzhzsa3wpz4dsdmh93vvsx516-multi-dev"),("name","multi"),("out","${S}vmahqahn2vsy7pj4x5xpky5d68l8dsj6-multi"),("outputs","out dev"),("system","x86_64-linux")])`;
const USEMULTI = `Derive([("out","${S}h8gm0a133h74ilxbfdqh64nm4y32m85z-usemulti","","")],[("${S}2r442rvccrcrwwp3vi5jyfqi56jzcr7c-multi.drv",["dev"])],[],"x86_64-linux","/bin/sh",["-c","echo ${S}ggpvk59fzhzsa3wpz4dsdmh93vvsx516-multi-dev > $out"],[("builder","/bin/sh"),("name","usemulti"),("out","${S}h8gm0a133h74ilxbfdqh64nm4y32m85z-usemulti"),("system","x86_64-linux")])`;
const CAFLOAT = `Derive([("out","","r:sha256","")],[],[],"x86_64-linux","/bin/sh",["-c","echo ca > $out"],[("builder","/bin/sh"),("name","cafloat"),("out","/1rz4g4znpzjwh1xymhjpm42vipw92pr73vdgl6xs1hycac8kf2n9"),("outputHashAlgo","sha256"),("outputHashMode","recursive"),("system","x86_64-linux")])`;

const DRVS: Record<string, string> = {
  [`${S}v17r5l1xbgiqdravaj0dra2js09d47h6-plain.drv`]: PLAIN,
  [`${S}ann8lv6qkwz3rqznv30z9pjz5bprfzqv-withdep.drv`]: WITHDEP,
  [`${S}c757kvbc3hd958dq02iy2irqhq6lvjhq-fixed.drv`]: FIXED,
  [`${S}gvcxkd2lmvd7y6phaz8ndhjyd0b1snvd-fixedrec.drv`]: FIXEDREC,
  [`${S}j9nb6j3yhkvbvziw2i7ym0nm69l6rnvc-usefixed.drv`]: USEFIXED,
  [`${S}2r442rvccrcrwwp3vi5jyfqi56jzcr7c-multi.drv`]: MULTI,
  [`${S}6gzpx8a98n8x2swgz67shqpvjfandf7v-usemulti.drv`]: USEMULTI,
  [`${S}kby6gbmq2av1naay3bq2caxhzv8slyh1-cafloat.drv`]: CAFLOAT,
};

const parse = (p: string): Derivation => parseDerivation(DRVS[p]!, derivationNameFromPath(p), { storeDir: SD });
const opts = { storeDir: SD, resolve: parse };

for (const [path, text] of Object.entries(DRVS)) {
  const name = derivationNameFromPath(path);
  test(`drv ${name}: parse → print is byte-identical, drv path and outputs recompute`, () => {
    const drv = parse(path);
    assert.equal(printDerivation(drv), text);
    assert.equal(SD.print(computeDrvPath(drv, SD)), path);
    checkDerivationOutputs(drv, path, opts);
    const refilled = fillInOutputPaths(drv, opts);
    assert.equal(printDerivation(refilled), text);
  });
}

test('masked modulo texts and hashes (spec §4.4)', () => {
  assert.equal(sha(printDerivation(parse(`${S}v17r5l1xbgiqdravaj0dra2js09d47h6-plain.drv`), { maskOutputs: true })), '33a0ea61a3cf94912e4a784e39ef0caf1ed744bdda608d361efeb86886cdf9e9');
  const withdep = parse(`${S}ann8lv6qkwz3rqznv30z9pjz5bprfzqv-withdep.drv`);
  const h = hashDerivationModulo(withdep, { maskOutputs: true, resolve: parse });
  assert.equal(sha(WITHDEP_MASKED), '86121868294137d66df9e382bfce25915c3594b5491be613985cccfc1f0724d5');
  assert.equal(h.hashes.get('out')!.base16, '86121868294137d66df9e382bfce25915c3594b5491be613985cccfc1f0724d5');
  const uf = hashDerivationModulo(parse(`${S}j9nb6j3yhkvbvziw2i7ym0nm69l6rnvc-usefixed.drv`), { maskOutputs: true, resolve: parse });
  assert.equal(uf.hashes.get('out')!.base16, sha(USEFIXED_MASKED));
  assert.equal(sha(USEFIXED_MASKED), '7ee345821944cd518dce68c2a9f3fe96adab3e30cf36f340dde7eef3d94fac16');
  const fixed = hashDerivationModulo(parse(`${S}c757kvbc3hd958dq02iy2irqhq6lvjhq-fixed.drv`), { maskOutputs: false, resolve: parse });
  assert.equal(fixed.hashes.get('out')!.base16, 'c3b6d1eebd533918f719647ec106431221274c38fe835ea9cf516b1b1f3aa07f');
  const rec = hashDerivationModulo(parse(`${S}gvcxkd2lmvd7y6phaz8ndhjyd0b1snvd-fixedrec.drv`), { maskOutputs: false, resolve: parse });
  assert.equal(rec.hashes.get('out')!.base16, '60709514a8045b2e85804067e9055e940821fa0fea8e0c9bff844f1e9d29dc79');
  const multi = parse(`${S}2r442rvccrcrwwp3vi5jyfqi56jzcr7c-multi.drv`);
  assert.equal(hashDerivationModulo(multi, { maskOutputs: true, resolve: parse }).hashes.get('dev')!.base16, '79a8e30b5c6cb4b79efcadbbe3872a3ec1279c87a43aec9552769a3309b6befc');
  assert.equal(hashDerivationModulo(multi, { maskOutputs: false, resolve: parse }).hashes.get('out')!.base16, '2703355be8298dd54a0d446a69d485fafb8431bd66d6c194b4e031b3b499a2cd');
  const um = hashDerivationModulo(parse(`${S}6gzpx8a98n8x2swgz67shqpvjfandf7v-usemulti.drv`), { maskOutputs: true, resolve: parse });
  assert.equal(um.hashes.get('out')!.base16, '45b0b752b70e992effc3a2f53d51fe325e4bff5875aa653e93e741ac3b826bef');
  const ca = hashDerivationModulo(parse(`${S}kby6gbmq2av1naay3bq2caxhzv8slyh1-cafloat.drv`), { maskOutputs: true, resolve: parse });
  assert.equal(ca.kind, 'deferred');
  assert.equal(ca.hashes.get('out')!.base16, '2890f9c1b4e78549f2d31648cd583134740e64c9c1ed25c10543a0f0be387a99');
});

test('fillInOutputPaths builds outputs from a drv with blank outputs', () => {
  const drv = parse(`${S}2r442rvccrcrwwp3vi5jyfqi56jzcr7c-multi.drv`);
  for (const o of drv.outputs.values()) o.path = '';
  drv.env.set('out', '');
  drv.env.set('dev', '');
  assert.equal(printDerivation(fillInOutputPaths(drv, opts)), MULTI);
  const fixed = parse(`${S}c757kvbc3hd958dq02iy2irqhq6lvjhq-fixed.drv`);
  fixed.outputs.get('out')!.path = '';
  fixed.env.delete('out');
  assert.equal(printDerivation(fillInOutputPaths(fixed, opts)), FIXED);
});

test('escaping: only builder, args and env are escaped; bytes stay bytes', () => {
  const text = `Derive([("out","/s/x","","")],[],[],"pl\tat","/b\\"\\\\\\n\\r\\t",["\\u00ff\xff\x01"],[("k\\"","v\\n\xe9")])`;
  const drv = parseDerivation(text, 'x');
  assert.equal(drv.builder, '/b"\\\n\r\t');
  assert.equal(drv.platform, 'pl\tat');
  assert.equal(drv.args[0], 'u00ff\xff\x01');
  assert.equal(drv.env.get('k"'), 'v\n\xe9');
  const printed = printDerivation(drv);
  assert.equal(printed, `Derive([("out","/s/x","","")],[],[],"pl\tat","/b\\"\\\\\\n\\r\\t",["u00ff\xff\x01"],[("k\\"","v\\n\xe9")])`);
});

test('malformed ATerm is a clear error', () => {
  const bad = ['', 'Derive(', 'Derive([("out","x","","")],[],[],"a","b",[],[])', PLAIN + 'x', PLAIN.slice(0, -5), 'Derive([("out"', PLAIN.replace('"x86_64-linux"', '"x86_64-linux')];
  for (const t of bad) assert.throws(() => parseDerivation(t, 'x'), (e: Error) => e.name === 'NixError', JSON.stringify(t.slice(0, 40)));
  assert.throws(() => parseDerivation(PLAIN.replace(S + '91d', '/elsewhere/91d'), 'plain', { storeDir: SD }), /not in the Nix store/);
});

test('derivation types', () => {
  assert.equal(derivationType(parse(`${S}c757kvbc3hd958dq02iy2irqhq6lvjhq-fixed.drv`)), 'fixed');
  assert.equal(derivationType(parse(`${S}kby6gbmq2av1naay3bq2caxhzv8slyh1-cafloat.drv`)), 'floating');
  const d = parseDerivation(`Derive([("a","/s/x","sha256","00"),("out","/s/y","","")],[],[],"p","b",[],[])`, 'x');
  assert.throws(() => derivationType(d), /same kind/);
});

test('JSON form matches 2.8 layout', () => {
  const m = new Map([[`${S}v17r5l1xbgiqdravaj0dra2js09d47h6-plain.drv`, parse(`${S}v17r5l1xbgiqdravaj0dra2js09d47h6-plain.drv`)]]);
  const want = `{
  "${S}v17r5l1xbgiqdravaj0dra2js09d47h6-plain.drv": {
    "outputs": {
      "out": {
        "path": "${S}91dkhdfrdzngb4m62zak427y2vpamanj-plain"
      }
    },
    "inputSrcs": [],
    "inputDrvs": {},
    "system": "x86_64-linux",
    "builder": "/bin/sh",
    "args": [
      "-c",
      "echo hello > $out"
    ],
    "env": {
      "builder": "/bin/sh",
      "name": "plain",
      "out": "${S}91dkhdfrdzngb4m62zak427y2vpamanj-plain",
      "system": "x86_64-linux"
    }
  }
}
`;
  assert.equal(showDerivationJson(m), want);
  const ca = showDerivationJson(new Map([['/x', parse(`${S}kby6gbmq2av1naay3bq2caxhzv8slyh1-cafloat.drv`)]]));
  assert.match(ca, /"out": \{\n {8}"hashAlgo": "r:sha256"\n {6}\}/);
});

test('mutated ATerm texts give a Derivation or a NixError, nothing else', () => {
  let seed = 12345;
  const rand = (): number => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff);
  const texts = Object.values(DRVS);
  const alphabet = '()[],"\\/ax\n';
  let parsed = 0;
  for (let i = 0; i < 3000; i++) {
    let t = texts[i % texts.length]!;
    for (let k = 0; k < 1 + ((rand() * 3) | 0); k++) {
      const pos = (rand() * t.length) | 0;
      const r = rand();
      if (r < 0.4) t = t.slice(0, pos) + t.slice(pos + 1 + ((rand() * 5) | 0));
      else if (r < 0.8) t = t.slice(0, pos) + alphabet[(rand() * alphabet.length) | 0] + t.slice(pos);
      else t = t.slice(0, pos);
    }
    try {
      const d = parseDerivation(t, 'x');
      printDerivation(d);
      parsed++;
    } catch (e) {
      assert.equal((e as Error).name, 'NixError', `${(e as Error).stack} for ${JSON.stringify(t)}`);
    }
  }
  assert.ok(parsed > 0);
});

test('preloadInputDerivations gives the same hashes from an async source', async () => {
  const usemulti = parse(`${S}6gzpx8a98n8x2swgz67shqpvjfandf7v-usemulti.drv`);
  let loads = 0;
  const resolve = await preloadInputDerivations(usemulti, async (p) => (loads++, parse(p)));
  assert.equal(loads, 1);
  assert.equal(hashDerivationModulo(usemulti, { maskOutputs: true, resolve }).hashes.get('out')!.base16, '45b0b752b70e992effc3a2f53d51fe325e4bff5875aa653e93e741ac3b826bef');
});
