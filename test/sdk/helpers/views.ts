/** What a test reads off a workspace view. */
import type { WorkspaceView } from '../../../client-sdk/src/api.js'

export const keysOf = (view: WorkspaceView) => view.tabs().map((t) => t.key)
