// `media-gateway pki`: placeholder until the command lands.
export async function run(_argv: string[]): Promise<number> {
  process.stderr.write('media-gateway pki: not implemented yet\n');
  return 1;
}
