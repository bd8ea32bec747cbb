// Image fixtures made on the spot with sharp (nothing binary is committed), and the multipart and
// streaming bodies the picture tests and the bench send.
import { request } from 'node:http';
import { crc32, deflateSync } from 'node:zlib';
import sharp from 'sharp';

const RED = { r: 220, g: 20, b: 20 };
const BLUE = { r: 20, g: 40, b: 220 };

/** A plain colour image of this size, as a sharp pipeline to encode. */
export const plain = (width: number, height: number, background: { r: number; g: number; b: number } = RED) =>
  sharp({ create: { width, height, channels: 3, background } });

/** A JPEG that says where it was taken (GPS EXIF) and carries a script after its end marker. */
export async function jpegWithGpsAndScript(): Promise<Buffer> {
  const jpeg = await plain(800, 600)
    .jpeg()
    .withExif({ IFD0: { Make: 'InkwellCam', Model: 'Leaky 1' }, IFD3: { GPSLatitudeRef: 'N', GPSLatitude: '51/1 30/1 0/1', GPSLongitudeRef: 'W', GPSLongitude: '0/1 7/1 0/1' } })
    .toBuffer();
  return Buffer.concat([jpeg, Buffer.from('<script>alert("pwned")</script>')]);
}

/**
 * A phone photo held sideways: stored 600×300 with red on the left and blue on the right, and EXIF
 * orientation 6 ("rotate 90° clockwise to show"). Shown upright, red is on top and blue below.
 */
export async function sidewaysJpeg(): Promise<Buffer> {
  const half = await plain(300, 300, BLUE).png().toBuffer();
  return plain(600, 300, RED).composite([{ input: half, left: 300, top: 0 }]).jpeg().withMetadata({ orientation: 6 }).toBuffer();
}

/** A PNG of a few hundred bytes that declares 20000×20000 pixels (400 MP): a decompression bomb. */
export function pngBomb(size = 20_000): Buffer {
  const chunk = (type: string, data: Buffer) => {
    const typed = Buffer.concat([Buffer.from(type, 'latin1'), data]);
    const length = Buffer.alloc(4);
    length.writeUInt32BE(data.length);
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(crc32(typed));
    return Buffer.concat([length, typed, crc]);
  };
  const header = Buffer.alloc(13);
  header.writeUInt32BE(size, 0);
  header.writeUInt32BE(size, 4);
  header[8] = 8; // bit depth
  header[9] = 2; // RGB
  const signature = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  // A few rows of zeros, compressed: the rest of the 400 MP would only be decoded if we let it.
  return Buffer.concat([signature, chunk('IHDR', header), chunk('IDAT', deflateSync(Buffer.alloc(3 * size + 1))), chunk('IEND', Buffer.alloc(0))]);
}

export const SVG_WITH_SCRIPT = Buffer.from(
  '<svg xmlns="http://www.w3.org/2000/svg" width="100" height="100"><script>alert(document.cookie)</script><rect width="100" height="100"/></svg>',
);
export const HTML_PAGE = Buffer.from('<!doctype html><html><body><script>alert(document.cookie)</script></body></html>');

/**
 * A photo-like JPEG of about `megapixels`, 4:3: noise, so it compresses like a photo and not like a
 * flat colour (12 MP comes to about 2.7 MiB, as a phone's photo does). Takes seconds to make.
 */
export async function photoJpeg(megapixels: number): Promise<Buffer> {
  const width = Math.round(Math.sqrt(megapixels * 1e6 * (4 / 3)));
  const height = Math.round((width * 3) / 4);
  return sharp({ create: { width, height, channels: 3, background: RED, noise: { type: 'gaussian', mean: 128, sigma: 12 } } })
    .jpeg({ quality: 85 })
    .toBuffer();
}

/** The red, green and blue of the pixel at (x, y). */
export async function pixelAt(image: Buffer, x: number, y: number): Promise<[number, number, number]> {
  const { data, info } = await sharp(image).raw().toBuffer({ resolveWithObject: true });
  const at = (y * info.width + x) * info.channels;
  return [data[at], data[at + 1], data[at + 2]];
}

export type StreamedUpload = { status: number; body: string; headers: Record<string, unknown>; sentWhenAnswered: number };

/**
 * PUTs a multipart body of `totalBytes` to `url`, chunk by chunk as the socket takes them (no
 * Content-Length, so the server must count), and stops sending once the answer arrives. The body is
 * never held whole, in this process or (if the server is right) in the server.
 */
export function streamUpload(url: string, cookie: string, totalBytes: number, options: { declareLength?: boolean } = {}): Promise<StreamedUpload> {
  const boundary = 'inkwellstreamtest';
  const head = Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="picture"; filename="big.jpg"\r\nContent-Type: image/jpeg\r\n\r\n\xff\xd8\xff`, 'latin1');
  const chunk = Buffer.alloc(64 * 1024, 0x41);
  return new Promise((resolve, reject) => {
    let sent = 0;
    let answered = false;
    const req = request(url, {
      method: 'PUT',
      headers: {
        cookie,
        'content-type': `multipart/form-data; boundary=${boundary}`,
        ...(options.declareLength ? { 'content-length': String(totalBytes) } : {}),
      },
    });
    req.on('response', (res) => {
      answered = true;
      const sentWhenAnswered = sent;
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (text) => (body += text));
      res.on('end', () => {
        req.destroy();
        resolve({ status: res.statusCode ?? 0, body, headers: res.headers, sentWhenAnswered });
      });
    });
    // The server cutting the connection after its answer is expected; before it, a failure.
    req.on('error', (err) => (answered ? undefined : reject(err)));
    const pump = () => {
      while (!answered && sent < totalBytes) {
        const piece = sent === 0 ? head : chunk.subarray(0, Math.min(chunk.length, totalBytes - sent));
        sent += piece.length;
        if (!req.write(piece)) return void req.once('drain', pump);
      }
      if (!answered) req.end();
    };
    pump();
  });
}

/** A multipart body with one file in `field`, as a browser's form would send it. */
export function multipart(field: string, file: Buffer, filename = 'picture.jpg', type = 'image/jpeg'): { body: Buffer; contentType: string } {
  const boundary = `----inkwell${Math.random().toString(16).slice(2)}`;
  const body = Buffer.concat([
    Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="${field}"; filename="${filename}"\r\nContent-Type: ${type}\r\n\r\n`),
    file,
    Buffer.from(`\r\n--${boundary}--\r\n`),
  ]);
  return { body, contentType: `multipart/form-data; boundary=${boundary}` };
}

/** For supertest, which parses images only by known types: collects the raw bytes (`.parse(collectBytes as never)`). */
export function collectBytes(res: NodeJS.ReadableStream, done: (err: Error | null, body: Buffer) => void): void {
  const chunks: Buffer[] = [];
  res.on('data', (chunk: Buffer) => chunks.push(chunk));
  res.on('end', () => done(null, Buffer.concat(chunks)));
}
