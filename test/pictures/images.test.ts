// The image conversion itself (src/pictures/images.ts), without HTTP: what sharp may decode at all.
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { convertToPicture, sniffImage } from '../../src/pictures/images.ts';
import { HTML_PAGE, SVG_WITH_SCRIPT, plain } from '../support/images.ts';

describe('convertToPicture', () => {
  it('leaves libvips unable to decode SVG or TIFF in this process at all, even past the byte check', async () => {
    expect((await convertToPicture(await plain(20, 20).png().toBuffer())).ok).toBe(true);
    const tiff = await plain(20, 20).tiff().toBuffer();
    await expect(sharp(tiff).metadata()).rejects.toThrow(/unsupported image format/);
    await expect(sharp(SVG_WITH_SCRIPT).metadata()).rejects.toThrow(/unsupported image format/);
    for (const format of ['jpeg', 'png', 'webp', 'gif'] as const) {
      const image = await plain(20, 20)[format]().toBuffer();
      expect(sniffImage(image), format).toBe(format);
      expect((await convertToPicture(image)).ok, format).toBe(true);
    }
  });

  it('judges the type by the bytes: an SVG, HTML or TIFF is unsupported, whatever it would be called', async () => {
    expect(await convertToPicture(SVG_WITH_SCRIPT)).toEqual({ ok: false, reason: 'unsupported_type' });
    expect(await convertToPicture(HTML_PAGE)).toEqual({ ok: false, reason: 'unsupported_type' });
    expect(await convertToPicture(await plain(20, 20).tiff().toBuffer())).toEqual({ ok: false, reason: 'unsupported_type' });
    // PNG's signature in front of a JPEG: the header decides, and the two disagree.
    const jpeg = await plain(20, 20).jpeg().toBuffer();
    const lying = Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), jpeg]);
    expect((await convertToPicture(lying)).ok).toBe(false);
  });
});
