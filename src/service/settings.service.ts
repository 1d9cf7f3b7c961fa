/** What a client needs to know of this server to ask it well: thresholds, gates and input limits, as configured. */
import type { EnrollmentGates } from '../config/index.js';
import { CLUSTER_RULE } from '../match/cluster/params.js';
import { FACES_PER_NAMING } from './clusters.service.js';
import type { ServiceContext } from './context.js';
import { LIMITS, type Limits } from './limits.js';
import { chosenModel } from './models.service.js';

export interface Settings {
  /** The configured model's 1:1 threshold (verify, compare). */
  threshold: number;
  /** identify's target false positive identification rate: each gallery's threshold follows from it. */
  targetFpir: number;
  ambiguityMargin: number;
  /** The enrollment quality gates (FACEREC_ENROLL_*). */
  enrollment: EnrollmentGates;
  limits: Limits;
  maxImageBytes: number;
  maxImagePixels: number;
  /** The descriptor space of new galleries (FACEREC_DESCRIPTOR_MODEL). */
  descriptorModelId: string;
  /** Its short name. */
  descriptorModel: string;
  /** Faces seen (kept only when a gallery or a call asks): how long they are kept, and when a group of them is suggested. */
  sightings: { retentionDays: number; minClusterSize: number; facesPerNaming: number };
}

/** The server's settings: the UI takes its defaults and hints from here instead of constants of its own. */
export function settings(ctx: ServiceContext): Settings {
  const { config } = ctx;
  const model = chosenModel(ctx);
  return {
    threshold: model.verifyThreshold,
    targetFpir: config.targetFpir,
    ambiguityMargin: model.ambiguityMargin,
    enrollment: { ...config.enrollment },
    limits: LIMITS,
    maxImageBytes: config.maxImageBytes,
    maxImagePixels: config.maxImagePixels,
    descriptorModelId: model.card.id,
    descriptorModel: model.card.name,
    sightings: {
      retentionDays: config.sightingRetentionDays,
      minClusterSize: CLUSTER_RULE.minClusterSize,
      facesPerNaming: FACES_PER_NAMING,
    },
  };
}
