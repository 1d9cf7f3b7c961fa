import { createRequire } from 'node:module';
import path from 'node:path';
import { FacerecError } from '../errors.js';

export type FaceApi = typeof import('@vladmandic/face-api');
export type Tf = typeof import('@tensorflow/tfjs');
export type BackendName = 'gpu' | 'node' | 'wasm' | 'cpu';
export type BackendChoice = BackendName | 'auto';

/** The loaded inference runtime: face-api bound to one tfjs backend. */
export interface Runtime {
  faceapi: FaceApi;
  tf: Tf;
  backend: BackendName;
  versions: { tfjs: string; faceapi: string };
}

const require = createRequire(import.meta.url);

// Each face-api Node build is compiled against one tfjs flavour; the native ones are optional installs.
const FACEAPI_BUILD: Record<BackendName, string> = {
  gpu: '@vladmandic/face-api/dist/face-api.node-gpu.js',
  node: '@vladmandic/face-api/dist/face-api.node.js',
  wasm: '@vladmandic/face-api/dist/face-api.node-wasm.js',
  cpu: '@vladmandic/face-api/dist/face-api.node-wasm.js',
};

async function tryBackend(name: BackendName): Promise<Runtime> {
  const faceapi = require(FACEAPI_BUILD[name]) as FaceApi;
  const tf = faceapi.tf as unknown as Tf;
  if (name === 'wasm') {
    // Binaries come from node_modules, never from a CDN.
    const wasm = require('@tensorflow/tfjs-backend-wasm') as typeof import('@tensorflow/tfjs-backend-wasm');
    const wasmDir = path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm'));
    wasm.setWasmPaths(`${wasmDir}${path.sep}`);
  }
  const tfName = name === 'gpu' || name === 'node' ? 'tensorflow' : name;
  if (!(await tf.setBackend(tfName))) throw new Error(`tfjs could not initialise the '${tfName}' backend`);
  await tf.ready();
  return { faceapi, tf, backend: name, versions: { tfjs: tf.version.tfjs, faceapi: faceapi.version } };
}

let runtime: Promise<Runtime> | undefined;
let runtimeChoice: BackendChoice | undefined;

/**
 * Loads face-api on the chosen backend, once per process or worker. 'auto' tries the native GPU and CPU
 * builds of tfjs-node when they are installed and falls back to WASM. A failed load can be retried.
 */
export function loadRuntime(choice: BackendChoice = 'auto'): Promise<Runtime> {
  if (runtime && runtimeChoice === choice) return runtime;
  if (runtime) throw new FacerecError('INVALID_CONFIG', `The tfjs backend is already '${runtimeChoice}' in this process`);
  runtimeChoice = choice;
  runtime = (async () => {
    if (choice !== 'auto') {
      try {
        return await tryBackend(choice);
      } catch (err) {
        throw new FacerecError('BACKEND_UNAVAILABLE', `The '${choice}' backend is not available: ${(err as Error).message}`, {
          backend: choice,
        });
      }
    }
    for (const name of ['gpu', 'node'] as const) {
      try {
        require.resolve(name === 'gpu' ? '@tensorflow/tfjs-node-gpu' : '@tensorflow/tfjs-node');
      } catch {
        continue;
      }
      try {
        return await tryBackend(name);
      } catch {
        // An installed but broken native build (missing libtensorflow) falls through to the next.
      }
    }
    return tryBackend('wasm');
  })();
  runtime.catch(() => {
    runtime = undefined;
    runtimeChoice = undefined;
  });
  return runtime;
}
