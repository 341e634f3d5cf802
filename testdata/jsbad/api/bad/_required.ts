export function required(setting: string): string {
  const value: string | undefined = undefined;
  if (value === undefined) throw new Error(`thrown at load: ${setting} is not set`);
  return value;
}
