import Gossip
import Ring
import Synchronization

// Namespace changes go through the claimant, one at a time, so two NS.CREATE on different
// peers never produce two tables with the same version (the merge would keep only one).

extension NodeEngine {
    /// Creates `ns` cluster-wide: at the claimant (forwarded there when it is another
    /// peer), which publishes the new table; the answer carries the table, adopted here at
    /// once so the client's next command sees the namespace.
    public func createNamespace(_ ns: Namespace, publish: @escaping @Sendable (NamespaceTable) -> Void,
                                completion: @escaping @Sendable (Result<Void, ClientError>) -> Void) {
        let snap = cluster.snapshot()
        guard let claimant = MembershipPolicy.claimant(snap), claimant != nodeID, snap.isUp(claimant) else {
            return completion(applyNamespace(ns, publish: publish).map { _ in () })
        }
        let payload: [UInt8]
        do { payload = try NamespaceTable(version: 0, namespaces: [ns]).encode() } catch {
            return completion(.failure(ClientError("ERR \(error)")))
        }
        transport.send(to: claimant, type: .namespaceCreate, payload: payload, timeoutMs: limits.defaultTimeoutMs) { [self] result in
            switch result {
            case .success(let bytes):
                if let table = try? NamespaceTable(decoding: bytes) { publish(table) }
                completion(.success(()))
            case .failure(.remote(_, let message)):
                completion(.failure(ClientError(message)))
            case .failure(let e):
                completion(.failure(ClientError("UNAVAILABLE the claimant \(claimant) did not answer (\(e)); retry")))
            }
        }
    }

    /// The claimant's side: adds `ns` to the table unless one by that name exists (same
    /// settings: fine; other settings: refused). Serialised by a lock.
    func applyNamespace(_ ns: Namespace, publish: @Sendable (NamespaceTable) -> Void) -> Result<NamespaceTable, ClientError> {
        namespaceLock.withLock { _ in
            let table = cluster.snapshot().namespaces
            if let existing = table.namespace(named: ns.name) {
                // Settings of an existing namespace are fixed: its keys were placed with them.
                return existing == ns ? .success(table) : .failure(ClientError("ERR namespace '\(ns.name)' exists with other settings"))
            }
            do {
                let next = try table.upserting(ns)
                // The table is gossiped as one value: never accept one that cannot travel.
                let bytes = next.encode().count
                guard bytes <= ClusterStateValue.maxPayloadBytes else {
                    return .failure(ClientError("ERR too many namespaces: the table would take \(bytes) bytes (max \(ClusterStateValue.maxPayloadBytes))"))
                }
                cluster.adopt(namespaces: next)
                publish(next)
                return .success(next)
            } catch {
                return .failure(ClientError("ERR \(error)"))
            }
        }
    }

    /// RPC: a peer forwards NS.CREATE to the claimant.
    func answerNamespaceCreate(_ payload: [UInt8], respond: @Sendable (Result<[UInt8], RPCError>) -> Void) {
        guard let table = try? NamespaceTable(decoding: payload), let ns = table.namespaces.first(where: { $0.name != Namespace.defaultName }) ?? table.namespaces.first else {
            return respond(.failure(.remote(code: 400, message: "ERR malformed namespace")))
        }
        switch applyNamespace(ns, publish: namespacePublisher ?? { _ in }) {
        case .success(let t): respond(.success(t.encode()))
        case .failure(let e): respond(.failure(.remote(code: 409, message: e.line)))
        }
    }
}
