/**
 * Side-effect-free work a warm child does before it waits for a job, so the
 * job does not pay V8's lazy compilation of the hot paths on first call.
 */
export async function warmUp(): Promise<void> {
  // filled in after measuring
}
