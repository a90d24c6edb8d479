// temp: daemon CPU for a viewer flooding input into a session whose input is refused
import { spawn } from 'node:child_process'
import { mkdtempSync, readFileSync, readdirSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import WebSocket from 'ws'
const mode = process.argv[2] ?? 'cooked'
const home = mkdtempSync(join(tmpdir(), 'tabula-ic-'))
const proc = spawn(process.execPath, [process.env.CLI ?? 'cli/bin/tabula.js', 'daemon', '--port', '0', '--home', home, '--no-restore'], { stdio: 'inherit', env: { ...process.env, TABULA_LOG_LEVEL: 'error' } })
const sleep = (ms) => new Promise((r) => setTimeout(r, ms))
let rt
for (;;) { try { rt = JSON.parse(readFileSync(join(home, 'runtime.json'), 'utf8')); if (rt.pid === proc.pid) break } catch {} await sleep(50) }
const token = readFileSync(join(home, 'token'), 'utf8').trim()
const api = (p, b) => fetch(rt.daemonUrl + p, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: JSON.stringify(b) }).then((r) => r.json())
const ws = (await api('/v1/workspaces', { path: home })).id
const s = (await api(`/v1/workspaces/${ws}/sessions`, { command: 'sh', args: ['-c', mode === 'raw' ? 'stty raw -echo; exec sleep 100' : 'exec sleep 100'] })).session
const sock = new WebSocket(rt.daemonUrl.replace('http', 'ws') + '/v1/live', ['tabula.v1', 'bearer.' + token])
await new Promise((r) => sock.once('open', r))
let out = 0, errors = 0
sock.on('message', (d, bin) => { if (bin) out += d.length; else if (String(d).includes('input_queue_full')) errors++ })
sock.send(JSON.stringify({ type: 'attach', ch: 1, key: s.key }))
await sleep(500)
const cpu = () => { let t = 0; for (const task of readdirSync(`/proc/${proc.pid}/task`)) { const st = readFileSync(`/proc/${proc.pid}/task/${task}/stat`, 'utf8'); const f = st.slice(st.lastIndexOf(')') + 2).split(' '); t += (Number(f[11]) + Number(f[12])) / 100 } return t }
const sys = () => { const f = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number); return f[2] / 100 }
const c0 = cpu(), s0 = sys(), u0 = process.cpuUsage()
const frame = JSON.stringify({ type: 'input', ch: 1, data: 'y'.repeat(256 * 1024) })
let sent = 0
const t = setInterval(() => { if (sock.bufferedAmount < 1024 * 1024) { sock.send(frame); sent++ } }, 20)
await sleep(8000)
clearInterval(t)
const u = process.cpuUsage(u0)
console.log(mode, `daemon cpu ${(cpu() - c0).toFixed(2)} s in 8 s; machine sys ${(sys() - s0).toFixed(1)} s; client ${((u.user + u.system) / 1e6).toFixed(2)} s; frames sent ${sent}, refused ${errors}, echo ${(out / 1e6).toFixed(1)} MB`)
sock.terminate(); proc.kill(); await new Promise((r) => proc.once('exit', r))
