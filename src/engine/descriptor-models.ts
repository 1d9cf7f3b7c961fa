/**
 * The descriptor model registry: one JSON card per model, in models/descriptors/ (shipped) and in
 * FACEREC_DESCRIPTOR_MODELS_DIR (bring your own ONNX model). A card says everything the engine and the matcher need
 * to use a model correctly: its weights and checksum, its input and alignment, its output and metric, and its own
 * thresholds. Descriptors of different models live in different spaces and are never compared (docs/models.md).
 */
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import { FacerecError } from '../errors.js';

// Stored with every face and written into SQL as a literal (the partial index's predicate), so kept to safe characters.
const MODEL_ID = /^[A-Za-z0-9][A-Za-z0-9@._+/-]{0,199}$/;
const rgb = z.tuple([z.number(), z.number(), z.number()]);

const cardSchema = z
  .object({
    /** Stored with every face: descriptors of two ids are never compared. Versioned: a new file or pipeline is a new id. */
    id: z.string().regex(MODEL_ID, 'letters, digits and @ . _ + / - only'),
    /** The short name users type (FACEREC_DESCRIPTOR_MODEL, --model); the id works too. */
    name: z.string().regex(/^[a-z0-9][a-z0-9._-]{0,63}$/, 'lower-case letters, digits, . _ - only'),
    description: z.string().default(''),
    source: z.string().min(1),
    license: z.string().min(1),
    /** The weights: face-api's own recognition net (manifest.json), or an ONNX file beside the card with its sha256. */
    weights: z.union([
      z.object({ builtin: z.literal('faceRecognitionNet') }).strict(),
      z
        .object({
          file: z.string().regex(/^[^/\\]+\.onnx$/, 'an .onnx file name in the same folder as the card'),
          sha256: z.string().regex(/^[0-9a-f]{64}$/),
        })
        .strict(),
    ]),
    input: z
      .object({
        /** Side of the square input, pixels. */
        size: z.number().int().min(16).max(1024),
        layout: z.enum(['NCHW', 'NHWC']),
        channels: z.enum(['RGB', 'BGR']),
        /** value = (pixel − mean) / std per channel, pixels 0..255, in the card's channel order. */
        mean: rgb,
        std: rgb,
      })
      .strict(),
    /**
     * 'dlib-chip': dlib's 150×150 chip (68-point similarity fit, `padding` around dlib's mean face), resized to the input.
     * 'arcface-5pt': the 5-point ArcFace template (eye centres, nose tip, mouth corners) at 112×112, scaled to the input.
     */
    align: z.discriminatedUnion('template', [
      z.object({ template: z.literal('dlib-chip'), padding: z.number().min(0).max(1) }).strict(),
      z.object({ template: z.literal('arcface-5pt') }).strict(),
    ]),
    /** Average the descriptors of the aligned face and its mirror image. */
    mirror: z.boolean(),
    output: z
      .object({
        dims: z.number().int().min(2).max(2000),
        /** 'cosine' descriptors are stored L2-normalised, so that Euclidean distance ranks them as cosine does. */
        metric: z.enum(['euclidean', 'cosine']),
      })
      .strict(),
    /** Same person at or below this distance for one comparison (verify, compare, enrollment checks). */
    verifyThreshold: z.number().positive().max(2),
    /** Two people closer than this to the probe's best match make the answer ambiguous. */
    ambiguityMargin: z.number().min(0).max(1),
    /** P(same | distance) = 1 / (1 + exp(−(intercept + slope · distance))), fitted on labelled pairs. */
    confidence: z.object({ slope: z.number().negative(), intercept: z.number() }).strict(),
    /** How the card's figures were measured (dataset, command). */
    measured: z.string().optional(),
  })
  .strict();

export type DescriptorModelCard = z.infer<typeof cardSchema> & {
  /** The folder the card was read from: its ONNX file is there. */
  dir: string;
  /** Shipped with facerec, or brought by the user. */
  shipped: boolean;
};

export const SHIPPED_CARDS_DIR = 'descriptors';

export interface DescriptorRegistry {
  readonly cards: readonly DescriptorModelCard[];
  /** The model of new galleries and of embed, compare, detect and eval (FACEREC_DESCRIPTOR_MODEL). */
  readonly default: DescriptorModelCard;
  /** A model by id or name; UNKNOWN_MODEL names the ones there are. */
  get(idOrName: string): DescriptorModelCard;
  has(id: string): boolean;
  /** Why an installed model cannot run here (its file missing or corrupt, not ONNX, unlike its card), or undefined. */
  unusable(id: string): string | undefined;
}

export interface RegistryOptions {
  /** The models folder: cards in its descriptors/ subfolder. */
  modelsDir: string;
  /** A folder of the user's own cards and ONNX files. */
  userDir?: string;
  /** FACEREC_DESCRIPTOR_MODEL: id or name; the shipped card marked default otherwise. */
  defaultModel?: string;
}

