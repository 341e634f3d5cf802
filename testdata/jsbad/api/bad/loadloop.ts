// An infinite loop at module scope: the function fails to load at its
// maxDuration (1 s in vercel.json).
let spins: number = 0;
for (;;) spins++;

export const GET = () => new Response(String(spins));
