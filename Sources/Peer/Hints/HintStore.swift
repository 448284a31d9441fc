import Bytes
import Storage
import Synchronization

/// Durable hints: writes a fallback accepted for a down owner, kept in the Storage engine
/// under `StorageKey.hint(target, sequence)` until the owner acknowledges them.
///
/// A hint's value is `address ++ record` (RPC.md, "Hints"). Bounds (issue 14):
///   * `maxHints` hints in all, and `maxBytesPerTarget` bytes of hint values per owner. Past
///     either, a new hint is *refused* (and counted): the write is then acknowledged only by
///     replicas that really hold it, and the hints already kept, older acknowledged writes,
///     are never dropped to make room.
///   * a hint older than `windowMs` (default 3 h, as Cassandra's max_hint_window) is deleted
///     by `expire` and counted: an owner down that long is repaired by anti-entropy (or
///     rebuilt by REMOVE NODE), not by a backlog that grows without end.
///
/// The sequence carries the hint's time, so expiry needs no extra bytes and is an
/// oldest-first walk of each owner's range: `sequence = wallMs << 16 | n`, strictly
/// increasing (past 65,536 hints in one millisecond it borrows from the next). Sequences
/// below `timedFloor` were numbered 1, 2, ... before hints carried a time; they never expire
/// by age (they are still delivered and bounded).
final class HintStore: @unchecked Sendable {
    let store: Store
    let maxHints: Int
    let maxBytesPerTarget: Int
    /// Wall-clock milliseconds since the Unix epoch (the hint's time reaches disk).
    let now: @Sendable () -> Int64
    static let timedFloor: UInt64 = 1 << 40
    static let sequenceShift: UInt64 = 16
    static let defaultMaxBytesPerTarget = 1 << 30
    static let defaultWindowMs: Int64 = 3 * 3_600_000
    static let maxExpiredPerPass = 65_536

    private struct State {
        var nextSequence: UInt64 = 1
        var counts: [String: Int] = [:]
        var bytes: [String: Int] = [:]
        var refused: UInt64 = 0
        var refusedOverBytes: UInt64 = 0
        var delivered: UInt64 = 0
        var stored: UInt64 = 0
        var expired: UInt64 = 0
        var expiryErrors: UInt64 = 0
    }
    private let state = Mutex(State())
    /// Serialises deletions (delivery acknowledgements and expiry), which may name the same
    /// hint: each is counted once, by whichever deletes it first.
    private let deleting = Mutex(())

    init(store: Store, maxHints: Int, maxBytesPerTarget: Int = HintStore.defaultMaxBytesPerTarget,
         now: @escaping @Sendable () -> Int64 = { WallClock.nowMs() }) throws {
        self.store = store
        self.maxHints = maxHints
        self.maxBytesPerTarget = maxBytesPerTarget
        self.now = now
        // Recount what survived a restart and continue numbering past it.
        var counts: [String: Int] = [:]
        var bytes: [String: Int] = [:]
        var highest: UInt64 = 0
        let it = try store.makeIterator(range: .prefix([VersionFormat.keyspaceHint]))
        while it.isValid {
            if case let .hint(target, sequence)? = try? StorageKey(decoding: it.key) {
                counts[target.string, default: 0] += 1
                bytes[target.string, default: 0] += it.value.count
                highest = max(highest, sequence)
            }
            try it.next()
        }
        state.withLock {
            $0.counts = counts
            $0.bytes = bytes
            $0.nextSequence = highest + 1
        }
    }

    var total: Int { state.withLock { $0.counts.values.reduce(0, +) } }
    var targets: [String: Int] { state.withLock { $0.counts.filter { $0.value > 0 } } }
    var counters: (stored: UInt64, delivered: UInt64, refused: UInt64) {
        state.withLock { ($0.stored, $0.delivered, $0.refused) }
    }
    /// Hints deleted unsent for their age, hints refused (among `refused`) because their
    /// owner's byte bound was reached, and the bytes of hint values held now.
    var bounds: (expired: UInt64, refusedOverBytes: UInt64, bytes: Int, expiryErrors: UInt64) {
        state.withLock { ($0.expired, $0.refusedOverBytes, $0.bytes.values.reduce(0, +), $0.expiryErrors) }
    }

    /// Counts an expiry pass that failed (a storage error); the next pass tries again.
    func expiryFailed() { state.withLock { $0.expiryErrors += 1 } }

