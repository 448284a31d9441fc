import Net
import Dispatch
import Storage
import XCTest
@testable import Peer

final class MetricsRegistryTests: XCTestCase {
    func testCounterFamilyRendersHelpTypeAndSortedChildren() {
        let r = MetricsRegistry()
        let f = r.counter("chorus_things_total", help: "Things.", labels: ["kind"])
        f.labels("b").add(3)
        f.labels("a").increment()
        f.labels("a").increment()
        XCTAssertEqual(r.render(), """
        # HELP chorus_things_total Things.
        # TYPE chorus_things_total counter
        chorus_things_total{kind="a"} 2
        chorus_things_total{kind="b"} 3

        """)
    }

    func testLabelValuesAndHelpAreEscaped() {
        let r = MetricsRegistry()
        let g = r.gauge("chorus_odd", help: "back\\slash and\nnewline \"quoted\"", labels: ["v"])
        g.labels("a\"b\\c\nd").set(1.5)
        let text = r.render()
        XCTAssertTrue(text.contains("# HELP chorus_odd back\\\\slash and\\nnewline \"quoted\"\n"), text)
        XCTAssertTrue(text.contains("chorus_odd{v=\"a\\\"b\\\\c\\nd\"} 1.5\n"), text)
    }

    func testHistogramBucketsAreCumulativeAndLeIsInclusive() {
        let r = MetricsRegistry()
        let h = r.histogram("chorus_wait_seconds", help: "Waits.", buckets: [0.001, 0.01, 0.1]).unlabeled
        h.observe(1_000_000)        // exactly 1 ms: in le="0.001"
        h.observe(1_000_001)        // just over: le="0.01"
        h.observe(50_000_000)       // 50 ms
        h.observe(5_000_000_000)    // 5 s: only +Inf
        XCTAssertEqual(h.cumulativeCounts, [1, 2, 3, 4])
        XCTAssertEqual(h.count, 4)
        XCTAssertEqual(h.sumValue, 5.052000001, accuracy: 1e-9)
        let text = r.render()
        XCTAssertTrue(text.contains("# TYPE chorus_wait_seconds histogram\n"))
        XCTAssertTrue(text.contains("chorus_wait_seconds_bucket{le=\"0.001\"} 1\n"), text)
        XCTAssertTrue(text.contains("chorus_wait_seconds_bucket{le=\"0.01\"} 2\n"), text)
        XCTAssertTrue(text.contains("chorus_wait_seconds_bucket{le=\"0.1\"} 3\n"), text)
        XCTAssertTrue(text.contains("chorus_wait_seconds_bucket{le=\"+Inf\"} 4\n"), text)
        XCTAssertTrue(text.contains("chorus_wait_seconds_sum 5.052000001\n"), text)
        XCTAssertTrue(text.contains("chorus_wait_seconds_count 4\n"), text)
    }

    func testLatencyBucketsSpan100MicrosecondsTo10Seconds() {
        XCTAssertEqual(MetricHistogram.latencyBuckets.first, 0.0001)
        XCTAssertEqual(MetricHistogram.latencyBuckets.last, 10)
        let h = MetricHistogram(upperBounds: MetricHistogram.latencyBuckets)
        h.observe(99_000)            // 99 µs: first bucket
        h.observe(11_000_000_000)    // 11 s: overflow
        let c = h.cumulativeCounts
        XCTAssertEqual(c.first, 1)
        XCTAssertEqual(c[c.count - 2], 1)
        XCTAssertEqual(c.last, 2)
    }

    func testLabelledHistogramPutsLeLast() {
        let r = MetricsRegistry()
        r.histogram("chorus_rtt_seconds", help: "RTT.", labels: ["peer"], buckets: [1]).labels("n\"2").observe(10)
        let text = r.render()
        XCTAssertTrue(text.contains("chorus_rtt_seconds_bucket{peer=\"n\\\"2\",le=\"1\"} 1\n"), text)
        XCTAssertTrue(text.contains("chorus_rtt_seconds_count{peer=\"n\\\"2\"} 1\n"), text)
    }

