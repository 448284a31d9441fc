import Gossip
import Synchronization

// Each node gossips its persisted counter lease as the cluster-state value "lease:<actor>"
// (the actor of its dots, DotActor.swift; the bare node id for stores older than actors)
// (version = the lease, payload = the lease as u64 big-endian), so that every coordinator
// can refuse client contexts naming writes a node never issued (CounterBounds.swift).
// A lease changes once per `CounterLease.defaultLeaseSize` writes, so this is a few bytes
// per node and rarely news. MembershipPolicy decides when to publish it (it grew).

extension Node {
    static let leaseKeyPrefix = "lease:"

    /// Learns a peer's lease from its gossiped value; false when `value` is not a lease.
    func adoptLease(_ value: ClusterStateValue) -> Bool {
        guard value.key.hasPrefix(Node.leaseKeyPrefix) else { return false }
        guard let node = NodeID(String(value.key.dropFirst(Node.leaseKeyPrefix.count))),
              let lease = Node.decodeLease(value.payload) else { return true }
        replica.counterBounds.learn(node: node, leasedUpTo: lease)
        return true
    }

    static func encodeLease(_ lease: UInt64) -> [UInt8] { withUnsafeBytes(of: lease.bigEndian) { Array($0) } }

    static func decodeLease(_ bytes: [UInt8]) -> UInt64? {
        guard bytes.count == 8 else { return nil }
        return bytes.reduce(0) { $0 << 8 | UInt64($1) }
    }
}
