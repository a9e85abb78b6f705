import { readFileSync } from 'node:fs';
import { bodyBuffer } from '../src/server/body-sinks.ts';
const size = Number(process.argv[2]); const which = process.argv[3];
class BodyBuffer { buffer?: Buffer; length = 0; constructor(private declared: number) { this.buffer = Buffer.allocUnsafe(Math.min(declared, 65536)); }
  add(chunk: Buffer) { const needed = this.length + chunk.length; if (needed > this.buffer!.length) { const g = Buffer.allocUnsafe(Math.min(this.declared, Math.max(needed, this.buffer!.length * 2))); this.buffer!.copy(g, 0, 0, this.length); this.buffer = g; } chunk.copy(this.buffer!, this.length); this.length += chunk.length; }
  take() { return this.buffer!; } }
class Pre { buffer: Buffer; length = 0; constructor(declared: number) { this.buffer = Buffer.allocUnsafe(declared); } add(c: Buffer) { c.copy(this.buffer, this.length); this.length += c.length; } take() { return this.buffer; } }
class Late { buffer?: Buffer; length = 0; constructor(private declared: number) {} add(c: Buffer) { this.buffer ??= Buffer.allocUnsafe(this.declared); c.copy(this.buffer, this.length); this.length += c.length; } take() { return this.buffer!; } }
const make = ({ old: (n: number) => new BodyBuffer(n), new: bodyBuffer, pre: (n: number) => new Pre(n), late: (n: number) => new Late(n) } as any)[which];
const keep: Buffer[] = [];
const faults = () => Number(readFileSync('/proc/self/stat', 'utf8').split(') ')[1].split(' ')[7]);
const reps = Math.floor(256e6 / size);
for (let round = 0; round < 4; round++) {
  const f0 = faults(); const t = process.cpuUsage();
  for (let i = 0; i < reps; i++) { const s = make(size); for (let p = 0; p < size; p += 16384) s.add(Buffer.allocUnsafeSlow(Math.min(16384, size - p))); keep.push(s.take()); if (keep.length > 8) keep.shift(); }
  const u = process.cpuUsage(t); const mib = reps * size / 2 ** 20;
  if (round === 3) console.log(which, ((u.user + u.system) / 1000 / mib).toFixed(3), 'ms/MiB', ((faults() - f0) / mib).toFixed(0), 'faults/MiB', 'sys', (u.system / 1000 / mib).toFixed(3));
}
