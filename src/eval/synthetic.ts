/**
 * Synthetic face-free photos for the detection benchmark: textures and patterns of 12–45 MP, made at run time from a
 * seed, so that nothing large is stored and every run sees the same pixels. None holds a face, so every box the
 * detector finds on one is a false face.
 */
import sharp from 'sharp';
import { rng } from '../core/random.js';

/** One pattern: fills packed RGB pixels of width × height. */
type Fill = (rgb: Uint8Array, width: number, height: number, random: () => number) => void;

export interface SyntheticPattern {
  name: string;
  width: number;
  height: number;
  /** JPEG or PNG bytes, as a camera or an editor would give them (PNG when it compresses well). */
  bytes: () => Promise<Uint8Array>;
}

// A 32-bit integer hash of a pixel's position (murmur's finaliser): fine noise with no visible period.
function hash2(x: number, y: number, seed = 0): number {
  let h = (Math.imul(x, 0x27d4eb2d) ^ Math.imul(y, 0x165667b1) ^ seed) >>> 0;
  h = Math.imul(h ^ (h >>> 15), 0x85ebca6b) >>> 0;
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35) >>> 0;
  return (h ^ (h >>> 16)) >>> 0;
}

const clamp = (v: number): number => (v < 0 ? 0 : v > 255 ? 255 : Math.round(v));

function perPixel(f: (x: number, y: number) => [number, number, number] | number): Fill {
  return (rgb, width, height) => {
    let o = 0;
    for (let y = 0; y < height; y++) {
      for (let x = 0; x < width; x++, o += 3) {
        const v = f(x, y);
        if (typeof v === 'number') rgb[o] = rgb[o + 1] = rgb[o + 2] = clamp(v);
        else {
          rgb[o] = clamp(v[0]);
          rgb[o + 1] = clamp(v[1]);
          rgb[o + 2] = clamp(v[2]);
        }
      }
    }
  };
}

/** Smooth value noise: a lattice of random values every `cell` px, interpolated with a smoothstep. */
function valueNoise(width: number, height: number, cell: number, random: () => number): Float32Array {
  const gw = Math.ceil(width / cell) + 2,
    gh = Math.ceil(height / cell) + 2;
  const grid = Float32Array.from({ length: gw * gh }, () => random());
  const out = new Float32Array(width * height);
  const s = (t: number) => t * t * (3 - 2 * t);
  for (let y = 0; y < height; y++) {
    const gy = Math.floor(y / cell),
      fy = s(y / cell - gy);
    for (let x = 0; x < width; x++) {
      const gx = Math.floor(x / cell),
        fx = s(x / cell - gx);
      const a = grid[gy * gw + gx]!,
        b = grid[gy * gw + gx + 1]!,
        c = grid[(gy + 1) * gw + gx]!,
        d = grid[(gy + 1) * gw + gx + 1]!;
      out[y * width + x] = a + (b - a) * fx + (c - a + (a - b - c + d) * fx) * fy;
    }
  }
  return out;
}

/** Bilinear upscale of a one-channel field of gw × gh to width × height (smooth textures are made small). */
function upscale(field: Float32Array, gw: number, gh: number, width: number, height: number): Float32Array {
  const out = new Float32Array(width * height);
  const kx = (gw - 1) / (width - 1),
    ky = (gh - 1) / (height - 1);
  for (let y = 0; y < height; y++) {
    const sy = y * ky,
      y0 = Math.floor(sy),
      y1 = Math.min(gh - 1, y0 + 1),
      fy = sy - y0;
    for (let x = 0; x < width; x++) {
      const sx = x * kx,
        x0 = Math.floor(sx),
        x1 = Math.min(gw - 1, x0 + 1),
        fx = sx - x0;
      const top = field[y0 * gw + x0]! + (field[y0 * gw + x1]! - field[y0 * gw + x0]!) * fx;
      const bottom = field[y1 * gw + x0]! + (field[y1 * gw + x1]! - field[y1 * gw + x0]!) * fx;
      out[y * width + x] = top + (bottom - top) * fy;
    }
  }
  return out;
}

