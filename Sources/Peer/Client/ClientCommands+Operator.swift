import Ring

/// Membership commands a peer's operator hook carries out (the `Node` owns gossip).
public enum AdminCommand: Sendable {
    case leave
    case remove(String)
}

extension ClientCommands {
    /// LEAVE / REMOVE node / REPAIR [partition] / HANDOFFS.
    func operatorCommand(_ name: String, _ args: ArraySlice<[UInt8]>, reply: RESPReplyToken) {
        switch name {
        case "LEAVE", "REMOVE":
            let command: AdminCommand
            if name == "LEAVE" {
                guard args.isEmpty else { return reply.reply(wrongArity(name)) }
                command = .leave
            } else {
                guard args.count == 1, let id = args.first else { return reply.reply(wrongArity(name)) }
                command = .remove(String(decoding: id, as: UTF8.self))
            }
            guard let admin else { return reply.reply(.error("ERR membership commands need a running node")) }
            switch admin(command) {
            case .success(let text): reply.reply(.simple(text))
            case .failure(let e): reply.reply(.error(e.line))
            }
        case "REPAIR":
            var partition: Int?
            if let a = args.first {
                guard args.count == 1, let p = Int(String(decoding: a, as: UTF8.self)), p >= 0,
                      p < (engine.cluster.snapshot().ring?.partitionCount ?? 0) else {
                    return reply.reply(.error("ERR syntax: REPAIR [partition], partition 0..Q-1"))
                }
                partition = p
            }
            let engine = self.engine
            let only = partition
            engine.antiEntropy.repairNow(partition: only) { r in
                var lines = ["trees:\(r.trees)", "keys_sent:\(r.sent)", "keys_received:\(r.received)", "failures:\(r.failures.count)"]
                lines += r.failures.prefix(20).map { "failure:\($0)" }
                reply.reply(.bulk(Array(lines.joined(separator: "\n").utf8)))
            }
        case "HANDOFFS":
            let now = engine.now()
            reply.reply(.array(engine.handoff.transfers.map { t in
                .array(ClientCommands.transferFields(t, nowMs: now).map { .bulk(Array("\($0.0)=\($0.1)".utf8)) })
            }))
        default:
            reply.reply(.error("ERR unknown command"))
        }
    }

    /// One transfer as name/value pairs (HANDOFFS, INFO, status).
    static func transferFields(_ t: TransferStatus, nowMs: Int64) -> [(String, String)] {
        var state = t.state
        if state == .running, nowMs - t.lastProgressMs > 30_000 { state = .stalled }
        return [
            ("partition", String(t.id.partition)), ("namespace", String(decoding: t.id.namespace, as: UTF8.self)),
            ("from", t.from), ("to", t.to), ("keys", String(t.keys)), ("bytes", String(t.bytes)),
            ("rate_bytes_per_sec", String(t.rate(nowMs: nowMs))),
            ("eta_seconds", t.etaSeconds(nowMs: nowMs).map(String.init) ?? "unknown"),
            ("state", state.rawValue), ("last_error", t.lastError),
        ]
    }
}
