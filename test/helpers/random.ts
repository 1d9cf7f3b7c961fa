/** Small deterministic PRNG (mulberry32) so that failures are reproducible: the one the evaluation draws with. */
export { rng } from '../../src/core/random.js';
