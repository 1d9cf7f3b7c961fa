/**
 * Which descriptor model answers for a gallery, and that model's own settings. A gallery is bound to one model (at
 * creation, or by its first enrollment); every search of it describes the probe with that model and compares only
 * that model's descriptors. Thresholds, the ambiguity margin and confidence come from the model's card; the
 * FACEREC_THRESHOLD and FACEREC_AMBIGUITY_MARGIN overrides apply to FACEREC_DESCRIPTOR_MODEL's model alone.
 */
import type { DescriptorModelCard, DescriptorRegistry } from '../engine/descriptor-models.js';
import { modelSummary } from '../engine/descriptor-models.js';
import { FacerecError } from '../errors.js';
import type { ConfidenceModel } from '../match/confidence.js';
import { ensureDescriptorIndex } from '../store/descriptor-index.js';
import type { Queryable } from '../store/database.js';
import { bindGallery, type Gallery } from '../store/galleries.repository.js';
import type { ServiceContext } from './context.js';

export interface ModelSettings {
  card: DescriptorModelCard;
  /** Same person at or below this distance for one comparison. */
  verifyThreshold: number;
  ambiguityMargin: number;
  confidence: ConfidenceModel;
}

/** A model's settings: its card's, with the configuration's overrides when it is the configured model. */
export function settingsOf(ctx: Pick<ServiceContext, 'analyzer' | 'config'>, card: DescriptorModelCard): ModelSettings {
  const configured = card.id === ctx.analyzer.models.default.id;
  return {
    card,
    verifyThreshold: (configured ? ctx.config.threshold : undefined) ?? card.verifyThreshold,
    ambiguityMargin: (configured ? ctx.config.ambiguityMargin : undefined) ?? card.ambiguityMargin,
    confidence: card.confidence,
  };
}

/**
 * The configured model (FACEREC_DESCRIPTOR_MODEL), or the one named; MODEL_UNUSABLE, with the reason, for an installed
 * model that cannot run here (nothing is bound to it or described with it).
 */
export function chosenModel(ctx: Pick<ServiceContext, 'analyzer' | 'config'>, model?: string): ModelSettings {
  const { models } = ctx.analyzer;
  const card = model ? models.get(model) : models.default;
  const reason = models.unusable(card.id);
  if (reason)
    throw new FacerecError('MODEL_UNUSABLE', `The descriptor model ${card.name} is installed but cannot run here: ${reason}`, {
      model: card.name,
      reason,
    });
  return settingsOf(ctx, card);
}

/** The model a gallery's searches use: its own, or the configured one while it has none. */
export function galleryModel(
  ctx: Pick<ServiceContext, 'analyzer' | 'config'>,
  gallery: Pick<Gallery, 'name' | 'descriptorModel'>,
): ModelSettings {
  if (!gallery.descriptorModel) return chosenModel(ctx);
  if (!ctx.analyzer.models.has(gallery.descriptorModel)) {
    throw new FacerecError(
      'UNKNOWN_MODEL',
      `Gallery "${gallery.name}" is bound to the descriptor model ${gallery.descriptorModel}, which is not installed here ` +
        '(its card is missing from models/descriptors and FACEREC_DESCRIPTOR_MODELS_DIR)',
      { gallery: gallery.name, model: gallery.descriptorModel },
    );
  }
  return chosenModel(ctx, gallery.descriptorModel);
}

/**
 * Binds a gallery without a model to `modelId` (inside the enrollment's transaction), with the model's index; a
 * gallery bound to another model refuses with MODEL_MISMATCH.
 */
export async function bindGalleryModel(q: Queryable, gallery: Pick<Gallery, 'id' | 'name'>, card: DescriptorModelCard): Promise<void> {
  await ensureDescriptorIndex(q, card);
  const bound = await bindGallery(q, gallery.id, card.id);
  if (bound !== card.id) throw modelMismatch(gallery.name, bound, card.id);
}

/**
 * Whether the gallery still searches with `modelId`, its row share-locked to the end of the caller's transaction, so
 * that a move to another model (which locks it to switch) cannot happen between this check and the search.
 */
export async function galleryStillOn(q: Queryable, galleryId: string, modelId: string): Promise<boolean> {
  const [row] = await q.query<{ descriptor_model: string | null }>('SELECT descriptor_model FROM galleries WHERE id = $1 FOR SHARE', [
    galleryId,
  ]);
  return !row?.descriptor_model || row.descriptor_model === modelId;
}

export function modelMismatch(gallery: string, bound: string | null, given: string): FacerecError {
  return new FacerecError(
    'MODEL_MISMATCH',
    `Gallery "${gallery}" holds descriptors of ${bound}; descriptors of ${given} cannot be stored or searched there ` +
      '(re-embed the gallery to change its model: facerec gallery reembed)',
    { gallery, galleryModel: bound, model: given },
  );
}

/** Every model this facerec can use (`facerec models`, GET /v1/models). */
export function listModels(ctx: { analyzer: { models: DescriptorRegistry } }) {
  return ctx.analyzer.models.cards.map((card) => modelSummary(card, ctx.analyzer.models));
}
