/// Reconnect backoff: exponential from `baseMs` to `maxMs`, with "equal jitter" (half fixed,
/// half random) so peers that lost the same node do not reconnect in lockstep. Pure: the
/// caller passes the random draw in.
public struct RPCBackoff: Sendable, Equatable {
    public let baseMs: Int
    public let maxMs: Int
    /// Consecutive failures since the last success.
    public private(set) var failures = 0

    public init(baseMs: Int, maxMs: Int) {
        self.baseMs = max(1, baseMs)
        self.maxMs = max(self.baseMs, maxMs)
    }

    /// Records a failure; returns how long to wait before the next attempt, in
    /// [ceiling/2, ceiling] where ceiling = min(maxMs, baseMs * 2^failures).
    /// `randomUnit` is a draw in [0, 1).
    public mutating func onFailure(randomUnit: Double) -> Int {
        let shift = min(failures, 30)
        let ceiling = baseMs > (maxMs >> shift) ? maxMs : min(maxMs, baseMs << shift)
        failures += 1
        let r = min(max(randomUnit, 0), 1)
        return ceiling / 2 + Int(Double(ceiling - ceiling / 2) * r)
    }

    public mutating func onSuccess() { failures = 0 }
}
