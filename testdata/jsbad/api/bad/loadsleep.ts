// A top-level await on a timer far past the function's maxDuration (1 s in
// vercel.json): the function fails to load at its maxDuration, not when
// the timer fires.
await new Promise((resolve) => setTimeout(resolve, 10 * 60 * 1000));

export const GET = () => new Response("late");
