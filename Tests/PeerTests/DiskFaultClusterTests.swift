#if canImport(Glibc)
import Glibc
#endif
import Storage
import Synchronization
import XCTest
@testable import Peer

/// A full disk on one peer (SPEC 6, "A full disk"), on the deterministic cluster with an
/// in-memory file system: writes through the others keep succeeding, the full peer refuses
/// its clients' writes (never acknowledges one), keeps serving reads, and resumes by itself
/// once space is freed; after repair nothing acknowledged is missing anywhere. The store's
/// recovery probe runs on a real thread, so the waits for it are real time, bounded.
final class DiskFaultClusterTests: XCTestCase {
    func eventually(_ seconds: Double, _ condition: () -> Bool) -> Bool {
        for _ in 0..<Int(seconds * 100) {
            if condition() { return true }
            usleep(10_000)
        }
        return condition()
    }

    func testFullDiskOnOnePeerRefusesItsWritesOthersSucceedAndItResumesByItself() throws {
        var limits = NodeEngine.Limits()
        limits.defaultTimeoutMs = 1_000
        limits.antiEntropyIntervalMs = 0
        let c = try DeterministicCluster.start(["n1", "n2", "n3"], seed: 7, limits: limits)
        defer { c.shutdown() }
        XCTAssertNil(c.writeNow("n1", "before", "v"))
        let fs = try XCTUnwrap(c.files["n3"])
        fs.setCapacity(fs.usedBytes + (64 << 10))

        var acked: [String: String] = [:]
        var n3Refused = 0
        var othersFailed = 0
        for i in 0..<3_000 {
            let key = "k\(i)", value = String(repeating: "x", count: 100) + "\(i)"
            let via = ["n1", "n2", "n3"][i % 3]
            if let e = c.writeNow(via, key, value) {
                if via == "n3" {
                    XCTAssertTrue(e.line.hasPrefix("ERR this peer cannot make writes durable"), e.line)
                    n3Refused += 1
                } else {
                    othersFailed += 1
                }
            } else {
                acked[key] = value
            }
            if n3Refused >= 20 { break }
        }
        XCTAssertEqual(othersFailed, 0, "writes through the other peers failed while n3's disk was full")
        XCTAssertGreaterThanOrEqual(n3Refused, 20, "n3's disk never filled")
        let storeError = try XCTUnwrap(c.engines["n3"]?.replica.store.writeError)
        XCTAssertTrue(storeError.isNoSpace, "\(storeError)")
        // W = all cannot be met while n3 cannot store; a read through n3 still works.
        var all = RequestOptions()
        all.w = .all
        XCTAssertNotNil(c.writeNow("n1", "needs-all", "v", options: all))
        guard case .success(let r) = c.readNow("n3", "before") else { return XCTFail("read through the full peer failed") }
        XCTAssertEqual(liveValues(r), ["v"])

        // Space freed: n3 resumes by itself, with no restart.
        fs.setCapacity(nil)
        XCTAssertTrue(eventually(10) { c.engines["n3"]?.replica.store.writeError == nil }, "n3 did not resume")
        XCTAssertNil(c.writeNow("n3", "after", "v", options: all), "W=all through n3 after space was freed")
        acked["after"] = "v"

        // Repair brings n3 what it missed; nothing acknowledged is missing anywhere.
        for node in ["n1", "n2", "n3"] { XCTAssertEqual(c.repairNow(node).failures, [], node) }
        for (key, value) in acked {
            for node in ["n1", "n2", "n3"] {
                XCTAssertEqual(liveValues(c.local(node, key)), [value], "\(key) on \(node)")
            }
        }
        XCTAssertGreaterThanOrEqual(c.engines["n3"]?.replica.store.stats().errorRecoveries ?? 0, 1)
    }

    /// Hints and Merkle trees under the same fault: a hint that cannot be stored is
    /// refused (never counted), earlier hints survive the fault and the recovery, and the
    /// kept tree matches the store after writes failed.
    func testHintsAndTreesSurviveAFullDisk() throws {
        let fs = MemoryFileSystem()
        var options = StorageOptions()
        options.fileSystem = fs
        options.errorRecoveryIntervalMs = 20
        let replica = try LocalReplica(store: try Store.open(path: "/n1", options: options), nodeID: "n1")
        let ns = Array("default".utf8)
        let tree = TreeID(partition: 3, namespace: ns)
        _ = try replica.tree(tree)
        func address(_ i: Int) -> KeyAddress { KeyAddress(namespace: ns, partition: 3, key: Array("k\(i)".utf8)) }
        var stored: [Int] = []
        var hinted = 0
        for i in 0..<10 {
            _ = try replica.coordinateWrite(address(i), conflict: .siblings, context: nil, value: .value([UInt8(i)]), siblingLimit: 64)
            if try replica.hints.add(target: "n9", address: address(i), record: [1, 2, 3]) { hinted += 1 }
            stored.append(i)
        }
        fs.setCapacity(fs.usedBytes + 2_000)
        var writeFailures = 0, hintFailures = 0
        for i in 10..<1_000 where writeFailures < 5 || hintFailures < 5 {
            do {
                _ = try replica.coordinateWrite(address(i), conflict: .siblings, context: nil, value: .value(Array(repeating: 1, count: 200)), siblingLimit: 64)
                stored.append(i)
            } catch {
                writeFailures += 1
            }
            do {
                if try replica.hints.add(target: "n9", address: address(i), record: [1, 2, 3]) { hinted += 1 }
            } catch {
                hintFailures += 1
            }
        }
        XCTAssertGreaterThanOrEqual(writeFailures, 5)
        XCTAssertGreaterThanOrEqual(hintFailures, 5)
        fs.setCapacity(nil)
        XCTAssertTrue(eventually(5) { replica.store.writeError == nil })
        for i in stored { XCTAssertNotNil(try replica.read(address(i)), "k\(i) lost") }
        XCTAssertEqual(try replica.hints.batch(for: "n9", limit: 10_000).count, hinted, "hints lost or invented")
        // The kept tree equals one built from the store now.
        let kept = try replica.tree(tree)
        replica.trees.drop(tree)
        XCTAssertEqual(try replica.tree(tree).root, kept.root)
    }
}
