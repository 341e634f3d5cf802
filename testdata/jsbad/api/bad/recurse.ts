function down(n: number): number {
  return down(n + 1) + 1;
}

export function GET() {
  return new Response(String(down(0)));
}
