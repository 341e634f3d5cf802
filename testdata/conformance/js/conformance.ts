// The JavaScript SDK's conformance guest: it implements every case of the
// wfn ABI conformance suite (package github.com/wfn-dev/wfn/abi/conformance,
// whose documentation is the protocol) with the public API of wfn's
// JavaScript runtime only: the Node.js handler shape, the Web APIs and
// @vercel/functions (guests/sdk/js/README.md).
//
//	wfn conformance testdata/conformance/js/conformance.ts
//
// It is a Node.js-shaped handler, `export default function handler(req,
// res)`, the shape whose API is closest to the ABI's: the response is
// written step by step (setHeader, writeHead, write, end), and
// req.rawHeaders and req.read(size) reach each header value and the body
// in small reads. The runtime dispatches every method to it inside its one
// export, wfn_handle, so the suite's dispatch case does not apply (the
// runtime has no method exports).
//
// An error is reported by the ABI's name for it: the runtime's own
// errors name the ABI code in their message ("response_body_write:
// ECLOSED"); the Node.js errors of req and res map to it by their code
// (ERR_HTTP_HEADERS_SENT is ECLOSED, ERR_INVALID_CHAR is EINVAL, ...).
import {
  addCacheTag,
  dangerouslyDeleteBySrcImage,
  dangerouslyDeleteByTag,
  geolocation,
  getCache,
  getDeadline,
  invalidateBySrcImage,
  invalidateByTag,
  ipAddress,
  waitUntil,
} from '@vercel/functions';

const abiCodes = ['ENOTFOUND', 'EINVAL', 'ETOOLARGE', 'ECLOSED', 'ECANCELED', 'EDENIED', 'EBADHANDLE', 'EIO'];

const nodeCodes: Record<string, string> = {
  ERR_HTTP_HEADERS_SENT: 'ECLOSED',
  ERR_STREAM_WRITE_AFTER_END: 'ECLOSED',
  ERR_STREAM_ALREADY_FINISHED: 'ECLOSED',
  ERR_HTTP_INVALID_STATUS_CODE: 'EINVAL',
  ERR_INVALID_HTTP_TOKEN: 'EINVAL',
  ERR_INVALID_CHAR: 'EINVAL',
};

// result names the outcome of an operation as the protocol does: "ok", an
// ABI error's name, or "fail: reason".
function result(err: any): string {
  if (err === undefined) return 'ok';
  if (err?.code && nodeCodes[err.code]) return nodeCodes[err.code];
  for (let e: any = err; e; e = e.cause) {
    const m = /\b(E[A-Z]+)\b/.exec(String(e?.message));
    if (m && abiCodes.includes(m[1])) return m[1];
  }
  return `fail: ${err?.message ?? err}`;
}

// settled names the outcome of a promise as result does.
async function settled(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return 'ok';
  } catch (err) {
    return result(err);
  }
}

function attempt(f: () => unknown): string {
  try {
    f();
    return 'ok';
  } catch (err) {
    return result(err);
  }
}

