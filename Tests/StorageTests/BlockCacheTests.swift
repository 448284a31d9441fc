import Bytes
import Dispatch
import Synchronization
import XCTest
@testable import Storage

final class BlockCacheTests: XCTestCase {
    /// A valid block whose cache charge is `payload + 64 + 8` bytes.
    private func block(payload: Int = 1000) throws -> Block {
        var bytes = [UInt8](repeating: 0, count: payload)
        bytes.appendU32LE(0)  // one restart, at 0
        bytes.appendU32LE(1)
        return try Block(bytes: bytes, contentSize: bytes.count, file: "f", fileOffset: 0)
    }

    func testMissThenHitCounters() throws {
        let cache = BlockCache(capacityBytes: 1 << 20)
        XCTAssertNil(cache.lookup(fileNumber: 1, offset: 0))
        let b = try block()
        cache.insert(fileNumber: 1, offset: 0, block: b)
        XCTAssertTrue(cache.lookup(fileNumber: 1, offset: 0) === b)
        XCTAssertTrue(cache.lookup(fileNumber: 1, offset: 0) === b)
        XCTAssertNil(cache.lookup(fileNumber: 2, offset: 0), "another file, same offset")
        XCTAssertNil(cache.lookup(fileNumber: 1, offset: 4096), "same file, another offset")
        let s = cache.stats
        XCTAssertEqual(s.hits, 2)
        XCTAssertEqual(s.misses, 3)
        XCTAssertEqual(s.evictions, 0)
        XCTAssertEqual(s.entryCount, 1)
        XCTAssertEqual(s.usageBytes, b.charge)
    }

    func testEvictsLeastRecentlyUsedWhenBytesExceedCapacity() throws {
        let b = try block()
        let cache = BlockCache(capacityBytes: 3 * b.charge, shardCount: 1)
        for i in 0..<3 { cache.insert(fileNumber: 1, offset: UInt64(i), block: try block()) }
        XCTAssertEqual(cache.stats.usageBytes, 3 * b.charge)
        XCTAssertNotNil(cache.lookup(fileNumber: 1, offset: 0))  // 0 becomes most recent; 1 is least
        cache.insert(fileNumber: 1, offset: 3, block: try block())
        XCTAssertNil(cache.lookup(fileNumber: 1, offset: 1), "least recently used went first")
        for i: UInt64 in [0, 2, 3] { XCTAssertNotNil(cache.lookup(fileNumber: 1, offset: i)) }
        let s = cache.stats
        XCTAssertEqual(s.evictions, 1)
        XCTAssertEqual(s.entryCount, 3)
        XCTAssertLessThanOrEqual(s.usageBytes, cache.capacityBytes)
    }

    func testOneLargeBlockEvictsSeveralSmallOnes() throws {
        let small = try block(payload: 100)
        let cache = BlockCache(capacityBytes: 10 * small.charge, shardCount: 1)
        for i in 0..<10 { cache.insert(fileNumber: 1, offset: UInt64(i), block: try block(payload: 100)) }
        XCTAssertEqual(cache.stats.evictions, 0)
        let big = try block(payload: 4 * small.charge)
        cache.insert(fileNumber: 2, offset: 0, block: big)
        let s = cache.stats
        XCTAssertEqual(s.evictions, 5, "evicts by bytes, not by count")
        XCTAssertLessThanOrEqual(s.usageBytes, cache.capacityBytes)
        XCTAssertNil(cache.lookup(fileNumber: 1, offset: 4))
        XCTAssertNotNil(cache.lookup(fileNumber: 1, offset: 5))
    }

    func testBlockLargerThanCapacityIsNotCached() throws {
        let cache = BlockCache(capacityBytes: 500, shardCount: 1)
        cache.insert(fileNumber: 1, offset: 0, block: try block(payload: 1000))
        XCTAssertNil(cache.lookup(fileNumber: 1, offset: 0))
        XCTAssertEqual(cache.stats.usageBytes, 0)
    }

    func testZeroCapacityCachesNothing() throws {
        let cache = BlockCache(capacityBytes: 0)
        cache.insert(fileNumber: 1, offset: 0, block: try block())
        XCTAssertNil(cache.lookup(fileNumber: 1, offset: 0))
    }

    func testReinsertingAKeyReplacesItsBlockAndCharge() throws {
        let cache = BlockCache(capacityBytes: 1 << 20, shardCount: 1)
        cache.insert(fileNumber: 1, offset: 0, block: try block(payload: 100))
        let second = try block(payload: 300)
        cache.insert(fileNumber: 1, offset: 0, block: second)
        XCTAssertTrue(cache.lookup(fileNumber: 1, offset: 0) === second)
        XCTAssertEqual(cache.stats.entryCount, 1)
        XCTAssertEqual(cache.stats.usageBytes, second.charge)
    }

