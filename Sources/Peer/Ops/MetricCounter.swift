import Synchronization

/// A monotonically increasing integer counter (`# TYPE ... counter`); lock-free.
public final class MetricCounter: MetricChild {
    private let count = Atomic<UInt64>(0)

    public init() {}

    @inline(__always) public func increment() { count.wrappingAdd(1, ordering: .relaxed) }
    @inline(__always) public func add(_ n: UInt64) { count.wrappingAdd(n, ordering: .relaxed) }
    public var value: UInt64 { count.load(ordering: .relaxed) }
    public var isUnused: Bool { value == 0 }

    public func render(name: String, labels: String, into out: inout MetricsBuffer) {
        MetricsText.samplePrefix(name, labels: labels, into: &out)
        out.append(value)
        out.append(byte: 0x0a)
    }
}

/// A value that goes up and down (`# TYPE ... gauge`), a `Double` kept as its bit pattern
/// in one atomic word; lock-free.
public final class MetricGauge: MetricChild {
    private let bits = Atomic<UInt64>(0.0.bitPattern)

    public init() {}

    @inline(__always) public func set(_ v: Double) { bits.store(v.bitPattern, ordering: .relaxed) }

    /// Adds `delta` (negative to subtract) with a compare-and-swap loop.
    public func add(_ delta: Double) {
        var old = bits.load(ordering: .relaxed)
        while true {
            let new = (Double(bitPattern: old) + delta).bitPattern
            let (exchanged, current) = bits.weakCompareExchange(expected: old, desired: new, ordering: .relaxed)
            if exchanged { return }
            old = current
        }
    }

    public var value: Double { Double(bitPattern: bits.load(ordering: .relaxed)) }
    /// A gauge's zero is a value like any other: always rendered.
    public var isUnused: Bool { false }

    public func render(name: String, labels: String, into out: inout MetricsBuffer) {
        MetricsText.samplePrefix(name, labels: labels, into: &out)
        out.append(number: value)
        out.append(byte: 0x0a)
    }
}
