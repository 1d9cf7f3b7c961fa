import { createRequire } from 'node:module';
import path from 'node:path';
import { GlobalFonts } from '@napi-rs/canvas';

/** Font family name under which the bundled DejaVu Sans is registered. */
export const FONT_FAMILY = 'FacerecSans';

let registered = false;

/** Registers the bundled DejaVu Sans (regular + bold) as 'FacerecSans' once; safe to call repeatedly. */
export function ensureFonts(): string {
  if (registered) return FONT_FAMILY;
  // Resolve via package.json so it works regardless of cwd and without system fonts.
  const dir = path.join(path.dirname(createRequire(import.meta.url).resolve('dejavu-fonts-ttf/package.json')), 'ttf');
  for (const file of ['DejaVuSans.ttf', 'DejaVuSans-Bold.ttf']) {
    if (!GlobalFonts.registerFromPath(path.join(dir, file), FONT_FAMILY)) {
      throw new Error(`Failed to register font ${path.join(dir, file)}`);
    }
  }
  registered = true;
  return FONT_FAMILY;
}
