import XCTest
@testable import Ring

final class KeyHashTests: XCTestCase {
    /// XXH64 reference outputs from the C library (libxxhash 0.8.1) for bytes
    /// (i * 31 + 7) % 256, covering every tail path and the 32-byte stripe loop.
    func testXXH64MatchesReferenceImplementation() {
        let table: [(Int, UInt64, UInt64)] = [
            (0, 0x0, 0xEF46DB3751D8E999), (0, 0x43686F7275730001, 0x3C154F760FA02383),
            (1, 0x0, 0xA96C7F0CE858BBB7), (1, 0x43686F7275730001, 0x8AF8028787A82E64),
            (3, 0x0, 0x56E6957632A487F9), (3, 0x43686F7275730001, 0x17FFB20002A4594E),
            (4, 0x0, 0xC60D15B1E3FF8F04), (4, 0x43686F7275730001, 0x1B352BDDC9515D61),
            (5, 0x0, 0x808815858624DD4E), (5, 0x43686F7275730001, 0x88E0C70B98869319),
            (7, 0x0, 0xAFBEFC3D6C6F9A8E), (7, 0x43686F7275730001, 0x682ECBBFAE876802),
            (8, 0x0, 0x3DA5C7AA269683E0), (8, 0x43686F7275730001, 0xD6F828648E0E6F15),
            (9, 0x0, 0x4B17A9BA9E215C09), (9, 0x43686F7275730001, 0xD9781A1C00454468),
            (15, 0x0, 0xAE2A37EB9357CAA7), (15, 0x43686F7275730001, 0xB11285775B788469),
            (16, 0x0, 0xA19AD429B02BC413), (16, 0x43686F7275730001, 0x216C6E771C1AFA40),
            (17, 0x0, 0xFE9F0FEB7EEEDC09), (17, 0x43686F7275730001, 0xC94D218B8A726E10),
            (31, 0x0, 0x4A74F3A1A39AD4A1), (31, 0x43686F7275730001, 0x0E529A2D39A70E54),
            (32, 0x0, 0x8D57D6A4671CC43D), (32, 0x43686F7275730001, 0x2CE329E17C9FA8FD),
            (33, 0x0, 0x62C9FD21ED857664), (33, 0x43686F7275730001, 0x3581612F525A52F8),
            (63, 0x0, 0x5C320A0D2707057F), (63, 0x43686F7275730001, 0xF753A778516CC691),
            (64, 0x0, 0x7BBABBC45729D17E), (64, 0x43686F7275730001, 0xCFBC1333EA799EB1),
            (65, 0x0, 0xF3980C34BAE65DC1), (65, 0x43686F7275730001, 0xCAF485D955B4B86D),
            (100, 0x0, 0xEFA0AD2D3E70C151), (100, 0x43686F7275730001, 0xECC3E6CFD9F2BAE5),
        ]
        for (length, seed, expected) in table {
            let bytes = (0..<length).map { UInt8(($0 * 31 + 7) % 256) }
            XCTAssertEqual(KeyHash.xxh64(bytes, seed: seed), expected, "length \(length) seed \(seed)")
        }
        XCTAssertEqual(KeyHash.xxh64(Array("abc".utf8)), 0x44BC2CF5AD770999)
        XCTAssertEqual(KeyHash.xxh64(Array("Nobody inspects the spammish repetition".utf8)), 0xFBCEA83C8A378BF1)
    }

