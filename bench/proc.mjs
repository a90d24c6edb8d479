// What the benchmarks read of a process from /proc (Linux): CPU time, per thread too, and memory.
import { readdirSync, readFileSync } from 'node:fs'

/** Linux's USER_HZ: the unit of the CPU times in /proc/<pid>/stat. */
export const CLOCK_TICKS = 100

/** The fields of a stat file after the command's name (which may hold spaces), and that name. */
function stat(path) {
  const text = readFileSync(`/proc/${path}/stat`, 'utf8')
  const close = text.lastIndexOf(')')
  return { name: text.slice(text.indexOf('(') + 1, close), fields: text.slice(close + 2).split(' ') }
}

/** CPU ticks a process used (all its threads), and with `children` only those of its waited-for children. */
export function cpuTicks(pid, children) {
  const { fields } = stat(pid)
  // After the ") ": state is field 3 of stat(5), so field n is fields[n - 3].
  return children ? Number(fields[16 - 3]) + Number(fields[17 - 3]) : Number(fields[14 - 3]) + Number(fields[15 - 3])
}

/** CPU seconds of each thread of `pid` so far: `[{tid, name, seconds}]` (threads that end meanwhile are left out). */
export function threadCpu(pid) {
  const threads = []
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      const { name, fields } = stat(`${pid}/task/${tid}`)
      threads.push({ tid: Number(tid), name, seconds: (Number(fields[14 - 3]) + Number(fields[15 - 3])) / CLOCK_TICKS })
    } catch {
      /* the thread ended */
    }
  }
  return threads
}

/** Resident memory of a process. */
export function rssOf(pid) {
  const kb = /VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))
  return kb ? Number(kb[1]) * 1024 : 0
}
