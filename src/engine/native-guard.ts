/**
 * Ending a worker thread while ONNX Runtime runs in it aborts the whole process (onnxruntime-node's completion
 * throws into the torn-down thread: "terminate called after throwing an instance of 'Napi::Error'"). So the pool ends
 * a worker in two steps over a shared buffer: it raises `stop`, which keeps the worker from starting another native
 * call, waits until no call is in flight, and only then terminates the thread. sharp and tfjs need no such care.
 */
import { setTimeout as sleep } from 'node:timers/promises';

// Int32 slots of the shared buffer.
const IN_FLIGHT = 0;
const STOP = 1;

let guard: Int32Array | undefined;

/** The buffer the pool hands a worker (workerData.guard). */
export function newGuard(): SharedArrayBuffer {
  return new SharedArrayBuffer(2 * Int32Array.BYTES_PER_ELEMENT);
}

/** In the worker: native calls from now on report through this buffer. */
export function installGuard(buffer: SharedArrayBuffer | undefined): void {
  guard = buffer ? new Int32Array(buffer) : undefined;
}

/** Runs a call into native code that must not be cut by the thread's end; a worker being stopped starts none. */
export async function nativeCall<T>(call: () => Promise<T>): Promise<T> {
  if (!guard) return call();
  Atomics.add(guard, IN_FLIGHT, 1);
  if (Atomics.load(guard, STOP)) {
    Atomics.sub(guard, IN_FLIGHT, 1);
    return new Promise<never>(() => {});
  }
  try {
    return await call();
  } finally {
    Atomics.sub(guard, IN_FLIGHT, 1);
  }
}

/** In the pool: stops the worker's native calls, waits for the one in flight to return, then ends the thread. */
export async function endWhenSafe(buffer: SharedArrayBuffer, terminate: () => Promise<number>): Promise<number> {
  const shared = new Int32Array(buffer);
  Atomics.store(shared, STOP, 1);
  while (Atomics.load(shared, IN_FLIGHT) > 0) await sleep(10);
  return terminate();
}
