// api/ts/geo: geolocation() from @vercel/functions, as JSON.
import { geolocation } from '@vercel/functions';

export default {
  fetch(request: Request) {
    const details = geolocation(request);
    return Response.json(details);
  },
};
