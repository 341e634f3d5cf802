export function GET(request: Request) {
  return new Response("never";
}
