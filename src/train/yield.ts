/*
 * Handing control back to the event loop between training steps, in a browser page, a Web
 * Worker, Node, Deno or Bun, without requiring any of them:
 * - setImmediate where it exists (Node, Bun): it runs after pending I/O and lets due timers run
 *   first. A MessagePort is not a fair yield in Node: it drains up to 1000 queued messages in one
 *   loop turn, so a loop that posts its next message from the handler starves timers and I/O.
 * - a MessageChannel message in browsers and workers: a task of its own, run as soon as the loop
 *   is free; setTimeout(0) would do too, but browsers clamp nested timeouts to 4 ms, which costs
 *   a 2 ms training step three times its own length.
 * - setTimeout(0) where there is neither.
 */

export interface Yielder {
  /** Resolves after the event loop has had a turn (rendering, input, timers, I/O). */
  next(): Promise<void>;
  /** Releases the channel (an open MessagePort keeps Node's event loop alive). */
  close(): void;
}

interface Port {
  onmessage: ((e: unknown) => void) | null;
  postMessage(m: unknown): void;
  close(): void;
}

interface Hosts {
  setImmediate?: (cb: () => void) => unknown;
  MessageChannel?: new () => { port1: Port; port2: Port };
}

export function createYielder(): Yielder {
  const g = globalThis as unknown as Hosts;
  const immediate = g.setImmediate;
  if (typeof immediate === 'function') {
    return { next: () => new Promise<void>((resolve) => { immediate(resolve); }), close() {} };
  }
  const MC = g.MessageChannel;
  if (typeof MC !== 'function') {
    return { next: () => new Promise<void>((resolve) => { setTimeout(resolve, 0); }), close() {} };
  }
  const channel = new MC();
  const waiting: Array<() => void> = [];
  channel.port1.onmessage = () => { waiting.shift()?.(); };
  return {
    next: () => new Promise<void>((resolve) => {
      waiting.push(resolve);
      channel.port2.postMessage(0);
    }),
    close() {
      channel.port1.onmessage = null;
      channel.port1.close();
      channel.port2.close();
    },
  };
}
