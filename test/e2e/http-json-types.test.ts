/**
 * JSON bodies are typed, forms and query strings are text (issue 22): `{"far": "0.1"}` was accepted as 0.1. Every
 * field of every JSON body that the OpenAPI document types as a number, an integer, a boolean or an object is sent
 * as a string and must be refused, naming the field; the same text in a form field or a query string is still read.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fakeAnalyzer, portrait } from '../helpers/fake-analyzer.js';
import { form, startTestApp, type TestApp } from '../helpers/server.js';
import { FAKE_MODELS_DIR } from '../medium/harness.js';

const SOME_ID = '00000000-0000-4000-8000-000000000000';

interface JsonSchema {
  properties: Record<string, { type?: string; minimum?: number }>;
  required?: string[];
}
type Document = { paths: Record<string, Record<string, { requestBody?: { content: Record<string, { schema: JsonSchema }> } }>> };

// A valid value of each text field some body requires, so that only the typed field can be wrong.
const REQUIRED_TEXT: Record<string, string> = { name: 'Typed', model: 'face-api-128', personId: SOME_ID, role: 'recognize' };
const TEXT_OF: Record<string, (minimum?: number) => string> = {
  number: (minimum) => String(Math.max(minimum ?? 0, 0.1)),
  integer: (minimum) => String(Math.max(minimum ?? 1, 1)),
  boolean: () => 'true',
  object: () => '{"team":"R&D"}',
};

describe('typed JSON bodies, text forms', () => {
  let app: TestApp;
  let document: Document;

  beforeAll(async () => {
    app = await startTestApp('pglite', fakeAnalyzer(), { FACEREC_MODELS_DIR: FAKE_MODELS_DIR });
    document = (await (await fetch(`${app.url}/openapi.json`)).json()) as Document;
  });
  afterAll(async () => {
    await app?.stop();
  });

  const post = (path: string, method: string, body: unknown) =>
    fetch(`${app.url}${path}`, { method, headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });

  it('refuses a string for every typed field of every JSON body, naming the field', async () => {
    const tried: string[] = [];
    for (const [template, operations] of Object.entries(document.paths)) {
      for (const [method, operation] of Object.entries(operations)) {
        const schema = operation.requestBody?.content['application/json']?.schema;
        if (!schema) continue;
        // The required text fields, and a name wherever one may be given (naming a cluster needs a name or a person).
        const given = [...(schema.required ?? []), ...('name' in schema.properties ? ['name'] : [])];
        const required = Object.fromEntries(given.map((field) => [field, REQUIRED_TEXT[field] ?? 'x']));
        for (const [field, property] of Object.entries(schema.properties)) {
          const text = property.type && TEXT_OF[property.type]?.(property.minimum);
          if (text === undefined) continue;
          const path = template.replace(/\{\w+\}/g, template.startsWith('/v1/galleries') ? 'default' : SOME_ID);
          const res = await post(path, method.toUpperCase(), { ...required, [field]: text });
          const body = (await res.json()) as { error: { code: string; message: string; details: { issues: Array<{ path: string }> } } };
          expect(res.status, `${method} ${template} ${field}: ${JSON.stringify(body)}`).toBe(400);
          expect(body.error.code).toBe('INVALID_ARGUMENT');
          expect(body.error.details.issues.map((i) => i.path)).toEqual([field]);
          expect(body.error.message).toContain('JSON bodies are typed');
          tried.push(`${method} ${template} ${field}`);
        }
      }
    }
    // calibrate's far (the attack's case), identify's and detect's numbers, enrollment's booleans and metadata, ...
    expect(tried).toEqual(
      expect.arrayContaining([
        'post /v1/galleries/{id}/calibrate far',
        'post /v1/people largestFace',
        'post /v1/people metadata',
        'patch /v1/people/{id} metadata',
        'post /v1/identify topK',
        'post /v1/verify threshold',
        'post /v1/compare threshold',
        'post /v1/detect maxFaces',
      ]),
    );
    expect(tried.length).toBeGreaterThanOrEqual(20);
  });

  it('takes the same fields typed in JSON', async () => {
    const created = await post('/v1/people', 'POST', { name: 'Typed Ada', force: true, metadata: { team: 'R&D' } });
    expect(created.status, await created.clone().text()).toBe(201);
    expect(((await created.json()) as { person: { metadata: unknown } }).person.metadata).toEqual({ team: 'R&D' });
    // Too few people for the 1:1 calibration, which says so; far itself is taken.
    const calibrated = await post('/v1/galleries/default/calibrate', 'POST', { far: 0.1 });
    expect(calibrated.status).toBe(200);
    expect(((await calibrated.json()) as { verificationUnavailable?: string }).verificationUnavailable).toContain('at least 2 people');
  });

  it('reads numbers, booleans and metadata from the text of forms and query strings', async () => {
    const enrolled = await fetch(`${app.url}/v1/people`, {
      method: 'POST',
      body: form({ images: await portrait('grace') }, { name: 'Grace', largestFace: 'true', force: '1', metadata: '{"team":"Navy"}' }),
    });
    expect(enrolled.status, await enrolled.clone().text()).toBe(201);
    expect(((await enrolled.json()) as { person: { metadata: unknown } }).person.metadata).toEqual({ team: 'Navy' });
    const identified = await fetch(`${app.url}/v1/identify?topK=2`, {
      method: 'POST',
      body: form({ image: await portrait('grace') }, { maxFaces: '3', includeLandmarks: 'false', threshold: '0.5' }),
    });
    expect(identified.status, await identified.clone().text()).toBe(200);
    const calibrated = await fetch(`${app.url}/v1/galleries/default/calibrate?far=0.1`, { method: 'POST' });
    expect(calibrated.status, await calibrated.clone().text()).toBe(200);
  });
});
