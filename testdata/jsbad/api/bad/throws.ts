function deep(n: number): never {
  if (n === 0) throw new Error("boom from a handler");
  return deep(n - 1);
}

export async function GET() {
  deep(3);
}
