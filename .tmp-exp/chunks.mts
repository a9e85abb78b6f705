import https from 'node:https';
import { readFileSync } from 'node:fs';
import { Pool } from 'undici';
import { makePki } from '/work/wt-decode/src/pki/index.ts';
const pki = await makePki('/tmp/decode-mb/pki-' + process.pid);
const server = https.createServer({ cert: readFileSync(pki.serverCert), key: readFileSync(pki.serverKey) }, (req, res) => {
  const sizes: number[] = []; const abs: number[] = [];
  req.on('data', (c: Buffer) => { sizes.push(c.length); abs.push(c.buffer.byteLength); });
  req.on('end', () => { console.log(req.headers['content-length'], 'chunks', sizes.join(','), 'arraybuffers', abs.join(',')); res.end(); });
});
server.listen(0, '127.0.0.1'); await new Promise(r => server.once('listening', r));
const pool = new Pool(`https://127.0.0.1:${(server.address() as any).port}`, { connect: { ca: readFileSync(pki.caCert) } });
for (const n of [65836, 1048876, 65836]) { const r = await pool.request({ method: 'POST', path: '/', body: Buffer.alloc(n) }); await r.body.text(); }
await pool.close(); server.close();
