// A minimal async mutex: tasks run one at a time, in the order they asked.
// Used per pending file to keep changes to its staging file in order with the
// start and abort of its uploads, and its journal writes in order.
export class Mutex {
  private tail: Promise<unknown> = Promise.resolve();

  run<T>(task: () => Promise<T>): Promise<T> {
    const result = this.tail.then(task);
    this.tail = result.then(
      () => undefined,
      () => undefined,
    );
    return result;
  }
}
