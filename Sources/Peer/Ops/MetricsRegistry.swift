// The node's metrics, served at `GET /metrics` in the Prometheus text exposition format,
// version 0.0.4 (https://prometheus.io/docs/instrumenting/exposition_formats/): a `# HELP`
// and a `# TYPE` line for every family, counters named `..._total`, histograms as
// cumulative `_bucket{le=...}` lines with `_sum` and `_count`, label values escaped.
//
// How to add a metric (any engineer, any module that can see `Node.metrics`):
//
//   1. Register the family once, at start-up. Names are unique in a registry; registering
//      a name twice, a counter not ending in `_total`, or a malformed name is a programmer
//      error (precondition).
//        let rtt = metrics.histogram("chorus_peer_rtt_seconds", help: "Round trip to each peer.",
//                                    labels: ["peer"], buckets: MetricHistogram.latencyBuckets)
//        let errors = metrics.counter("chorus_disk_errors_total", help: "...", labels: ["kind"])
//        let offset = metrics.gauge("chorus_clock_offset_seconds", help: "...", labels: ["peer"])
//   2. Look up a child once per label set and keep it. The lookup takes the family's lock
//      and allocates the first time; it is not for the hot path.
//        let toN2 = rtt.labels("n2")
//   3. On the hot path touch only the child: `toN2.observe(nanoseconds: ns)`,
//      `errors.labels("enospc").increment()`, `offset.labels("n2").set(0.012)`. These are
//      relaxed atomic operations on memory allocated at registration: no lock, no allocation.
//   4. Figures that already live elsewhere (store statistics, hint counts per target) are
//      read at scrape time instead: register a collected family whose closure emits them.
//        metrics.collected("chorus_hints_pending", help: "...", type: .gauge, labels: ["target"]) { out in
//            for (target, n) in hints.targets { out.add(Double(n), labels: [target]) }
//        }
//      The closure runs on the HTTP thread for every scrape: keep it cheap and lock briefly;
//      when many families read one expensive snapshot, take it once in `onScrape`.
//
// Conventions: base units in the name (`_seconds`, `_bytes`), values in those units; label
// values from a bounded set (node ids, names from a fixed table, never raw client input);
// families render in registration order, children sorted by their label values.
// Thread-safety: every method may be called from any thread.

import Synchronization

/// The kind of a family, as its `# TYPE` line says it.
public enum MetricKind: String, Sendable {
    case counter, gauge, histogram
}

/// One registered family, rendered at scrape time.
protocol MetricsRenderable: AnyObject, Sendable {
    var name: String { get }
    func render(into out: inout MetricsBuffer)
}

/// A set of metric families and their text rendering; see the contract at the top of this file.
public final class MetricsRegistry: Sendable {
    private let families = Mutex<[any MetricsRenderable]>([])
    private let names = Mutex<Set<String>>([])
    private let scrapeHooks = Mutex<[(begin: @Sendable () -> Void, end: @Sendable () -> Void)]>([])
    /// One scrape at a time: the hooks and the collected families of one render see one state.
    private let rendering = Mutex<Void>(())

    public init() {}

    /// A family of monotonically increasing integer counters. `name` must end in `_total`.
    /// With `omitUnused`, children still at zero are left out of the exposition (for label
    /// sets created up front so that the hot path never looks them up under a lock).
    public func counter(_ name: String, help: String, labels: [String] = [], omitUnused: Bool = false) -> MetricFamily<MetricCounter> {
        precondition(name.hasSuffix("_total"), "counter \(name) must end in _total")
        return add(MetricFamily(name: name, help: help, kind: .counter, labelNames: labels, omitUnused: omitUnused) { MetricCounter() })
    }

    /// A family of gauges: values that go up and down.
    public func gauge(_ name: String, help: String, labels: [String] = []) -> MetricFamily<MetricGauge> {
        add(MetricFamily(name: name, help: help, kind: .gauge, labelNames: labels) { MetricGauge() })
    }

    /// A family of histograms with the given upper bounds (in the metric's unit, ascending;
    /// `+Inf` is implied). `unitPerCount` is the unit of one integer count passed to
    /// `observe(_:)`: 1e-9 for seconds observed as nanoseconds (the default), 1 for bytes.
    public func histogram(_ name: String, help: String, labels: [String] = [], buckets: [Double],
                          unitPerCount: Double = 1e-9, omitUnused: Bool = false) -> MetricFamily<MetricHistogram> {
        precondition(!name.hasSuffix("_total"), "histogram \(name) must not end in _total")
        return add(MetricFamily(name: name, help: help, kind: .histogram, labelNames: labels, omitUnused: omitUnused) {
            MetricHistogram(upperBounds: buckets, unitPerCount: unitPerCount)
        })
    }

