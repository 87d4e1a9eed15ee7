/**
 * Group commit: calls that must each be followed by the same slow confirmation (a `WAIT n
 * timeout` on their master's connection) share one when they arrive together or while another
 * is out. Per key, at most one batch is in flight; the calls that come meanwhile wait for it and
 * then go together, at most `maxBatch` per batch. A batch is sent from a microtask, so calls
 * submitted in the same turn of the event loop share the first one too.
 *
 * Used by RedisStore.scriptThenWait: a WAIT blocks its connection until the replicas answer, so
 * without it the appends of one process to one master would be confirmed one after another, a
 * replica round trip each; with it, one WAIT covers every write its connection sent before it.
 */

/** Calls per batch when the caller does not say. */
export const MAX_COMMIT_BATCH = 128;

/** Sends one batch; answers one result per call, in their order. A throw fails every call of the batch. */
export type CommitSend<C, R> = (calls: readonly C[]) => Promise<readonly R[]>;

interface Pending<C, R> {
  call: C;
  send: CommitSend<C, R>;
  resolve(result: R): void;
  reject(err: unknown): void;
}

interface Queue<C, R> {
  waiting: Array<Pending<C, R>>;
  busy: boolean;
}

export class CommitQueues<C, R> {
  private readonly queues = new Map<string, Queue<C, R>>();

  constructor(private readonly maxBatch = MAX_COMMIT_BATCH) {
    if (!Number.isSafeInteger(maxBatch) || maxBatch < 1) throw new RangeError(`maxBatch must be a positive integer, got ${maxBatch}`);
  }

  /**
   * `call` goes in the next batch of `key`. Calls of one key must be interchangeable for `send`:
   * the batch is sent with the `send` of its first call.
   */
  submit(key: string, call: C, send: CommitSend<C, R>): Promise<R> {
    return new Promise<R>((resolve, reject) => {
      let q = this.queues.get(key);
      if (!q) this.queues.set(key, (q = { waiting: [], busy: false }));
      q.waiting.push({ call, send, resolve, reject });
      if (!q.busy && q.waiting.length === 1) {
        const queue = q;
        queueMicrotask(() => this.next(key, queue));
      }
    });
  }

  /** Keys with calls waiting or a batch in flight (for tests and diagnostics). */
  get size(): number {
    return this.queues.size;
  }

  private next(key: string, q: Queue<C, R>): void {
    if (q.busy) return;
    const batch = q.waiting.splice(0, this.maxBatch);
    const first = batch[0];
    if (!first) {
      this.queues.delete(key);
      return;
    }
    q.busy = true;
    let sent: Promise<readonly R[]>;
    try {
      sent = first.send(batch.map((p) => p.call));
    } catch (err) {
      sent = Promise.reject(err);
    }
    sent
      .then(
        (results) => {
          batch.forEach((p, i) => {
            if (i < results.length) p.resolve(results[i] as R);
            else p.reject(new Error(`a batch of ${batch.length} calls was answered with ${results.length} results`));
          });
        },
        (err: unknown) => {
          for (const p of batch) p.reject(err);
        },
      )
      .finally(() => {
        q.busy = false;
        this.next(key, q);
      });
  }
}
