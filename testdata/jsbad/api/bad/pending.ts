export function GET() {
  return new Promise(() => {});
}
