// A made-up realisation id through the builder's socket (spec recursive-nix.md
// §3.7: 2.8 aborts the outer build on it). Then an ordinary op on the same
// connection must still work. Prints "answered" or "dropped".
// usage: node realisation-probe.mjs <tix repo> <socket> <valid path>
const [repo, socket, valid] = process.argv.slice(2);
const { ClientConnection, unixConnector } = await import(`${repo}/dist/src/protocol/worker/client-conn.js`);
const { WireWriter } = await import(`${repo}/dist/src/formats/index.js`);
const conn = new ClientConnection(await unixConnector(socket)(), { sendOptions: false });
try {
  await conn.init();
  await conn.send(new WireWriter().u64(43).string('sha256:1b4sb93wp679q4zx9k1ignby1yna3z7c4c2ri3wphylbc2szlpz3!out'));
  await conn.processStderr();
  await conn.reader.u64(); // count of realisations (0 or a JSON list)
  await conn.send(new WireWriter().u64(1).string(valid)); // IsValidPath
  await conn.processStderr();
  console.log(`answered ${await conn.reader.u64()}`);
} catch (e) {
  console.log(`dropped: ${e.message}`);
}
process.exit(0);
