// The JSON API describes itself: each JSON route is registered together with its documentation, and
// the OpenAPI 3.1 document is generated from the same zod schemas that validate the requests.
import type { RequestHandler, Router } from 'express';
import { z } from 'zod';

/** What a JSON route declares beside its handlers in the route table. */
export type ApiDoc = {
  summary: string;
  description?: string;
  /** Needs a logged-in session (the session cookie from login). */
  session?: boolean;
  /** The JSON body, as the handler parses it: the very schema, never a copy. */
  body?: z.ZodType;
  /** Query parameters, one per key of the object. */
  query?: z.ZodObject;
  responses: Record<number, Answer>;
};

export type Answer = { description: string; body?: z.ZodType };

type Method = 'get' | 'post' | 'put' | 'patch' | 'delete';
type DocumentedRoute = { method: Method; path: string; doc: ApiDoc };

export type JsonRoutes = Record<Method, (path: string, doc: ApiDoc, ...handlers: RequestHandler[]) => void> & {
  /** The OpenAPI 3.1 document for every route registered so far (built once, on first use). */
  document: () => object;
};

/**
 * Registers JSON routes on `router`, each with its documentation: the only way to add an `/api/` route
 * in the route table, so none goes undocumented (test/web/openapi.test.ts compares the two).
 */
export function jsonRoutes(router: Router): JsonRoutes {
  const routes: DocumentedRoute[] = [];
  let built: object | undefined;
  const add = (method: Method) => (path: string, doc: ApiDoc, ...handlers: RequestHandler[]) => {
    routes.push({ method, path, doc });
    built = undefined;
    router[method](path, ...handlers);
  };
  return {
    get: add('get'),
    post: add('post'),
    put: add('put'),
    patch: add('patch'),
    delete: add('delete'),
    document: () => (built ??= openApiDocument(routes)),
  };
}

// The session cookie's name differs in production (__Host-inkwell); clients simply keep what login set.
const SESSION_SCHEME = { type: 'apiKey', in: 'cookie', name: 'inkwell', description: 'The session cookie set by login (`__Host-inkwell` in production).' };

function openApiDocument(routes: readonly DocumentedRoute[]): object {
  const paths: Record<string, Record<string, object>> = {};
  for (const { method, path, doc } of routes) {
    const params = [...path.matchAll(/:(\w+)/g)].map(([, name]) => ({ name, in: 'path', required: true, schema: { type: 'string' } }));
    const query = Object.entries(doc.query?.shape ?? {}).map(([name, schema]) => ({
      name,
      in: 'query',
      required: !(schema as z.ZodType).safeParse(undefined).success,
      schema: jsonSchema(schema as z.ZodType, 'input'),
    }));
    const operation: Record<string, unknown> = {
      summary: doc.summary,
      ...(doc.description ? { description: doc.description } : {}),
      ...(params.length + query.length ? { parameters: [...params, ...query] } : {}),
      ...(doc.body ? { requestBody: { required: true, content: { 'application/json': { schema: jsonSchema(doc.body, 'input') } } } } : {}),
      ...(doc.session ? { security: [{ session: [] }] } : {}),
      responses: Object.fromEntries(
        Object.entries(doc.responses).map(([status, answer]) => [
          status,
          { description: answer.description, ...(answer.body ? { content: { 'application/json': { schema: jsonSchema(answer.body, 'output') } } } : {}) },
        ]),
      ),
    };
    (paths[path.replace(/:(\w+)/g, '{$1}')] ??= {})[method] = operation;
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'Inkwell JSON API',
      version: '1',
      description:
        'For non-browser clients. Bodies are JSON with snake_case keys; errors are `{"error": {"code", "message", "fields"}}`. ' +
        `A request that a browser marks as cross-site is refused (403). ${READABLE_VERSION}`,
    },
    paths,
    components: { securitySchemes: { session: SESSION_SCHEME } },
  };
}

/** For clients reading the JSON; the page at /docs/api leaves it out (its reader is already there). */
export const READABLE_VERSION = 'A readable version of this document is at /docs/api.';

/** JSON Schema 2020-12 (OpenAPI 3.1's dialect) of what a client sends (`input`) or receives (`output`). */
function jsonSchema(schema: z.ZodType, io: 'input' | 'output'): object {
  // Refinements and transforms have no JSON Schema form: the document shows the shape they start from.
  const { $schema: _dialect, ...rest } = z.toJSONSchema(schema, { target: 'draft-2020-12', io, unrepresentable: 'any' });
  return rest;
}
