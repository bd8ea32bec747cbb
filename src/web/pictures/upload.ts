// Reading a picture upload: the only multipart parser in the app, on the picture routes only, with
// hard limits. A body over the limit is answered 413 as soon as it is seen to be, never buffered whole.
import type { Request, RequestHandler, Response } from 'express';
import multer from 'multer';

// The largest picture file accepted: a phone's full-size JPEG fits, a decompression bomb still has
// its pixel limit to pass (src/pictures/images.ts).
const MAX_PICTURE_BYTES = 5 * 1024 * 1024;
// Room for the multipart envelope around the file: boundaries and a few short part headers.
const MAX_ENVELOPE_BYTES = 16 * 1024;
// After a refusal, how long a client that keeps sending is heard (its bytes dropped) before its
// connection is cut: long enough for it to read the answer, too short to keep streaming at us.
const LINGER_MS = 1_000;

// Bodies being read at once by this process. With the image queue's six (src/pictures/queue.ts) at
// most twelve uploads are held in memory, 60 MiB at worst; more at once are refused (503) unread.
const MAX_RECEIVING = 6;
let receiving = 0;

export type Refusal = { status: number; code: string; message: string; retryAfterSeconds?: number };
type UploadDeps = {
  /** Whether the image queue is full: then the body is not read at all. */
  busy: () => boolean;
  /** How this route answers a refusal (JSON for the API, the account page for the form). */
  refuse: (req: Request, res: Response, refusal: Refusal) => void | Promise<void>;
};

// One file, in memory (a few MiB at most), and next to nothing else: the form has no other fields.
const parseMultipart = multer({
  storage: multer.memoryStorage(),
  limits: {
    fileSize: MAX_PICTURE_BYTES, files: 1, fields: 2, parts: 3, fieldSize: 1024, fieldNameSize: 64, headerPairs: 10,
    fieldNestingDepth: 1, fieldArrayIndexLimit: 0,
  },
}).single('picture');

const TOO_LARGE: Refusal = {
  status: 413, code: 'too_large', message: `The picture is too large: send a file of at most ${MAX_PICTURE_BYTES / 1024 / 1024} MiB.`,
};
const BUSY: Refusal = {
  status: 503, code: 'busy', message: 'We are processing too many pictures right now. Try again in a few seconds.', retryAfterSeconds: 2,
};

/** Puts the uploaded file in `req.file` (or leaves it out), or answers the refusal itself. */
export function receivePicture({ busy, refuse }: UploadDeps): RequestHandler {
  return (req, res, next) => {
    const maxBody = MAX_PICTURE_BYTES + MAX_ENVELOPE_BYTES;
    const refuseAndCutOff = (refusal: Refusal) => {
      if (res.headersSent) return;
      // The client may still be sending. Node drops what follows unread (nothing is kept); a client
      // that has not stopped within LINGER_MS of the answer loses its connection. Not at once and not
      // with `Connection: close`: Node would reset the socket with the answer still unread in it.
      res.once('finish', () => {
        if (!req.complete) setTimeout(() => req.complete || req.socket.destroy(), LINGER_MS).unref();
      });
      Promise.resolve(refuse(req, res, refusal)).catch(next);
    };
    // A declared length over the limit is refused before a byte of the body is read.
    if (Number(req.get('Content-Length') ?? 0) > maxBody) return refuseAndCutOff(TOO_LARGE);
    if (busy() || receiving >= MAX_RECEIVING) return refuseAndCutOff(BUSY);
    receiving++;
    let received = 0;
    let done = false;
    const finished = () => {
      if (done) return;
      done = true;
      receiving--;
      req.off('data', count);
    };
    // Without a length (chunked), or lying about it: counted as it arrives. multer's own fileSize limit
    // would also stop buffering at 5 MiB, but answers only after reading the whole body to its end.
    const count = (chunk: Buffer) => {
      received += chunk.length;
      if (received > maxBody) {
        finished();
        refuseAndCutOff(TOO_LARGE);
      }
    };
    req.on('data', count);
    // A client that leaves half-way frees its place too.
    res.once('close', finished);
    parseMultipart(req, res, (err: unknown) => {
      finished();
      if (res.headersSent) return;
      if (err instanceof multer.MulterError && err.code === 'LIMIT_FILE_SIZE') return refuseAndCutOff(TOO_LARGE);
      // Any other parse error (too many parts, a malformed or unfinished body) is the body's fault.
      if (err) return refuseAndCutOff({ status: 400, code: 'bad_upload', message: 'Send one file in the field "picture" and nothing else.' });
      next();
    });
  };
}
