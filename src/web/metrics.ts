// /metrics for Prometheus, only with METRICS_TOKEN and only for a request bearing it; and request timing.
import { createHash, timingSafeEqual } from 'node:crypto';
import type { Request, RequestHandler } from 'express';
import type { Metrics } from '../metrics.ts';
import { showError } from './respond.ts';

/** Answers as if there were no such page unless the bearer token matches (compared in constant time). */
export function serveMetrics(metrics: Metrics, token: string): RequestHandler {
  const expected = digest(token);
  return async (req, res) => {
    const offered = /^Bearer (.+)$/.exec(req.get('Authorization') ?? '')?.[1];
    if (!offered || !timingSafeEqual(digest(offered), expected)) return showError(req, res, 404, 'not_found', 'There is no page here.');
    res.set('Cache-Control', 'no-store').type(metrics.registry.contentType).send(await metrics.registry.metrics());
  };
}

/** Times every request, labelled by its route pattern (never the raw path: ids and tokens would explode the labels). */
export function measureRequests(metrics: Metrics): RequestHandler {
  return (req, res, next) => {
    const end = metrics.httpDuration.startTimer();
    res.once('finish', () => end({ method: req.method, route: routeOf(req), status: String(res.statusCode) }));
    next();
  };
}

function routeOf(req: Request): string {
  if (req.route?.path) return `${req.baseUrl}${String(req.route.path)}`;
  return req.originalUrl.startsWith('/static/') ? '/static' : 'unmatched';
}

const digest = (value: string) => createHash('sha256').update(value).digest();
