// The request log: one line per answer (method, path without tokens, client, status, time, and who
// asked, by id only). Written with the app's logger directly: pino-http's per-request child logger
// and serializers cost about 30 µs of CPU per answer, as much as the rest of an anonymous page
// served from its rendered copy (docs/benchmarks.md), for the same line.
import type { Request, RequestHandler } from 'express';
import { redactUrl, type Logger } from '../log.ts';

export function logRequests(log: Logger, ignore: (req: Request) => boolean): RequestHandler {
  let lastId = 0;
  return (req, res, next) => {
    if (ignore(req)) return next();
    const id = ++lastId;
    const started = Date.now();
    // Read when the request arrives: routers mounted on a path rewrite req.url on the way.
    const url = redactUrl(req.originalUrl);
    // 'close' comes once per answer, after it was handed to the OS or when the client went away first.
    res.once('close', () => {
      // The session holds the user after a login, res.locals after a logout.
      const userId = req.session?.userId ?? res.locals.user?.id;
      const line = {
        req: { id, method: req.method, url, ip: req.ip },
        res: { statusCode: res.statusCode },
        responseTime: Date.now() - started,
        ...(userId === undefined ? {} : { user_id: userId }),
      };
      // A 5xx line carries no error or stack: the cause is logged once where it is known (handleErrors,
      // or once per interval for an unavailable database).
      const outcome = res.statusCode >= 500 ? 'errored' : res.writableFinished && !req.readableAborted ? 'completed' : 'aborted';
      log.info(line, `request ${outcome}`);
    });
    next();
  };
}
