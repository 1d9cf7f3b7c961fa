/**
 * The face-free photos of the detection benchmark (docs/accuracy.md, False faces): Debian's desktop wallpapers
 * (`gnome-backgrounds`, `desktop-base`, read from where the packages install them), the photos without a face of the
 * shared datasets, and synthetic textures of 12–45 MP made at run time (synthetic.ts). Every box found on them is a
 * false face; the benchmark counts them per 100 megapixels.
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readFile, readdir, realpath } from 'node:fs/promises';
import path from 'node:path';
import sharp from 'sharp';
import type { AnnotatedPhoto } from './detection.js';
import { syntheticPatterns } from './synthetic.js';

/** Where Debian's packages install their wallpapers. */
export const WALLPAPER_DIRS = ['/usr/share/backgrounds/gnome', '/usr/share/desktop-base'] as const;

/** The packages that install them, to name in a message when they are missing. */
export const WALLPAPER_PACKAGES = 'gnome-backgrounds desktop-base';

// Each checked by eye: landscapes of colour, abstract shapes, textures, Debian's swirl, icons (the GNOME "pixels"
// icons include a cartoon animal, "symbolic" a frowning-monitor glyph: drawings, not faces). Left out: the login-screen
// screenshots, whose user pictures are silhouettes of a human head.
const EXCLUDED = [/sddm-preview/];

// desktop-base ships each theme's art in several sizes per folder; one (the largest) per folder is enough.
const DESKTOP_BASE_FOLDERS = /^([^/]+-theme)\/(wallpaper|wallpaper-withlogo|lockscreen|login|grub)\b/;

const IMAGE_FILE = /\.(jpe?g|png|webp|svg)$/i;

/** Image files under `dir`, relative to it, each once: a link (desktop-base's `active-theme`) counts as its target. */
async function listImages(dir: string): Promise<string[]> {
  const root = await realpath(dir);
  const files = new Set<string>();
  for (const f of await readdir(dir, { recursive: true })) {
    if (!IMAGE_FILE.test(f) || EXCLUDED.some((x) => x.test(f))) continue;
    const real = path.relative(root, await realpath(path.join(dir, f)));
    if (!real.startsWith('..')) files.add(real);
  }
  return [...files].sort();
}

/**
 * The wallpapers found under `dirs` (default WALLPAPER_DIRS), named by their folder's name and path within it:
 * identical files once, desktop-base's largest per folder.
 */
export async function wallpaperFiles(dirs: readonly string[] = WALLPAPER_DIRS): Promise<Array<{ file: string; name: string }>> {
  const files: Array<{ file: string; name: string }> = [];
  const named = (dir: string, file: string) => ({ file, name: path.join(path.basename(dir), path.relative(dir, file)) });
  for (const dir of dirs.filter((d) => existsSync(d))) {
    const images = await listImages(dir);
    if (path.basename(dir) !== 'desktop-base') {
      files.push(...images.map((f) => named(dir, path.join(dir, f))));
      continue;
    }
    const largest = new Map<string, { file: string; pixels: number }>();
    for (const f of images) {
      const folder = DESKTOP_BASE_FOLDERS.exec(f);
      if (!folder) continue; // logos, icons, boot splash pieces
      const meta = await sharp(path.join(dir, f)).metadata();
      const pixels = (meta.width ?? 0) * (meta.height ?? 0);
      const key = `${folder[1]}/${folder[2]}`;
      if (pixels > (largest.get(key)?.pixels ?? 0)) largest.set(key, { file: path.join(dir, f), pixels });
    }
    files.push(...[...largest.values()].map((v) => named(dir, v.file)).sort((a, b) => a.name.localeCompare(b.name)));
  }
  const seen = new Set<string>();
  const unique: Array<{ file: string; name: string }> = [];
  for (const f of files) {
    const hash = createHash('sha256')
      .update(await readFile(f.file))
      .digest('hex');
    if (!seen.has(hash)) {
      seen.add(hash);
      unique.push(f);
    }
  }
  return unique;
}

/** A photo as the engine takes it: SVG is rendered at its own size to JPEG (the engine does not read SVG). */
async function photoBytes(file: string): Promise<Uint8Array> {
  const bytes = await readFile(file);
  if (!/\.svg$/i.test(file)) return bytes;
  return sharp(bytes, { limitInputPixels: false }).flatten({ background: '#ffffff' }).jpeg({ quality: 92 }).toBuffer();
}

const faceFree = (set: string, name: string, bytes: () => Promise<Uint8Array>): AnnotatedPhoto => ({
  set,
  name,
  faces: [],
  ignore: [],
  bytes,
});

// The photos of the shared datasets that show no face (cars with 6 px pedestrians, dogs, a blank image).
const DATASET_NO_FACE = [
  'dlib-examples/no-face/mmod_cars_test_image.jpg',
  'dlib-examples/no-face/mmod_cars_test_image2.jpg',
  'dlib-examples/faces/dogs.jpg',
  'bbt/misc/white.png',
];

export const FACE_FREE_SETS = {
  wallpapers: 'face-free: wallpapers',
  synthetic: 'face-free: synthetic',
  datasets: 'face-free: datasets',
} as const;

export interface FaceFreeOptions {
  datasets: string;
  /** Wallpaper folders; default WALLPAPER_DIRS. */
  wallpaperDirs?: readonly string[];
}

/** Every face-free photo, and which of their sources are missing (to say so). */
export async function faceFreePhotos(options: FaceFreeOptions): Promise<{ photos: AnnotatedPhoto[]; missing: string[] }> {
  const missing: string[] = [];
  const dirs = options.wallpaperDirs ?? WALLPAPER_DIRS;
  const wallpapers = await wallpaperFiles(dirs);
  // Each folder that gave none is named, with its package when it is Debian's: half the set is still a different set.
  for (const dir of dirs) {
    if (wallpapers.some((w) => w.file.startsWith(dir + path.sep))) continue;
    const pkg = WALLPAPER_PACKAGES.split(' ')[(WALLPAPER_DIRS as readonly string[]).indexOf(dir)];
    missing.push(`no wallpapers under ${dir}${pkg ? ` (apt-get install ${pkg})` : ''}`);
  }
  const photos = wallpapers.map((w) => faceFree(FACE_FREE_SETS.wallpapers, w.name, () => photoBytes(w.file)));
  for (const p of syntheticPatterns()) photos.push(faceFree(FACE_FREE_SETS.synthetic, p.name, p.bytes));
  for (const f of DATASET_NO_FACE) {
    const file = path.join(options.datasets, f);
    if (existsSync(file)) photos.push(faceFree(FACE_FREE_SETS.datasets, f, () => readFile(file)));
    else missing.push(file);
  }
  return { photos, missing };
}
