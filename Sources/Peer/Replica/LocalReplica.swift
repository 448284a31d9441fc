import Storage
import Synchronization
import Ring

/// This node's copy of the data: key records in the Storage engine, versioned writes with
/// the node-wide dot counter, merges of other replicas' states, and the hint store.
///
/// Thread-safety: every method may be called from any thread. Read-modify-write of one key
/// runs under one of `stripeCount` locks chosen by a stable hash of the key, so writes to
/// different keys proceed in parallel and writes to one key are serialised.
public final class LocalReplica: @unchecked Sendable {
    public let store: Store
    public let nodeID: NodeID
    static let stripeCount = 64
    let stripes: [StripeLock]
    let lease: Mutex<CounterLease>
    let clock: Mutex<HybridClock>
    let hints: HintStore
    let trees = ReplicaTrees()
    /// Trees holding expired records not yet in the tombstone index (ExpiryDue.swift).
    let expiryDue = ExpiryDue()
    /// Every node's known counter lease, for checking client contexts (CounterBounds.swift).
    public let counterBounds = CounterBounds()
    /// Stored records skipped by range walks because they do not decode (RecordAudit.swift).
    public let audit = RecordAudit()

    /// What a coordinated local write produced.
    public enum WriteResult: Equatable, Sendable {
        case written(KeyRecord)
        /// Refused with this client-facing error line (no leading '-').
        case refused(String)
        /// A read-modify-write decided not to write (SET NX on a present key, EXPIRE of an
        /// absent one): nothing stored, nothing to replicate.
        case unchanged
    }

    /// Wall-clock milliseconds since the Unix epoch (tombstone times, LWW timestamps):
    /// `WallClock.nowMs` in production, a virtual wall clock in simulations. Never a
    /// since-boot clock: these times reach disk and other peers.
    let now: @Sendable () -> Int64
    /// How far ahead of this node's wall clock a received LWW timestamp may be and still be
    /// adopted by its hybrid clock (`--max-clock-offset`).
    public let maxClockAheadMs: UInt64
    /// LWW timestamps seen too far ahead of the wall clock: stored (replicas must converge)
    /// but never adopted by the clock.
    public let implausibleTimestamps = Atomic<UInt64>(0)

    public init(store: Store, nodeID: NodeID, maxHints: Int = 1_000_000,
                maxHintBytesPerTarget: Int = 1 << 30, maxClockAheadMs: UInt64 = 500,
                clock: @escaping @Sendable () -> Int64 = { WallClock.nowMs() }) throws {
        self.store = store
        self.now = clock
        self.nodeID = nodeID
        self.maxClockAheadMs = maxClockAheadMs
        try LocalReplica.migrateClockFormat(store: store, wallMs: UInt64(max(0, clock())))
        stripes = (0..<LocalReplica.stripeCount).map { _ in StripeLock() }
        let leaseKey = StorageKey.meta(name: StorageKey.counterLeaseName).encode()
        let persisted = try store.get(leaseKey).map { bytes throws in try CounterLease.decodePersisted(bytes) }
        lease = Mutex(CounterLease(persistedLeasedUpTo: persisted))
        if let persisted { counterBounds.learn(node: nodeID, leasedUpTo: persisted) }
        self.clock = Mutex(HybridClock(node: nodeID))
        hints = try HintStore(store: store, maxHints: maxHints, maxBytesPerTarget: maxHintBytesPerTarget, now: clock)
    }

    func stripe(_ storageKey: [UInt8]) -> Int {
        Int(KeyHash.xxh64(storageKey, seed: 0) % UInt64(LocalReplica.stripeCount))
    }

    /// The stored record of a key, nil when there is none.
    public func read(_ address: KeyAddress) throws -> KeyRecord? {
        guard let bytes = try store.get(address.storageKey) else { return nil }
        return try KeyRecord(decoding: bytes)
    }

    /// The raw stored bytes of a key's record (for replication without re-encoding).
    public func readBytes(_ address: KeyAddress) throws -> [UInt8]? {
        try store.get(address.storageKey)
    }

