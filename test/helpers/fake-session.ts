/**
 * A Session record as the daemon reports it, for tests that model the daemon rather than run one
 * (deriveTabs cases, the convergence simulation). `at` is a creation tick: later ticks are newer.
 */
import type { Session } from '@tabula/protocol'

const EPOCH_MS = 1_700_000_000_000

export function fakeSession(key: string, at: number, extra: Partial<Session> = {}): Session {
  return {
    key,
    workspace: 'w',
    kind: 'terminal',
    command: 'bash',
    args: [],
    cwd: '/',
    pid: 1,
    status: 'running',
    exitCode: null,
    title: null,
    cols: 80,
    rows: 24,
    createdAt: new Date(EPOCH_MS + at * 1000).toISOString(),
    activeViewer: null,
    ...extra,
  }
}