    /// The wall-clock time a sequence was numbered at, nil for an untimed (older) one.
    static func storedMs(sequence: UInt64) -> Int64? {
        sequence < timedFloor ? nil : Int64(sequence >> sequenceShift)
    }

    /// Stores a hint durably; false when a bound is reached.
    func add(target: String, address: KeyAddress, record: [UInt8]) throws -> Bool {
        guard let id = NodeID(target) else { return false }
        var w = ByteWriter(capacity: 32 + record.count)
        address.encode(into: &w)
        w.append(record)
        let size = w.bytes.count
        let timed = UInt64(max(0, now())) << HintStore.sequenceShift
        let sequence: UInt64? = state.withLock { s in
            guard s.counts.values.reduce(0, +) < maxHints else {
                s.refused += 1
                return nil
            }
            guard s.bytes[target, default: 0] + size <= maxBytesPerTarget else {
                s.refused += 1
                s.refusedOverBytes += 1
                return nil
            }
            let sequence = max(s.nextSequence, timed)
            s.nextSequence = sequence + 1
            s.counts[target, default: 0] += 1
            s.bytes[target, default: 0] += size
            s.stored += 1
            return sequence
        }
        guard let sequence else { return false }
        do {
            try store.put(StorageKey.hint(target: id, sequence: sequence).encode(), w.bytes)
        } catch {
            state.withLock {
                $0.counts[target, default: 1] -= 1
                $0.bytes[target, default: size] -= size
            }
            throw error
        }
        return true
    }

    /// Up to `limit` hints for `target` and about `maxBytes` of records (at least one hint),
    /// oldest first, with their storage keys (BatchBounds.swift).
    func batch(for target: String, limit: Int, maxBytes: Int = BatchBounds.maxBatchBytes) throws -> [(storageKey: [UInt8], address: KeyAddress, record: [UInt8])] {
        guard let id = NodeID(target) else { return [] }
        var out: [(storageKey: [UInt8], address: KeyAddress, record: [UInt8])] = []
        let it = try store.makeIterator(range: .prefix(HintStore.prefix(id)))
        var bytes = 0
        while it.isValid && out.count < limit {
            var r = ByteReader(it.value)
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
        try deleting.withLock { _ throws in
            let (count, bytes) = try delete(keys)
            state.withLock {
                $0.counts[target, default: count] -= count
                $0.bytes[target, default: bytes] -= bytes
                $0.delivered += UInt64(count)
            }
        }
    }

    /// Deletes every timed hint stored more than `windowMs` ago; returns how many.
    @discardableResult
    func expire(windowMs: Int64) throws -> Int {
        let cutoff = now() - windowMs
        var total = 0
        for target in targets.keys {
            guard let id = NodeID(target) else { continue }
            var keys: [[UInt8]] = []
            let it = try store.makeIterator(range: .prefix(HintStore.prefix(id)))
            while it.isValid {
                if case let .hint(_, sequence)? = try? StorageKey(decoding: it.key), let ms = HintStore.storedMs(sequence: sequence) {
                    guard ms < cutoff else { break }  // oldest first: the rest are younger
                    keys.append(it.key)
                    if keys.count >= HintStore.maxExpiredPerPass { break }  // the next pass goes on
                }
                try it.next()
            }
            guard !keys.isEmpty else { continue }
            try deleting.withLock { _ throws in
                for chunk in stride(from: 0, to: keys.count, by: 1_024) {
                    let (count, bytes) = try delete(Array(keys[chunk..<min(keys.count, chunk + 1_024)]))
                    state.withLock {
                        $0.counts[target, default: count] -= count
                        $0.bytes[target, default: bytes] -= bytes
                        $0.expired += UInt64(count)
                    }
                    total += count
                }
            }
        }
        return total
    }

    /// Deletes those of `keys` still stored; their number and value bytes. Under `deleting`.
    private func delete(_ keys: [[UInt8]]) throws -> (count: Int, bytes: Int) {
        var batch = WriteBatch()
        var count = 0, bytes = 0
        for k in keys {
            guard let v = try store.get(k) else { continue }
            batch.delete(k)
            count += 1
            bytes += v.count
        }
        if count > 0 { try store.write(batch) }
        return (count, bytes)
    }

    static func prefix(_ id: NodeID) -> [UInt8] {
        [VersionFormat.keyspaceHint, UInt8(id.utf8.count)] + id.utf8
    }
}