/** Fractal noise (clouds, smoke): octaves of value noise of halving weight, cells in pixels of the photo, made at a quarter size. */
const fbm: (octaves: number[], colour: boolean) => Fill = (octaves, colour) => (rgb, width, height, random) => {
  const gw = Math.ceil(width / 4),
    gh = Math.ceil(height / 4);
  const channels = colour ? 3 : 1;
  for (let c = 0; c < channels; c++) {
    const sum = new Float32Array(gw * gh);
    let weight = 1,
      total = 0;
    for (const cell of octaves) {
      const n = valueNoise(gw, gh, Math.max(1, cell / 4), random);
      for (let i = 0; i < sum.length; i++) sum[i]! += n[i]! * weight;
      total += weight;
      weight /= 2;
    }
    const full = upscale(sum, gw, gh, width, height);
    for (let i = 0; i < full.length; i++) {
      // A little grain, as a camera or a print has.
      const v = clamp((full[i]! / total) * 255 + (hash2(i % width, Math.floor(i / width), c) & 7) - 4);
      if (colour) rgb[i * 3 + c] = v;
      else rgb[i * 3] = rgb[i * 3 + 1] = rgb[i * 3 + 2] = v;
    }
  }
};

/** Cellular texture (stones, cobbles): each pixel shaded by its distance to the nearest of random seed points. */
const cells: (cell: number) => Fill = (cell) => (rgb, width, height, random) => {
  const gw = Math.ceil(width / cell),
    gh = Math.ceil(height / cell);
  const px = Float32Array.from({ length: gw * gh }, (_, i) => ((i % gw) + random()) * cell);
  const py = Float32Array.from({ length: gw * gh }, (_, i) => (Math.floor(i / gw) + random()) * cell);
  const tone = Array.from({ length: gw * gh }, () => [90 + random() * 120, 80 + random() * 100, 60 + random() * 90]);
  let o = 0;
  for (let y = 0; y < height; y++) {
    const cy = Math.floor(y / cell);
    for (let x = 0; x < width; x++, o += 3) {
      const cx = Math.floor(x / cell);
      let best = Infinity,
        second = Infinity,
        which = 0;
      for (let j = Math.max(0, cy - 1); j <= Math.min(gh - 1, cy + 1); j++) {
        for (let i = Math.max(0, cx - 1); i <= Math.min(gw - 1, cx + 1); i++) {
          const k = j * gw + i;
          const d = (x - px[k]!) ** 2 + (y - py[k]!) ** 2;
          if (d < best) {
            second = best;
            best = d;
            which = k;
          } else if (d < second) second = d;
        }
      }
      // Dark mortar where two cells meet.
      const edge = Math.min(1, (Math.sqrt(second) - Math.sqrt(best)) / (cell * 0.08));
      const t = tone[which]!;
      rgb[o] = clamp(t[0]! * (0.35 + 0.65 * edge));
      rgb[o + 1] = clamp(t[1]! * (0.35 + 0.65 * edge));
      rgb[o + 2] = clamp(t[2]! * (0.35 + 0.65 * edge));
    }
  }
};

/** Random discs of random colours over a colour field: abstract art, with many pairs of round blobs. */
const discs: (count: number, largest: number) => Fill = (count, largest) => (rgb, width, height, random) => {
  const bg = [random() * 255, random() * 255, random() * 255];
  for (let i = 0; i < width * height; i++) {
    rgb[i * 3] = bg[0]!;
    rgb[i * 3 + 1] = bg[1]!;
    rgb[i * 3 + 2] = bg[2]!;
  }
  const side = Math.min(width, height);
  for (let k = 0; k < count; k++) {
    const r = side * (0.002 + largest * random() ** 2);
    const cx = random() * width,
      cy = random() * height;
    const col = [random() * 255, random() * 255, random() * 255];
    for (let y = Math.max(0, Math.floor(cy - r)); y < Math.min(height, Math.ceil(cy + r)); y++) {
      for (let x = Math.max(0, Math.floor(cx - r)); x < Math.min(width, Math.ceil(cx + r)); x++) {
        if ((x - cx) ** 2 + (y - cy) ** 2 > r * r) continue;
        const o = (y * width + x) * 3;
        rgb[o] = col[0]!;
        rgb[o + 1] = col[1]!;
        rgb[o + 2] = col[2]!;
      }
    }
  }
};

