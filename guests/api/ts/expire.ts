// api/ts/expire?tag=T: expires the Runtime Cache entries tagged T with
// getCache().expireTag.
import { getCache } from '@vercel/functions';

export default {
  async fetch(request: Request) {
    const tag = new URL(request.url).searchParams.get('tag');
    if (!tag) {
      return Response.json({ error: 'missing tag: /api/ts/expire?tag=example-tag' }, { status: 400 });
    }
    await getCache().expireTag(tag);
    return Response.json({ expired: tag }, { headers: { 'Cache-Control': 'no-store' } });
  },
};
