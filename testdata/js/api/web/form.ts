// Blob, File and FormData, as bodies and read back from bodies. Nothing in
// it is wfn's own: host/jsoracle_test.go runs it on the Edge Runtime too.

// describe gives a FormData's entries as JSON: a string as it is, a File
// as its name, type, size and text.
async function describe(form: FormData) {
  const out: unknown[] = [];
  for (const [name, value] of form) {
    out.push([name, typeof value === 'string' ? value : { file: value.name, type: value.type, size: value.size, text: await value.text() }]);
  }
  return out;
}

// GET: the objects' behaviour, and a FormData, a Blob and URLSearchParams
// through Response bodies.
export async function GET() {
  const blob = new Blob(['héllo', new Uint8Array([32, 119]), new Blob(['orld'])], { type: 'Text/Plain' });
  const sliced = blob.slice(-5, -1, 'X/Y');
  const file = new File([blob], 'greeting.txt', { type: 'text/plain', lastModified: 42 });

  const form = new FormData();
  form.append('name', 'Ada\nLovelace');
  form.append('tag', 'a');
  form.append('tag', 'b');
  form.append('upload', file);
  form.append('raw', new Blob([new Uint8Array([0, 1, 2, 255])]), 'raw.bin');
  form.append('anonymous', new Blob(['x']));
  form.set('tag', 'c');
  form.append('gone', '1');
  form.delete('gone');

  const multipart = new Response(form);
  const contentType = multipart.headers.get('content-type') ?? '';
  const back = await multipart.formData();
  const urlencoded = await new Response(new URLSearchParams('a=1&b=%C3%A9&a=2')).formData();
  const fromBlob = new Response(new Blob(['{"ok":true}'], { type: 'application/json' }));
  const blobBack = await new Response('as a blob', { headers: { 'content-type': 'text/x-note' } }).blob();
  let noBoundary = '';
  try {
    await new Response('x', { headers: { 'content-type': 'multipart/form-data' } }).formData();
  } catch (e) {
    noBoundary = (e as Error).name;
  }
  let wrongType = '';
  try {
    await new Response('{}', { headers: { 'content-type': 'application/json' } }).formData();
  } catch (e) {
    wrongType = (e as Error).name;
  }

  return Response.json({
    blob: { size: blob.size, type: blob.type, text: await blob.text(), tag: Object.prototype.toString.call(blob) },
    sliced: { size: sliced.size, type: sliced.type, text: await sliced.text() },
    bytes: Array.from(new Uint8Array(await sliced.arrayBuffer())),
    stream: await new Response(blob.stream()).text(),
    file: { name: file.name, type: file.type, size: file.size, lastModified: file.lastModified, isBlob: file instanceof Blob },
    form: {
      get: form.get('tag'),
      getAll: form.getAll('tag'),
      has: [form.has('name'), form.has('gone')],
      keys: [...form.keys()],
      anonymous: (form.get('anonymous') as File).name,
      missing: form.get('missing'),
    },
    multipart: contentType.startsWith('multipart/form-data; boundary='),
    back: await describe(back),
    urlencoded: await describe(urlencoded),
    fromBlob: [fromBlob.headers.get('content-type'), await fromBlob.text()],
    blobBack: [blobBack.type, await blobBack.text()],
    errors: [noBoundary, wrongType],
  });
}

// POST: the request body as a FormData (multipart/form-data or
// urlencoded); another type is a 400 naming the error.
export async function POST(request: Request) {
  try {
    return Response.json(await describe(await request.formData()));
  } catch (e) {
    return Response.json({ error: (e as Error).name }, { status: 400 });
  }
}
