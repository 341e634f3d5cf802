// fetch with a FormData, a Blob and a URLSearchParams body, each sent to
// ?up= (a backend that answers with what it parsed), and with redirect
// modes the runtime does not support yet.
export async function GET(request: Request) {
  const up = new URL(request.url).searchParams.get('up')!;
  const form = new FormData();
  form.append('field', 'value "quoted"');
  form.append('file', new File(['file body\r\n'], 'a "b".txt', { type: 'text/plain' }));
  const out: string[] = [];
  for (const body of [form, new Blob(['blob body'], { type: 'application/x-blob' }), new URLSearchParams({ k: 'v w' })]) {
    const res = await fetch(up, { method: 'POST', body });
    out.push(await res.text());
  }
  for (const redirect of ['manual', 'error'] as const) {
    try {
      await fetch(up, { redirect });
      out.push(`${redirect}: fetched`);
    } catch (e) {
      out.push(`${redirect}: ${(e as Error).name}: ${(e as Error).message}`);
    }
  }
  out.push(`request: ${new Request(up, { redirect: 'manual' }).redirect} ${new Request(up).redirect}`);
  return new Response(out.join('\n'));
}
