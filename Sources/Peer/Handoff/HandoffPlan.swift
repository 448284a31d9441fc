import Bytes
import Ring

/// Who must receive what when the ring is in transfer: a node needs a (partition,
/// namespace) range when it is a primary of it once the transfers complete but not now.
/// It pulls the range from a current primary; the claimant switches the ring when every
/// receiver reports its pulls done for that ring version. Pure functions of the ring.
public enum HandoffPlan {
    /// The ranges `node` must pull under `ring`, in partition order.
    public static func pulls(ring: Ring, namespaces: [Namespace], node: String) -> [(id: TreeID, sources: [String])] {
        guard ring.isTransferring else { return [] }
        let future = ring.settled()
        var out: [(id: TreeID, sources: [String])] = []
        for ns in namespaces {
            for p in 0..<ring.partitionCount {
                let later = PreferenceList(ring: future, partition: p, n: ns.n, maxFallbacks: 0).primaries
                guard later.contains(node) else { continue }
                let now = PreferenceList(ring: ring, partition: p, n: ns.n, maxFallbacks: 0).primaries
                guard !now.contains(node) else { continue }
                out.append((TreeID(partition: UInt32(p), namespace: Array(ns.name.utf8)), now))
            }
        }
        return out
    }

    /// Every node that has something to pull under `ring` (one pass over the partitions; the
    /// claimant asks this on every tick while the ring is in transfer).
    public static func receivers(ring: Ring, namespaces: [Namespace]) -> Set<String> {
        guard ring.isTransferring else { return [] }
        let future = ring.settled()
        var out = Set<String>()
        for ns in namespaces {
            for p in 0..<ring.partitionCount {
                let now = PreferenceList(ring: ring, partition: p, n: ns.n, maxFallbacks: 0).primaries
                for node in PreferenceList(ring: future, partition: p, n: ns.n, maxFallbacks: 0).primaries where !now.contains(node) {
                    out.insert(node)
                }
            }
        }
        return out
    }

    /// The ranges `node` holds no replica of under `ring` (not a primary, not a transfer
    /// target): what it may drop once nothing uses them.
    public static func isReplica(ring: Ring, namespace ns: Namespace, partition p: Int, node: String) -> Bool {
        let list = PreferenceList(ring: ring, partition: p, n: ns.n, maxFallbacks: 0)
        return list.primaries.contains(node) || list.transferTargets.contains(node)
    }
}

/// What a receiver reports (through gossip) about its pulls for one ring version.
public struct HandoffReport: Equatable, Sendable {
    public var ringVersion: UInt64
    public var pending: Int
    public var total: Int

    public init(ringVersion: UInt64, pending: Int, total: Int) {
        self.ringVersion = ringVersion
        self.pending = pending
        self.total = total
    }

    public static let formatVersion: UInt8 = 1

    public func encode() -> [UInt8] {
        var w = ByteWriter()
        w.u8(HandoffReport.formatVersion)
        w.u64BE(ringVersion)
        w.varint(pending)
        w.varint(total)
        return w.bytes
    }

    public init(decoding bytes: [UInt8]) throws(PeerMessageError) {
        var r = ByteReader(bytes[...])
        guard r.u8() == HandoffReport.formatVersion, let v = r.u64BE(), let p = r.varintInt(limit: 1 << 30),
              let t = r.varintInt(limit: 1 << 30), r.isAtEnd else { throw PeerMessageError(message: "bad handoff report") }
        ringVersion = v
        pending = p
        total = t
    }

    /// The ring the claimant should publish: `ring` settled when every receiver reported
    /// all of its pulls done for exactly this ring version; nil while any is pending.
    public static func settled(_ ring: Ring, namespaces: [Namespace], reports: [String: HandoffReport]) -> Ring? {
        guard ring.isTransferring else { return nil }
        for node in HandoffPlan.receivers(ring: ring, namespaces: namespaces) {
            guard let r = reports[node], r.ringVersion == ring.version, r.pending == 0 else { return nil }
        }
        return ring.settled()
    }
}
