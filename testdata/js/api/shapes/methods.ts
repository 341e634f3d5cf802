// Per-method handlers: GET and POST exported, HEAD answered from GET.
import { greeting } from "./_lib/greeting";

let invocations = 0; // module scope: lives as long as the instance

export function GET(request: Request): Response {
  invocations++;
  const headers = new Headers({ "X-Greeting": greeting("GET") });
  headers.append("Set-Cookie", "a=1; Path=/");
  headers.append("Set-Cookie", "b=2; Path=/");
  return new Response(`GET ${invocations}`, { status: 201, headers });
}

export async function POST(request: Request) {
  const body = await request.json();
  return Response.json({ got: body, type: request.headers.get("content-type") }, { headers: { "x-method": request.method } });
}
