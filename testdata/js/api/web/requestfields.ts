// The fields of a Request beyond method, url, headers, body, signal and
// redirect (cache, credentials, destination, integrity, keepalive, mode,
// referrer, referrerPolicy, duplex), the init options that set them and
// their errors, and Response.error(), as the Fetch Standard says.
// host/jswebapi_test.go runs it on the Edge Runtime too.

const fields = ['cache', 'credentials', 'destination', 'integrity', 'keepalive', 'mode', 'referrer', 'referrerPolicy', 'duplex'] as const;

// describe gives a request's fields, or the name of what making it threw.
function describe(make: () => Request) {
  try {
    const r = make();
    return Object.fromEntries(fields.map((f) => [f, (r as any)[f]]));
  } catch (e) {
    return (e as Error).name;
  }
}

const url = 'https://example.com/a';

export async function GET(request: Request) {
  // Response.error() as the response: a network error, which has no HTTP form.
  if (new URL(request.url).searchParams.has('send-error')) return Response.error();
  const set = new Request(url, {
    cache: 'no-store',
    credentials: 'include',
    integrity: 'sha256-abc',
    keepalive: true,
    mode: 'same-origin',
    referrer: 'https://example.com/from',
    referrerPolicy: 'origin',
    duplex: 'half',
  } as RequestInit);
  const got: Record<string, unknown> = {
    served: describe(() => request),
    made: describe(() => new Request(url)),
    set: describe(() => set),
    clone: describe(() => set.clone()),
    // A copy keeps them; an init drops the referrer and its policy.
    copy: describe(() => new Request(set)),
    copyInit: describe(() => new Request(set, { method: 'POST', body: 'x' })),
    copyMode: describe(() => new Request(set, { mode: 'cors', cache: 'reload' })),
    converted: describe(() => new Request(url, { integrity: 5, keepalive: '', credentials: { toString: () => 'omit' } } as any)),
    referrers: ['', 'about:client', 'https://other.example/x?y#z', 'HTTPS://Example.com'].map((referrer) => describe(() => new Request(url, { referrer })).referrer ?? 'error'),
    onlyIfCached: describe(() => new Request(url, { cache: 'only-if-cached', mode: 'same-origin' })),
    noCors: describe(() => new Request(url, { mode: 'no-cors', method: 'POST' })),
    errors: [
      describe(() => new Request(url, { mode: 'navigate' })),
      describe(() => new Request(url, { mode: 'nope' as any })),
      describe(() => new Request(url, { credentials: 'nope' as any })),
      describe(() => new Request(url, { cache: 'nope' as any })),
      describe(() => new Request(url, { cache: 'only-if-cached' })),
      describe(() => new Request(url, { referrerPolicy: 'nope' as any })),
      describe(() => new Request(url, { referrer: '/relative' })),
      describe(() => new Request(url, { referrer: 'http://[' })),
      describe(() => new Request(url, { duplex: 'full' } as any)),
      describe(() => new Request(url, { mode: 'no-cors', method: 'PUT' })),
      describe(() => new Request(url, { method: 'POST', keepalive: true, body: new ReadableStream(), duplex: 'half' } as any)),
    ],
  };
  const e = Response.error();
  got.error = [e.type, e.status, e.statusText, e.ok, e.body, e.url, e.redirected, [...e.headers].length, Object.prototype.toString.call(e), e instanceof Response];
  const c = e.clone();
  got.errorClone = [c.type, c.status, await c.text()];
  got.types = [new Response().type, Response.json(1).type, Response.redirect(url).type];
  return Response.json(got);
}