/** Basket weave: over-and-under strips of `strip` px, each shaded across like a rounded reed. */
const weave: (strip: number) => Fill = (strip) =>
  perPixel((x, y) => {
    const i = Math.floor(x / strip),
      j = Math.floor(y / strip);
    const over = (i + j) % 2 === 0;
    const t = over ? (x % strip) / strip : (y % strip) / strip;
    const shade = 0.55 + 0.45 * Math.sin(Math.PI * t);
    const grain = (hash2(x >> 2, y >> 2) & 31) - 16;
    return [190 * shade + grain, 150 * shade + grain, 95 * shade + grain];
  });

interface Recipe {
  name: string;
  width: number;
  height: number;
  fill: Fill;
  /** PNG for flat synthetic art that compresses well; JPEG otherwise. */
  png?: boolean;
}

/**
 * The synthetic face-free set: textures and patterns from 12 to 45 MP, landscape and portrait. The first is the grey
 * pixel-hash pattern of 6000×4000 that the detector of issue 15 took for a face (and enrolled).
 */
export const SYNTHETIC_RECIPES: readonly Recipe[] = [
  // A regular hash of the pixel's position: the texture of issue 25's pattern, which the detector took for a face.
  { name: 'grey pixel hash 6000×4000', width: 6000, height: 4000, fill: perPixel((x, y) => ((x * 13) ^ (y * 7)) & 255), png: true },
  {
    name: 'soft grey pixel hash 6000×4000',
    width: 6000,
    height: 4000,
    fill: perPixel((x, y) => 96 + ((((x * 13) ^ (y * 7)) & 255) >> 2)),
    png: true,
  },
  { name: 'grey linear pixel hash 4000×6000', width: 4000, height: 6000, fill: perPixel((x, y) => (x * 73 + y * 151) & 255), png: true },
  // A hash with no period: fine noise.
  { name: 'grey noise 6000×4000', width: 6000, height: 4000, fill: perPixel((x, y) => 128 + (hash2(x, y) & 31) - 16) },
  { name: 'grey pixel hash, strong, 4000×3000', width: 4000, height: 3000, fill: perPixel((x, y) => hash2(x, y) & 255) },
  { name: 'grey 2×2 block hash 6000×4000', width: 6000, height: 4000, fill: perPixel((x, y) => 128 + (hash2(x >> 1, y >> 1) & 63) - 32) },
  { name: 'grey 8×8 block hash 4032×3024', width: 4032, height: 3024, fill: perPixel((x, y) => 96 + (hash2(x >> 3, y >> 3) & 127)) },
  { name: 'XOR pattern 4000×6000', width: 4000, height: 6000, fill: perPixel((x, y) => (x ^ y) & 255), png: true },
  { name: 'XOR mod 9 grey 6000×4000', width: 6000, height: 4000, fill: perPixel((x, y) => 100 + ((x ^ y) % 9) * 7), png: true },
  { name: 'product moiré 5184×3456', width: 5184, height: 3456, fill: perPixel((x, y) => ((x * y) >> 6) & 255) },
  { name: 'coarse product moiré 6000×4000', width: 6000, height: 4000, fill: perPixel((x, y) => ((x * y) >> 8) & 255), png: true },
  {
    name: 'zone plate 6000×4000',
    width: 6000,
    height: 4000,
    fill: perPixel((x, y) => 128 + 100 * Math.cos(((x - 3000) ** 2 + (y - 2000) ** 2) * 2e-4)),
  },
  {
    name: 'fine checkerboard 4000×3000',
    width: 4000,
    height: 3000,
    fill: perPixel((x, y) => (((x >> 1) ^ (y >> 1)) & 1 ? 150 : 106)),
    png: true,
  },
  {
    name: 'checkerboard 48 px 4624×3468',
    width: 4624,
    height: 3468,
    fill: perPixel((x, y) => ((Math.floor(x / 48) + Math.floor(y / 48)) & 1 ? 220 : 40)),
    png: true,
  },
  {
    name: 'diagonal stripes 6000×4000',
    width: 6000,
    height: 4000,
    fill: perPixel((x, y) => [128 + 90 * Math.sin((x + 0.6 * y) / 7), 120, 128 - 90 * Math.sin((x + 0.6 * y) / 7)]),
  },
  { name: 'colour clouds 7360×4912', width: 7360, height: 4912, fill: fbm([640, 320, 160, 80, 40, 20, 10], true) },
  { name: 'grey fine fBm 6000×4000', width: 6000, height: 4000, fill: fbm([64, 32, 16, 8, 4, 2], false) },
  { name: 'stones 6000×4000', width: 6000, height: 4000, fill: cells(180) },
  { name: 'pebbles 4000×6000', width: 4000, height: 6000, fill: cells(60) },
  { name: 'basket weave 6000×4000', width: 6000, height: 4000, fill: weave(90) },
  { name: 'fine basket weave 4032×3024', width: 4032, height: 3024, fill: weave(24) },
  { name: 'discs 7752×5814', width: 7752, height: 5814, fill: discs(1500, 0.08), png: true },
  { name: 'many small discs 6000×4000', width: 6000, height: 4000, fill: discs(6000, 0.015), png: true },
  {
    name: 'polka dots 6000×4000',
    width: 6000,
    height: 4000,
    fill: perPixel((x, y) => (((x % 60) - 30) ** 2 + ((y % 60) - 30) ** 2 < 144 ? 30 : 225)),
    png: true,
  },
  {
    name: 'colour noise 4000×3000',
    width: 4000,
    height: 3000,
    fill: perPixel((x, y) => [hash2(x, y, 1) & 255, hash2(x, y, 2) & 255, hash2(x, y, 3) & 255]),
  },
  {
    name: 'grey gradient 6000×4000',
    width: 6000,
    height: 4000,
    fill: perPixel((x, y) => 40 + (x / 6000) * 120 + (y / 4000) * 60),
    png: true,
  },
  { name: 'flat grey 6000×4000', width: 6000, height: 4000, fill: perPixel(() => 128), png: true },
];

