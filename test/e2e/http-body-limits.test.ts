/**
 * Request bodies over real HTTP (raw sockets, so that a client can declare more than it sends, or keep sending): a
 * declared length over what the request may carry is an immediate 413 with the error JSON, on every endpoint, JSON
 * and multipart alike, and a chunked body that grows past it is cut. Before issue 22, `Content-Length: 999999999` on
 * a small JSON body held the connection for the whole deadline and answered 503 TIMEOUT.
 */
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fakeAnalyzer, portrait } from '../helpers/fake-analyzer.js';
import { startTestApp, type TestApp } from '../helpers/server.js';

const JSON_LIMIT = 64 * 1024;
const MAX_IMAGE_BYTES = 1024 * 1024;
const MAX_FILES = 3;

interface RawReply {
  status: number;
  headers: Record<string, string>;
  body: string;
  ms: number;
  /** The server closed the connection after answering. */
  closed: boolean;
  /** Body bytes the client had written when the answer came. */
  sent: number;
}

/**
 * One request on a fresh socket: the head as given, then `body` (all at once), or with `chunks` a chunked body that
 * keeps coming, `chunkBytes` every few ms, until the server answers or closes.
 */
function rawRequest(
  url: string,
  head: { method: string; path: string; headers: Record<string, string | number> },
  body: { bytes?: Buffer; chunkBytes?: number; first?: string },
  timeoutMs = 15_000,
): Promise<RawReply> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const socket = net.connect(Number(port), hostname);
    let received = Buffer.alloc(0);
    let sent = 0;
    let answeredAt: number | undefined;
    let closed = false;
    let sentWhenAnswered = 0;
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no answer within ${timeoutMs} ms (sent ${sent} body bytes)`));
    }, timeoutMs);
    const finish = () => {
      clearTimeout(timer);
      const text = received.toString('latin1');
      const split = text.indexOf('\r\n\r\n');
      if (split < 0) return reject(new Error(`no HTTP answer (sent ${sent} bytes, got ${JSON.stringify(text.slice(0, 200))})`));
      const [statusLine, ...lines] = text.slice(0, split).split('\r\n');
      const headers = Object.fromEntries(lines.map((l) => [l.slice(0, l.indexOf(':')).toLowerCase(), l.slice(l.indexOf(':') + 1).trim()]));
      const length = Number(headers['content-length'] ?? 0);
      resolve({
        status: Number(statusLine!.split(' ')[1]),
        headers,
        body: Buffer.from(text.slice(split + 4), 'latin1')
          .subarray(0, length)
          .toString('utf8'),
        ms: (answeredAt ?? performance.now()) - t0,
        closed,
        sent: sentWhenAnswered,
      });
    };
    socket.on('data', (chunk: Buffer) => {
      if (answeredAt === undefined) [answeredAt, sentWhenAnswered] = [performance.now(), sent];
      received = Buffer.concat([received, chunk]);
    });
    socket.on('error', () => {}); // a reset after the answer: the answer is what is checked
    socket.on('close', () => {
      closed = true;
      finish();
    });
    // A keep-alive answer leaves the socket open: read it whole, then hang up.
    socket.on('data', () => {
      const text = received.toString('latin1');
      const split = text.indexOf('\r\n\r\n');
      const length = /\r\ncontent-length:\s*(\d+)/i.exec(text.slice(0, split))?.[1];
      if (split >= 0 && length !== undefined && received.length >= split + 4 + Number(length) && !/\r\nconnection:\s*close/i.test(text))
        setTimeout(() => socket.end(), 200); // a close still in flight is seen first
    });
    socket.on('connect', () => {
      const chunked = body.chunkBytes !== undefined;
      const lines = [`${head.method} ${head.path} HTTP/1.1`, `Host: ${hostname}:${port}`];
      for (const [name, value] of Object.entries(head.headers)) lines.push(`${name}: ${value}`);
      if (chunked) lines.push('Transfer-Encoding: chunked');
      socket.write(`${lines.join('\r\n')}\r\n\r\n`);
      if (!chunked) {
        if (body.bytes) socket.write(body.bytes);
        sent = body.bytes?.length ?? 0;
        return;
      }
      const chunk = Buffer.alloc(body.chunkBytes!, 0x20);
      const pump = () => {
        if (answeredAt !== undefined || socket.destroyed || !socket.writable) return;
        socket.write(`${chunk.length.toString(16)}\r\n`);
        socket.write(chunk);
        socket.write('\r\n');
        sent += chunk.length;
        setTimeout(pump, 2);
      };
      // A JSON body that opens an object and never ends it, or a form whose part never ends.
      const first = body.first ?? '{';
      socket.write(`${Buffer.byteLength(first).toString(16)}\r\n${first}\r\n`);
      pump();
    });
  });
}

const multipartHead = (boundary: string, name: string) =>
  `--${boundary}\r\nContent-Disposition: form-data; name="${name}"; filename="photo.png"\r\nContent-Type: image/png\r\n\r\n`;

describe('request bodies over real HTTP', () => {
  let app: TestApp;
  let personId: string;

  beforeAll(async () => {
    app = await startTestApp('pglite', fakeAnalyzer(), {
      FACEREC_JSON_LIMIT_BYTES: String(JSON_LIMIT),
      FACEREC_MAX_IMAGE_BYTES: String(MAX_IMAGE_BYTES),
      FACEREC_MAX_FILES: String(MAX_FILES),
    });
    const res = await fetch(`${app.url}/v1/people`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'Seed' }),
    });
    expect(res.status).toBe(201);
    personId = ((await res.json()) as { person: { id: string } }).person.id;
  });
  afterAll(async () => {
    await app?.stop();
  });

  const expectRefused = (reply: RawReply, code = 'PAYLOAD_TOO_LARGE') => {
    expect(reply.status, reply.body).toBe(413);
    expect(reply.headers['content-type']).toMatch(/^application\/json/);
    expect(JSON.parse(reply.body)).toEqual({ error: { code, message: expect.any(String), details: expect.any(Object) } });
    expect(reply.headers.connection).toBe('close');
    expect(reply.closed).toBe(true);
  };

  const DECLARED = 999_999_999;
  const small = Buffer.from(JSON.stringify({ name: 'Ada' }));
  const SMALL_BODY_REQUESTS: Array<[string, string, string]> = [
    ['POST', '/v1/people', 'application/json'],
    ['POST', '/v1/galleries', 'application/json'],
    ['PATCH', `/v1/people/:id`, 'application/json'],
    ['POST', '/v1/galleries/default/calibrate', 'application/json'],
    ['POST', '/v1/keys', 'application/json'],
    ['POST', '/v1/identify', 'multipart/form-data; boundary=b'],
    ['POST', '/v1/people', 'multipart/form-data; boundary=b'],
    ['POST', '/v1/compare', 'multipart/form-data; boundary=b'],
    ['GET', '/v1/people', 'application/json'],
    ['POST', '/v1/no-such-route', 'text/plain'],
  ];
  for (const [method, path, type] of SMALL_BODY_REQUESTS) {
    it(`${method} ${path} (${type.split(';')[0]}) declaring ${DECLARED} bytes with a small body: an immediate 413`, async () => {
      const reply = await rawRequest(
        app.url,
        { method, path: path.replace(':id', personId), headers: { 'Content-Type': type, 'Content-Length': DECLARED } },
        { bytes: small },
      );
      expectRefused(reply);
      expect(reply.ms).toBeLessThan(2_000);
      const { error } = JSON.parse(reply.body) as { error: { details: Record<string, number> } };
      expect(error.details.declaredBytes).toBe(DECLARED);
      expect(error.details.maxBytes).toBeLessThan(DECLARED);
    });
  }

  it('a JSON body declared one byte over the limit is refused unread; at the limit it is read', async () => {
    const over = await rawRequest(
      app.url,
      { method: 'POST', path: '/v1/people', headers: { 'Content-Type': 'application/json', 'Content-Length': JSON_LIMIT + 1 } },
      { bytes: small },
    );
    expectRefused(over);
    expect(JSON.parse(over.body).error.details).toEqual({ maxBytes: JSON_LIMIT, declaredBytes: JSON_LIMIT + 1 });
    const padded = Buffer.from(JSON.stringify({ name: 'At the limit', metadata: { pad: '' } }));
    const exact = Buffer.from(
      JSON.stringify({ name: 'At the limit', metadata: { pad: 'x'.repeat(Math.min(16_000, JSON_LIMIT - padded.length)) } }),
    );
    const ok = await rawRequest(
      app.url,
      { method: 'POST', path: '/v1/people', headers: { 'Content-Type': 'application/json', 'Content-Length': exact.length } },
      { bytes: exact },
    );
    expect(ok.status, ok.body).toBe(201);
  });

  it('a chunked JSON body that grows past the limit is cut with a 413 once it does', async () => {
    const reply = await rawRequest(
      app.url,
      { method: 'POST', path: '/v1/people', headers: { 'Content-Type': 'application/json' } },
      { chunkBytes: 8 * 1024 },
    );
    expectRefused(reply);
    // Answered as soon as the limit was passed, not after the client stopped.
    expect(reply.sent).toBeLessThan(JSON_LIMIT + 256 * 1024);
  });

  it('a chunked multipart body that grows past the largest form is cut with a 413', async () => {
    const reply = await rawRequest(
      app.url,
      { method: 'POST', path: '/v1/detect', headers: { 'Content-Type': 'multipart/form-data; boundary=b' } },
      { chunkBytes: 64 * 1024, first: multipartHead('b', 'image') },
      30_000,
    );
    // The photo passes its byte limit first; multer then reads on to the body's end, which never comes: the count of
    // the whole body cuts it at the size of the largest form.
    expectRefused(reply);
    expect(JSON.parse(reply.body).error.details.maxBytes).toBeGreaterThan(MAX_IMAGE_BYTES);
    expect(reply.sent).toBeLessThan(MAX_IMAGE_BYTES + 8 * 1024 * 1024);
  });

  it('a multipart body declared over one photo and its fields is refused by a one-photo route, not by enrollment', async () => {
    const photo = Buffer.from(await portrait('ada'));
    const declared = 2 * MAX_IMAGE_BYTES + 4 * 1024 * 1024; // over identify's one photo, under enrollment's three
    const head = Buffer.from(multipartHead('b', 'image'));
    const identify = await rawRequest(
      app.url,
      { method: 'POST', path: '/v1/identify', headers: { 'Content-Type': 'multipart/form-data; boundary=b', 'Content-Length': declared } },
      { bytes: Buffer.concat([head, photo]) },
    );
    expectRefused(identify);
    // Enrollment takes three photos, so the same declaration is not refused up front: its body is read.
    const body = Buffer.concat([
      Buffer.from(`--b\r\nContent-Disposition: form-data; name="name"\r\n\r\nAda\r\n`),
      Buffer.from(multipartHead('b', 'images')),
      photo,
      Buffer.from('\r\n--b--\r\n'),
    ]);
    const enroll = await rawRequest(
      app.url,
      { method: 'POST', path: '/v1/people', headers: { 'Content-Type': 'multipart/form-data; boundary=b', 'Content-Length': body.length } },
      { bytes: body },
    );
    expect(enroll.status, enroll.body).toBe(201);
  });

  it('a JSON body that is not UTF-8 is refused, not stored with U+FFFD', async () => {
    const latin1 = Buffer.from('{"name":"Zo\xeb"}', 'latin1');
    const reply = await rawRequest(
      app.url,
      { method: 'POST', path: '/v1/people', headers: { 'Content-Type': 'application/json', 'Content-Length': latin1.length } },
      { bytes: latin1 },
    );
    expect(reply.status, reply.body).toBe(400);
    expect(JSON.parse(reply.body).error).toMatchObject({ code: 'INVALID_ARGUMENT', details: { reason: 'INVALID_UTF8' } });
    const [row] = await app.db.query<{ n: number }>("SELECT count(*)::int AS n FROM people WHERE name LIKE 'Zo%'");
    expect(row!.n).toBe(0);
  });

  it('a JSON body in another charset or compressed is a 415', async () => {
    for (const headers of [
      { 'Content-Type': 'application/json; charset=latin1' } as Record<string, string>,
      { 'Content-Type': 'application/json', 'Content-Encoding': 'gzip' },
    ]) {
      const reply = await rawRequest(
        app.url,
        { method: 'POST', path: '/v1/people', headers: { ...headers, 'Content-Length': small.length } },
        { bytes: small },
      );
      expect(reply.status, reply.body).toBe(415);
      expect(JSON.parse(reply.body).error.code).toBe('UNSUPPORTED_MEDIA_TYPE');
    }
  });
});
