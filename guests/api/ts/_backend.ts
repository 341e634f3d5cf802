// backend is the URL the proxy examples forward to: BACKEND_URL (set it in
// the served directory's .env, with wfn serve --env BACKEND_URL=..., or in
// the function's env config) with path appended, as the Go proxy example
// reads it. guests/vercel.json allows these functions 127.0.0.1 and
// localhost, for a backend on the same machine.
export function backend(path = ''): string {
  const base = process.env.BACKEND_URL;
  if (!base) {
    throw new Error('BACKEND_URL is not set: set it in .env, with wfn serve --env BACKEND_URL=..., or in the function\'s env config');
  }
  return base.replace(/\/$/, '') + path;
}
