/// How the simulated network misbehaves. Delays are uniform in [min, max] (jitter, which
/// also reorders packets); loss and duplication apply per UDP packet. Push-pull (TCP) is
/// reliable but delayed, and fails across partitions and to crashed nodes.
public struct NetworkProfile: Sendable {
    public var minDelayMs: Double = 1
    public var maxDelayMs: Double = 5
    public var lossRate: Double = 0
    public var duplicateRate: Double = 0

    public init(minDelayMs: Double = 1, maxDelayMs: Double = 5, lossRate: Double = 0, duplicateRate: Double = 0) {
        self.minDelayMs = minDelayMs
        self.maxDelayMs = maxDelayMs
        self.lossRate = lossRate
        self.duplicateRate = duplicateRate
    }
}
