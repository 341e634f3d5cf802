// api/ts/ip: ipAddress() from @vercel/functions.
import { ipAddress } from '@vercel/functions';

export default {
  fetch(request: Request) {
    const ip = ipAddress(request);
    return new Response(`Your ip is ${ip}`);
  },
};