/** The shipped default: face-api's 128-d dlib ResNet on dlib's chip with its mirror image. */
export const BUILTIN_DEFAULT_NAME = 'face-api-128';

async function readCards(dir: string, shipped: boolean): Promise<DescriptorModelCard[]> {
  let files: string[];
  try {
    files = (await readdir(dir)).filter((f) => f.endsWith('.json')).sort();
  } catch (err) {
    if (!shipped && (err as NodeJS.ErrnoException).code === 'ENOENT')
      throw new FacerecError('INVALID_CONFIG', `FACEREC_DESCRIPTOR_MODELS_DIR ${dir} does not exist`, { dir });
    throw new FacerecError('MODEL_LOAD_FAILED', `Cannot read the model cards in ${dir}: ${(err as Error).message}`, { dir });
  }
  const cards: DescriptorModelCard[] = [];
  for (const file of files) {
    const full = path.join(dir, file);
    let json: unknown;
    try {
      json = JSON.parse(await readFile(full, 'utf8'));
    } catch (err) {
      throw new FacerecError('MODEL_LOAD_FAILED', `Model card ${full} is not JSON: ${(err as Error).message}`, { file: full });
    }
    const parsed = cardSchema.safeParse(json);
    if (!parsed.success) {
      const problems = parsed.error.issues.map((i) => `${i.path.join('.') || '(card)'}: ${i.message}`);
      throw new FacerecError('MODEL_LOAD_FAILED', `Model card ${full} is invalid: ${problems.join('; ')}`, { file: full, problems });
    }
    if ('builtin' in parsed.data.weights && !shipped)
      throw new FacerecError('MODEL_LOAD_FAILED', `Model card ${full}: only shipped cards may use builtin weights`, { file: full });
    cards.push({ ...parsed.data, dir, shipped });
  }
  return cards;
}

/** Reads and checks every card (ids and names unique); model files are verified when a worker loads them. */
export async function loadRegistry(options: RegistryOptions): Promise<DescriptorRegistry> {
  const cards = await readCards(path.join(options.modelsDir, SHIPPED_CARDS_DIR), true);
  if (options.userDir) cards.push(...(await readCards(options.userDir, false)));
  for (const [i, card] of cards.entries()) {
    const twin = cards.slice(0, i).find((c) => c.id === card.id || c.name === card.name || c.id === card.name || c.name === card.id);
    if (twin)
      throw new FacerecError(
        'MODEL_LOAD_FAILED',
        `Model cards ${twin.name} (${twin.dir}) and ${card.name} (${card.dir}) share an id or name`,
        {
          id: card.id,
          name: card.name,
        },
      );
  }
  return makeRegistry(cards, options.defaultModel, options.modelsDir);
}

/** A registry over cards already read (tests build one in memory); the default as loadRegistry picks it. */
export function makeRegistry(cards: DescriptorModelCard[], defaultModel?: string, modelsDir = '(memory)'): DescriptorRegistry {
  const find = (idOrName: string) => cards.find((c) => c.id === idOrName || c.name === idOrName);
  const get = (idOrName: string): DescriptorModelCard => {
    const card = find(idOrName);
    if (!card)
      throw new FacerecError('UNKNOWN_MODEL', `No descriptor model '${idOrName}'; there are: ${cards.map((c) => c.name).join(', ')}`, {
        model: idOrName,
        models: cards.map((c) => c.name),
      });
    return card;
  };
  // face-api's net, or the one shipped card of a models folder made for tests.
  const builtin = find(BUILTIN_DEFAULT_NAME) ?? cards.find((c) => c.shipped);
  if (!builtin)
    throw new FacerecError('MODEL_LOAD_FAILED', `${path.join(modelsDir, SHIPPED_CARDS_DIR)} has no model card`, {
      dir: modelsDir,
    });
  const chosen = defaultModel ? get(defaultModel) : builtin;
  return { cards, default: chosen, get, has: (id) => cards.some((c) => c.id === id), unusable: () => undefined };
}

/** The registry, with the models that a worker found unable to run (by id, with the reason). */
export function withUnusable(registry: DescriptorRegistry, reasons: Readonly<Record<string, string>>): DescriptorRegistry {
  return { ...registry, unusable: (id) => reasons[id] ?? registry.unusable(id) };
}

/** Scales, in place, a descriptor to unit length (cosine models' storage form). */
export function normalizeL2(v: number[]): number[] {
  const n = Math.hypot(...v);
  if (n > 0) for (let i = 0; i < v.length; i++) v[i]! /= n;
  return v;
}

/** What `facerec models --json` prints for each model. */
export function modelSummary(card: DescriptorModelCard, registry: DescriptorRegistry) {
  return {
    id: card.id,
    name: card.name,
    dims: card.output.dims,
    metric: card.output.metric,
    default: card.id === registry.default.id,
    source: card.source,
    license: card.license,
    shipped: card.shipped,
    usable: registry.unusable(card.id) === undefined,
    ...(registry.unusable(card.id) ? { unusableReason: registry.unusable(card.id) } : {}),
  };
}
