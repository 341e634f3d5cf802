export function GET() {
  return { hello: "world" };
}
