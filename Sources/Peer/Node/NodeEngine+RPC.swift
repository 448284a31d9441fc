import Net
import Storage

extension NodeEngine {
    /// The requests served on the event loop that read them: they never block (a replica
    /// write's fsync is deferred to the store's syncer). The rest go to the node queues.
    public static func runsOnLoop(_ type: PeerMessageType) -> Bool {
        switch type {
        case .ping, .replicaRead, .replicaWrite, .forwardWrite: return true
        default: return false
        }
    }

    /// Serves one peer RPC. `respond` gets the answer bytes or an error, exactly once.
    public func handleRPC(type: PeerMessageType, payload: [UInt8], respond: @escaping @Sendable (Result<[UInt8], RPCError>) -> Void) {
        func fail(_ message: String) { respond(.failure(.remote(code: 500, message: message))) }
        switch type {
        case .ping:
            respond(.success(payload))
        case .replicaWrite:
            counters.bump(counters.replicaWritesServed)
            do {
                let message = try ReplicaWriteMessage(decoding: payload)
                if let bad = misplaced(message.address) { return fail(bad) }
                let record = try KeyRecord(decoding: message.record)
                if let owner = message.hintFor, owner != nodeID {
                    // A fallback keeps the write readable here and as a hint for its owner;
                    // it acknowledges only once the hint is durable. The hint store blocks
                    // on its fsync: never on a loop.
                    let keep: @Sendable () -> Void = { [self] in
                        do {
                            try replica.merge(message.address, record: record)
                            guard try replica.hints.add(target: owner, address: message.address, record: message.record) else {
                                counters.bump(counters.hintsRefused)
                                return respond(.failure(.remote(code: 500, message: "hint store full")))
                            }
                            respond(.success([]))
                        } catch {
                            respond(.failure(.remote(code: 500, message: "\(error)")))
                        }
                    }
                    if EventLoop.current != nil { scheduler.async(keep) } else { keep() }
                } else if EventLoop.current != nil {
                    // Acknowledged once the store's syncer made it durable.
                    try replica.merge(message.address, record: record) { error in
                        respond(error.map { .failure(.remote(code: 500, message: "\($0)")) } ?? .success([]))
                    }
                } else {
                    try replica.merge(message.address, record: record)
                    respond(.success([]))
                }
            } catch {
                fail("\(error)")
            }
        case .replicaRead:
            counters.bump(counters.replicaReadsServed)
            do {
                let message = try ReplicaReadMessage(decoding: payload)
                respond(.success(ReplicaReadAnswer.encode(try replica.readBytes(message.address))))
            } catch {
                fail("\(error)")
            }
        case .hintDelivery, .repair:
            do {
                let batch = try HintBatchMessage(decoding: payload)
                try replica.mergeMany(placed(batch.entries).map { e throws in (e.address, try KeyRecord(decoding: e.record)) })
                respond(.success([]))
            } catch {
                fail("\(error)")
            }
        case .forwardWrite:
            do {
                let m = try ForwardWriteMessage(decoding: payload)
                if let late = lateForwardRefusal(m) { return respond(.success(ForwardWriteAnswer.encode(late))) }
                var options = RequestOptions()
                options.w = .count(m.w)
                options.strict = m.strict
                options.timeoutMs = m.timeoutMs
                let outcome = m.transform == nil ? nil : TransformOutcome()
                let request = ClientWrite(namespace: String(decoding: m.namespace, as: UTF8.self), key: m.key,
                                          value: m.value, context: m.context, options: options, writeID: m.writeID,
                                          transform: m.transform, outcome: outcome,
                                          increment: m.increment.map { IncrementRequest(delta: $0) })
                write(request, forwarded: true) { error in
                    respond(.success(ForwardWriteAnswer.encode(error?.line, counter: request.increment?.reply.value, reply: outcome?.reply)))
                }
            } catch {
                fail("\(error)")
            }
        case .merkleTree:
            do { respond(.success(try answerTreeHashes(payload))) } catch { fail("\(error)") }
        case .handoffBatch:
            do { respond(.success(try answerHandoff(payload))) } catch { fail("\(error)") }
        case .merkleSegment:
            do { respond(.success(try answerSegments(payload))) } catch { fail("\(error)") }
        case .namespaceCreate:
            answerNamespaceCreate(payload, respond: respond)
        case .scanChunk:
            serveScanChunk(payload, respond: respond)
        default:
            respond(.failure(.unknownMessageType(type.rawValue)))
        }
    }
}
