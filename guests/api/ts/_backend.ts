// backend is the URL the proxy examples forward to: BACKEND_URL (set it in
// the served directory's .env, with wfn serve --env BACKEND_URL=..., or in
// the function's env config) with path appended, as the Go proxy example
// reads it. guests/vercel.json allows these functions 127.0.0.1 and
// localhost, for a backend on the same machine.
export function backend(path = ''): string {
  const base = process.env.BACKEND_URL;
  if (!base) {
    throw new Error(unset);
  }
  return base.replace(/\/$/, '') + path;
}

// noBackend is the answer of the proxy examples when BACKEND_URL is not
// set: 500 with a body that names the variable, as the Go proxy example
// answers; undefined when it is set.
export function noBackend(): Response | undefined {
  if (process.env.BACKEND_URL) {
    return undefined;
  }
  return new Response(`proxy: ${unset}\n`, {
    status: 500,
    headers: { 'Content-Type': 'text/plain; charset=utf-8' },
  });
}

const unset = "BACKEND_URL is not set: set it in .env, with wfn serve --env BACKEND_URL=..., or in the function's env config";
