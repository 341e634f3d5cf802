// The globals the runtime loads on first use (URLPattern,
// CompressionStream, DecompressionStream, CryptoKey, crypto.subtle) look
// like the others before and after that use: own, not enumerable,
// writable and configurable properties, a value assigned before any use
// replacing one, a sibling of the same bundle still loading after that.
// host/jswebapi_test.go checks what this answers.

const lazy = ['URLPattern', 'CompressionStream', 'DecompressionStream', 'CryptoKey'];

// shape gives what a global property looks like from outside, accessor
// or not: present, enumerable, configurable, the type of its value.
function shape(on: object, name: string) {
  const d = Object.getOwnPropertyDescriptor(on, name);
  if (d === undefined) return null;
  return [d.enumerable, d.configurable, typeof (on as any)[name]];
}

export async function GET() {
  const g = globalThis as any;
  const got: Record<string, unknown> = {};
  // Before any use.
  got.listed = lazy.map((n) => Object.getOwnPropertyNames(globalThis).includes(n));
  got.notEnumerable = lazy.filter((n) => Object.keys(globalThis).includes(n));
  got.in = lazy.map((n) => n in globalThis);
  got.cryptoKeys = Object.keys(crypto);
  // CompressionStream replaced before its bundle is loaded;
  // DecompressionStream, of the same bundle, still works.
  g.CompressionStream = 42;
  got.replaced = [g.CompressionStream, Object.getOwnPropertyDescriptor(globalThis, 'CompressionStream')];
  const gz = new Uint8Array([31, 139, 8, 0, 0, 0, 0, 0, 2, 3, 203, 72, 205, 201, 201, 7, 0, 134, 166, 16, 54, 5, 0, 0, 0]);
  got.decompressed = await new Response(new Blob([gz]).stream().pipeThrough(new DecompressionStream('gzip'))).text();
  // First use, in the handler.
  got.typeofURLPattern = typeof URLPattern;
  const p = new URLPattern({ pathname: '/books/:id' });
  got.exec = p.exec('https://example.com/books/7')?.pathname.groups;
  got.tag = Object.prototype.toString.call(p);
  got.same = URLPattern === g.URLPattern && p instanceof URLPattern;
  const key = await crypto.subtle.importKey('raw', new Uint8Array([1, 2, 3]), { name: 'HMAC', hash: 'SHA-256' }, false, ['sign']);
  got.key = [key instanceof CryptoKey, String(key), crypto.subtle === crypto.subtle];
  // After it: plain data properties.
  got.after = lazy.map((n) => shape(globalThis, n));
  got.afterData = ['URLPattern', 'DecompressionStream', 'CryptoKey'].map((n) => {
    const d = Object.getOwnPropertyDescriptor(globalThis, n)!;
    return [d.writable, 'value' in d];
  });
  got.subtle = Object.getOwnPropertyDescriptor(crypto, 'subtle');
  // Replaced after its first use.
  g.URLPattern = 'mine';
  got.replacedAfter = g.URLPattern;
  return Response.json(got);
}
