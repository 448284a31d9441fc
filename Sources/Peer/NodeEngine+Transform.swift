import Synchronization

/// Where the coordinator of a read-modify-write leaves the client's reply (set under the
/// key's lock, or from a forward's answer; read once the write completes).
public final class TransformOutcome: Sendable {
    private let slot = Mutex<TransformReply?>(nil)
    public init() {}
    public func set(_ reply: TransformReply) { slot.withLock { $0 = reply } }
    public var reply: TransformReply? { slot.withLock { $0 } }
}

extension NodeEngine {
    /// Wall-clock ms that expiry is judged against on this peer (a virtual clock in simulations).
    public var expiryNowMs: UInt64 { UInt64(max(0, wallNow())) }

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
