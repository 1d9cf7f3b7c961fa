/** The production worker entry: the engine's own operations (analyze, selfTest, memory), nothing else. */
import { hostEngine } from './worker-host.js';

await hostEngine();
