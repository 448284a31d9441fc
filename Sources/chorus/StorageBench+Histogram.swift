// Latency percentiles without dependencies. The same bucketing is in bench/leveldb_bench.cc
// so both programs round the same way.

extension StorageBench {
    /// A log-linear histogram of nanoseconds: exact below 64 ns, then 32 sub-buckets per
    /// power of two (about 3% wide), so a percentile is within 3% of the true value.
    struct Histogram {
        static let subBits = 5
        static let linear = 64
        private var counts = [UInt64](repeating: 0, count: 64 + 58 * 32)
        private(set) var total: UInt64 = 0
        private(set) var minNanos: UInt64 = .max
        private(set) var maxNanos: UInt64 = 0

        @inline(__always) static func bucket(_ v: UInt64) -> Int {
            if v < UInt64(linear) { return Int(v) }
            let e = 63 - v.leadingZeroBitCount  // >= 6
            let sub = Int((v >> UInt64(e - subBits)) & 31)
            return linear + (e - 6) * 32 + sub
        }

        /// Lower bound and width of bucket `b`.
        static func bounds(_ b: Int) -> (low: Double, width: Double) {
            if b < linear { return (Double(b), 1) }
            let e = (b - linear) / 32 + 6
            let sub = (b - linear) % 32
            let width = Double(UInt64(1) << UInt64(e - subBits))
            return (Double(UInt64(1) << UInt64(e)) + Double(sub) * width, width)
        }

        @inline(__always) mutating func add(_ nanos: UInt64) {
            counts[Histogram.bucket(nanos)] &+= 1
            total &+= 1
            if nanos < minNanos { minNanos = nanos }
            if nanos > maxNanos { maxNanos = nanos }
        }

        /// Adds every sample of `other` (per-thread histograms merged at the end).
        mutating func merge(_ other: Histogram) {
            for i in counts.indices { counts[i] &+= other.counts[i] }
            total &+= other.total
            minNanos = min(minNanos, other.minNanos)
            maxNanos = max(maxNanos, other.maxNanos)
        }

        /// The `p`-th percentile (0...100) in microseconds, interpolated inside its bucket.
        func percentileMicros(_ p: Double) -> Double {
            guard total > 0 else { return 0 }
            let threshold = Double(total) * p / 100
            var cumulative: Double = 0
            for (b, c) in counts.enumerated() where c > 0 {
                let next = cumulative + Double(c)
                if next >= threshold {
                    let (low, width) = Histogram.bounds(b)
                    let value = low + width * (threshold - cumulative) / Double(c)
                    return min(max(value, Double(minNanos)), Double(maxNanos)) / 1000
                }
                cumulative = next
            }
            return Double(maxNanos) / 1000
        }
    }
}
