import { spawn } from 'node:child_process';
import { readFileSync, mkdtempSync } from 'node:fs';
const port = 3900 + Math.floor(Math.random() * 90);
const dir = mkdtempSync('/tmp/inkwell-mem-');
const child = spawn(process.execPath, ['/work/wt-robust/src/main.ts'], { cwd: dir, env: { PATH: process.env.PATH!, NODE_ENV: 'production', APP_BASE_URL: 'https://x.test', SESSION_SECRET: 'a-test-secret-that-is-long-enough-0123456789', SMTP_URL: 'smtp://127.0.0.1:1', DATABASE_URL: `sqlite:${dir}/db`, PORT: String(port), RATE_LIMITS: 'off' }, stdio: ['ignore', 'pipe', 'pipe'] });
if (process.argv[3] === 'read') { child.stdout!.resume(); child.stderr!.resume(); }
const rss = () => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'))![1]) / 1024;
const url = `http://127.0.0.1:${port}`;
for (;;) { try { if ((await fetch(url + '/healthz')).ok) break; } catch {} await new Promise(r => setTimeout(r, 200)); }
const pad = process.argv[2] === 'small' ? '' : 'x'.repeat(12000);
async function burst(n: number) { let i = 0; await Promise.all(Array.from({ length: 8 }, async () => { while (i < n) { const r = await fetch(`${url}/nope?n=${i++}&pad=${pad}`); await r.arrayBuffer(); } })); }
await burst(300); console.log('after warmup', rss().toFixed(0));
for (let k = 0; k < 4; k++) { await burst(1000); console.log('after +1000', rss().toFixed(0)); }
child.kill('SIGKILL');
