// The Encoding Standard's streaming parts: TextDecoder with stream: true
// fed one byte at a time, a BOM cut across chunks, encodeInto, and
// TextDecoderStream and TextEncoderStream over chunks that cut characters.
export async function GET() {
  const out: string[] = [];
  const text = 'h€llo 😀 wörld';
  const bytes = new TextEncoder().encode(text);

  const d = new TextDecoder();
  let s = '';
  for (const b of bytes) s += d.decode(new Uint8Array([b]), { stream: true });
  s += d.decode();
  out.push(`bytewise ${s === text}`);

  const bom = new TextDecoder();
  out.push(`bom ${JSON.stringify(bom.decode(new Uint8Array([0xef, 0xbb]), { stream: true }) + bom.decode(new Uint8Array([0xbf, 0x41])))}`);
  out.push(`cut at the end ${JSON.stringify(new TextDecoder().decode(new Uint8Array([0x41, 0xe2, 0x82])))}`);

  const r = new TextEncoder().encodeInto('a€b', new Uint8Array(5));
  const r2 = new TextEncoder().encodeInto('a€b', new Uint8Array(3));
  out.push(`encodeInto ${r.read}/${r.written} ${r2.read}/${r2.written}`);

  // Bytes in chunks of 3 through a TextDecoderStream.
  const chunks = new ReadableStream({
    start(c) {
      for (let i = 0; i < bytes.length; i += 3) c.enqueue(bytes.slice(i, i + 3));
      c.close();
    },
  });
  let decoded = '';
  for await (const part of chunks.pipeThrough(new TextDecoderStream())) decoded += part;
  out.push(`TextDecoderStream ${decoded === text}`);

  // Strings that cut the emoji's surrogate pair through a TextEncoderStream.
  const strings = new ReadableStream({
    start(c) {
      for (const part of ['h€llo \ud83d', '\ude00 wörld']) c.enqueue(part);
      c.close();
    },
  });
  const encoded = await new Response(strings.pipeThrough(new TextEncoderStream())).text();
  out.push(`TextEncoderStream ${encoded === text}`);
  return new Response(out.join('\n'));
}
