// api/ts/revalidate?tag=T: marks the CDN entries tagged T stale with
// invalidateByTag.
import { invalidateByTag } from '@vercel/functions';

export default {
  async fetch(request: Request) {
    const tag = new URL(request.url).searchParams.get('tag');
    if (!tag) {
      return Response.json({ error: 'missing tag: /api/ts/revalidate?tag=products' }, { status: 400 });
    }
    await invalidateByTag(tag);
    return Response.json({ revalidated: tag }, { headers: { 'Cache-Control': 'no-store' } });
  },
};
