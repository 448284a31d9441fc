import Synchronization

/// Where the coordinator of a read-modify-write leaves the client's reply (set under the
/// key's lock, or from a forward's answer; read once the write completes).
public final class TransformOutcome: Sendable {
    private let slot = Mutex<TransformReply?>(nil)
    public init() {}
    public func set(_ reply: TransformReply) { slot.withLock { $0 = reply } }
    public var reply: TransformReply? { slot.withLock { $0 } }
}

/// How far expiry's clock moves from this peer's wall clock.
enum ExpiryClock {
    /// The part of this peer's offset from the median beyond the measurement's error, signed
    /// (positive: this clock runs ahead, so expiry subtracts it); 0 within the error.
    static func correctionMs(selfOffsetMs: Int64, errorMs: Int64) -> Int64 {
        let error = max(0, errorMs)
        if selfOffsetMs > error { return selfOffsetMs - error }
        if selfOffsetMs < -error { return selfOffsetMs + error }
        return 0
    }

    /// Wall-clock ms that expiry is judged against: `wallMs` moved to the members' median by
    /// as much of this peer's offset (`skew`, ClockGuard's last assessment) as exceeds the
    /// measurement's error.
    static func nowMs(wallMs: Int64, skew: ClockSkew?) -> UInt64 {
        guard let skew else { return UInt64(max(0, wallMs)) }
        return UInt64(max(0, wallMs - correctionMs(selfOffsetMs: skew.selfOffsetMs, errorMs: skew.errorMs)))
    }
}

extension NodeEngine {
    /// Wall-clock ms that expiry is judged against, and relative expiries (EX, EXPIRE...)
    /// count from, on this peer (a virtual clock in simulations): this peer's wall clock
    /// moved to the members' median (ClockGuard's last assessment) by as much of its offset
    /// as exceeds the measurement's error. So a peer whose clock runs ahead does not expire
    /// keys early, nor one whose clock lags set expiries that fall early elsewhere
    /// (docs/VERSIONS.md, "Expiry").
    public var expiryNowMs: UInt64 { ExpiryClock.nowMs(wallMs: wallNow(), skew: clockGuard.skew) }

    /// Runs a read-modify-write on `key`: routed like any write to the key's coordinating
    /// primary (forwarded with its transform when that is another peer), decided there under
    /// the key's lock on its stored state, then replicated to W like any write. A decision to
    /// write nothing answers at once, without replicas.
    public func transform(namespace: String, key: [UInt8], _ transform: WriteTransform, options: RequestOptions,
                          completion: @escaping @Sendable (Result<TransformReply, ClientError>) -> Void) {
        let carried: [UInt8]?
        switch transform {
        case .set(let v, _, _, _), .append(let v), .setRange(_, let v): carried = v
        default: carried = nil
        }
        if let bad = validate(key: key, value: carried) { return completion(.failure(bad)) }
        let outcome = TransformOutcome()
        let request = ClientWrite(namespace: namespace, key: key, value: nil, context: nil, options: options,
                                  transform: transform, outcome: outcome)
        write(request) { error in
            if let error { return completion(.failure(error)) }
            completion(.success(outcome.reply ?? .ok))
        }
    }

    /// The hook LocalReplica.coordinateWrite runs under the key's lock for a read-modify-write
    /// (nil for a plain write): decides on the stored record and leaves the reply in the
    /// request's outcome.
    func transformDecision(_ request: ClientWrite) -> ((KeyRecord?) -> WriteDecision)? {
        guard let transform = request.transform else { return nil }
        let (outcome, writeID, maxValue, now) = (request.outcome, request.writeID, limits.maxValueBytes, expiryNowMs)
        return { record in
            let (decision, reply) = transform.decide(record, nowMs: now, writeID: writeID, maxValueBytes: maxValue)
            outcome?.set(reply)
            return decision
        }
    }
}
