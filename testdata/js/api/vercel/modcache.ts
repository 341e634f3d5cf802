// getCache called at module scope, when the instance initialises (before
// any request): its methods, called during requests, reach the Runtime
// Cache.
import { getCache } from '@vercel/functions';

const cache = getCache({ namespace: 'modscope' });

export async function GET(request: Request) {
  const key = new URL(request.url).searchParams.get('key')!;
  const before = await cache.get(key);
  await cache.set(key, { at: 'module scope' }, { tags: ['modscope'] });
  return Response.json({ before, after: await cache.get(key) });
}