/** The bytes of one recipe, under `maxBytes` (JPEG quality lowered until it fits; PNG when asked and small enough). */
export async function renderRecipe(recipe: Recipe, seed = 25, maxBytes = 20 * 1024 * 1024): Promise<Uint8Array> {
  const { width, height } = recipe;
  const rgb = new Uint8Array(width * height * 3);
  recipe.fill(rgb, width, height, rng(seed));
  const raw = () => sharp(rgb, { raw: { width, height, channels: 3 }, limitInputPixels: false });
  if (recipe.png) {
    const png = await raw().png({ compressionLevel: 6 }).toBuffer();
    if (png.length <= maxBytes) return png;
  }
  for (const quality of [92, 85, 75, 60]) {
    const jpeg = await raw().jpeg({ quality }).toBuffer();
    if (jpeg.length <= maxBytes) return jpeg;
  }
  throw new Error(`${recipe.name} does not fit in ${maxBytes} bytes`);
}

/** The packed RGB pixels of a recipe's texture at another size. */
export function texture(name: string, width: number, height: number, seed: number): Uint8Array {
  const recipe = SYNTHETIC_RECIPES.find((r) => r.name === name);
  if (!recipe) throw new Error(`no synthetic recipe named ${name}`);
  const rgb = new Uint8Array(width * height * 3);
  recipe.fill(rgb, width, height, rng(seed));
  return rgb;
}

/** The synthetic face-free photos, rendered when read. */
export function syntheticPatterns(): SyntheticPattern[] {
  return SYNTHETIC_RECIPES.map((r) => ({ name: r.name, width: r.width, height: r.height, bytes: () => renderRecipe(r) }));
}
