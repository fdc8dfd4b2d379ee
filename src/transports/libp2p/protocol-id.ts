import { LINK_PROTOCOL_VERSION } from '../../core/link-protocol.ts'

/** libp2p protocol id of mirnet streams: the link protocol's version (docs/wire-format.md). */
export const PROTOCOL_ID = `/mirnet/${LINK_PROTOCOL_VERSION}.0.0`
