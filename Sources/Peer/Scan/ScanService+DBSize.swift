// DBSIZE across the ring: the thin shell around DBSizeWalk (see there for how the estimate
// is made) over ScanService's chunk reads.

import Ring
import Synchronization

extension ScanService {
    /// The estimated number of live keys in a namespace (exact below the walk's sample size).
    public func dbSize(namespace name: String, options: RequestOptions, sampleKeys: Int = 10_000,
                       completion: @escaping @Sendable (Result<Int64, ClientError>) -> Void) {
        let snap = cluster.snapshot()
        let ns: Namespace, resolved: RequestOptions.Resolved
        switch RequestOptions.prepare(name, options, in: snap, defaultTimeoutMs: defaultTimeoutMs) {
        case .success(let p): (ns, resolved) = p
        case .failure(let e): return completion(.failure(e))
        }
        guard let ring = snap.ring else {
            return completion(.failure(ClientError("UNAVAILABLE the ring is not settled yet; retry shortly")))
        }
        let walk = Mutex(DBSizeWalk(partitionCount: ring.partitionCount, sampleKeys: sampleKeys))
        @Sendable func advance() {
            switch walk.withLock({ $0.next() }) {
            case .done(let estimate):
                completion(.success(estimate))
            case .chunk(let partition, let position, let limit):
                readChunk(ns: ns, partition: partition, position: position, limit: limit, resolved: resolved,
                          command: "DBSIZE", advice: "") { result in
                    switch result {
                    case .failure(let e):
                        completion(.failure(e))
                    case .success(let merge):
                        walk.withLock { $0.onChunk(liveKeys: merge.liveKeys(atMs: self.expiryNowMs()).count, next: merge.next) }
                        // A hop keeps the stack flat when every chunk is answered locally.
                        self.scheduler.async { advance() }
                    }
                }
            }
        }
        advance()
    }
}
