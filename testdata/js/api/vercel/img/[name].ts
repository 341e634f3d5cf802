// An image the CDN caches for a minute, at its own path (the source image
// of invalidateBySrcImage and dangerouslyDeleteBySrcImage); X-Runs counts
// the times this instance ran (a CDN hit does not run it).

// A 1x1 transparent PNG.
const png = Uint8Array.from(atob(
  'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==',
), (c) => c.charCodeAt(0));

let runs = 0;

export function GET() {
  runs++;
  return new Response(png, {
    headers: {
      'Content-Type': 'image/png',
      'X-Runs': String(runs),
      'Vercel-CDN-Cache-Control': 'public, max-age=60',
    },
  });
}
