export function GET() {
  for (;;) {}
}
