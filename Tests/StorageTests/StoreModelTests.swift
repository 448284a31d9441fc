import XCTest
@testable import Storage

/// The store against a plain dictionary: random puts, deletes, gets, scans and batches,
/// with reopen, flush and compaction forced at random points. A mismatch names the seed.
final class StoreModelTests: XCTestCase {
    func testRandomOperationsMatchDictionaryModel() throws {
        let seed = ProcessInfo.processInfo.environment["CHORUS_SEED"].flatMap(UInt64.init) ?? UInt64.random(in: 1...UInt64.max >> 1)
        let operations = ProcessInfo.processInfo.environment["CHORUS_MODEL_OPS"].flatMap(Int.init) ?? 200_000
        print("StoreModelTests seed \(seed) (rerun with CHORUS_SEED=\(seed)), \(operations) operations")
        var rng = SeededRandom(seed: seed)
        let fs = MemoryFileSystem()
        var options = smallOptions(fs)
        options.memtableSizeBytes = 32 << 10
        var store = try Store.open(path: "/db", options: options)
        var model: [[UInt8]: [UInt8]] = [:]
        var snapshots: [(Snapshot, [[UInt8]: [UInt8]])] = []
        let keySpace = 2_000

        func key(_ i: Int) -> [UInt8] { Array("key\(i)".utf8) }
        func randomValue() -> [UInt8] {
            let n = Int.random(in: 0..<120, using: &rng)
            return (0..<n).map { _ in UInt8.random(in: 0...255, using: &rng) }
        }
        func check(_ condition: Bool, _ what: @autoclosure () -> String, op: Int) {
            if !condition { XCTFail("seed \(seed), operation \(op): \(what())") }
        }

        for op in 0..<operations {
            let roll = Int.random(in: 0..<1000, using: &rng)
            switch roll {
            case 0..<400:
                let k = key(Int.random(in: 0..<keySpace, using: &rng)), v = randomValue()
                try store.put(k, v)
                model[k] = v
            case 400..<550:
                let k = key(Int.random(in: 0..<keySpace, using: &rng))
                try store.delete(k)
                model[k] = nil
            case 550..<900:
                let k = key(Int.random(in: 0..<keySpace, using: &rng))
                let got = try store.get(k)
                check(got == model[k], "get \(k.text): \(String(describing: got)) vs model \(String(describing: model[k]))", op: op)
            case 900..<950:
                var batch = WriteBatch()
                var staged = model
                for _ in 0..<Int.random(in: 1...20, using: &rng) {
                    let k = key(Int.random(in: 0..<keySpace, using: &rng))
                    if Bool.random(using: &rng) {
                        let v = randomValue()
                        batch.put(k, v)
                        staged[k] = v
                    } else {
                        batch.delete(k)
                        staged[k] = nil
                    }
                }
                try store.write(batch)
                model = staged
            case 950..<975:
                // Scan a random range and compare with the model.
                let a = Int.random(in: 0..<keySpace, using: &rng), b = Int.random(in: 0..<keySpace, using: &rng)
                let range = KeyRange(start: key(min(a, b)), end: key(max(a, b)))
                let got = try scanAll(store, range: range)
                let want = model.filter { range.contains($0.key) }.sorted { Bytewise.compare($0.key, $1.key) < 0 }
                check(got.map(\.0) == want.map(\.key) && got.map(\.1) == want.map(\.value),
                      "scan \(range) returned \(got.count) entries, model \(want.count)", op: op)
            case 975..<985:
                if snapshots.count < 3 {
                    snapshots.append((store.snapshot(), model))
                } else if let (snap, old) = snapshots.popLast() {
                    let k = key(Int.random(in: 0..<keySpace, using: &rng))
                    check(try store.get(k, snapshot: snap) == old[k], "snapshot get \(k.text)", op: op)
                    let all = try scanAll(store, snapshot: snap)
                    check(all.count == old.count, "snapshot scan \(all.count) vs \(old.count)", op: op)
                    snap.release()
                }
            case 985..<990:
                try store.flush()
            case 990..<993:
                try store.compactRange()
            case 993..<996:
                let a = Int.random(in: 0..<keySpace, using: &rng)
                let start = key(a), end = key(a + Int.random(in: 1...50, using: &rng))
                guard Bytewise.compare(start, end) < 0 else { break }
                try store.deleteRange(start: start, end: end)
                for k in model.keys where KeyRange(start: start, end: end).contains(k) { model[k] = nil }
            default:
                for (s, _) in snapshots { s.release() }
                snapshots.removeAll()
                try store.close()
                store = try Store.open(path: "/db", options: options)
            }
        }
        let final = try scanAll(store)
        XCTAssertEqual(final.count, model.count, "seed \(seed)")
        for (k, v) in final where model[k] != v { XCTFail("seed \(seed): final \(k.text) differs"); break }
        for (s, _) in snapshots { s.release() }
        try store.close()
    }
}
