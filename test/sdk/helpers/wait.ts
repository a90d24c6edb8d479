/** Waiting for what a user would eventually see, without timing assertions. */
import type { WorkspaceView } from '../../../client-sdk/src/api.js'

/**
 * Resolves once `probe()` holds, re-checking on every change/status event of the views (and on
 * a slow poll as a safety net). Rejects with `what` and the last value seen after `limitMs`,
 * which is only a guard against hanging, not a performance claim.
 */
export async function until<T>(what: string, probe: () => T | false | null | undefined, views: WorkspaceView[] = [], limitMs = 20_000): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const subs = views.flatMap((v) => [v.on('change', check), v.on('status', check)])
    const poll = setInterval(check, 50)
    const timer = setTimeout(() => {
      done()
      reject(new Error(`gave up waiting for: ${what}`))
    }, limitMs)
    function done() {
      clearInterval(poll)
      clearTimeout(timer)
      for (const s of subs) s.dispose()
    }
    function check() {
      let value: T | false | null | undefined
      try {
        value = probe()
      } catch (error) {
        done()
        return reject(error)
      }
      if (value) {
        done()
        resolve(value)
      }
    }
    check()
  })
}

export const keysOf = (view: WorkspaceView) => view.tabs().map((t) => t.key)
