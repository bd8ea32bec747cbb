// The JSON API documents itself: /api/openapi.json is valid OpenAPI 3.1, lists exactly the JSON routes
// of the route table, and its request schemas are the ones that validate requests.
import SwaggerParser from '@apidevtools/swagger-parser';
import type { Router } from 'express';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { registeredUser, startHarness, type Harness } from '../support/harness.ts';

type Layer = { route?: { path: string; methods: Record<string, boolean> }; handle: { stack?: Layer[] } };
type Operation = { requestBody?: { content: { 'application/json': { schema: { required?: string[] } } } }; responses: Record<string, unknown> };

/** Every route Express would answer under /api/, as "METHOD /path/{param}", from the app's own router. */
function apiRoutesOf(router: Router): string[] {
  const walk = (stack: Layer[]): string[] =>
    stack.flatMap((layer) =>
      layer.route
        ? Object.keys(layer.route.methods).map((method) => `${method.toUpperCase()} ${layer.route!.path.replace(/:(\w+)/g, '{$1}')}`)
        : walk(layer.handle.stack ?? []),
    );
  return walk((router as unknown as { stack: Layer[] }).stack).filter((route) => route.split(' ')[1].startsWith('/api/'));
}

describe('the OpenAPI document', () => {
  let h: Harness;
  let doc: { openapi: string; paths: Record<string, Record<string, Operation>> };
  beforeAll(async () => {
    h = await startHarness('sqlite');
    const res = await h.request().get('/api/openapi.json').expect(200).expect('content-type', /json/);
    doc = res.body;
  });
  afterAll(() => h.close());

  const documented = () => Object.entries(doc.paths).flatMap(([path, ops]) => Object.keys(ops).map((m) => `${m.toUpperCase()} ${path}`));

  it('is valid OpenAPI 3.1', async () => {
    expect(doc.openapi).toBe('3.1.0');
    // The validator resolves references in place: hand it a copy.
    await expect(SwaggerParser.validate(structuredClone(doc) as never)).resolves.toBeTruthy();
  });

  it('describes every JSON route of the route table, and only those', () => {
    const routes = apiRoutesOf(h.app.router as unknown as Router);
    expect(routes.length).toBeGreaterThanOrEqual(8);
    expect(documented().sort()).toEqual([...new Set(routes)].sort());
  });

  it('shows the very schemas that validate requests: an empty body is refused naming exactly the required fields', async () => {
    const user = await registeredUser(h, 'reader');
    const checked: string[] = [];
    for (const [path, ops] of Object.entries(doc.paths)) {
      for (const [method, op] of Object.entries(ops)) {
        const required = op.requestBody?.content['application/json'].schema.required;
        // Routes with path parameters may answer 404 before they read a body; their schemas are checked where they are tested.
        if (!required || !op.responses['422'] || path.includes('{')) continue;
        const res = await user.agent[method as 'post'](path).send({});
        expect(res.status, `${method} ${path}`).toBe(422);
        expect(Object.keys(res.body.error.fields).sort(), `${method} ${path}`).toEqual([...required].sort());
        checked.push(`${method} ${path}`);
      }
    }
    expect(checked.length).toBeGreaterThanOrEqual(4);
  });

  it('has a readable reference page at /docs/api under the same strict CSP, without scripts of its own', async () => {
    const res = await h.request().get('/docs/api').expect(200);
    expect(res.headers['content-security-policy']).toContain("script-src 'self'");
    for (const route of documented()) expect(res.text).toContain(`<code>${route}</code>`);
    expect(res.text).toContain('/api/openapi.json');
    expect(res.text).not.toMatch(/<script(?![^>]*\bsrc=)/);
    expect(res.text).not.toMatch(/\sstyle=/);
  });

  it('the reference page shows code as code, and does not send its reader to the page they are on', async () => {
    const res = await h.request().get('/docs/api').expect(200);
    const main = res.text.slice(res.text.indexOf('<main'));
    expect(main).not.toContain('`');
    expect(main).toContain('<code>Retry-After</code>');
    expect(main).toContain('<code>{&quot;error&quot;: {&quot;code&quot;, &quot;message&quot;, &quot;fields&quot;}}</code>');
    expect(main).not.toContain('readable version');
    // The JSON document, read elsewhere, still says where the readable one is.
    expect((await h.request().get('/api/openapi.json')).body.info.description).toContain('/docs/api');
  });
});
