import decodeBmp from 'decode-bmp';
import decodeIco from 'decode-ico';
import sharp, { type Metadata } from 'sharp';
import { FacerecError, ImageTooLargeError, UnsupportedImageError } from '../errors.js';

// Every photo is new: libvips' operation cache would only keep the last ones' pixels (up to 50 MB) for nothing.
sharp.cache(false);

/** A decoded photo: packed 8-bit RGB, row-major, upright (EXIF orientation applied). */
export interface RgbImage {
  width: number;
  height: number;
  data: Uint8Array;
}

export interface DecodedImage extends RgbImage {
  /** Format judged from the content, e.g. 'jpeg', 'png', 'heif'. */
  format: string;
  /** The photo's own upright size; larger than width × height when it was decoded smaller (`maxSide`). */
  original: { width: number; height: number };
}

export interface DecodeOptions {
  /** Decode photos whose long side is over this at this long side instead (JPEGs shrink while they decode). */
  maxSide?: number;
}

export interface ImageLimits {
  maxBytes: number;
  maxPixels: number;
}

export const DEFAULT_IMAGE_LIMITS: ImageLimits = Object.freeze({ maxBytes: 20 * 1024 * 1024, maxPixels: 50_000_000 });

// Formats sharp reads that we accept; 'heif' covers HEIC and AVIF.
const SUPPORTED_FORMATS = new Set(['jpeg', 'png', 'webp', 'gif', 'tiff', 'heif', 'avif', 'bmp', 'jp2', 'jxl']);

/**
 * Decodes image bytes into upright 8-bit RGB. The type is judged from the content; the byte and pixel
 * limits are checked on the header before the full image is decoded.
 */
export async function decodeImage(
  bytes: Uint8Array,
  limits: ImageLimits = DEFAULT_IMAGE_LIMITS,
  options: DecodeOptions = {},
): Promise<DecodedImage> {
  if (bytes.length === 0) throw new UnsupportedImageError('the file is empty');
  if (bytes.length > limits.maxBytes) {
    throw new ImageTooLargeError(`${bytes.length} bytes is over the limit of ${limits.maxBytes}`, {
      bytes: bytes.length,
      maxBytes: limits.maxBytes,
    });
  }
  const legacy = sniffLegacyFormat(bytes);
  if (legacy) return decodeLegacy(bytes, legacy, limits, options);
  let metadata: Metadata;
  try {
    // Only the header is read here; sharp's own pixel cap (268 MP) would hide a bomb's size as an unreadable file.
    metadata = await sharp(bytes, { limitInputPixels: false }).metadata();
  } catch (err) {
    throw new UnsupportedImageError('not a recognised image format', { cause: (err as Error).message });
  }
  if (!metadata.format || !SUPPORTED_FORMATS.has(metadata.format) || !metadata.width || !metadata.height) {
    throw new UnsupportedImageError(`format '${metadata.format ?? 'unknown'}' is not supported`, { format: metadata.format });
  }
  checkPixels(metadata.width, metadata.height, limits);
  // EXIF orientations 5-8 turn the photo a quarter.
  const turned = (metadata.orientation ?? 1) >= 5;
  const original = { width: turned ? metadata.height : metadata.width, height: turned ? metadata.width : metadata.height };
  try {
    // failOn 'error' rejects truncated and corrupt data instead of decoding grey garbage.
    let pipeline = sharp(bytes, { failOn: 'error', limitInputPixels: limits.maxPixels, pages: 1 }).rotate();
    if (options.maxSide && Math.max(original.width, original.height) > options.maxSide) {
      pipeline = pipeline.resize({ width: options.maxSide, height: options.maxSide, fit: 'inside' });
    }
    const { data, info } = await pipeline
      .flatten({ background: '#ffffff' })
      .toColourspace('srgb')
      .removeAlpha()
      .raw({ depth: 'uchar' })
      .toBuffer({ resolveWithObject: true });
    if (info.channels !== 3) throw new Error(`unexpected ${info.channels} channels after conversion`);
    return {
      width: info.width,
      height: info.height,
      data: new Uint8Array(data.buffer, data.byteOffset, data.length),
      format: metadata.format,
      original,
    };
  } catch (err) {
    throw new UnsupportedImageError('the image data is corrupt or truncated', { format: metadata.format, cause: (err as Error).message });
  }
}

function checkPixels(width: number, height: number, limits: ImageLimits): void {
  if (width * height > limits.maxPixels) {
    throw new ImageTooLargeError(`${width}x${height} is over the limit of ${limits.maxPixels} pixels`, {
      width,
      height,
      maxPixels: limits.maxPixels,
    });
  }
}

type LegacyFormat = 'bmp' | 'ico';

