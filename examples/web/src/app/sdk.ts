/**
 * The slice of @tabula/client-sdk this viewer uses, under the names the viewer's modules use. The
 * viewer talks to tabula only through these (docs/viewers.md, docs/sdk.md): no daemon frames, no
 * direct Yjs.
 */
export type {
  TabulaClient as Client,
  WorkspaceView as Workspace,
  Tab,
  TerminalHandle,
  WorkspaceStatus,
  PresenceEntry,
  WorkspaceInfo,
  Session,
} from '@tabula/client-sdk'
export { connect, DaemonError } from '@tabula/client-sdk'
