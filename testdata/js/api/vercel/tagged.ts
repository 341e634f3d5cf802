// A response the CDN caches for a minute, tagged with ?tag= (addCacheTag);
// runs counts the times this instance ran (a CDN hit does not run it).
import { addCacheTag } from '@vercel/functions';

let runs = 0;

export async function GET(request: Request) {
  await addCacheTag(new URL(request.url).searchParams.get('tag')!);
  runs++;
  return Response.json({ runs }, { headers: { 'Vercel-CDN-Cache-Control': 'public, max-age=60' } });
}