// sharp (libvips) reads neither BMP nor ICO; both are recognised by their magic bytes.
function sniffLegacyFormat(bytes: Uint8Array): LegacyFormat | undefined {
  if (bytes.length > 26 && bytes[0] === 0x42 && bytes[1] === 0x4d) return 'bmp';
  if (bytes.length > 22 && bytes[0] === 0 && bytes[1] === 0 && bytes[2] === 1 && bytes[3] === 0 && bytes[4]! + bytes[5]! > 0) return 'ico';
  return undefined;
}

async function decodeLegacy(bytes: Uint8Array, format: LegacyFormat, limits: ImageLimits, options: DecodeOptions): Promise<DecodedImage> {
  if (format === 'bmp') {
    // The header gives the size, so the pixel limit holds before anything is decoded.
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    checkPixels(Math.abs(view.getInt32(18, true)), Math.abs(view.getInt32(22, true)), limits);
  }
  let rgba: { width: number; height: number; data: Uint8Array | Uint8ClampedArray };
  try {
    if (format === 'bmp') {
      rgba = decodeBmp(bytes);
      // 32-bit BMPs mostly leave the fourth byte unused (0): that is not transparency.
      const px = rgba.data;
      let anyAlpha = false;
      for (let i = 3; i < px.length && !anyAlpha; i += 4) anyAlpha = px[i] !== 0;
      if (!anyAlpha) for (let i = 3; i < px.length; i += 4) px[i] = 255;
    } else {
      // An icon holds several sizes: take the largest; PNG entries go back through sharp.
      const largest = decodeIco(bytes).sort((a, b) => b.width * b.height - a.width * a.height)[0];
      if (!largest) throw new Error('the icon holds no image');
      if (largest.type === 'png') return { ...(await decodeImage(largest.data, limits, options)), format };
      rgba = largest;
    }
  } catch (err) {
    if (err instanceof FacerecError) throw err; // e.g. IMAGE_TOO_LARGE from a PNG inside an icon
    throw new UnsupportedImageError(`the ${format.toUpperCase()} data is corrupt or truncated`, { format, cause: (err as Error).message });
  }
  checkPixels(rgba.width, rgba.height, limits);
  let pipeline = sharp(rgba.data, { raw: { width: rgba.width, height: rgba.height, channels: 4 } });
  if (options.maxSide && Math.max(rgba.width, rgba.height) > options.maxSide)
    pipeline = pipeline.resize({ width: options.maxSide, height: options.maxSide, fit: 'inside' });
  const { data, info } = await pipeline.flatten({ background: '#ffffff' }).raw().toBuffer({ resolveWithObject: true });
  return {
    width: info.width,
    height: info.height,
    data: new Uint8Array(data.buffer, data.byteOffset, data.length),
    format,
    original: { width: rgba.width, height: rgba.height },
  };
}

/** A photo of several frames or pages (an animation, a multi-page TIFF), of which decodeImage reads only the first. */
export interface FramedImage {
  format: string;
  frames: number;
}

/**
 * Whether the photo holds more frames than the first one decodeImage reads: animated GIF, WebP and PNG (APNG),
 * multi-page TIFF, HEIF/AVIF sequences. Cheap for the rest: formats that cannot hold frames (JPEG, BMP…) are told by
 * their first bytes and never parsed. Undefined for a still image, or bytes that are no image at all.
 */
export async function extraFrames(bytes: Uint8Array): Promise<FramedImage | undefined> {
  const head = Buffer.from(bytes.buffer, bytes.byteOffset, Math.min(bytes.byteLength, 16));
  if (head.subarray(0, 8).equals(PNG_SIGNATURE)) {
    const frames = apngFrames(bytes);
    return frames > 1 ? { format: 'png', frames } : undefined;
  }
  const multiFrame =
    head.toString('latin1', 0, 4) === 'GIF8' ||
    (head.toString('latin1', 0, 4) === 'RIFF' && head.toString('latin1', 8, 12) === 'WEBP') ||
    head.toString('latin1', 0, 4) === 'II*\0' ||
    head.toString('latin1', 0, 4) === 'MM\0*' ||
    head.toString('latin1', 4, 8) === 'ftyp';
  if (!multiFrame) return undefined;
  try {
    const metadata = await sharp(bytes, { limitInputPixels: false }).metadata();
    return metadata.pages && metadata.pages > 1 ? { format: metadata.format ?? 'unknown', frames: metadata.pages } : undefined;
  } catch {
    return undefined; // not an image: decoding says so, with its own code
  }
}

const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

/** The frames an APNG's acTL chunk declares (it comes before the image data), or 1. libvips reads the still image only. */
function apngFrames(bytes: Uint8Array): number {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (let at = 8; at + 12 <= bytes.byteLength;) {
    const length = view.getUint32(at);
    const type = String.fromCharCode(bytes[at + 4]!, bytes[at + 5]!, bytes[at + 6]!, bytes[at + 7]!);
    if (type === 'acTL' && length >= 8 && at + 12 <= bytes.byteLength) return view.getUint32(at + 8);
    if (type === 'IDAT' || type === 'IEND') return 1;
    at += 12 + length;
  }
  return 1;
}
