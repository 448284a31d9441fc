import XCTest
@testable import Peer

/// The byte-buffer renderer must write exactly what the String renderer it replaced wrote:
/// the golden text below was produced by that renderer (commit deb6548) for this registry.
final class MetricsRenderGoldenTests: XCTestCase {
    /// One registry with every kind of family: counters, gauges and histograms, with and
    /// without labels, omitted unused children, collected families, escaping, NaN and infinities.
    static func everyKind() -> MetricsRegistry {
        let r = MetricsRegistry()
        r.counter("chorus_plain_total", help: "A plain counter.").unlabeled.add(42)
        let c = r.counter("chorus_labelled_total", help: "Labelled \\ counter\nwith newline.", labels: ["peer", "outcome"])
        c.labels("n2", "ok").add(7)
        c.labels("n1", "error").increment()
        c.labels("n1", "ok").add(18_446_744_073_709_551_615)
        let sparse = r.counter("chorus_sparse_total", help: "Unused children omitted.", labels: ["kind"], omitUnused: true)
        _ = sparse.labels("never")
        sparse.labels("once").increment()
        r.gauge("chorus_zero", help: "A gauge at zero.").unlabeled.set(0)
        let g = r.gauge("chorus_values", help: "Gauges of every shape.", labels: ["v"])
        g.labels("int").set(12345)
        g.labels("neg").set(-3)
        g.labels("frac").set(0.125)
        g.labels("tiny").set(1.5e-7)
        g.labels("huge").set(1e20)
        g.labels("nan").set(.nan)
        g.labels("inf").set(.infinity)
        g.labels("minf").set(-.infinity)
        g.labels("q\"b\\s\nn").set(2.5)
        g.labels("third").set(1.0 / 3.0)
        let h = r.histogram("chorus_wait_seconds", help: "Waits.", labels: ["command"], buckets: MetricHistogram.latencyBuckets)
        h.labels("get").observe(150_000)
        h.labels("get").observe(3_000_000)
        h.labels("set").observe(20_000_000_000)
        let empty = r.histogram("chorus_empty_seconds", help: "Omitted while unused.", labels: ["peer"],
                                buckets: [0.001, 0.01], omitUnused: true)
        _ = empty.labels("n9")
        empty.labels("n3").observe(5_000_000)
        r.histogram("chorus_size_bytes", help: "Bytes, unit 1.", buckets: [64, 1024, 65536], unitPerCount: 1).unlabeled.observe(700)
        r.histogram("chorus_bare_seconds", help: "No labels, no observations.", buckets: [0.5]).unlabeled.observe(250_000_001)
        r.collected("chorus_collected_total", help: "Collected counter.", type: .counter) { out in out.add(UInt64(99)) }
        r.collected("chorus_collected_gauge", help: "Collected gauge.", type: .gauge) { out in out.add(0.75) }
        r.collected("chorus_collected_by", help: "Collected, labelled, unsorted.", type: .gauge, labels: ["member", "state"]) { out in
            out.add(3, labels: ["n3", "alive"])
            out.add(1.5, labels: ["n1", "dead"])
            out.add(2, labels: ["n1", "alive"])
            out.add(-0.5, labels: ["n10", "sus\"pect"])
        }
        r.collected("chorus_collected_none", help: "Emits nothing.", type: .gauge, labels: ["x"]) { _ in }
        return r
    }

    func testRenderEqualsGolden() throws {
        let text = Self.everyKind().render()
        if let dump = ProcessInfo.processInfo.environment["CHORUS_DUMP_GOLDEN"] {
            try text.write(toFile: dump, atomically: true, encoding: .utf8)
        }
        XCTAssertEqual(text, Self.golden)
    }

