/** Descriptor model cards and registries made in memory, for analyzers that are not the engine. */
import { makeRegistry, type DescriptorModelCard, type DescriptorRegistry } from '../../src/engine/descriptor-models.js';
import { settingsOf } from '../../src/service/models.service.js';

/** A card like the shipped default's (128-d, Euclidean, its thresholds), under another id. */
export function fakeCard(id: string, overrides: Partial<DescriptorModelCard> = {}): DescriptorModelCard {
  return {
    id,
    name: id.toLowerCase().replace(/[^a-z0-9._-]/g, '-'),
    description: 'a test double',
    source: 'test',
    license: 'test',
    weights: { builtin: 'faceRecognitionNet' },
    input: { size: 150, layout: 'NHWC', channels: 'RGB', mean: [0, 0, 0], std: [1, 1, 1] },
    align: { template: 'dlib-chip', padding: 0.25 },
    mirror: true,
    output: { dims: 128, metric: 'euclidean' },
    verifyThreshold: 0.59,
    ambiguityMargin: 0.02,
    confidence: { slope: -39.2994, intercept: 23.8499 },
    dir: '(memory)',
    shipped: true,
    ...overrides,
  };
}

/** A registry of fake cards, the first one the default; the others as if brought by the user (no impostor model). */
export function fakeRegistry(id: string, ...others: string[]): DescriptorRegistry {
  return makeRegistry([fakeCard(id), ...others.map((m) => fakeCard(m, { shipped: false }))], id);
}

/** The 1:1 threshold of the context's configured model (its card's, or FACEREC_THRESHOLD). */
export function verifyThresholdOf(ctx: Parameters<typeof settingsOf>[0]): number {
  return settingsOf(ctx, ctx.analyzer.models.default).verifyThreshold;
}
