import sharp from 'sharp';

export const THUMBNAIL_QUALITY = 85;

/** A JPEG of an aligned face chip (RGB floats 0..255, size×size): upright and centred, so it makes a good thumbnail. */
export async function encodeThumbnail(chip: Float32Array, size: number, outSize = size): Promise<Uint8Array> {
  const rgb = Uint8Array.from(chip, (v) => Math.max(0, Math.min(255, Math.round(v))));
  let img = sharp(rgb, { raw: { width: size, height: size, channels: 3 } });
  if (outSize !== size) img = img.resize(outSize, outSize);
  return new Uint8Array(await img.jpeg({ quality: THUMBNAIL_QUALITY, mozjpeg: true }).toBuffer());
}
