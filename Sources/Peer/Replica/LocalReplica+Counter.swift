import Ring
import Synchronization

// INCR at the coordinating replica (docs/VERSIONS.md, "Counters"): under the key's lock,
// read the stored record, add the delta to this node's own entry, version the result as a
// write whose context covers everything read (KeyState.increment / LWWKeyState.incremented),
// and store it — durable here before it is replicated, like any coordinated write.

extension LocalReplica {
    /// What a coordinated local increment produced.
    public enum IncrementResult: Equatable, Sendable {
        /// Stored: the new record and the counter's value as this replica reads it.
        case incremented(KeyRecord, value: Int64)
        /// Refused with this client-facing error line (no leading '-'); nothing stored.
        case refused(String)
    }

    /// Versions INCRBY `delta` at this node and stores it. `versioned`, when given, gets the
    /// new record and the value it reads before it is stored (still under the key's lock),
    /// so the caller can replicate while the local fsync runs. `durable` as in `coordinateWrite`.
    /// `expiryNowMs`: the wall clock expiries compare with (NodeEngine.expiryNowMs): an
    /// expired value counts as absent, a live one's expiry is kept (as Redis's INCR keeps TTL).
    public func coordinateIncrement(_ address: KeyAddress, conflict: ConflictMode, delta: Int64, siblingLimit: Int,
                                    writeID: UInt64 = 0, expiryNowMs: UInt64, versioned: ((KeyRecord, Int64) -> Void)? = nil,
                                    durable: (@Sendable (Error?) -> Void)? = nil) throws -> IncrementResult {
        let key = address.storageKey
        return try stripes[stripe(key)].lock.withLock { _ throws -> IncrementResult in
            let existingBytes = try store.get(key)
            let existing = try existingBytes.map { bytes throws in try KeyRecord(decoding: bytes) }
            let record: KeyRecord, value: Int64
            switch conflict {
            case .lww:
                var old: LWWKeyState?
                if case .lww(let l)? = existing { old = l }
                let wall = UInt64(max(0, now()))
                let ts = clock.withLock { $0.stamp(after: old?.timestamp, wallMs: wall, maxAheadMs: maxClockAheadMs) }
                switch try LWWKeyState.incremented(by: delta, at: nodeID, over: old, timestamp: ts, nowMs: expiryNowMs, newEpoch: { () throws -> UInt64 in try nextCounter() }) {
                case .failure(let refusal): return .refused(refusal.message)
                case .success(let done): (record, value) = (.lww(done.state), done.value)
                }
            case .siblings:
                var state = KeyState()
                if case .siblings(let s)? = existing { state = s }
                if let refusal = vectorGrowthRefusal(state) { return .refused(refusal) }
                var attempts = 0
                var result: Int64?
                while result == nil {
                    let outcome = try state.increment(at: nodeID, by: delta, siblingLimit: siblingLimit, writeID: writeID,
                                                    nowMs: expiryNowMs) { () throws -> UInt64 in
                        try nextCounter()
                    }
                    switch outcome {
                    case .incremented(_, let v), .alreadySuperseded(let v):
                        result = v
                    case .refused(let refusal):
                        return .refused(refusal.message)
                    case let .refusedSiblingLimit(siblings, limit):
                        return .refused("ERR key has \(siblings) siblings (limit \(limit)): read them with GETV and resolve with PUTV")
                    case let .counterBehind(highestSeen):
                        attempts += 1
                        if attempts > 2 { return .refused("ERR internal counter error") }
                        if let refusal = leaseAdvanceRefusal(past: highestSeen) { return .refused(refusal) }
                    }
                }
                (record, value) = (.siblings(state), result ?? 0)
            }
            versioned?(record, value)
            try persist(address, old: existing, oldBytes: existingBytes, new: record, durable: durable)
            return .incremented(record, value: value)
        }
    }
}
