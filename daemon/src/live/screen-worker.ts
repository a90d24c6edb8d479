/**
 * The mirror worker: every session's headless screen, parsed off the daemon's main thread (see
 * screen-host.ts for why). It only answers messages, in order.
 */
import { parentPort } from 'node:worker_threads'
import { HeadlessScreen } from './screen.js'
import type { FromWorker, ToWorker } from './screen-host.js'

const port = parentPort!
const screens = new Map<number, HeadlessScreen>()

/**
 * Parsed credit is summed per screen and sent once per turn of the event loop rather than once
 * per chunk: a flood of 4 KB reads would otherwise cost a message back for every read.
 */
const credit = new Map<number, number>()
let flushing = false

function addCredit(id: number, size: number): void {
  credit.set(id, (credit.get(id) ?? 0) + size)
  if (flushing) return
  flushing = true
  setImmediate(() => {
    flushing = false
    for (const [id, size] of credit) send({ op: 'parsed', id, size })
    credit.clear()
  })
}

function send(message: FromWorker): void {
  port.postMessage(message)
}

port.on('message', (message: ToWorker) => {
  const { id } = message
  switch (message.op) {
    case 'open':
      screens.set(id, new HeadlessScreen(message.opts, (title) => send({ op: 'title', id, title })))
      return
    case 'write': {
      const size = message.data.byteLength
      screens.get(id)?.write(message.data, () => addCredit(id, size))
      return
    }
    case 'cut':
      screens.get(id)?.cut((snapshot) => send({ op: 'snapshot', id, cut: message.cut, snapshot }))
      return
    case 'resize':
      screens.get(id)?.resize(message.cols, message.rows)
      return
    case 'dispose':
      screens.get(id)?.dispose()
      screens.delete(id)
      credit.delete(id)
      return
  }
})
