/** Processes of this machine, as the stores and builders see them. */

/** Whether process `pid` exists (signal 0: EPERM means it does, but is not ours to signal). */
export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}
