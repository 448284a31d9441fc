import Net
import Synchronization

/// A histogram of integer observations (`# TYPE ... histogram`): one atomic count per
/// bucket and an atomic sum, allocated once, so `observe` takes no lock and allocates
/// nothing. Observations are integer counts of a small unit (`unitPerCount`: 1e-9 for
/// durations in nanoseconds rendered as seconds), which keeps the sum exact and lock-free.
///
/// A scrape reads the buckets one by one while observations continue, so it may see an
/// observation in `_count` but not yet in `_sum` (or the reverse); `_count` is always the
/// `+Inf` bucket, and buckets are always cumulative, as the format requires.
public final class MetricHistogram: MetricChild, @unchecked Sendable {
    /// Upper bounds in the rendered unit, ascending.
    public let upperBounds: [Double]
    /// The same bounds in counts (`observe` compares against these).
    private let boundCounts: [UInt64]
    private let unitPerCount: Double
    /// `boundCounts.count + 1` non-cumulative counts; the last is the `+Inf` overflow.
    private let buckets: UnsafeMutablePointer<Atomic<UInt64>>
    private let sum = Atomic<UInt64>(0)
    private let leTexts: [String]

    /// 100 µs to 10 s, the latency buckets SPEC section 2 asks of command durations.
    public static let latencyBuckets: [Double] = [
        0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
    ]

    public init(upperBounds: [Double], unitPerCount: Double = 1e-9) {
        precondition(!upperBounds.isEmpty && zip(upperBounds, upperBounds.dropFirst()).allSatisfy { $0 < $1 },
                     "histogram bounds must be ascending and not empty")
        precondition(unitPerCount > 0)
        self.upperBounds = upperBounds
        self.unitPerCount = unitPerCount
        boundCounts = upperBounds.map { UInt64(($0 / unitPerCount).rounded()) }
        leTexts = upperBounds.map { MetricsText.number($0) } + ["+Inf"]
        buckets = UnsafeMutablePointer<Atomic<UInt64>>.allocate(capacity: upperBounds.count + 1)
        for i in 0...upperBounds.count { (buckets + i).initialize(to: Atomic(0)) }
    }

    deinit {
        buckets.deinitialize(count: upperBounds.count + 1)
        buckets.deallocate()
    }

    /// Records one observation of `count` units (nanoseconds for a duration histogram).
    @inline(__always) public func observe(_ count: UInt64) {
        // Binary search for the first bound >= count (le is inclusive).
        var lo = 0, hi = boundCounts.count
        while lo < hi {
            let mid = (lo + hi) >> 1
            if boundCounts[mid] < count { lo = mid + 1 } else { hi = mid }
        }
        buckets[lo].wrappingAdd(1, ordering: .relaxed)
        sum.wrappingAdd(count, ordering: .relaxed)
    }

    /// Records the time since `startNs` on the monotonic clock (`MonotonicClock.nowNs()`).
    @inline(__always) public func observeSince(_ startNs: UInt64) {
        let now = MonotonicClock.nowNs()
        observe(now > startNs ? now - startNs : 0)
    }

    /// Observations so far, and their sum in the rendered unit.
    public var count: UInt64 { (0...boundCounts.count).reduce(0) { $0 &+ buckets[$1].load(ordering: .relaxed) } }
    public var sumValue: Double {
        // Dividing by the integer counts-per-unit (1e9) rounds correctly where multiplying by 1e-9 does not.
        let perUnit = (1 / unitPerCount).rounded()
        let raw = Double(sum.load(ordering: .relaxed))
        return perUnit >= 1 && abs(perUnit * unitPerCount - 1) < 1e-12 ? raw / perUnit : raw * unitPerCount
    }

    public var isUnused: Bool { count == 0 }

    /// Cumulative counts per bound, `+Inf` last.
    public var cumulativeCounts: [UInt64] {
        var running: UInt64 = 0
        return (0...boundCounts.count).map { i in
            running &+= buckets[i].load(ordering: .relaxed)
            return running
        }
    }

    /// The constant start of every line this child writes, built at the first scrape: a
    /// family's name and a child's labels never change, and most of a scrape is these lines.
    private struct LinePrefixes {
        /// `name_bucket{labels,le="..."} ` per bucket, `+Inf` last.
        var buckets: [[UInt8]] = []
        /// `name_sum{labels} ` and `name_count{labels} `.
        var sum: [UInt8] = []
        var count: [UInt8] = []
    }
    private let linePrefixes = Mutex(LinePrefixes())

    public func render(name: String, labels: String, into out: inout MetricsBuffer) {
        let prefixes = linePrefixes.withLock { cached -> LinePrefixes in
            if cached.buckets.isEmpty {
                let sep = labels.isEmpty ? "" : ","
                cached.buckets = leTexts.map { Array((name + "_bucket{" + labels + sep + "le=\"" + $0 + "\"} ").utf8) }
                var line = MetricsBuffer()
                MetricsText.samplePrefix(name + "_sum", labels: labels, into: &line)
                cached.sum = line.bytes
                line = MetricsBuffer()
                MetricsText.samplePrefix(name + "_count", labels: labels, into: &line)
                cached.count = line.bytes
            }
            return cached
        }
        var running: UInt64 = 0
        for i in 0...boundCounts.count {
            running &+= buckets[i].load(ordering: .relaxed)
            out.append(prefixes.buckets[i])
            out.append(running)
            out.append(byte: 0x0a)
        }
        out.append(prefixes.sum)
        out.append(number: sumValue)
        out.append(byte: 0x0a)
        out.append(prefixes.count)
        out.append(running)
        out.append(byte: 0x0a)
    }
}
