// Quorum math, kept tiny and tested from tables (as etcd-io/raft's quorum package).
//
// A namespace has N replicas; a request needs R replies (reads) or W acks (writes).
// `quorum` is a strict majority, N/2+1, so two quorums of the same N always intersect.
// R and W must lie in 1...N: asking for more replicas than exist can never succeed, and
// asking for none would acknowledge a write nobody stored.

/// N, R and W of one request, resolved to counts and checked: 1 <= R, W <= N.
public struct QuorumSpec: Equatable, Hashable, Sendable {
    /// Replicas per key (the namespace's N).
    public let n: Int
    /// Replies a read waits for.
    public let r: Int
    /// Acks a write waits for.
    public let w: Int

    /// The largest N accepted. A bound on every list the coordinator builds; far above any
    /// sensible replication factor.
    public static let maxN = 64

    /// A strict majority of `n`: the smallest count such that any two such sets of `n` overlap.
    public static func majority(of n: Int) -> Int { n / 2 + 1 }

    /// Resolves `r` and `w` against `n`, throwing the client-facing syntax error when a count
    /// falls outside 1...N (or N itself is out of range).
    public init(n: Int, r: QuorumLevel, w: QuorumLevel) throws(QuorumOptionError) {
        self.n = n
        self.r = try QuorumSpec.resolve(r, option: .r, n: n)
        self.w = try QuorumSpec.resolve(w, option: .w, n: n)
    }

    /// Resolves one level against `n`: one = 1, quorum = N/2+1, all = N, a number as is, and
    /// checks the result lies in 1...N.
    public static func resolve(_ level: QuorumLevel, option: QuorumOptionError.Option, n: Int) throws(QuorumOptionError) -> Int {
        guard (1...maxN).contains(n) else { throw .replicationOutOfRange(n: n) }
        let count = level.required(n: n)
        guard (1...n).contains(count) else { throw .countOutOfRange(option: option, value: count, n: n) }
        return count
    }

    /// True when every read quorum overlaps every write quorum (R + W > N): with STRICT, a
    /// read then sees the latest acknowledged write (SPEC section 6).
    public var readsSeeWrites: Bool { r + w > n }
}
