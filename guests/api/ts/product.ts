// api/ts/product?id=N: a product page cached by the CDN for a day
// (Vercel-CDN-Cache-Control) and tagged product-N and products
// (addCacheTag), so that /api/ts/revalidate?tag=products refreshes it.
// runs counts the times the function ran for the id (a Runtime Cache
// entry): a CDN hit does not run it.
import { addCacheTag, getCache } from '@vercel/functions';

const runs = getCache({ namespace: 'ts-product-runs' });

export default {
  async fetch(request: Request) {
    const id = new URL(request.url).searchParams.get('id');
    if (!id || !/^\d+$/.test(id)) {
      return Response.json({ error: 'id must be a non-negative integer: /api/ts/product?id=1' }, { status: 400 });
    }
    const n = (((await runs.get(id)) as number | null) ?? 0) + 1;
    await runs.set(id, n);
    await addCacheTag(`product-${id},products`);
    return Response.json(
      { id: Number(id), runs: n },
      { headers: { 'Vercel-CDN-Cache-Control': 'public, max-age=86400' } },
    );
  },
};