    /// Versions a client write at this node (the coordinating replica) and stores it.
    /// `context` nil: a write without one, superseding all this replica has seen.
    /// `versioned`, when given, gets the new record before it is stored (still under the
    /// key's lock), so the caller can replicate while the local fsync runs.
    /// `decide`, when given, runs under the key's lock on the stored record and chooses the
    /// value and expiry written, or that nothing is (WriteTransform.swift): a read-modify-write
    /// on exactly the state the new version supersedes.
    /// `durable`, when given, makes the store step non-blocking: the record is applied (and
    /// readable) when this returns, and `durable` runs once it is fsynced (on the store's
    /// syncer thread) or with the error that kept it from being so.
    public func coordinateWrite(_ address: KeyAddress, conflict: ConflictMode, context: VersionVector?,
                                value proposed: SiblingValue, siblingLimit: Int, writeID: UInt64 = 0,
                                expiresAtMs proposedExpiry: UInt64 = 0,
                                decide: ((KeyRecord?) -> WriteDecision)? = nil,
                                versioned: ((KeyRecord) -> Void)? = nil,
                                durable: (@Sendable (Error?) -> Void)? = nil) throws -> WriteResult {
        let key = address.storageKey
        return try stripes[stripe(key)].lock.withLock { _ throws -> WriteResult in
            let existingBytes = try store.get(key)
            let existing = try existingBytes.map { bytes throws in try KeyRecord(decoding: bytes) }
            var value = proposed, expiresAtMs = proposedExpiry
            switch decide?(existing) {
            case nil: break
            case .write(let v, let e)?: (value, expiresAtMs) = (v, e)
            case .skip?: return .unchanged
            case .refuse(let line)?: return .refused(line)
            }
            let record: KeyRecord
            switch conflict {
            case .lww:
                var old: LWWKeyState?
                if case .lww(let l)? = existing { old = l }
                let wall = UInt64(max(0, now()))
                let ts = clock.withLock { $0.stamp(after: old?.timestamp, wallMs: wall, maxAheadMs: maxClockAheadMs) }
                if let old, !HybridClock.isPlausible(old.timestamp, wallMs: wall, maxAheadMs: maxClockAheadMs) {
                    implausibleTimestamps.wrappingAdd(1, ordering: .relaxed)
                }
                record = .lww(LWWKeyState(timestamp: ts, value: value, expiresAtMs: expiresAtMs).assigned(over: old))
            case .siblings:
                var state = KeyState()
                if case .siblings(let s)? = existing { state = s }
                // Encoders and decoders share one bound on a vector's entries: a write that would
                // take the key past it is refused, never stored undecodable. (A client context
                // adds no entries: it is clamped to the stored context's.)
                if let refusal = vectorGrowthRefusal(state) { return .refused(refusal) }
                var attempts = 0
                let admitted = context.map { counterBounds.admitted($0, stored: state.context) }
                if let c = admitted, !c.isEmpty, let refusal = state.growthRefusal(context: c, limit: siblingLimit) { return .refused(refusal) }
                while true {
                    let outcome = try state.write(at: nodeID, context: admitted, value: value, siblingLimit: siblingLimit,
                                                  writeID: writeID, expiresAtMs: expiresAtMs) { () throws -> UInt64 in
                        try nextCounter()
                    }
                    switch outcome {
                    case .written, .alreadySuperseded:
                        // A superseded retry leaves the state as stored: answered like a write.
                        break
                    case let .refusedSiblingLimit(siblings, limit):
                        return .refused("ERR key has \(siblings) siblings (limit \(limit)): read them with GETV and resolve with PUTV")
                    case .refusedContextAhead:
                        return .refused("ERR bad context")
                    case let .counterBehind(highestSeen):
                        // The stored state holds a dot of ours past the counter: skip beyond it.
                        attempts += 1
                        if attempts > 2 { return .refused("ERR internal counter error") }
                        if let refusal = leaseAdvanceRefusal(past: highestSeen) { return .refused(refusal) }
                        continue
                    }
                    break
                }
                record = .siblings(state)
            }
            versioned?(record)
            try persist(address, old: existing, oldBytes: existingBytes, new: record, durable: durable)
            return .written(record)
        }
    }

    /// Merges another replica's record into ours; true when ours changed.
    /// `durable`, when given, makes it non-blocking as for `coordinateWrite`; it also runs
    /// when ours did not change (once what we hold, perhaps not yet synced, is durable).
    @discardableResult
    public func merge(_ address: KeyAddress, record incoming: KeyRecord, durable: (@Sendable (Error?) -> Void)? = nil) throws -> Bool {
        let key = address.storageKey
        return try stripes[stripe(key)].lock.withLock { _ throws -> Bool in
            guard let bytes = try store.get(key) else {
                try persist(address, old: nil, oldBytes: nil, new: incoming, durable: durable)
                observe(incoming)
                return true
            }
            let existing = try KeyRecord(decoding: bytes)
            let merged = try existing.merged(with: incoming)
            guard merged != existing else {
                if let durable { store.whenDurable { durable($0) } }
                return false
            }
            try persist(address, old: existing, oldBytes: bytes, new: merged, durable: durable)
            observe(incoming)
            return true
        }
    }

