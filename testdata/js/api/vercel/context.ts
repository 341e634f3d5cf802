// The request context of @vercel/functions, as the npm package reads it.
export default {
  async fetch(request: Request) {
    const ctx = (globalThis as any)[Symbol.for('@vercel/request-context')].get();
    return Response.json({
      keys: Object.keys(ctx).sort(),
      header: ctx.headers['x-test'],
      deadline: typeof ctx.deadline,
    });
  },
};
