import { bodyBuffer } from '../src/server/body-sinks.ts';
const size = Number(process.argv[2]);
class BodyBuffer { buffer?: Buffer; length = 0; constructor(private declared: number) { this.buffer = Buffer.allocUnsafe(Math.min(declared, 65536)); }
  add(chunk: Buffer) { const needed = this.length + chunk.length; if (needed > this.buffer!.length) { const g = Buffer.allocUnsafe(Math.min(this.declared, Math.max(needed, this.buffer!.length * 2))); this.buffer!.copy(g, 0, 0, this.length); this.buffer = g; } chunk.copy(this.buffer!, this.length); this.length += chunk.length; }
  take() { return this.buffer!; } }
const keep: Buffer[] = [];
function run(make: (n: number) => { add(c: Buffer): void; take(): Buffer }) {
  const s = make(size);
  for (let p = 0; p < size; p += 16384) s.add(Buffer.allocUnsafeSlow(Math.min(16384, size - p)));
  keep.push(s.take()); if (keep.length > 8) keep.shift();   // like buffers waiting for ZeroMQ
}
const reps = Math.floor(256e6 / size);
for (let round = 0; round < 5; round++) for (const [name, make] of [['old', (n: number) => new BodyBuffer(n)], ['new', bodyBuffer]] as const) {
  const t = process.cpuUsage(); for (let i = 0; i < reps; i++) run(make as any); const u = process.cpuUsage(t);
  console.log(round, name, ((u.user + u.system) / 1000 / (reps * size / 2 ** 20)).toFixed(3), 'ms/MiB');
}
