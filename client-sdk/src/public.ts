/** What both entries (Node and browser) export besides `connect`. */
export type * from './api.js'
export { deriveTabs, displayTitle } from './derive-tabs.js'
export { memoryStorage } from './storage/memory.js'
export { DaemonError } from '@tabula/protocol'
export { reconnectDelay } from './backoff.js'
