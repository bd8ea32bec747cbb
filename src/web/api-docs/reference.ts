// /docs/api: the OpenAPI document as a plain page (our own template: no script, so the strict CSP holds).
import type { Request, Response } from 'express';
import { show } from '../respond.ts';
import { READABLE_VERSION } from './openapi.ts';

type Schema = {
  type?: string | string[];
  format?: string;
  properties?: Record<string, Schema>;
  required?: string[];
  items?: Schema;
  minLength?: number;
  maxLength?: number;
  description?: string;
  anyOf?: Schema[];
};
type Operation = {
  summary: string;
  description?: string;
  security?: unknown[];
  parameters?: { name: string; in: string; required: boolean }[];
  requestBody?: { content: { 'application/json': { schema: Schema } } };
  responses: Record<string, { description: string; content?: { 'application/json': { schema: Schema } } }>;
};
type Document = { info: { title: string; description: string }; paths: Record<string, Record<string, Operation>> };

export function showApiReference(req: Request, res: Response, document: object): void {
  const doc = document as Document;
  const operations = Object.entries(doc.paths).flatMap(([path, methods]) =>
    Object.entries(methods).map(([method, op]) => ({
      method: method.toUpperCase(),
      path,
      anchor: `${method}-${path.replace(/\W+/g, '-')}`,
      summary: op.summary,
      description: op.description && codeSpans(op.description),
      session: Boolean(op.security?.length),
      parameters: op.parameters ?? [],
      body: fieldsOf(op.requestBody?.content['application/json'].schema),
      responses: Object.entries(op.responses).map(([status, answer]) => ({
        status,
        description: codeSpans(answer.description),
        fields: fieldsOf(answer.content?.['application/json'].schema),
      })),
    })),
  );
  const info = { title: doc.info.title, description: codeSpans(doc.info.description.replace(READABLE_VERSION, '').trim()) };
  show(req, res, { page: 'api-reference', title: 'JSON API reference' }, { info, operations });
}

/** One row per field, nested objects flattened as `user.email`. */
function fieldsOf(schema: Schema | undefined, prefix = ''): { name: string; type: string; required: boolean; notes: string }[] {
  if (!schema?.properties) return [];
  return Object.entries(schema.properties).flatMap(([name, field]) => {
    const row = { name: prefix + name, type: typeOf(field), required: schema.required?.includes(name) ?? false, notes: codeSpans(notesOn(field)) };
    return field.properties ? [row, ...fieldsOf(field, `${prefix}${name}.`)] : [row];
  });
}

function typeOf(field: Schema): string {
  if (field.anyOf) return field.anyOf.map(typeOf).join(' or ');
  const type = Array.isArray(field.type) ? field.type.join(' or ') : (field.type ?? 'any');
  return field.format ? `${type} (${field.format})` : type;
}

function notesOn(field: Schema): string {
  const notes = [];
  if (field.minLength !== undefined && field.minLength > 0) notes.push(`at least ${field.minLength} characters`);
  if (field.maxLength !== undefined) notes.push(`at most ${field.maxLength} characters`);
  if (field.description) notes.push(field.description);
  return notes.join('; ');
}

/**
 * The document's texts are Markdown (OpenAPI's descriptions are CommonMark) that use only code spans:
 * HTML for the page, escaped first, then each `…` as <code>. The template marks the result safe.
 */
function codeSpans(text: string): string {
  const escaped = text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
  return escaped.replace(/`([^`]+)`/g, '<code>$1</code>');
}
