// getCache with a namespace and a custom hash, and purges: every call of
// wfn's own @vercel/functions.
import { getCache, dangerouslyDeleteByTag, invalidateBySrcImage, dangerouslyDeleteBySrcImage, addCacheTag } from '@vercel/functions';

export default {
  async fetch(request: Request) {
    const q = new URL(request.url).searchParams;
    const cache = getCache({ namespace: 'ns', namespaceSeparator: ':', keyHashFunction: (k) => `h-${k}` });
    const key = q.get('key') ?? 'k';
    switch (q.get('op')) {
      case 'set':
        await cache.set(key, { v: q.get('v') }, { ttl: 60, tags: ['t1', 't2'], name: 'named' });
        break;
      case 'delete':
        await cache.delete(key);
        break;
      case 'expire':
        await cache.expireTag(q.get('tag')!.split(','));
        break;
      case 'purge':
        await addCacheTag(['a', 'b']);
        await dangerouslyDeleteByTag('a', { revalidationDeadlineSeconds: 10 });
        await invalidateBySrcImage('/img/1.png');
        await dangerouslyDeleteBySrcImage(['/img/1.png', '/img/2.png']);
        break;
      case 'invalidatesrc':
        await invalidateBySrcImage(q.get('src')!);
        return new Response('invalidated');
      case 'deletesrc':
        await dangerouslyDeleteBySrcImage(q.get('src')!);
        return new Response('deleted');
      case 'deletetag':
        await dangerouslyDeleteByTag(q.get('tag')!);
        return new Response('deleted');
      case 'badtag':
        try {
          await addCacheTag(['a', '']); // an empty tag
          return new Response('accepted');
        } catch (e) {
          return new Response(String(e), { status: 400 });
        }
    }
    return Response.json({ got: await cache.get(key) });
  },
};
