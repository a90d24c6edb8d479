/**
 * The driver role (I5): at most one viewer of a session is active, and only its size reaches
 * the PTY. The role is recorded on the session itself (`activeViewer`), so HTTP and watchers see
 * it too (docs/architecture.md "Invariants", docs/protocol.md §4). Each function returns true
 * when it changed something.
 */
import type { SessionMapView } from '../sessions/types.js'

export function activeViewerOf(sessions: SessionMapView, key: string): string | null {
  return sessions.get(key)?.info().activeViewer ?? null
}

/** Makes `viewerId` the driver (a claim always wins: the newest hand on the keyboard drives). */
export function claim(sessions: SessionMapView, key: string, viewerId: string): boolean {
  const session = sessions.get(key)
  if (!session || session.info().activeViewer === viewerId) return false
  sessions.update(key, { activeViewer: viewerId })
  return true
}

/** Compare-and-set: releases only while `viewerId` still holds the role, so a stale release is a no-op. */
export function release(sessions: SessionMapView, key: string, viewerId: string): boolean {
  const session = sessions.get(key)
  if (!session || session.info().activeViewer !== viewerId) return false
  sessions.update(key, { activeViewer: null })
  return true
}

/** Whether `viewerId` may resize the PTY: only the active viewer may (nobody, when none is active). */
export function mayResize(sessions: SessionMapView, key: string, viewerId: string): boolean {
  return activeViewerOf(sessions, key) === viewerId
}
