/// The message types peers exchange over RPC. Payloads are opaque at the RPC layer; the
/// node layer encodes them.
///
/// FROZEN NUMBERING, APPEND-ONLY: a number, once released, keeps its meaning forever. Add
/// new types at the end with the next free number; a retired type stays as a commented gap.
/// A peer receiving a number it does not know answers `RPCErrorCode.unknownMessageType`.
public enum PeerMessageType: UInt16, Sendable, CaseIterable {
    /// Liveness and round-trip probe; the payload is echoed.
    case ping = 1
    /// Coordinator -> replica: apply a write (value or tombstone with its context).
    case replicaWrite = 2
    /// Coordinator -> replica: read a key's siblings and context.
    case replicaRead = 3
    /// Fallback -> owner: deliver stored hints.
    case hintDelivery = 4
    /// Ownership handoff: the new owner asks the old one for the next chunk of a range and
    /// gets its records (the receiver pulls).
    case handoffBatch = 5
    // 6: retired (handoffDone, never sent: the receiver pulls handoffBatch chunks and the
    // answer says when a range is done). Reserved; never reuse.
    /// Anti-entropy: ask for / answer with the Merkle tree nodes of a partition.
    case merkleTree = 7
    /// Anti-entropy: ask for / answer with the keys of differing Merkle segments.
    case merkleSegment = 8
    /// Anti-entropy: push keys to a stale replica (read repair sends `replicaWrite`).
    case repair = 9
    /// SCAN across the cluster: one chunk of a partition's keys.
    case scanChunk = 10
    // 11: retired (stateSync, never sent nor handled: ring and namespaces travel over
    // gossip). Reserved; never reuse.
    /// Any peer -> the coordinating primary: a client write to version and replicate there.
    case forwardWrite = 12
    /// Any peer -> the claimant: create a namespace (the claimant alone changes the table).
    case namespaceCreate = 13
}