    /// Lets the hybrid clock move past a received LWW timestamp, unless it lies more than
    /// `maxClockAheadMs` ahead of the wall clock (then it is only counted).
    private func observe(_ record: KeyRecord) {
        guard case .lww(let l) = record else { return }
        let wall = UInt64(max(0, now()))
        if !clock.withLock({ $0.observeIfPlausible(l.timestamp, wallMs: wall, maxAheadMs: maxClockAheadMs) }) {
            implausibleTimestamps.wrappingAdd(1, ordering: .relaxed)
        }
    }

    /// Wall-clock milliseconds of this replica's clock (tombstone times compare with it).
    public var wallNowMs: UInt64 { UInt64(max(0, now())) }

    /// The refusal line when a write at this node would take the key's version vector past
    /// the bound every decoder enforces (so nothing undecodable is ever stored), or nil.
    func vectorGrowthRefusal(_ state: KeyState) -> String? {
        let entries = state.context.count + (state.context[nodeID] == 0 ? 1 : 0)
        guard entries > VersionFormat.maxVectorEntries else { return nil }
        return "ERR the key's version vector would have \(entries) entries (max \(VersionFormat.maxVectorEntries))"
    }

    /// Moves this node's counter past a dot of its own found in a stored context
    /// (`.counterBehind`); the refusal line when that dot was never issued (forged), or nil.
    func leaseAdvanceRefusal(past highestSeen: UInt64) -> String? {
        if lease.withLock({ $0.advance(past: highestSeen) }) { return nil }
        return "ERR the stored context of this key names write \(highestSeen) of node \(nodeID), which it never issued (a forged context); the key cannot be written through this node"
    }

    /// Stores a key's new record (the caller holds its stripe lock): the tombstone index
    /// learns when the key became absent, and the key's Merkle tree (if kept) is updated
    /// from the encoded bytes.
    func persist(_ address: KeyAddress, old: KeyRecord?, oldBytes: [UInt8]?, new: KeyRecord,
                 durable: (@Sendable (Error?) -> Void)? = nil) throws {
        var batch = WriteBatch()
        let nowMs = wallNowMs
        let newBytes = stage(address, old: old, new: new, nowMs: nowMs, into: &batch)
        if let durable {
            try store.write(batch) { durable($0) }
        } else {
            try store.write(batch)
        }
        let tree = TreeID(partition: address.partition, namespace: address.namespace)
        noteUnindexedExpiry(tree, new, nowMs: nowMs)
        trees.update(tree, key: address.key, old: oldBytes, new: newBytes)
    }

    /// Adds a key's new record (and its tombstone clock) to `batch`; returns its encoding.
    /// A record absent already (a delete, an expiry in the past) is timed now. One whose
    /// values all expire later gets no clock yet (the reaper's sweep times it once it has
    /// expired: ExpiryDue.swift), so SET ... EX stores one key, as SET does. The old clock
    /// is deleted when the old record may have had one (it was absent by now).
    private func stage(_ address: KeyAddress, old: KeyRecord?, new: KeyRecord, nowMs: UInt64, into batch: inout WriteBatch) -> [UInt8] {
        let bytes = new.encode()
        batch.put(address.storageKey, bytes)
        if let absentFrom = new.absentFromMs, absentFrom <= nowMs {
            // Any change to an absent record restarts its clock: a confirmation must
            // postdate the exact record that is reaped.
            batch.put(LocalReplica.tombstoneKey(address), LocalReplica.encodeTime(nowMs))
        } else if let oldAbsent = old?.absentFromMs, oldAbsent <= nowMs {
            batch.delete(LocalReplica.tombstoneKey(address))
        }
        return bytes
    }

    /// Tells the reaper when `record`, stored without a tombstone clock, expires.
    private func noteUnindexedExpiry(_ tree: TreeID, _ record: KeyRecord, nowMs: UInt64) {
        if let absentFrom = record.absentFromMs, absentFrom > nowMs { expiryDue.note(tree, expiresAtMs: absentFrom) }
    }

