// Turning an uploaded file into a profile picture: the only importer of sharp (libvips).
import type sharpLibrary from 'sharp';

export const PICTURE_SIZE = 300;
// A 12 MP phone photo is 12 MP; 50 MP leaves room for any camera and refuses decompression bombs
// (a few hundred bytes of PNG can declare 400 MP) before a pixel is decoded.
export const MAX_INPUT_PIXELS = 50_000_000;
// Visually lossless at 300×300 and a few KB a picture, so pictures live in the database.
const WEBP_QUALITY = 80;

export type ImageKind = 'jpeg' | 'png' | 'webp' | 'gif';
export type Conversion =
  | { ok: true; webp: Buffer }
  | { ok: false; reason: 'unsupported_type' | 'too_many_pixels' | 'unreadable' };

let library: Promise<typeof sharpLibrary> | undefined;

/**
 * sharp, loaded at the first upload rather than at start-up (libvips costs ~65 ms and ~20 MB that a
 * process which never sees an upload need not pay), and locked down before anything can use it.
 */
function loadSharp(): Promise<typeof sharpLibrary> {
  return (library ??= import('sharp').then(({ default: sharp }) => {
    // Every loader is blocked but the four we accept, and those from a buffer only: SVG (scripts,
    // external entities), TIFF, HEIF, PDF, raw camera files and the rest cannot be decoded at all,
    // whatever the bytes or the filename claim. Process-wide, which is why this module owns sharp.
    sharp.block({ operation: ['VipsForeignLoad'] });
    sharp.unblock({
      operation: ['VipsForeignLoadJpegBuffer', 'VipsForeignLoadPngBuffer', 'VipsForeignLoadWebpBuffer', 'VipsForeignLoadNsgifBuffer'],
    });
    // One image at a time on one libvips thread (src/pictures/queue.ts keeps it so), and no cache:
    // nothing of one upload is kept for the next.
    sharp.concurrency(1);
    sharp.cache(false);
    return sharp;
  }));
}

/** The kind the file's first bytes say it is; never the filename or the client's Content-Type. */
export function sniffImage(bytes: Buffer): ImageKind | null {
  if (bytes.length >= 3 && bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff) return 'jpeg';
  if (bytes.subarray(0, 8).equals(PNG_SIGNATURE)) return 'png';
  if (bytes.length >= 12 && bytes.toString('latin1', 0, 4) === 'RIFF' && bytes.toString('latin1', 8, 12) === 'WEBP') return 'webp';
  const gif = bytes.toString('latin1', 0, 6);
  if (gif === 'GIF87a' || gif === 'GIF89a') return 'gif';
  return null;
}
const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

/**
 * Re-encodes an upload as a 300×300 WebP: upright (EXIF orientation applied), cropped to fill,
 * sRGB, with no metadata (no EXIF, GPS or comments) and nothing of bytes appended after the image.
 * Broken, truncated and oversized images are refused, not repaired.
 */
export async function convertToPicture(upload: Buffer): Promise<Conversion> {
  const kind = sniffImage(upload);
  if (!kind) return { ok: false, reason: 'unsupported_type' };
  const sharp = await loadSharp();
  try {
    // failOn 'error' also refuses truncated files; animated GIF/WebP keep their first frame only.
    const image = sharp(upload, { limitInputPixels: MAX_INPUT_PIXELS, failOn: 'error', autoOrient: true, animated: false });
    // The header alone: a bomb is refused here, before any pixel is decoded.
    const { format, width = 0, height = 0 } = await image.metadata();
    if (format !== kind) return { ok: false, reason: 'unsupported_type' };
    if (width * height > MAX_INPUT_PIXELS) return { ok: false, reason: 'too_many_pixels' };
    const webp = await image.resize(PICTURE_SIZE, PICTURE_SIZE, { fit: 'cover' }).webp({ quality: WEBP_QUALITY }).toBuffer();
    return { ok: true, webp };
  } catch (err) {
    // libvips' message says what was wrong with the file (truncated, corrupt, over the pixel limit):
    // a property of the upload, not a fault of ours. sharp checks the limit itself when reading the header.
    return { ok: false, reason: /pixel limit/i.test(String(err)) ? 'too_many_pixels' : 'unreadable' };
  }
}