    func testCollectedFamilyReadsAtEveryScrape() {
        let r = MetricsRegistry()
        let source = MetricCounter()
        r.collected("chorus_seen_total", help: "Seen.", type: .counter, labels: ["who"]) { out in
            out.add(source.value, labels: ["z"])
            out.add(7, labels: ["a"])
        }
        source.add(5)
        XCTAssertTrue(r.render().hasSuffix("chorus_seen_total{who=\"a\"} 7\nchorus_seen_total{who=\"z\"} 5\n"))
        source.add(1)
        XCTAssertTrue(r.render().contains("chorus_seen_total{who=\"z\"} 6\n"))
    }

    func testGaugeAddsAndSetsWithoutLosingUpdates() {
        let g = MetricGauge()
        DispatchQueue.concurrentPerform(iterations: 8) { _ in
            for _ in 0..<1_000 { g.add(0.5) }
        }
        XCTAssertEqual(g.value, 4_000)
        g.set(-2.25)
        XCTAssertEqual(g.value, -2.25)
    }

    func testConcurrentObservationsAreAllCounted() {
        let h = MetricHistogram(upperBounds: MetricHistogram.latencyBuckets)
        let c = MetricCounter()
        DispatchQueue.concurrentPerform(iterations: 8) { i in
            for j in 0..<10_000 {
                h.observe(UInt64((i * 10_000 + j) * 1_000))
                c.increment()
            }
        }
        XCTAssertEqual(h.count, 80_000)
        XCTAssertEqual(c.value, 80_000)
        // Sum of 0..<80,000 µs, in seconds.
        XCTAssertEqual(h.sumValue, Double(79_999 * 80_000 / 2) * 1e-6, accuracy: 1e-6)
    }

    func testNumbersUseTheFormatsSpelling() {
        XCTAssertEqual(MetricsText.number(3), "3")
        XCTAssertEqual(MetricsText.number(0.00025), "0.00025")
        XCTAssertEqual(MetricsText.number(.nan), "NaN")
        XCTAssertEqual(MetricsText.number(.infinity), "+Inf")
        XCTAssertEqual(MetricsText.number(-.infinity), "-Inf")
    }

    func testNameRules() {
        XCTAssertTrue(MetricsText.isValidName("chorus_a:b_1"))
        XCTAssertFalse(MetricsText.isValidName("1chorus"))
        XCTAssertFalse(MetricsText.isValidName("chorus-a"))
        XCTAssertTrue(MetricsText.isValidLabelName("peer"))
        XCTAssertFalse(MetricsText.isValidLabelName("__name"))
        XCTAssertFalse(MetricsText.isValidLabelName("a:b"))
    }

    func testCommandMetricsLabelUnknownNamesAsOther() {
        let r = MetricsRegistry()
        let m = CommandMetrics(registry: r)
        let ctx = RESPConnectionContext(id: 1, remoteAddress: "test")
        m.start("GET", context: ctx).finish(isError: false)
        m.start("GET", context: ctx).finish(isError: true)
        m.start("NO-SUCH-COMMAND-\(UInt64.random(in: 0...UInt64.max))", context: ctx).finish(isError: true)
        let text = r.render()
        XCTAssertTrue(text.contains("chorus_command_duration_seconds_count{command=\"get\"} 2\n"), text)
        XCTAssertTrue(text.contains("chorus_commands_total{command=\"get\",outcome=\"ok\"} 1\n"), text)
        XCTAssertTrue(text.contains("chorus_commands_total{command=\"get\",outcome=\"error\"} 1\n"), text)
        XCTAssertTrue(text.contains("chorus_commands_total{command=\"other\",outcome=\"error\"} 1\n"), text)
        XCTAssertTrue(text.contains("chorus_namespace_commands_total{namespace=\"default\"} 2\n"), text)
        XCTAssertFalse(text.contains("NO-SUCH"), text)
        // Commands never seen are left out rather than rendered as 19 zero lines each.
        XCTAssertFalse(text.contains("command=\"ping\""), text)
    }

