import XCTest
@testable import Storage

/// Crashes on the in-memory file system: every byte not synced is dropped, then the store
/// reopens. Under `.always` every acknowledged write must be there and nothing else.
final class StoreCrashTests: XCTestCase {
    func testAcknowledgedWritesSurviveRandomCrashes() throws {
        let seed = ProcessInfo.processInfo.environment["CHORUS_SEED"].flatMap(UInt64.init) ?? UInt64.random(in: 1...UInt64.max >> 1)
        print("StoreCrashTests seed \(seed) (rerun with CHORUS_SEED=\(seed))")
        var rng = SeededRandom(seed: seed)
        let fs = MemoryFileSystem()
        var options = smallOptions(fs, sync: .always)
        options.memtableSizeBytes = 16 << 10
        var model: [[UInt8]: [UInt8]] = [:]
        for round in 0..<25 {
            let store = try Store.open(path: "/db", options: options)
            // What survived the last crash is exactly what was acknowledged.
            let contents = try scanAll(store)
            XCTAssertEqual(contents.count, model.count, "seed \(seed) round \(round): key count")
            for (k, v) in contents where model[k] != v {
                XCTFail("seed \(seed) round \(round): \(k.text) holds a value never acknowledged")
                break
            }
            for (k, v) in model.prefix(200) {
                XCTAssertEqual(try store.get(k), v, "seed \(seed) round \(round): \(k.text)")
            }
            let steps = Int.random(in: 50...1_500, using: &rng)
            for _ in 0..<steps {
                let k = Array("k\(Int.random(in: 0..<3_000, using: &rng))".utf8)
                switch Int.random(in: 0..<100, using: &rng) {
                case 0..<70:
                    let v = Array("r\(round)-\(Int.random(in: 0..<1_000_000, using: &rng))".utf8) + [UInt8](repeating: 9, count: Int.random(in: 0..<64, using: &rng))
                    try store.put(k, v)
                    model[k] = v
                case 70..<90:
                    try store.delete(k)
                    model[k] = nil
                case 90..<98:
                    var batch = WriteBatch()
                    var staged = model
                    for j in 0..<10 {
                        let bk = Array("k\(Int.random(in: 0..<3_000, using: &rng))".utf8)
                        batch.put(bk, Array("batch\(round)-\(j)".utf8))
                        staged[bk] = Array("batch\(round)-\(j)".utf8)
                    }
                    try store.write(batch)
                    model = staged
                default:
                    try store.flush()
                }
            }
            // Crash now, whatever the background thread is doing.
            fs.crash()
            try? store.close()
        }
    }

    func testUnsyncedWritesUnderNeverMayVanishButStoreOpens() throws {
        let fs = MemoryFileSystem()
        let store = try Store.open(path: "/db", options: smallOptions(fs, sync: .never))
        for i in 0..<500 { try store.put(Array("k\(i)".utf8), Array("v\(i)".utf8)) }
        try store.flush()
        for i in 500..<600 { try store.put(Array("k\(i)".utf8), Array("v\(i)".utf8)) }
        fs.crash()
        try? store.close()
        let reopened = try Store.open(path: "/db", options: smallOptions(fs))
        // The flushed part is durable; the unsynced tail is gone, and nothing is invented.
        let all = try scanAll(reopened)
        XCTAssertGreaterThanOrEqual(all.count, 500)
        for (k, v) in all { XCTAssertEqual("v" + k.text.dropFirst(), v.text) }
        try reopened.close()
    }

    func testSyncedWriteMakesEveryEarlierWriteDurableAcrossLogSwitches() throws {
        // Under .never the log replaced at a memtable switch is not synced then; a later
        // synced write must sync it first, so after a crash every earlier write is there.
        for round in 0..<8 {
            let fs = MemoryFileSystem()
            var o = smallOptions(fs, sync: .never)
            o.memtableSizeBytes = 4 << 10
            let store = try Store.open(path: "/db", options: o)
            let count = 300 + 100 * round
            for i in 0..<count { try store.put(Array("k\(i)".utf8), Array("v\(i)".utf8)) }
            try store.put(Array("last".utf8), Array("synced".utf8), sync: true)
            fs.crash()
            try? store.close()
            let reopened = try Store.open(path: "/db", options: o)
            XCTAssertEqual(try reopened.get(Array("last".utf8)), Array("synced".utf8), "round \(round)")
            for i in 0..<count {
                XCTAssertEqual(try reopened.get(Array("k\(i)".utf8)), Array("v\(i)".utf8), "round \(round): k\(i) lost")
            }
            try reopened.close()
        }
    }
}
