import XCTest
@testable import Peer

final class VersionCounterLeaseTests: XCTestCase {
    func testFreshLeaseAsksToPersistBeforeTheFirstCounter() {
        var lease = CounterLease(persistedLeasedUpTo: nil, leaseSize: 100)
        XCTAssertEqual(lease.next(), .persist(leasedUpTo: 100))
        XCTAssertEqual(lease.next(), .waitForPersist, "nothing is handed out until the lease is durable")
        lease.didPersist(leasedUpTo: 100)
        XCTAssertEqual(lease.next(), .counter(1))
        XCTAssertEqual(lease.next(), .counter(2))
    }

    func testLeaseRunsOutAndRenews() {
        var lease = CounterLease(persistedLeasedUpTo: 10, leaseSize: 3)
        XCTAssertEqual(lease.next(), .persist(leasedUpTo: 13))
        lease.didPersist(leasedUpTo: 13)
        XCTAssertEqual(lease.next(), .counter(11))
        XCTAssertEqual(lease.next(), .counter(12))
        XCTAssertEqual(lease.next(), .counter(13))
        XCTAssertEqual(lease.next(), .persist(leasedUpTo: 16))
        lease.didPersist(leasedUpTo: 12)  // a late, smaller confirmation changes nothing
        XCTAssertEqual(lease.next(), .waitForPersist)
        lease.persistFailed()
        XCTAssertEqual(lease.next(), .persist(leasedUpTo: 16), "asks again after a failed write")
    }

    func testRenewalIsDueInTheLastQuarter() {
        var lease = CounterLease(persistedLeasedUpTo: nil, leaseSize: 100)
        lease.didPersist(leasedUpTo: 100)
        for _ in 0..<75 { _ = lease.next() }
        XCTAssertFalse(lease.renewalDue)
        _ = lease.next()
        XCTAssertTrue(lease.renewalDue)
        XCTAssertEqual(lease.renewIfDue(), 176)
        XCTAssertNil(lease.renewIfDue(), "one lease write in flight at a time")
        XCTAssertEqual(lease.next(), .counter(77), "counters keep flowing during the renewal")
        lease.didPersist(leasedUpTo: 176)
        XCTAssertFalse(lease.renewalDue)
        XCTAssertNil(lease.inFlight)
    }

    func testAdvancePastASeenCounterSkipsIt() {
        var lease = CounterLease(persistedLeasedUpTo: nil, leaseSize: 10)
        lease.didPersist(leasedUpTo: 10)
        XCTAssertEqual(lease.next(), .counter(1))
        lease.advance(past: 50)
        XCTAssertTrue(lease.renewalDue)
        XCTAssertEqual(lease.next(), .persist(leasedUpTo: 60))
        lease.didPersist(leasedUpTo: 60)
        XCTAssertEqual(lease.next(), .counter(51))
    }

    /// A node that crashes at random points (losing everything not persisted) never hands
    /// out a counter twice across restarts.
    func testCountersNeverRepeatAcrossSimulatedCrashes() throws {
        let seed: UInt64 = 0x1EA5E_0002
        var rng = SeededRandom(seed: seed)
        var disk: [UInt8]? = nil  // the durable lease record
        var issued = Set<UInt64>()
        var lastIssued: UInt64 = 0
        for _ in 0..<200 {  // restarts
            let persisted = try disk.map { try CounterLease.decodePersisted($0) }
            var lease = CounterLease(persistedLeasedUpTo: persisted, leaseSize: UInt64(rng.int(1..<50)))
            var writing: UInt64? = nil  // the lease write in flight, if any
            for _ in 0..<rng.int(0..<300) {
                // Sometimes renew early, as the node does in the background.
                if rng.chance(30), let l = lease.renewIfDue() {
                    XCTAssertNil(writing)
                    writing = l
                }
                // The in-flight write completes, fails, or is still going.
                if let l = writing {
                    switch rng.int(0..<10) {
                    case 0..<5:
                        disk = CounterLease.encodePersisted(l)
                        lease.didPersist(leasedUpTo: l)
                        writing = nil
                    case 5: lease.persistFailed(); writing = nil
                    default: break
                    }
                }
                switch lease.next() {
                case .counter(let n):
                    XCTAssertTrue(issued.insert(n).inserted, "counter \(n) handed out twice, seed \(seed)")
                    XCTAssertGreaterThan(n, lastIssued, "seed \(seed)")
                    lastIssued = n
                    let durable = try CounterLease.decodePersisted(XCTUnwrap(disk))
                    XCTAssertLessThanOrEqual(n, durable, "handed out beyond the durable lease, seed \(seed)")
                case .persist(let l):
                    XCTAssertNil(writing)
                    writing = l
                case .waitForPersist:
                    XCTAssertNotNil(writing)
                }
            }
            // Crash: the in-memory lease is lost; a write in flight may or may not land.
            if let l = writing, rng.chance(50) { disk = CounterLease.encodePersisted(l) }
        }
        XCTAssertGreaterThan(issued.count, 1000)
    }

    func testPersistedLeaseWorkedExampleFromRecordsMd() throws {
        let bytes = CounterLease.encodePersisted(10_000)
        XCTAssertEqual(bytes, [0x01, 0, 0, 0, 0, 0, 0, 0x27, 0x10, 0x9e, 0x9f, 0x09, 0x4a])
        XCTAssertEqual(try CounterLease.decodePersisted(bytes), 10_000)
    }

    func testPersistedLeaseRejectsDamage() {
        let bytes = CounterLease.encodePersisted(0x0102_0304_0506_0708)
        XCTAssertEqual(bytes.count, 13)
        XCTAssertEqual(Array(bytes[0..<9]), [0x01, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08])
        XCTAssertEqual(try CounterLease.decodePersisted(bytes), 0x0102_0304_0506_0708)
        var flipped = bytes; flipped[4] ^= 1
        XCTAssertThrowsError(try CounterLease.decodePersisted(flipped)) { XCTAssertEqual($0 as? KeyRecordError, .checksumMismatch) }
        XCTAssertThrowsError(try CounterLease.decodePersisted(Array(bytes.dropLast()))) { XCTAssertEqual($0 as? KeyRecordError, .truncated(offset: 12)) }
        var version = bytes; version[0] = 9
        XCTAssertThrowsError(try CounterLease.decodePersisted(version)) { XCTAssertEqual($0 as? KeyRecordError, .unknownVersion(9)) }
    }
}
