throw new Error("thrown at load");
export function GET() {
  return new Response("never");
}