    /// A counter or gauge family whose samples `read` emits at every scrape.
    public func collected(_ name: String, help: String, type: MetricKind, labels: [String] = [],
                          _ read: @escaping @Sendable (inout MetricSamples) -> Void) {
        precondition(type != .histogram, "collected families are counters or gauges")
        precondition(type != .counter || name.hasSuffix("_total"), "counter \(name) must end in _total")
        _ = add(CollectedFamily(name: name, help: help, kind: type, labelNames: labels, read: read))
    }

    private func add<F: MetricsRenderable>(_ family: F) -> F {
        precondition(MetricsText.isValidName(family.name), "bad metric name \(family.name)")
        let fresh = names.withLock { $0.insert(family.name).inserted }
        precondition(fresh, "metric \(family.name) registered twice")
        families.withLock { $0.append(family) }
        return family
    }

    /// Runs `begin` at the start of every scrape, before any family renders, and `end` after
    /// the last: for taking one snapshot of some state that many collected families read (one
    /// lock, not one per family) and dropping it again.
    public func onScrape(begin: @escaping @Sendable () -> Void, end: @escaping @Sendable () -> Void = {}) {
        scrapeHooks.withLock { $0.append((begin, end)) }
    }

    /// The whole exposition, as `GET /metrics` serves it.
    public func render() -> String {
        rendering.withLock { _ in
            let hooks = scrapeHooks.withLock { $0 }
            for hook in hooks { hook.begin() }
            defer { for hook in hooks { hook.end() } }
            let all = families.withLock { $0 }
            var out = MetricsBuffer(capacity: 65_536)
            for family in all { family.render(into: &out) }
            return String(decoding: out.bytes, as: UTF8.self)
        }
    }
}

/// The samples a collected family emits during one scrape.
public struct MetricSamples {
    let labelCount: Int
    var samples: [(labels: [String], value: Double)] = []

    /// One sample; `labels` are the values, in the order the family named them.
    public mutating func add(_ value: Double, labels: [String] = []) {
        precondition(labels.count == labelCount, "expected \(labelCount) label values, got \(labels.count)")
        samples.append((labels, value))
    }

    public mutating func add(_ value: some BinaryInteger, labels: [String] = []) {
        add(Double(value), labels: labels)
    }
}

/// A family read from elsewhere at scrape time (`MetricsRegistry.collected`).
final class CollectedFamily: MetricsRenderable {
    let name: String
    let help: String
    let kind: MetricKind
    let labelNames: [String]
    let read: @Sendable (inout MetricSamples) -> Void

    init(name: String, help: String, kind: MetricKind, labelNames: [String], read: @escaping @Sendable (inout MetricSamples) -> Void) {
        for l in labelNames { precondition(MetricsText.isValidLabelName(l), "bad label name \(l)") }
        self.name = name
        self.help = help
        self.kind = kind
        self.labelNames = labelNames
        self.read = read
        var header = ""
        MetricsText.header(name: name, help: help, kind: kind, into: &header)
        headerBytes = Array(header.utf8)
        nameBytes = Array(name.utf8)
        labelKeys = labelNames.enumerated().map { Array((($0.offset == 0 ? "" : ",") + $0.element + "=\"").utf8) }
    }

    /// `# HELP` and `# TYPE` lines, rendered once.
    private let headerBytes: [UInt8]
    private let nameBytes: [UInt8]
    /// `k="` for the first label and `,k="` for the others: what precedes each value.
    private let labelKeys: [[UInt8]]

    func render(into out: inout MetricsBuffer) {
        var samples = MetricSamples(labelCount: labelNames.count)
        read(&samples)
        out.append(headerBytes)
        guard !labelNames.isEmpty else {
            for s in samples.samples {
                out.append(nameBytes)
                out.append(byte: 0x20)
                out.append(number: s.value)
                out.append(byte: 0x0a)
            }
            return
        }
        // Each sample's `k="v",...` text goes into one scratch buffer; the lines are sorted by
        // that text's bytes (for label values in NFC, as every value here is, the same order
        // as comparing the texts as Strings) and copied out in order.
        var scratch = MetricsBuffer(capacity: samples.samples.count * 32)
        var lines: [(labels: Range<Int>, value: Double)] = []
        lines.reserveCapacity(samples.samples.count)
        for s in samples.samples {
            let start = scratch.bytes.count
            for (i, value) in s.labels.enumerated() {
                scratch.append(labelKeys[i])
                scratch.append(MetricsText.escapeLabelValue(value))
                scratch.append(byte: 0x22)
            }
            lines.append((start..<scratch.bytes.count, s.value))
        }
        let text = scratch.bytes
        lines.sort { text[$0.labels].lexicographicallyPrecedes(text[$1.labels]) }
        for line in lines {
            out.append(nameBytes)
            out.append(byte: 0x7b)
            text.withUnsafeBufferPointer { out.append(bytes: UnsafeBufferPointer(rebasing: $0[line.labels])) }
            out.append(byte: 0x7d)
            out.append(byte: 0x20)
            out.append(number: line.value)
            out.append(byte: 0x0a)
        }
    }
}
