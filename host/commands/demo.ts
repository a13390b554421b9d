export const summary = 'placeholder';
export const usage = 'asicd selfcheck';
export async function run(): Promise<number> {
  return 0;
}
