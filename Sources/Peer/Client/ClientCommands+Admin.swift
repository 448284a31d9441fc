import Ring

extension ClientCommands {
    /// NS.CREATE / NS.USE / NS.LIST / NS.INFO.
    func namespaceCommand(_ name: String, _ args: ArraySlice<[UInt8]>, context: RESPConnectionContext, reply: RESPReplyToken) {
        let snap = engine.cluster.snapshot()
        switch name {
        case "NS.USE":
            guard args.count == 1, let n = args.first else { return reply.reply(wrongArity(name)) }
            let ns = String(decoding: n, as: UTF8.self)
            guard snap.namespaces.namespace(named: ns) != nil else {
                return reply.reply(.error("ERR unknown namespace '\(ns)' (create it with NS.CREATE)"))
            }
            context.namespace = ns
            reply.reply(.ok)
        case "NS.LIST":
            reply.reply(.array(snap.namespaces.namespaces.map { .bulk($0.name) }))
        case "NS.INFO":
            guard args.count == 1, let n = args.first else { return reply.reply(wrongArity(name)) }
            guard let ns = snap.namespaces.namespace(named: String(decoding: n, as: UTF8.self)) else {
                return reply.reply(.error("ERR unknown namespace '\(String(decoding: n, as: UTF8.self))'"))
            }
            let members = snap.members.values.filter { $0.admin == "joined" || $0.admin == "joining" }.count
            // A map in RESP3; the flat name/value array in RESP2, as CONFIG GET.
            reply.reply(.map([
                "name": .bulk(ns.name), "n": .integer(Int64(ns.n)), "r": .bulk(ns.r.description), "w": .bulk(ns.w.description),
                "conflict": .bulk(ns.conflict.rawValue), "sibling_limit": .integer(Int64(ns.siblingLimit)),
                "tombstone_grace_ms": .integer(ns.tombstoneGraceMs),
                "under_replicated": .integer(ns.isUnderReplicated(memberCount: members) ? 1 : 0),
            ]))
        case "NS.CREATE":
            guard let n = args.first else { return reply.reply(wrongArity(name)) }
            let nsName = String(decoding: n, as: UTF8.self)
            var nValue = 3, r = Quorum.quorum, w = Quorum.quorum, conflict = ConflictMode.siblings
            var grace: Int64 = 3_600_000
            var i = args.startIndex + 1
            while i < args.endIndex {
                let word = ClientCommands.upper(args[i]).lowercased()
                guard i + 1 < args.endIndex else { return reply.reply(.error("ERR syntax \(word.uppercased()) needs a value")) }
                let value = String(decoding: args[i + 1], as: UTF8.self)
                switch word {
                case "n":
                    guard let v = Int(value), v >= 1 else { return reply.reply(.error("ERR syntax N must be a positive integer")) }
                    nValue = v
                case "r":
                    guard let q = Quorum(parsing: value.lowercased()) else { return reply.reply(.error("ERR syntax R must be one, quorum, all or a number")) }
                    r = q
                case "w":
                    guard let q = Quorum(parsing: value.lowercased()) else { return reply.reply(.error("ERR syntax W must be one, quorum, all or a number")) }
                    w = q
                case "conflict":
                    guard let c = ConflictMode(rawValue: value.lowercased()) else { return reply.reply(.error("ERR syntax CONFLICT must be siblings or lww")) }
                    conflict = c
                case "grace":
                    guard let g = Int64(value), g >= 0 else { return reply.reply(.error("ERR syntax GRACE must be milliseconds >= 0")) }
                    grace = g
                default:
                    return reply.reply(.error("ERR syntax unknown option '\(word.uppercased())' (N, R, W, CONFLICT, GRACE)"))
                }
                i += 2
            }
            do {
                let ns = try Namespace(name: nsName, n: nValue, r: r, w: w, conflict: conflict, tombstoneGraceMs: grace)
                try ns.validate()
                if let existing = snap.namespaces.namespace(named: nsName) {
                    // Settings of an existing namespace are fixed: its keys were placed with them.
                    return reply.reply(existing == ns ? .ok : .error("ERR namespace '\(nsName)' exists with other settings"))
                }
                engine.createNamespace(ns, publish: publishNamespaces) { result in
                    switch result {
                    case .success: reply.reply(.ok)
                    case .failure(let e): reply.reply(.error(e.line))
                    }
                }
            } catch {
                reply.reply(.error("ERR \(error)"))
            }
        default:
            reply.reply(.error("ERR unknown command"))
        }
    }

    /// WHEREIS / RING / MEMBERS.
    func clusterCommand(_ name: String, _ args: ArraySlice<[UInt8]>, context: RESPConnectionContext, reply: RESPReplyToken) {
        let snap = engine.cluster.snapshot()
        switch name {
        case "RING":
            guard let ring = snap.ring else { return reply.reply(.error("UNAVAILABLE the ring is not settled yet")) }
            reply.reply(.array([.integer(Int64(ring.version)), .integer(Int64(ring.partitionCount)),
                                .array(ring.owners.map { .bulk($0) })]))
        case "MEMBERS":
            let members = snap.members.values.sorted { $0.id < $1.id }
            reply.reply(.array(members.map { m in
                .array([.bulk(m.id), .bulk(m.clientAddress), .bulk(m.gossipAddress), .bulk(m.status),
                        .integer(Int64(m.incarnation)), .bulk(m.admin)])
            }))
        case "WHEREIS":
            guard args.count == 1, let key = args.first else { return reply.reply(wrongArity(name)) }
            guard let ns = snap.namespaces.namespace(named: context.namespace),
                  let (_, replicas, _) = snap.replicas(namespace: ns, key: key) else {
                return reply.reply(.error("UNAVAILABLE the ring is not settled yet"))
            }
            let plan = QuorumPlan(replicas: replicas, purpose: .write, strict: false, localNode: engine.nodeID)
            reply.reply(.array(plan.targets.map { t in
                let address = snap.members[t.node]?.clientAddress ?? ""
                return .array([.bulk(t.node), .bulk(address), .bulk(t.role == .fallback ? "fallback" : "primary")])
            }))
        default:
            reply.reply(.error("ERR unknown command"))
        }
    }
}
