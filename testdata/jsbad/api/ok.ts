// The neighbour of the bad functions: served whatever they do.
let runs = 0;

export function GET() {
  runs++;
  return new Response(`ok ${runs}`);
}