    static let golden = #"""
    # HELP chorus_plain_total A plain counter.
    # TYPE chorus_plain_total counter
    chorus_plain_total 42
    # HELP chorus_labelled_total Labelled \\ counter\nwith newline.
    # TYPE chorus_labelled_total counter
    chorus_labelled_total{peer="n1",outcome="error"} 1
    chorus_labelled_total{peer="n1",outcome="ok"} 18446744073709551615
    chorus_labelled_total{peer="n2",outcome="ok"} 7
    # HELP chorus_sparse_total Unused children omitted.
    # TYPE chorus_sparse_total counter
    chorus_sparse_total{kind="once"} 1
    # HELP chorus_zero A gauge at zero.
    # TYPE chorus_zero gauge
    chorus_zero 0
    # HELP chorus_values Gauges of every shape.
    # TYPE chorus_values gauge
    chorus_values{v="frac"} 0.125
    chorus_values{v="huge"} 1e+20
    chorus_values{v="inf"} +Inf
    chorus_values{v="int"} 12345
    chorus_values{v="minf"} -Inf
    chorus_values{v="nan"} NaN
    chorus_values{v="neg"} -3
    chorus_values{v="q\"b\\s\nn"} 2.5
    chorus_values{v="third"} 0.3333333333333333
    chorus_values{v="tiny"} 1.5e-07
    # HELP chorus_wait_seconds Waits.
    # TYPE chorus_wait_seconds histogram
    chorus_wait_seconds_bucket{command="get",le="0.0001"} 0
    chorus_wait_seconds_bucket{command="get",le="0.00025"} 1
    chorus_wait_seconds_bucket{command="get",le="0.0005"} 1
    chorus_wait_seconds_bucket{command="get",le="0.001"} 1
    chorus_wait_seconds_bucket{command="get",le="0.0025"} 1
    chorus_wait_seconds_bucket{command="get",le="0.005"} 2
    chorus_wait_seconds_bucket{command="get",le="0.01"} 2
    chorus_wait_seconds_bucket{command="get",le="0.025"} 2
    chorus_wait_seconds_bucket{command="get",le="0.05"} 2
    chorus_wait_seconds_bucket{command="get",le="0.1"} 2
    chorus_wait_seconds_bucket{command="get",le="0.25"} 2
    chorus_wait_seconds_bucket{command="get",le="0.5"} 2
    chorus_wait_seconds_bucket{command="get",le="1"} 2
    chorus_wait_seconds_bucket{command="get",le="2.5"} 2
    chorus_wait_seconds_bucket{command="get",le="5"} 2
    chorus_wait_seconds_bucket{command="get",le="10"} 2
    chorus_wait_seconds_bucket{command="get",le="+Inf"} 2
    chorus_wait_seconds_sum{command="get"} 0.00315
    chorus_wait_seconds_count{command="get"} 2
    chorus_wait_seconds_bucket{command="set",le="0.0001"} 0
    chorus_wait_seconds_bucket{command="set",le="0.00025"} 0
    chorus_wait_seconds_bucket{command="set",le="0.0005"} 0
    chorus_wait_seconds_bucket{command="set",le="0.001"} 0
    chorus_wait_seconds_bucket{command="set",le="0.0025"} 0
    chorus_wait_seconds_bucket{command="set",le="0.005"} 0
    chorus_wait_seconds_bucket{command="set",le="0.01"} 0
    chorus_wait_seconds_bucket{command="set",le="0.025"} 0
    chorus_wait_seconds_bucket{command="set",le="0.05"} 0
    chorus_wait_seconds_bucket{command="set",le="0.1"} 0
    chorus_wait_seconds_bucket{command="set",le="0.25"} 0
    chorus_wait_seconds_bucket{command="set",le="0.5"} 0
    chorus_wait_seconds_bucket{command="set",le="1"} 0
    chorus_wait_seconds_bucket{command="set",le="2.5"} 0
    chorus_wait_seconds_bucket{command="set",le="5"} 0
    chorus_wait_seconds_bucket{command="set",le="10"} 0
    chorus_wait_seconds_bucket{command="set",le="+Inf"} 1
    chorus_wait_seconds_sum{command="set"} 20
    chorus_wait_seconds_count{command="set"} 1
    # HELP chorus_empty_seconds Omitted while unused.
    # TYPE chorus_empty_seconds histogram
    chorus_empty_seconds_bucket{peer="n3",le="0.001"} 0
    chorus_empty_seconds_bucket{peer="n3",le="0.01"} 1
    chorus_empty_seconds_bucket{peer="n3",le="+Inf"} 1
    chorus_empty_seconds_sum{peer="n3"} 0.005
    chorus_empty_seconds_count{peer="n3"} 1
    # HELP chorus_size_bytes Bytes, unit 1.
    # TYPE chorus_size_bytes histogram
    chorus_size_bytes_bucket{le="64"} 0
    chorus_size_bytes_bucket{le="1024"} 1
    chorus_size_bytes_bucket{le="65536"} 1
    chorus_size_bytes_bucket{le="+Inf"} 1
    chorus_size_bytes_sum 700
    chorus_size_bytes_count 1
    # HELP chorus_bare_seconds No labels, no observations.
    # TYPE chorus_bare_seconds histogram
    chorus_bare_seconds_bucket{le="0.5"} 1
    chorus_bare_seconds_bucket{le="+Inf"} 1
    chorus_bare_seconds_sum 0.250000001
    chorus_bare_seconds_count 1
    # HELP chorus_collected_total Collected counter.
    # TYPE chorus_collected_total counter
    chorus_collected_total 99
    # HELP chorus_collected_gauge Collected gauge.
    # TYPE chorus_collected_gauge gauge
    chorus_collected_gauge 0.75
    # HELP chorus_collected_by Collected, labelled, unsorted.
    # TYPE chorus_collected_by gauge
    chorus_collected_by{member="n1",state="alive"} 2
    chorus_collected_by{member="n1",state="dead"} 1.5
    chorus_collected_by{member="n10",state="sus\"pect"} -0.5
    chorus_collected_by{member="n3",state="alive"} 3
    # HELP chorus_collected_none Emits nothing.
    # TYPE chorus_collected_none gauge

    """#
}
