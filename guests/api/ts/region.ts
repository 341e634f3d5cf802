// api/ts/region: getEnv() from @vercel/functions, the region the function
// runs in (VERCEL_REGION).
import { getEnv } from '@vercel/functions';

export default {
  fetch(request: Request) {
    const { VERCEL_REGION } = getEnv();
    return new Response(`Hello from ${VERCEL_REGION}`);
  },
};
