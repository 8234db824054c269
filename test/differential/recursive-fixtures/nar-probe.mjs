// Raw NarFromPath through the builder's socket (tix's protocol client), the
// way spec recursive-nix.md §3.3 probed 2.8: no validity query first.
// usage: node nar-probe.mjs <tix repo> <store dir> <socket> <path>
const [repo, storeDir, socket, path] = process.argv.slice(2);
const { RemoteStore, unixConnector } = await import(`${repo}/dist/src/protocol/index.js`);
const { StoreDir } = await import(`${repo}/dist/src/formats/index.js`);
const store = new RemoteStore({ storeDir, connect: unixConnector(socket), sendOptions: false });
let bytes = 0;
try {
  for await (const chunk of store.narFromPath(new StoreDir(storeDir).parse(path))) bytes += chunk.length;
  console.log(`leaked ${bytes}`);
} catch (e) {
  console.log(`refused: ${e.message}`);
}
process.exit(0);
