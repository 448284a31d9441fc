import Synchronization

/// Which tree: one per partition and namespace (a partition's namespaces can have
/// different N, so different replica sets).
public struct TreeID: Hashable, Sendable, CustomStringConvertible {
    public var partition: UInt32
    public var namespace: [UInt8]
    public init(partition: UInt32, namespace: [UInt8]) {
        self.partition = partition
        self.namespace = namespace
    }
    public var description: String { "\(String(decoding: namespace, as: UTF8.self))/\(partition)" }
}

/// The replica's Merkle trees, kept current by every write once built. A tree being built
/// from a snapshot collects the writes that follow the snapshot as a delta, which is
/// XORed into the scanned tree when the scan ends (XOR makes the order irrelevant).
final class ReplicaTrees: Sendable {
    private struct Entry {
        var tree: MerkleTree
        var building: Bool
    }
    private let trees = Mutex<[TreeID: Entry]>([:])

    /// Replaces a key's old record by the new one (encoded records; nil: none) in its tree,
    /// if the tree is kept. The digests are taken from the bytes, under the one lock.
    func update(_ id: TreeID, key: [UInt8], old: [UInt8]?, new: [UInt8]?) {
        trees.withLock { t in
            guard t[id] != nil else { return }
            t[id]?.tree.update(key: key, old: old.map(KeyRecord.digest(encoded:)), new: new.map(KeyRecord.digest(encoded:)))
        }
    }

    /// The finished tree, nil when it is not built (or still building).
    func tree(_ id: TreeID) -> MerkleTree? {
        trees.withLock { t in t[id].flatMap { $0.building ? nil : $0.tree } }
    }

    /// Starts collecting a delta for `id`; false when a tree exists or is being built.
    func beginBuild(_ id: TreeID) -> Bool {
        trees.withLock { t in
            guard t[id] == nil else { return false }
            t[id] = Entry(tree: MerkleTree(), building: true)
            return true
        }
    }

    /// Installs the scanned tree combined with the delta collected since the snapshot.
    func finishBuild(_ id: TreeID, scanned: MerkleTree) {
        trees.withLock { t in
            guard let e = t[id], e.building else { return }
            t[id] = Entry(tree: scanned.combined(with: e.tree), building: false)
        }
    }

    func abandonBuild(_ id: TreeID) { trees.withLock { t in if t[id]?.building == true { t[id] = nil } } }

    /// Forgets a tree (its range was dropped, or to force a rebuild).
    func drop(_ id: TreeID) { trees.withLock { _ = $0.removeValue(forKey: id) } }

    var count: Int { trees.withLock { $0.count } }
}

extension MerkleTree {
    /// The tree of the union of two disjoint change sets (leaf-wise XOR).
    func combined(with delta: MerkleTree) -> MerkleTree {
        var out = self
        out.absorb(delta)
        return out
    }
}
