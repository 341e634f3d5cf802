// A .tsx function, as Vercel builds api/**/*.tsx with @vercel/node: JSX
// with a factory of its own (the pragma), no React needed.
/** @jsx h */
function h(tag: string, props: Record<string, string> | null, ...children: unknown[]): string {
  const attrs = Object.entries(props ?? {}).map(([k, v]) => ` ${k}="${v}"`).join("");
  return `<${tag}${attrs}>${children.join("")}</${tag}>`;
}

export function GET(request: Request) {
  const name = new URL(request.url).searchParams.get("name") ?? "TSX";
  const page: string = <p class="greeting">Hello {name}!</p>;
  return new Response(page, { headers: { "content-type": "text/html" } });
}
