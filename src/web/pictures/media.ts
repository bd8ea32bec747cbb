// Serving pictures at /media/<hash>.webp: bytes we encoded ourselves, named by their hash, so each
// address means one image forever (cached for a year) and is answered as an image and nothing else.
import type { RequestHandler } from 'express';
import type { Pictures } from '../../pictures/index.ts';

/** Where the picture named `hash` is served; null stays null (no picture: initials are shown). */
export function pictureUrl(hash: string | null): string | null {
  return hash === null ? null : `/media/${hash}.webp`;
}

const FILE = /^([0-9a-f]{64})\.webp$/;

export function servePicture(pictures: Pictures): RequestHandler {
  return async (req, res) => {
    const hash = FILE.exec(String(req.params.file))?.[1];
    const bytes = hash ? await pictures.findPicture(hash) : null;
    res.set('X-Content-Type-Options', 'nosniff');
    if (!hash || !bytes) return void res.status(404).type('text/plain').send('There is no picture here.');
    res.set({
      'Content-Type': 'image/webp',
      'Cache-Control': 'public, max-age=31536000, immutable',
      // Strong: the name is the hash of these very bytes. Express answers 304 to a matching If-None-Match.
      ETag: `"${hash}"`,
      // Opened on its own, the answer can run nothing and load nothing, whatever a browser makes of it.
      'Content-Security-Policy': "default-src 'none'; sandbox",
    });
    res.send(bytes);
  };
}