// check reports a result: a header before the head is sent, a body line
// after.
function check(res: any, name: string, outcome: string) {
  if (res.headersSent) res.write(`x-wfn-check-${name}: ${outcome}\n`);
  else res.setHeader(`x-wfn-check-${name}`, outcome);
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

const hex = (bytes: Uint8Array) => Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');

// url is the absolute URL of the request, as request_url gives it.
function url(req: any): string {
  return `${req.headers['x-forwarded-proto']}://${req.headers.host}${req.url}`;
}

type Handler = (req: any, res: any) => void | Promise<void>;

const cases: Record<string, Handler> = {
  dispatch(req, res) {
    res.end();
  },
  empty(req, res) {
    res.end();
  },
  method(req, res) {
    res.setHeader('x-wfn-method', req.method);
    res.end();
  },
  url(req, res) {
    res.end(url(req));
  },
  headers(req, res) {
    const raw: string[] = req.rawHeaders;
    const want = 'X-MULTI'.toLowerCase();
    const multi = [];
    for (let i = 0; i < raw.length; i += 2) if (raw[i].toLowerCase() === want) multi.push(raw[i + 1]);
    res.setHeader('x-wfn-lookup', multi.join(','));
    check(res, 'absent', req.headers['x-absent'] === undefined ? 'ENOTFOUND' : 'fail: x-absent has a value');
    let body = '';
    for (let i = 0; i < raw.length; i += 2) body += `${raw[i]}: ${raw[i + 1]}\n`;
    res.end(body);
  },
  buffer(req, res) {
    res.end(`${url(req)}\n${req.headers['x-long']}`);
  },
  async body(req, res) {
    const parts: Uint8Array[] = [];
    let length = 0;
    let reads = 0;
    let outcome = 'ok';
    try {
      for (let c; (c = req.read(1000)) !== null; ) {
        if (c.length > 1000) throw new Error(`read(1000) gave ${c.length} bytes`);
        parts.push(c.slice());
        length += c.length;
        reads++;
      }
    } catch (err) {
      outcome = result(err);
    }
    const all = new Uint8Array(length);
    parts.reduce((at, c) => (all.set(c, at), at + c.length), 0);
    const sum = new Uint8Array(await crypto.subtle.digest('SHA-256', all));
    check(res, 'read', outcome);
    res.setHeader('x-wfn-body-length', String(length));
    res.setHeader('x-wfn-body-reads', String(reads));
    res.setHeader('x-wfn-body-sha256', hex(sum));
    res.end();
  },
  status(req, res) {
    check(res, 'status-99', attempt(() => res.writeHead(99)));
    check(res, 'status-1000', attempt(() => res.writeHead(1000)));
    // writeHead sends the head: its report follows the first line.
    const created = attempt(() => res.writeHead(201));
    res.write('created\n');
    check(res, 'status-201', created);
    check(res, 'status-after-write', attempt(() => res.writeHead(202)));
    res.end();
  },
  'status-1xx'(req, res) {
    res.writeHead(103);
    res.end();
  },
  'headers-out'(req, res) {
    res.setHeader('x-set', 'one');
    check(res, 'set', attempt(() => res.setHeader('X-Set', 'two')));
    res.appendHeader('x-add', 'a');
    check(res, 'add', attempt(() => res.appendHeader('X-Add', 'b')));
    res.setHeader('x-del', 'gone');
    check(res, 'delete', attempt(() => res.removeHeader('X-Del')));
    check(res, 'tab', attempt(() => res.setHeader('x-tab', 'a\tb')));
    check(res, 'bad-name-space', attempt(() => res.setHeader('bad name', 'x')));
    check(res, 'bad-name-colon', attempt(() => res.appendHeader('bad:name', 'x')));
    check(res, 'bad-name-empty', attempt(() => res.setHeader('', 'x')));
    check(res, 'bad-value-crlf', attempt(() => res.setHeader('x-bad', 'a\r\nx-injected: 1')));
    check(res, 'bad-value-nul', attempt(() => res.setHeader('x-bad', 'a\x00b')));
    check(res, 'bad-value-ctl', attempt(() => res.appendHeader('x-bad', 'a\x01b')));
    check(res, 'bad-delete', attempt(() => res.removeHeader('bad name')));
    res.write('headers\n');
    check(res, 'set-after-write', attempt(() => res.setHeader('x-late', 'x')));
    check(res, 'add-after-write', attempt(() => res.appendHeader('x-late', 'x')));
    check(res, 'delete-after-write', attempt(() => res.removeHeader('x-set')));
    res.end();
  },
  buffered(req, res) {
    // res.write streams (it flushes): a buffered response is one end.
    res.setHeader('content-type', 'text/plain; charset=utf-8');
    res.end('hello, ' + 'buffered world');
  },
  async stream(req, res) {
    res.setHeader('content-type', 'text/plain; charset=utf-8');
    res.write('first\n');
    await sleep(1500);
    res.end('second\n');
  },
  close(req, res) {
    res.end('closed');
    // Work after the response: waitUntil keeps the invocation alive.
    waitUntil(
      (async () => {
        const write = attempt(() => res.write('more'));
        const close = await new Promise<string>((resolve) => res.end((err: any) => resolve(result(err ?? new Error('a second end succeeded')))));
        await sleep(2000);
        console.log(`wfn-conformance close ${req.query.token} write=${write} close=${close}`);
      })(),
    );
  },
  abort(req, res) {
    res.setHeader('x-wfn-abort-signaled', req.aborted ? '1' : '0');
    res.end();
  },
  deadline(req, res) {
    res.setHeader('x-wfn-deadline-ms', String(getDeadline()!.getTime() - Date.now()));
    res.end();
  },
  'wait-until'(req, res) {
    const token = req.query.token;
    check(
      res,
      'wait-until',
      attempt(() =>
        waitUntil(
          (async () => {
            await sleep(500);
            console.log(`wfn-conformance wait-until ${token}`);
            waitUntil(Promise.resolve().then(() => console.log(`wfn-conformance wait-until-nested ${token}`)));
          })(),
        ),
      ),
    );
    res.end();
  },
  log(req, res) {
    console.log(`wfn-conformance stdout ${req.query.token}`);
    console.error(`wfn-conformance stderr ${req.query.token}`);
    check(res, 'log', 'ok');
    res.end();
  },
  env(req, res) {
    res.end(Object.entries(process.env).map(([k, v]) => `${k}=${v}\n`).join(''));
  },
  'ip-address'(req, res) {
    res.setHeader('x-wfn-ip', ipAddress(req) ?? 'ENOTFOUND');
    res.end();
  },
  geolocation(req, res) {
    res.end(JSON.stringify(geolocation(req)));
  },
  async fetch(req, res) {
    let outcome = 'ok';
    let body = new Uint8Array(0);
    try {
      const r = await fetch(req.query.url, { method: 'POST', headers: { 'X-Conformance': 'yes' }, body: 'ping' });
      res.setHeader('x-wfn-fetch-status', String(r.status));
      res.setHeader('x-wfn-fetch-names', [...r.headers.keys()].join(','));
      // Headers joins the values of a name with ", " (Fetch, "get"); the
      // backend's values hold no comma.
      res.setHeader('x-wfn-fetch-header', (r.headers.get('x-backend') ?? '').split(', ').join(','));
      const reader = r.body!.getReader({ mode: 'byob' });
      const parts: Uint8Array[] = [];
      for (;;) {
        const { done, value } = await reader.read(new Uint8Array(1000));
        if (done) break;
        parts.push(value);
      }
      body = new Uint8Array(parts.reduce((n, c) => n + c.length, 0));
      parts.reduce((at, c) => (body.set(c, at), at + c.length), 0);
    } catch (err) {
      outcome = result(err);
    }
    check(res, 'fetch', outcome);
    res.end(body);
  },
  async 'fetch-denied'(req, res) {
    const denied = async (to: string) => {
      try {
        const r = await fetch(to);
        await r.arrayBuffer();
        return `fail: status ${r.status}`;
      } catch (err) {
        return result(err);
      }
    };
    check(res, 'denied', await denied(req.query.url));
    check(res, 'denied-metadata', await denied('http://169.254.169.254/latest/meta-data/'));
    res.end();
  },
  async clock(req, res) {
    res.setHeader('x-wfn-wall-ms', String(Date.now()));
    const begin = performance.now();
    await sleep(50);
    res.setHeader('x-wfn-sleep-ms', String(Math.floor(performance.now() - begin)));
    res.end();
  },
  // The Runtime Cache through getCache: a miss is ENOTFOUND in the
  // protocol's words.
  async cache(req, res) {
    const { key, tag, value, read } = req.query;
    const cache = getCache();
    const get = async (k: string) => {
      const v = await cache.get(k);
      return v === null || v === undefined ? 'ENOTFOUND' : String(v);
    };
    if (read) {
      res.setHeader('x-wfn-cache-get', await get(key));
      res.end();
      return;
    }
    const missed = async () => ((await get(key)) === 'ENOTFOUND' ? 'ENOTFOUND' : 'ok');
    check(res, 'miss', await missed());
    check(res, 'set', await settled(cache.set(key, value, { tags: [tag], name: 'conformance' })));
    res.setHeader('x-wfn-cache-get', await get(key));
    check(res, 'delete', await settled(cache.delete(key)));
    check(res, 'deleted', await missed());
    check(res, 'set-tagged', await settled(cache.set(key, value, { tags: [tag], name: 'conformance' })));
    check(res, 'expire-tag', await settled(cache.expireTag(tag)));
    check(res, 'expired', await missed());
    check(res, 'bad-ttl', await settled(cache.set(key, value, { ttl: -1 })));
    check(res, 'bad-tag', await settled(cache.set(key, value, { tags: ['a,'] })));
    check(res, 'keep', await settled(cache.set(`${key}-kept`, value, { ttl: 60 })));
    res.end();
  },
  async cdn(req, res) {
    const { tag, src } = req.query;
    check(res, 'add-tag', await settled(addCacheTag(tag)));
    check(res, 'add-tag-empty', await settled(addCacheTag('a,')));
    check(res, 'invalidate-tag', await settled(invalidateByTag(tag)));
    check(res, 'delete-tag', await settled(dangerouslyDeleteByTag(tag)));
    check(res, 'delete-tag-negative', await settled(dangerouslyDeleteByTag(tag, { revalidationDeadlineSeconds: -1 })));
    check(res, 'invalidate-src', await settled(invalidateBySrcImage(src)));
    check(res, 'invalidate-src-empty', await settled(invalidateBySrcImage('')));
    check(res, 'delete-src', await settled(dangerouslyDeleteBySrcImage(src, { revalidationDeadlineSeconds: 60 })));
    res.end();
  },
  // http_wait as a JS function sees it: a response not in by a timer due
  // now (0), then in before one due in 10 s (1).
  async 'fetch-wait'(req, res) {
    const timer = (ms: number) => new Promise<number>((resolve) => setTimeout(() => resolve(0), ms));
    const pending = fetch(req.query.url);
    const answered = pending.then(() => 1);
    res.setHeader('x-wfn-wait-now', String(await Promise.race([answered, timer(0)])));
    res.setHeader('x-wfn-wait', String(await Promise.race([answered, timer(10000)])));
    const r = await pending;
    res.setHeader('x-wfn-fetch-status', String(r.status));
    await r.arrayBuffer();
    res.end();
  },
  random(req, res) {
    res.setHeader('x-wfn-random', hex(crypto.getRandomValues(new Uint8Array(32))));
    res.end();
  },
};

export default function handler(req: any, res: any) {
  res.setHeader('x-wfn-export', 'wfn_handle');
  const name = req.query.case;
  const c = cases[name];
  if (!c) {
    // An unknown case: 404 with the param as the body.
    res.statusCode = 404;
    res.setHeader('content-type', 'text/plain; charset=utf-8');
    res.end(name);
    return;
  }
  return c(req, res);
}
