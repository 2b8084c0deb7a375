/**
 * Runs async jobs one at a time in submission order. A failed job rejects its own promise and
 * does not stop later jobs (the caller decides what a failure means).
 */
export class SerialQueue {
  private tail: Promise<unknown> = Promise.resolve();

  run<T>(job: () => Promise<T>): Promise<T> {
    const result = this.tail.then(job);
    this.tail = result.catch(() => undefined);
    return result;
  }

  /** Resolves when every job submitted so far has finished. */
  async idle(): Promise<void> {
    await this.tail;
  }
}
