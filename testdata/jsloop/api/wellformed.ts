// A string body with lone surrogates: sent as UTF-8 with each one as
// U+FFFD (toWellFormed), both by the runtime's C path (GET returns a
// Response) and by the prelude's (POST returns a promise of one; so does
// GET with ?async).
const body = "a\uD800b\uDC00c\u{1F600}\u00E9";

export function GET(request: Request) {
  if (new URL(request.url).searchParams.has("async")) return POST();
  return new Response(body);
}

export async function POST() {
  return new Response(body);
}
