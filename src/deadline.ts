// Waiting with a time limit, the one way every stop and drain does it: the wait ends at the limit,
// the work itself goes on (it is not cancelled), and the timer never keeps the process alive.

/** Waits for `work` at most `ms`; says whether it settled (resolved or failed) in time. */
export async function within(work: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<false>((resolve) => {
    timer = setTimeout(resolve, Math.max(0, ms), false);
    timer.unref();
  });
  try {
    return await Promise.race([work.then(() => true, () => true), late]);
  } finally {
    clearTimeout(timer);
  }
}
