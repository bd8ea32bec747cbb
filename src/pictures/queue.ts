// One image at a time per process: decoding is CPU- and memory-heavy, and a few at once would only
// finish later together. A short line waits; beyond it, uploads are refused at once (503), as the
// password-hashing queue refuses rather than build a backlog nobody wants to wait for.

// Five waiting behind one running: at ~0.1–0.7 s an image, a wait of a few seconds at most, and
// at most six uploads' bodies (5 MiB each) held in memory by this process.
export const MAX_WAITING_IMAGES = 5;

export type Slot<T> = { ok: true; value: T } | { ok: false; reason: 'busy'; retryAfterSeconds: number };

export class ImageQueue {
  #running = false;
  readonly #waiting: (() => void)[] = [];
  readonly #maxWaiting: number;

  constructor(maxWaiting = MAX_WAITING_IMAGES) {
    this.#maxWaiting = maxWaiting;
  }

  /** Whether a new upload would be refused now: checked before its body is read, to save reading it. */
  get full(): boolean {
    return this.#running && this.#waiting.length >= this.#maxWaiting;
  }

  /** Runs `work` when it is its turn, or answers busy at once when the line is full. */
  async run<T>(work: () => Promise<T>): Promise<Slot<T>> {
    if (this.full) return { ok: false, reason: 'busy', retryAfterSeconds: 2 };
    if (this.#running) await new Promise<void>((resolve) => this.#waiting.push(resolve));
    this.#running = true;
    try {
      return { ok: true, value: await work() };
    } finally {
      // Hand the turn straight to the next in line, or free it.
      const next = this.#waiting.shift();
      if (next) next();
      else this.#running = false;
    }
  }
}
