// CompressionStream and DecompressionStream (WHATWG Compression Streams):
// round trips in each format, what zlib writes around the compressed data
// (headers and checksums), data compressed by Node.js's zlib, and the
// errors. host/jswebapi_test.go runs it in Node.js too (the Edge Runtime
// has no CompressionStream).

const formats = ['gzip', 'deflate', 'deflate-raw'] as const;

// Compressed by Node.js's zlib (zlib.gzipSync and friends), as base64.
const made = {
  gzip: ['H4sIAAAAAAAAA8s4vDInJ19HIb0qswAAHCVi0gwAAAA=', 'héllo, gzip'],
  deflate: ['eJzLOLwyJydfRyElNS0nsSQVADU0Bj0=', 'héllo, deflate'],
  'deflate-raw': ['yzi8MicnX0ehKLEcAA==', 'héllo, raw'],
} as const;
const members = 'H4sIAAAAAAAAA8vPS1UAAElhrCMEAAAAH4sIAAAAAAAAAyspzwcAZorKEQMAAAA='; // "one " and "two", two gzip members

const unbase64 = (s: string) => Uint8Array.from(atob(s), (c) => c.charCodeAt(0));
const hex = (b: Uint8Array) => Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');

// through writes the chunks to a transform's writable side and reads its
// readable side to the end: the bytes, or the name of the error.
async function through(t: { readable: ReadableStream<Uint8Array>; writable: WritableStream<BufferSource> }, chunks: unknown[]) {
  const writer = t.writable.getWriter();
  const written = (async () => {
    for (const c of chunks) await writer.write(c as BufferSource);
    await writer.close();
  })();
  written.catch(() => {});
  try {
    const out = new Uint8Array(await new Response(t.readable).arrayBuffer());
    await written;
    return out;
  } catch (e) {
    const w = await written.then(
      () => 'none',
      (e) => (e as Error).name,
    );
    return `${(e as Error).name} (writable: ${w})`;
  }
}

async function decompress(format: string, chunks: unknown[]) {
  const out = await through(new DecompressionStream(format as CompressionFormat), chunks);
  return typeof out === 'string' ? out : new TextDecoder().decode(out);
}

function attempt(f: () => unknown) {
  try {
    f();
    return 'none';
  } catch (e) {
    return (e as Error).name;
  }
}

export async function GET(request: Request) {
  const got: Record<string, unknown> = {};
  // An ArrayBuffer chunk, a BufferSource too: Node.js 20's streams refuse
  // it and then never end, so it is asked for apart.
  if (new URL(request.url).searchParams.has('arraybuffer')) {
    const z = await through(new CompressionStream('gzip'), [new TextEncoder().encode('array buffer').buffer]);
    return Response.json({ arraybuffer: await decompress('gzip', [typeof z === 'string' ? z : z.slice().buffer]) });
  }
  const text = 'The quick brown fox jumps over the lazy dog. '.repeat(40);
  // A larger input, little repetitive, whose output takes several chunks.
  let seed = 7;
  const big = new Uint8Array(300_000).map(() => ((seed = (seed * 1103515245 + 12345) >>> 0) >>> 24) & 0x3f);
  for (const f of formats) {
    const cs = new CompressionStream(f);
    got[`${f} tag`] = `${Object.prototype.toString.call(cs)} ${cs.readable instanceof ReadableStream} ${cs.writable instanceof WritableStream}`;
    const bytes = new TextEncoder().encode(text);
    const z = await through(cs, [bytes.subarray(0, 100), new Uint8Array(0), bytes.slice(100, 1000), new DataView(bytes.buffer, 1000)]);
    if (typeof z === 'string') {
      got[`${f} compress`] = z;
      continue;
    }
    got[`${f} smaller`] = z.length < bytes.length / 10;
    // What is the same from any zlib: the header and the checksums.
    if (f === 'gzip') got[`${f} header, trailer`] = `${hex(z.subarray(0, 10))} ${hex(z.subarray(-8))}`;
    if (f === 'deflate') got[`${f} header, trailer`] = `${hex(z.subarray(0, 2))} ${hex(z.subarray(-4))}`;
    got[`${f} round trip`] = (await decompress(f, [z.subarray(0, 3), z.subarray(3)])) === text;
    got[`${f} byte by byte`] = (await decompress(f, Array.from(z, (b) => new Uint8Array([b])))) === text;
    const zbig = await through(new CompressionStream(f), [big]);
    const back = await through(new DecompressionStream(f), [zbig]);
    got[`${f} big`] = typeof back === 'string' ? back : `${back.length} ${back.every((b, i) => b === big[i])}`;
    got[`${f} empty`] = await through(new DecompressionStream(f), [await through(new CompressionStream(f), [])]).then((b) => (typeof b === 'string' ? b : b.length));
    got[`${f} from Node`] = await decompress(f, [unbase64(made[f][0])]);
    const good = unbase64(made[f][0]);
    got[`${f} truncated`] = await decompress(f, [good.subarray(0, good.length - 3)]);
    got[`${f} nothing`] = await decompress(f, []);
    const flipped = good.slice();
    flipped[flipped.length - (f === 'deflate-raw' ? 3 : 5)] ^= 0x10;
    got[`${f} corrupt`] = await decompress(f, [flipped]);
    got[`${f} not compressed`] = await decompress(f, [new TextEncoder().encode('plain text, not compressed at all')]);
    got[`${f} string chunk`] = await decompress(f, ['text']);
    got[`${f} compress a string`] = await through(new CompressionStream(f), ['text']).then((b) => (typeof b === 'string' ? b : 'bytes'));
    got[`${f} trailing data`] = await decompress(f, [good, new Uint8Array([1, 2, 3])]);
  }
  got['gzip members'] = await decompress('gzip', [unbase64(members)]);
  const badCRC = unbase64(made.gzip[0]);
  badCRC[badCRC.length - 8] ^= 1;
  got['gzip bad CRC'] = await decompress('gzip', [badCRC]);
  const badAdler = unbase64(made.deflate[0]);
  badAdler[badAdler.length - 1] ^= 1;
  got['deflate bad Adler-32'] = await decompress('deflate', [badAdler]);
  got['gzip as deflate'] = await decompress('deflate', [unbase64(made.gzip[0])]);
  // A body piped through, as a function answers with one.
  const piped = new Response(unbase64(made.gzip[0])).body!.pipeThrough(new DecompressionStream('gzip'));
  got.piped = await new Response(piped).text();
  got.errors = [
    attempt(() => new CompressionStream('br' as any)),
    attempt(() => new CompressionStream(undefined as any)),
    attempt(() => new DecompressionStream('GZIP' as any)),
    attempt(() => new DecompressionStream('zip' as any)),
    attempt(() => (CompressionStream as any)('gzip')),
    attempt(() => new CompressionStream({ toString: () => 'gzip' } as any)),
  ];
  return Response.json(got);
}
