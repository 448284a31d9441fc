import Ring

extension RequestOptions {
    /// The namespace named by a request and its options resolved against that namespace's
    /// quorum defaults, or the client error: the first step of every client request, shared
    /// by the engine's coordinators and the scan service.
    static func prepare(_ name: String, _ options: RequestOptions, in snap: ClusterSnapshot,
                        defaultTimeoutMs: Int) -> Result<(Namespace, RequestOptions.Resolved), ClientError> {
        guard let ns = snap.namespaces.namespace(named: name) else {
            return .failure(ClientError("ERR unknown namespace '\(name)' (create it with NS.CREATE)"))
        }
        do {
            return .success((ns, try options.resolve(n: ns.n, defaultR: QuorumLevel(ns.r), defaultW: QuorumLevel(ns.w),
                                                     defaultTimeoutMs: defaultTimeoutMs)))
        } catch {
            return .failure(ClientError(error.message))
        }
    }
}