    func testMeteredFileSystemTimesSyncsByKindOfFile() throws {
        let r = MetricsRegistry()
        let fs = MeteredFileSystem(base: MemoryFileSystem(), registry: r)
        try fs.createDirectory("/db")
        for name in ["000001.log", "000002.sst", "MANIFEST-000003", "CURRENT"] {
            let f = try fs.createWritable("/db/" + name)
            try f.append([1, 2, 3])
            try f.sync()
            try f.close()
        }
        try fs.syncDirectory("/db")
        let text = r.render()
        for kind in ["wal", "table", "manifest", "other", "directory"] {
            XCTAssertTrue(text.contains("chorus_fsync_duration_seconds_count{file=\"\(kind)\"} 1\n"), kind + "\n" + text)
        }
    }

    /// A real store's flushes and compactions reach chorus_storage_job_duration_seconds.
    func testStoreFlushesAndCompactionsAreTimed() throws {
        let r = MetricsRegistry()
        var options = StorageOptions()
        options.fileSystem = MemoryFileSystem()
        options.memtableSizeBytes = 4096
        options.backgroundObserver = StorageJobMetrics(registry: r)
        let store = try Store.open(path: "/db", options: options)
        for i in 0..<400 {
            var batch = WriteBatch()
            batch.put(Array("key\(i % 97)".utf8), Array(repeating: UInt8(i & 0xFF), count: 100))
            try store.write(batch)
        }
        try store.compactRange()
        let text = r.render()
        func count(_ job: String) -> Int {
            let prefix = "chorus_storage_job_duration_seconds_count{job=\"\(job)\"} "
            guard let line = text.split(separator: "\n").first(where: { $0.hasPrefix(prefix) }) else { return -1 }
            return Int(line.dropFirst(prefix.count)) ?? -1
        }
        XCTAssertGreaterThanOrEqual(count("flush"), 1, text)
        XCTAssertGreaterThanOrEqual(count("compaction"), 1, text)
        XCTAssertTrue(text.contains("# TYPE chorus_storage_job_duration_seconds histogram\n"), text)
        XCTAssertTrue(text.contains("chorus_storage_job_written_bytes_total{job=\"flush\"} "), text)
        try store.close()
    }

    func testPeerRPCMetricsRecordRoundTripsAndFailuresByPeer() {
        final class FixedTransport: PeerTransport, @unchecked Sendable {
            func send(to node: String, type: PeerMessageType, payload: [UInt8], timeoutMs: Int,
                      completion: @escaping @Sendable (Result<[UInt8], RPCError>) -> Void) {
                completion(node == "n2" ? .success(payload) : .failure(.timeout))
            }
        }
        let r = MetricsRegistry()
        // The node's path: one MeasuredTransport times each RPC for the estimates and the metrics.
        let t = MeasuredTransport(FixedTransport(), tracker: LatencyTracker(nowUs: { EventLoop.nowUs() }),
                                  observer: PeerRPCMetrics(registry: r))
        for _ in 0..<3 { t.send(to: "n2", type: .replicaWrite, payload: [1], timeoutMs: 10) { _ in } }
        t.send(to: "n3", type: .replicaRead, payload: [1], timeoutMs: 10) { _ in }
        let text = r.render()
        XCTAssertTrue(text.contains("chorus_peer_rpc_duration_seconds_count{peer=\"n2\",type=\"replica_write\"} 3\n"), text)
        XCTAssertTrue(text.contains("chorus_peer_rpc_duration_seconds_count{peer=\"n3\",type=\"replica_read\"} 0\n"), text)
        XCTAssertTrue(text.contains("chorus_peer_rpc_requests_total{peer=\"n2\",type=\"replica_write\",outcome=\"ok\"} 3\n"), text)
        XCTAssertTrue(text.contains("chorus_peer_rpc_requests_total{peer=\"n3\",type=\"replica_read\",outcome=\"timeout\"} 1\n"), text)
    }
}
