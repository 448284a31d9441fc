import XCTest
@testable import Gossip

final class SHA256Tests: XCTestCase {
    private func hex(_ bytes: [UInt8]) -> String { bytes.map { String(format: "%02x", $0) }.joined() }

    func testFIPS180EmptyString() {
        XCTAssertEqual(hex(SHA256.hash([UInt8]())), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
    }

    func testFIPS180OneBlockABC() {
        XCTAssertEqual(hex(SHA256.hash(Array("abc".utf8))), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
    }

    func testFIPS180TwoBlockMessage() {
        let m = Array("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq".utf8)
        XCTAssertEqual(hex(SHA256.hash(m)), "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1")
    }

    func testFIPS180MillionAs() {
        var h = SHA256()
        let chunk = [UInt8](repeating: 0x61, count: 1000)
        for _ in 0..<1000 { h.update(chunk) }
        XCTAssertEqual(hex(h.finalize()), "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0")
    }

    func testPaddingBoundaryLengthsMatchOneShotAndIncremental() {
        // 55, 56 and 64 bytes straddle the length field; incremental must equal one-shot.
        for n in [55, 56, 63, 64, 65, 119, 120] {
            let m = (0..<n).map { UInt8(truncatingIfNeeded: $0 &* 7) }
            var h = SHA256()
            h.update(m.prefix(n / 2))
            h.update(m.dropFirst(n / 2))
            XCTAssertEqual(h.finalize(), SHA256.hash(m), "length \(n)")
        }
        XCTAssertEqual(hex(SHA256.hash([UInt8](repeating: 0x61, count: 56))),
                       "b35439a4ac6f0948b6d6f9e3c6af0f5f590ce20f1bde7090ef7970686ec6738a")
    }
}