    func testEvictedBlockStaysAliveWhileAnIteratorUsesIt() throws {
        let builder = BlockBuilder()
        for i in 0..<50 { builder.add(ikey("key\(100 + i)", 1), [UInt8(i)]) }
        let bytes = builder.finish()
        let cache = BlockCache(capacityBytes: bytes.count + 64, shardCount: 1)
        weak var weakBlock: Block?
        var it: BlockIterator?
        do {
            let block = try Block(bytes: bytes, contentSize: bytes.count, file: "f", fileOffset: 0)
            weakBlock = block
            cache.insert(fileNumber: 1, offset: 0, block: block)
            it = cache.lookup(fileNumber: 1, offset: 0)?.makeIterator()
        }
        try it?.seekToFirst()
        cache.insert(fileNumber: 1, offset: 8192, block: try Block(bytes: bytes, contentSize: bytes.count, file: "f", fileOffset: 8192))
        XCTAssertEqual(cache.stats.evictions, 1)
        XCTAssertNil(cache.lookup(fileNumber: 1, offset: 0))
        XCTAssertNotNil(weakBlock, "the iterator keeps the evicted block alive")
        var count = 0
        while it?.isValid == true {
            count += 1
            try it?.next()
        }
        XCTAssertEqual(count, 50)
        it = nil
        XCTAssertNil(weakBlock, "released once the iterator is gone")
    }

    func testShardsSplitCapacityAndSpreadKeys() throws {
        let b = try block()
        let cache = BlockCache(capacityBytes: 16 * 4 * b.charge, shardCount: 16)
        for i in 0..<64 { cache.insert(fileNumber: 3, offset: UInt64(i * 4096), block: try block()) }
        // 64 blocks into 16 shards of 4: a fair spread evicts some, a total bias would evict ~60.
        XCTAssertLessThan(cache.stats.evictions, 40)
        XCTAssertLessThanOrEqual(cache.stats.usageBytes, cache.capacityBytes)
    }

    func testConcurrentLookupsAndInsertsKeepCountersConsistent() throws {
        let cache = BlockCache(capacityBytes: 50 * (try block()).charge, shardCount: 4)
        let blocks = try (0..<8).map { _ in try block() }
        let perThread = 5000
        DispatchQueue.concurrentPerform(iterations: 4) { t in
            for j in 0..<perThread {
                let offset = UInt64((j * 31 + t * 7) % 200)
                if cache.lookup(fileNumber: 9, offset: offset) == nil {
                    cache.insert(fileNumber: 9, offset: offset, block: blocks[j % blocks.count])
                }
            }
        }
        let s = cache.stats
        XCTAssertEqual(s.hits + s.misses, UInt64(4 * perThread))
        XCTAssertGreaterThan(s.evictions, 0)
        XCTAssertLessThanOrEqual(s.usageBytes, cache.capacityBytes)
        XCTAssertEqual(s.usageBytes, s.entryCount * blocks[0].charge)
    }

    /// Random inserts and lookups against a plain reference LRU: same hits, same contents,
    /// same usage, through many evictions, probe-run deletions and table growth. Seeded.
    func testMatchesReferenceLRUModelUnderRandomOperations() throws {
        let seed: UInt64 = 0x1ca_c4e
        var rng = SeededRandom(seed: seed)
        let payloads = [0, 50, 200, 1000, 3000]
        let blocks = try payloads.map { try block(payload: $0) }
        let capacity = 20_000
        let cache = BlockCache(capacityBytes: capacity, shardCount: 1)
        var model: [(key: UInt64, block: Block)] = []  // most recent first
        var hits: UInt64 = 0, misses: UInt64 = 0
        for step in 0..<30_000 {
            let key = UInt64.random(in: 0..<300, using: &rng)
            let file = key % 7, offset = key * 4096
            if Bool.random(using: &rng) {
                let b = blocks[Int.random(in: 0..<blocks.count, using: &rng)]
                cache.insert(fileNumber: file, offset: offset, block: b)
                model.removeAll { $0.key == key }
                model.insert((key, b), at: 0)
                while model.reduce(0, { $0 + $1.block.charge }) > capacity { model.removeLast() }
            } else {
                let got = cache.lookup(fileNumber: file, offset: offset)
                if let i = model.firstIndex(where: { $0.key == key }) {
                    hits += 1
                    XCTAssertTrue(got === model[i].block, "step \(step), seed \(seed): wrong block for \(key)")
                    model.insert(model.remove(at: i), at: 0)
                } else {
                    misses += 1
                    XCTAssertNil(got, "step \(step), seed \(seed): \(key) should have been evicted")
                }
                if (got == nil) != (model.first?.key != key) { return XCTFail("diverged at step \(step), seed \(seed)") }
            }
        }
        let s = cache.stats
        XCTAssertEqual(s.hits, hits)
        XCTAssertEqual(s.misses, misses)
        XCTAssertEqual(s.entryCount, model.count)
        XCTAssertEqual(s.usageBytes, model.reduce(0) { $0 + $1.block.charge })
        XCTAssertGreaterThan(s.evictions, 1000)
    }
}
