/** What a client needs to know of this server to ask it well: thresholds, gates and input limits, as configured. */
import type { EnrollmentGates } from '../config/index.js';
import type { ServiceContext } from './context.js';
import { LIMITS, type Limits } from './limits.js';

export interface Settings {
  /** The 1:1 threshold (verify, compare). */
  threshold: number;
  /** identify's target false positive identification rate: each gallery's threshold follows from it. */
  targetFpir: number;
  ambiguityMargin: number;
  /** The enrollment quality gates (FACEREC_ENROLL_*). */
  enrollment: EnrollmentGates;
  limits: Limits;
  maxImageBytes: number;
  maxImagePixels: number;
  /** The descriptor space of new faces. */
  descriptorModelId: string;
}

/** The server's settings: the UI takes its defaults and hints from here instead of constants of its own. */
export function settings(ctx: ServiceContext): Settings {
  const { config } = ctx;
  return {
    threshold: config.threshold,
    targetFpir: config.targetFpir,
    ambiguityMargin: config.ambiguityMargin,
    enrollment: { ...config.enrollment },
    limits: LIMITS,
    maxImageBytes: config.maxImageBytes,
    maxImagePixels: config.maxImagePixels,
    descriptorModelId: ctx.analyzer.descriptorModelId,
  };
}
