// What this node knows of every node's counter lease, and the checks that keep a client's
// context from naming writes that were never issued (issue 14: a forged context entry such
// as {n2: 2^64-1}, stored in a record and replicated to n2, once advanced n2's lease to the
// end of the counter space and stopped every write n2 coordinated, for good).
//
// Two checks, both before a counter is drawn:
//   * at the client edge (`refusal`): every node gossips its persisted lease ("lease:<id>",
//     Node+Leases.swift) and a node can have issued no counter above it, so an entry above
//     the named node's known lease by more than `lagAllowance` (room for renewals gossip
//     has not carried yet) is refused with a clear error: it is forged, or from another
//     cluster. A node not heard from yet is not judged here.
//   * at the coordinating replica (`admitted`): an entry above both what this replica's
//     stored state of the key holds for that node and that node's known persisted lease is
//     clamped to the stored value, and counted. The stored context is trusted (it holds
//     only dots coordinators issued), and so is a lease (no counter above it was ever
//     handed out). So no client value above a lease is ever stored, and none can move a
//     lease past what its node already persisted. An entry within the named node's lease
//     is kept: a coordinator that is behind (it missed a write the client read elsewhere)
//     still supersedes what the client saw, as a PUTV should.
//     Clamping is lossless: the write supersedes at most what the client asked; a write
//     whose entry was lowered stays as a sibling, and the next GETV/PUTV resolves it.
// Pre-existing poison (a record stored before these checks) is met by
// `CounterLease.counterSpaceLimit`: LocalReplica refuses that one key, never moves the lease.
//
// Thread-safety: every method may be called from any thread.

import Synchronization

/// Known counter leases per node, and the checks of client contexts against them.
public final class CounterBounds: Sendable {
    /// How far above a node's gossiped lease a client entry may be before it is refused
    /// outright: a node renews when a quarter of its lease is left, so a few leases cover
    /// the renewals still in flight through gossip. Entries in this band are clamped.
    public static let lagAllowance: UInt64 = 4 * CounterLease.defaultLeaseSize

    private let leases = Mutex<[NodeID: UInt64]>([:])
    /// Client context entries lowered to what their node can have issued.
    public let clampedEntries = Atomic<UInt64>(0)
    /// Client contexts refused at the edge as naming writes never issued.
    public let refusedContexts = Atomic<UInt64>(0)

    public init() {}

    /// Records that `node` has durably leased counters up to `leasedUpTo` (gossip, or this
    /// node's own lease). Bounds only grow.
    public func learn(node: NodeID, leasedUpTo: UInt64) {
        leases.withLock { $0[node] = max($0[node] ?? 0, leasedUpTo) }
    }

    /// The highest lease heard from `node`; nil when none was.
    public func lease(of node: NodeID) -> UInt64? { leases.withLock { $0[node] } }

    /// A client's context bytes, decoded and checked (`refusal`), or the error to answer
    /// with: `-ERR bad context`, saying why when the reason is a bound the client can act on.
    public func clientContext(_ raw: [UInt8]) -> Result<VersionVector, ClientError> {
        let decoded: VersionVector
        do {
            decoded = try VersionVector(decodingContext: raw[...])
        } catch .tooManyEntries(let n) {
            return .failure(ClientError("ERR bad context: \(n) entries (max \(VersionFormat.maxVectorEntries))"))
        } catch {
            return .failure(ClientError("ERR bad context"))
        }
        if let bad = refusal(for: decoded) { return .failure(bad) }
        return .success(decoded)
    }

    /// The client-edge check: nil when every entry of `context` is within what its node can
    /// have issued (or its node is unknown), else the error to answer with.
    public func refusal(for context: VersionVector) -> ClientError? {
        if context.isEmpty { return nil }
        let known = leases.withLock { $0 }
        for e in context.entries {
            guard let lease = known[e.actor] else { continue }
            let (limit, overflow) = lease.addingReportingOverflow(CounterBounds.lagAllowance)
            if !overflow, e.counter > limit {
                refusedContexts.wrappingAdd(1, ordering: .relaxed)
                return ClientError("ERR bad context: it names write \(e.counter) of node \(e.actor), which has issued at most \(lease); send the context GETV returned")
            }
        }
        return nil
    }

    /// The coordinating replica's clamp: `context` with every entry lowered to what the
    /// key's stored context holds for that node (see the file comment). Counts each entry
    /// lowered.
    public func admitted(_ context: VersionVector, stored: VersionVector) -> VersionVector {
        if context.isEmpty || stored.descends(context) { return context }
        let known = leases.withLock { $0 }
        var out = context
        var lowered: UInt64 = 0
        // An entry within its node's persisted lease names a counter that node may have
        // issued (this replica is merely behind): kept, so the write supersedes what the
        // client saw. Anything else is lowered to what the stored state vouches for.
        for e in context.entries where e.counter > stored[e.actor] && e.counter > (known[e.actor] ?? 0) {
            out[e.actor] = stored[e.actor]
            lowered += 1
        }
        clampedEntries.wrappingAdd(lowered, ordering: .relaxed)
        return out
    }
}
