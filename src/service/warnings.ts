/** Warnings about a photo that was used, but not all of it: the answer says so instead of choosing silently. */
import { extraFrames } from '../image/decode.js';

/**
 * FIRST_FRAME_ONLY: the photo is an animation (GIF, WebP, APNG) or holds several pages (TIFF, HEIF); only its first
 * frame was searched for faces. Not refused: a GIF of a face is a photo of that face, and its first frame is the one
 * every viewer shows first; but a caller who sent an animation may have meant its other frames too.
 */
export interface PhotoWarning {
  code: 'FIRST_FRAME_ONLY';
  message: string;
  format: string;
  frames: number;
  /** Which photo, when the call takes several (compare's image A or B). */
  image?: string;
}

/** The warnings about one photo (`which` names it when the call takes several). */
export async function photoWarnings(bytes: Uint8Array, which?: string): Promise<PhotoWarning[]> {
  const framed = await extraFrames(bytes);
  if (!framed) return [];
  const what = which ?? 'the photo';
  return [
    {
      code: 'FIRST_FRAME_ONLY',
      message: `Only the first of the ${framed.frames} frames of ${what} (${framed.format.toUpperCase()}) was used`,
      format: framed.format,
      frames: framed.frames,
      ...(which ? { image: which } : {}),
    },
  ];
}

/** `{ warnings }` when there are any, to spread into an answer; nothing otherwise. */
export const withWarnings = (warnings: PhotoWarning[]): { warnings?: PhotoWarning[] } => (warnings.length ? { warnings } : {});
