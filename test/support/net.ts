// Waiting helpers shared by the tests, the smoke test and the benchmarks.
//
// No helper here hands out a port: a port reserved now and bound later can be taken in between by
// any other program's bind(0) (the kernel hands a just-released port straight back about once in
// 2,000 binds, and supertest alone binds one per request). Servers bind port 0 and report theirs.

/** How long a wait lasts before it fails: generous, because a busy machine is slow, not wrong. */
export const PATIENCE_MS = 60_000;

/** Polls `check` until it holds; throws naming `what` after the deadline. */
export async function until(check: () => boolean | Promise<boolean>, what: string, timeoutMs = PATIENCE_MS): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}
