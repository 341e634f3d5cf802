// A top-level await that never settles: the function fails to load.
await new Promise<void>(() => {});

export const GET = () => new Response("never");