    /// The placement hash itself, fixed forever: a change here moves every stored key.
    func testKeyHashStabilityTable() {
        let table: [(String, [UInt8], UInt64)] = [
            ("", [], 0x4EE24EDC7A2DC4EB),
            ("default", [], 0xCF78B51BBA909357),
            ("default", Array("a".utf8), 0x18417A3C1657241B),
            ("default", Array("user:1000".utf8), 0x78FB29D3ACEE0BCE),
            ("a", Array("bc".utf8), 0x0865AD8FD2281E40),
            ("ab", Array("c".utf8), 0x415AE9B2CFD016DF),
            ("users", Array("alice".utf8), 0x4A25867D053AE2F8),
            ("users", [0x00, 0xFF, 0x10], 0x1D9F3B56852381C2),
            ("default", Array("a-somewhat-longer-key-that-spans-stripes-0123456789".utf8), 0x854867C7C81BC19D),
        ]
        for (ns, key, expected) in table {
            XCTAssertEqual(KeyHash.hash(namespace: Array(ns.utf8), key: key), expected, "(\(ns), \(key))")
            XCTAssertEqual(KeyHash.hash(seed: KeyHash.namespaceSeed(ns), key: key), expected)
        }
    }

    func testNamespaceAndKeyBoundaryIsUnambiguous() {
        let a = KeyHash.hash(namespace: Array("a".utf8), key: Array("bc".utf8))
        let b = KeyHash.hash(namespace: Array("ab".utf8), key: Array("c".utf8))
        let c = KeyHash.hash(namespace: Array("abc".utf8), key: [])
        XCTAssertNotEqual(a, b)
        XCTAssertNotEqual(a, c)
        XCTAssertNotEqual(b, c)
    }

    func testRawBufferAndArrayPathsAgree() {
        let seed = KeyHash.namespaceSeed("default")
        for length in 0..<80 {
            let key = (0..<length).map { UInt8(truncatingIfNeeded: $0 &* 7 &+ 3) }
            let viaBuffer = key.withUnsafeBytes { KeyHash.hash(seed: seed, key: $0) }
            XCTAssertEqual(viaBuffer, KeyHash.hash(seed: seed, key: key))
        }
    }

    func testPartitionIsTopBitsOfHash() throws {
        let ring = try Ring(partitionCount: 256, owner: "a")
        XCTAssertEqual(ring.partition(forHash: 0), 0)
        XCTAssertEqual(ring.partition(forHash: UInt64.max), 255)
        XCTAssertEqual(ring.partition(forHash: 0x0100_0000_0000_0000), 1)
        XCTAssertEqual(ring.partition(forHash: 0x80FF_FFFF_FFFF_FFFF), 128)
        let one = try Ring(partitionCount: 1, owner: "a")
        XCTAssertEqual(one.partition(forHash: UInt64.max), 0)
        let big = try Ring(partitionCount: 65_536, owner: "a")
        XCTAssertEqual(big.partition(forHash: 0xABCD_0000_0000_0001), 0xABCD)
    }

    /// 1M keys over Q = 256 and Q = 1024: the chi-square statistic stays below the 0.999
    /// quantile of its distribution (255 df: 330.5; 1023 df: 1168.5). Deterministic inputs,
    /// so this either always passes or always fails.
    func testOneMillionKeysSpreadEvenlyChiSquare() {
        let keys = 1_000_000
        var counts256 = Array(repeating: 0, count: 256)
        var counts1024 = Array(repeating: 0, count: 1024)
        let seed = KeyHash.namespaceSeed("default")
        var key: [UInt8] = Array("key:".utf8) + Array(repeating: 0, count: 7)
        for i in 0..<keys {
            var v = i
            for j in stride(from: 10, through: 4, by: -1) {
                key[j] = UInt8(48 + v % 10)
                v /= 10
            }
            let h = KeyHash.hash(seed: seed, key: key)
            counts256[Int(h >> 56)] += 1
            counts1024[Int(h >> 54)] += 1
        }
        func chiSquare(_ counts: [Int]) -> Double {
            let expected = Double(keys) / Double(counts.count)
            return counts.reduce(0.0) { $0 + (Double($1) - expected) * (Double($1) - expected) / expected }
        }
        XCTAssertLessThan(chiSquare(counts256), 330.5)
        XCTAssertLessThan(chiSquare(counts1024), 1168.5)
    }
}