    /// Merges many records (handoff, anti-entropy, hint delivery) with one write: the keys'
    /// stripe locks are taken in ascending order for the whole batch. Returns how many
    /// records changed ours.
    @discardableResult
    public func mergeMany(_ entries: [(address: KeyAddress, record: KeyRecord)]) throws -> Int {
        guard !entries.isEmpty else { return 0 }
        let indices = Array(Set(entries.map { stripe($0.address.storageKey) })).sorted()
        return try withStripes(indices[...]) { () throws -> Int in
            var batch = WriteBatch()
            var changes: [(address: KeyAddress, old: [UInt8]?, new: [UInt8], record: KeyRecord)] = []
            let nowMs = wallNowMs
            // A key twice in one batch merges into what the batch already holds for it.
            var staged: [[UInt8]: (record: KeyRecord, bytes: [UInt8])] = [:]
            for e in entries {
                let key = e.address.storageKey
                let oldBytes = try staged[key]?.bytes ?? store.get(key)
                var existing = staged[key]?.record
                if existing == nil, let b = oldBytes {
                    // A stored record that does not decode is kept as it is and skipped; the
                    // rest of the batch (a partition's repair or handoff) goes on.
                    guard let decoded = decodeOrSkip(b, e.address, during: "merge") else { continue }
                    existing = decoded
                }
                let merged = try existing.map { r throws in try r.merged(with: e.record) } ?? e.record
                guard merged != existing else { continue }
                let bytes = stage(e.address, old: existing, new: merged, nowMs: nowMs, into: &batch)
                staged[key] = (merged, bytes)
                changes.append((e.address, oldBytes, bytes, merged))
            }
            try store.write(batch)
            for e in entries { observe(e.record) }
            for c in changes {
                let tree = TreeID(partition: c.address.partition, namespace: c.address.namespace)
                noteUnindexedExpiry(tree, c.record, nowMs: nowMs)
                trees.update(tree, key: c.address.key, old: c.old, new: c.new)
            }
            return changes.count
        }
    }

    private func withStripes<R>(_ indices: ArraySlice<Int>, _ body: () throws -> R) throws -> R {
        guard let first = indices.first else { return try body() }
        return try stripes[first].lock.withLock { _ throws -> R in try withStripes(indices.dropFirst(), body) }
    }

    /// Runs `body` holding the stripe lock of `address`'s key.
    func withKeyLock<R>(_ address: KeyAddress, _ body: () throws -> R) throws -> R {
        try stripes[stripe(address.storageKey)].lock.withLock { _ throws -> R in try body() }
    }

    /// Runs `body` holding every stripe lock (no key write can be half done meanwhile).
    func withAllKeyLocks<R>(_ body: () throws -> R) throws -> R {
        func lock(_ i: Int) throws -> R {
            guard i < stripes.count else { return try body() }
            return try stripes[i].lock.withLock { _ throws -> R in try lock(i + 1) }
        }
        return try lock(0)
    }

    /// The next dot counter, persisting a new lease (fsynced) first when the current one is used up.
    func nextCounter() throws -> UInt64 {
        try lease.withLock { l throws -> UInt64 in
            while true {
                switch l.next() {
                case .counter(let c):
                    return c
                case .persist(let upTo):
                    let key = StorageKey.meta(name: StorageKey.counterLeaseName).encode()
                    do {
                        try store.put(key, CounterLease.encodePersisted(upTo), sync: true)
                    } catch {
                        l.persistFailed()
                        throw error
                    }
                    l.didPersist(leasedUpTo: upTo)
                    counterBounds.learn(node: nodeID, leasedUpTo: upTo)
                case .waitForPersist:
                    // Leases are persisted under this lock, so none can be in flight here.
                    throw ClientError("ERR counter lease persist in flight")
                }
            }
        }
    }

    /// The durable bound of this node's dot counters (gossiped so that peers can check
    /// client contexts naming this node).
    public var leasedUpTo: UInt64 { lease.withLock { $0.leasedUpTo } }

    /// Reads a node metadata value (ring, namespaces).
    public func meta(_ name: String) throws -> [UInt8]? {
        try store.get(StorageKey.meta(name: Array(name.utf8)).encode())
    }

    public func deleteMeta(_ name: String) throws {
        var batch = WriteBatch()
        batch.delete(StorageKey.meta(name: Array(name.utf8)).encode())
        try store.write(batch, sync: true)
    }

    public func setMeta(_ name: String, _ value: [UInt8]) throws {
        try store.put(StorageKey.meta(name: Array(name.utf8)).encode(), value, sync: true)
    }
}

extension KeyRecord: QuorumMergeable {
    public static func merge(_ a: KeyRecord, _ b: KeyRecord) -> KeyRecord {
        // Replicas in sync answer equal records, and a merge is idempotent (a join): the
        // comparison spares a read the merges of its replies and of its repair check, each
        // of which builds a new record (perf: about 4% of a 3-peer GET's loop time).
        if a == b { return a }
        // Records of one key always share a kind (the namespace's mode is fixed); keep `a`
        // if they ever differ rather than lose it.
        return (try? a.merged(with: b)) ?? a
    }

    public func isEquivalent(to merged: KeyRecord) -> Bool {
        KeyRecord.merge(self, merged) == self
    }
}

/// One lock of a striped set (a `Mutex` cannot live in an array by itself).
final class StripeLock: Sendable {
    let lock = Mutex(())
}
