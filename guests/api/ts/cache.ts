// api/ts/cache: the Runtime Cache with getCache() from @vercel/functions.
// The first request makes a value and stores it for an hour with the tag
// example-tag; later ones get it from the cache, until
// /api/ts/expire?tag=example-tag expires the tag.
import { getCache } from '@vercel/functions';

export default {
  async fetch(request: Request) {
    const cache = getCache({ namespace: 'ts-example' });
    const value = await cache.get('somekey');
    if (value) {
      return Response.json({ value, hit: true });
    }
    const originValue = { timestamp: Date.now(), id: crypto.randomUUID() };
    await cache.set('somekey', originValue, {
      ttl: 3600, // 1 hour in seconds
      tags: ['example-tag'],
    });
    return Response.json({ value: originValue, hit: false });
  },
};
