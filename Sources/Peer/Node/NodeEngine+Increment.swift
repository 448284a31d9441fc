import Synchronization

// INCR, DECR, INCRBY, DECRBY (docs/VERSIONS.md, "Counters"). An increment is a write of its
// own kind on the ordinary write path: routed to the key's first up primary like SET (a
// forward carries the delta, PROTOCOL.md "Forwarded writes"), versioned there under the
// key's lock by `LocalReplica.coordinateIncrement`, stored, replicated to W like any record.
// The reply is the counter's value as that coordinator reads it after the increment.
//
// Differences from SET, both because an increment applied twice counts twice:
//   * a forward waits for the request's whole TIMEOUT, not the measured hop deadline, and
//     one that was sent but not answered in time (or answered that its quorum failed) is not
//     coordinated again by the next candidate: the request fails with a TIMEOUT (or the
//     coordinator's UNAVAILABLE) that says the increment may have been applied;
//   * a forward that could not be sent at all still moves on (nothing was applied).
// Once the failure detector suspects a silent primary, increments go to the next one.

/// Where an increment's coordinator leaves the value it answers with.
public final class CounterReply: Sendable {
    private let slot = Mutex<Int64?>(nil)
    public init() {}
    public func set(_ v: Int64) { slot.withLock { $0 = v } }
    public var value: Int64? { slot.withLock { $0 } }
}

/// An increment carried by a `ClientWrite`: the delta, and its answer.
public struct IncrementRequest: Sendable {
    public let delta: Int64
    public let reply: CounterReply

    public init(delta: Int64, reply: CounterReply = CounterReply()) {
        self.delta = delta
        self.reply = reply
    }
}

extension NodeEngine {
    /// INCRBY `delta`: the counter's value after it, as its coordinator reads it.
    public func increment(namespace: String, key: [UInt8], by delta: Int64, options: RequestOptions,
                          completion: @escaping @Sendable (Result<Int64, ClientError>) -> Void) {
        let inc = IncrementRequest(delta: delta)
        let request = ClientWrite(namespace: namespace, key: key, value: nil, context: nil, options: options, increment: inc)
        write(request) { error in
            if let error { return completion(.failure(error)) }
            guard let v = inc.reply.value else { return completion(.failure(ClientError("ERR the coordinator answered the increment without a value"))) }
            completion(.success(v))
        }
    }

    /// How long a forward to `node` may go unanswered before the request moves on: a deadline
    /// of its own from measured round trips, far below the TIMEOUT, so that a silent
    /// coordinator is passed over (SPEC 6). Not for an increment, which is never coordinated
    /// twice: moving on would only fail it early while its coordinator may still apply it,
    /// so it waits for the whole TIMEOUT.
    func forwardDeadlineMs(_ request: ClientWrite, to node: String, budgetMs: Int) -> Int {
        request.increment == nil ? min(latency.deadlineMs(node, .forward), budgetMs) : budgetMs
    }

    /// Versions and stores a write at this node: a value or tombstone, or an increment
    /// (whose value goes to its reply). `versioned` and `durable` as in `LocalReplica.coordinateWrite`.
    func versionLocally(_ plan: WritePlan, value: SiblingValue, versioned: ((KeyRecord) -> Void)? = nil,
                        durable: (@Sendable (Error?) -> Void)? = nil) throws -> LocalReplica.WriteResult {
        let ns = plan.ns, request = plan.request
        guard let increment = request.increment else {
            return try replica.coordinateWrite(plan.address, conflict: ns.conflict, context: plan.context, value: value,
                                               siblingLimit: ns.siblingLimit, writeID: request.writeID,
                                               decide: transformDecision(request), versioned: versioned, durable: durable)
        }
        // The reply's value is set before replication starts: W remote acks may complete the
        // request before the local store returns.
        switch try replica.coordinateIncrement(plan.address, conflict: ns.conflict, delta: increment.delta,
                                               siblingLimit: ns.siblingLimit, writeID: request.writeID, expiryNowMs: expiryNowMs,
                                               versioned: { record, v in increment.reply.set(v); versioned?(record) },
                                               durable: durable) {
        case .incremented(let record, let v):
            increment.reply.set(v)
            return .written(record)
        case .refused(let line):
            return .refused(line)
        }
    }
}
