import Storage
import Synchronization

/// Durable hints: writes a fallback accepted for a down owner, kept in the Storage engine
/// under `StorageKey.hint(target, sequence)` until the owner acknowledges them.
///
/// A hint's value is `address ++ record` (RPC.md, "Hints"). The store is bounded by
/// `maxHints`; past it new hints are refused (and counted), so the write is acknowledged
/// only by replicas that really hold it.
final class HintStore: @unchecked Sendable {
    let store: Store
    let maxHints: Int
    private struct State {
        var nextSequence: UInt64 = 1
        var counts: [String: Int] = [:]
        var refused: UInt64 = 0
        var delivered: UInt64 = 0
        var stored: UInt64 = 0
    }
    private let state = Mutex(State())

    init(store: Store, maxHints: Int) throws {
        self.store = store
        self.maxHints = maxHints
        // Recount what survived a restart and continue numbering past it.
        var counts: [String: Int] = [:]
        var highest: UInt64 = 0
        let it = try store.makeIterator(range: .prefix([VersionFormat.keyspaceHint]))
        while it.isValid {
            if case let .hint(target, sequence)? = try? StorageKey(decoding: it.key) {
                counts[target.string, default: 0] += 1
                highest = max(highest, sequence)
            }
            try it.next()
        }
        state.withLock {
            $0.counts = counts
            $0.nextSequence = highest + 1
        }
    }

    var total: Int { state.withLock { $0.counts.values.reduce(0, +) } }
    var targets: [String: Int] { state.withLock { $0.counts.filter { $0.value > 0 } } }
    var counters: (stored: UInt64, delivered: UInt64, refused: UInt64) {
        state.withLock { ($0.stored, $0.delivered, $0.refused) }
    }

    /// Stores a hint durably; false when the bound is reached.
    func add(target: String, address: KeyAddress, record: [UInt8]) throws -> Bool {
        guard let id = NodeID(target) else { return false }
        let sequence: UInt64? = state.withLock { s in
            guard s.counts.values.reduce(0, +) < maxHints else {
                s.refused += 1
                return nil
            }
            defer { s.nextSequence += 1 }
            s.counts[target, default: 0] += 1
            s.stored += 1
            return s.nextSequence
        }
        guard let sequence else { return false }
        var w = VersionWriter(capacity: 32 + record.count)
        address.encode(into: &w)
        w.append(record)
        do {
            try store.put(StorageKey.hint(target: id, sequence: sequence).encode(), w.bytes)
        } catch {
            state.withLock { $0.counts[target, default: 1] -= 1 }
            throw error
        }
        return true
    }

    /// Up to `limit` hints for `target` and about `maxBytes` of records (at least one hint),
    /// oldest first, with their storage keys (BatchBounds.swift).
    func batch(for target: String, limit: Int, maxBytes: Int = BatchBounds.maxBatchBytes) throws -> [(storageKey: [UInt8], address: KeyAddress, record: [UInt8])] {
        guard let id = NodeID(target) else { return [] }
        var prefix = [VersionFormat.keyspaceHint, UInt8(id.utf8.count)]
        prefix.append(contentsOf: id.utf8)
        var out: [(storageKey: [UInt8], address: KeyAddress, record: [UInt8])] = []
        let it = try store.makeIterator(range: .prefix(prefix))
        var bytes = 0
        while it.isValid && out.count < limit {
            var r = VersionReader(it.value)
            if let address = try? KeyAddress(from: &r) {
                let size = it.value.count
                if !out.isEmpty, bytes + size > maxBytes { break }
                out.append((it.key, address, Array(r.rest())))
                bytes += size
            }
            try it.next()
        }
        return out
    }

    /// Deletes hints the owner acknowledged.
    func remove(_ keys: [[UInt8]], target: String) throws {
        var batch = WriteBatch()
        for k in keys { batch.delete(k) }
        try store.write(batch)
        state.withLock {
            $0.counts[target, default: keys.count] -= keys.count
            $0.delivered += UInt64(keys.count)
        }
    }
}
