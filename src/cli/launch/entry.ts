/**
 * Entry of the launcher's Node side (bundled as dist/bundle/launch.js):
 * `launch.js manager <dir> <id> <bundle main.js>` runs a pool manager,
 * `launch.js child <manager pid>` a warm child. bin/tix starts the manager.
 */
const [mode, ...rest] = process.argv.slice(2);
if (mode === 'manager') {
  const { runManager } = await import('./manager.js');
  runManager(rest);
} else if (mode === 'child') {
  const { runWarmChild } = await import('./child.js');
  await runWarmChild(Number(rest[0]));
} else {
  process.stderr.write('usage: launch.js manager DIR ID BUNDLE | child PID\n');
  process.exitCode = 2;
}
