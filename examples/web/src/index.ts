/**
 * @tabula/web: serves the built web viewer at `/`. STUB: implemented by issue 6.
 */
import type { Component } from '@tabula/protocol/server'

export function createWebViewer(): Component {
  return { name: 'web', handleRequest: () => false, close: async () => {} }
}
