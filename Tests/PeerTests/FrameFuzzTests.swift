import XCTest
@testable import Peer


final class FrameFuzzTests: XCTestCase {
    static let cases = 100_000

    private func seed() -> UInt64 {
        if let s = ProcessInfo.processInfo.environment["CHORUS_FUZZ_SEED"], let v = UInt64(s) { return v }
        return UInt64(Date().timeIntervalSince1970 * 1000)
    }

    private func validFrame(_ rng: inout SeededRandom) -> [UInt8] {
        let kind = FrameKind.allCases.randomElement(using: &rng) ?? .request
        let n = Int.random(in: 0...64, using: &rng)
        let payload = (0..<n).map { _ in UInt8.random(in: 0...255, using: &rng) }
        return Frame(kind: kind, type: UInt16.random(in: 0...20, using: &rng), requestID: rng.next(),
                     timeoutMs: UInt32.random(in: 0...5000, using: &rng), payload: payload).encoded()
    }

    private func contains(_ haystack: [UInt8], _ needle: [UInt8]) -> Bool {
        guard needle.count <= haystack.count else { return false }
        for start in 0...(haystack.count - needle.count) where haystack[start..<(start + needle.count)].elementsEqual(needle) {
            return true
        }
        return false
    }

    private func mutate(_ input: [UInt8], _ rng: inout SeededRandom) -> [UInt8] {
        var b = input
        for _ in 0..<Int.random(in: 1...4, using: &rng) {
            switch Int.random(in: 0..<6, using: &rng) {
            case 0 where !b.isEmpty: b[Int.random(in: 0..<b.count, using: &rng)] ^= UInt8(1 << Int.random(in: 0..<8, using: &rng))
            case 1 where !b.isEmpty: b[Int.random(in: 0..<b.count, using: &rng)] = UInt8.random(in: 0...255, using: &rng)
            case 2: b.removeLast(Int.random(in: 0...b.count, using: &rng))
            case 3: b.insert(UInt8.random(in: 0...255, using: &rng), at: Int.random(in: 0...b.count, using: &rng))
            case 4 where b.count >= FrameFormat.headerBytes:
                // Lengths are where decoders usually trap: set them to extremes.
                let v: [UInt8] = [[0xff, 0xff, 0xff, 0xff], [0x80, 0, 0, 0], [0, 0, 0, 0], [0x7f, 0xff, 0xff, 0xe6]].randomElement(using: &rng) ?? []
                b.replaceSubrange(18..<22, with: v)
            default: b.append(contentsOf: b.prefix(Int.random(in: 0...b.count, using: &rng)))
            }
        }
        return b
    }

    /// Random and mutated inputs, fed in random splits: the decoder yields frames, asks
    /// for more or throws, and never traps. Mutated frames that still decode must have a
    /// valid checksum, i.e. re-encode to the same bytes.
    func testHundredThousandRandomAndMutatedInputsNeverTrap() throws {
        let s = seed()
        print("FrameFuzzTests seed \(s) (replay with CHORUS_FUZZ_SEED=\(s))")
        var rng = SeededRandom(seed: s)
        var decoded = 0, failed = 0, waiting = 0
        for i in 0..<Self.cases {
            let input: [UInt8]
            switch i % 3 {
            case 0: input = (0..<Int.random(in: 0...96, using: &rng)).map { _ in UInt8.random(in: 0...255, using: &rng) }
            case 1: input = mutate(validFrame(&rng), &rng)
            default: input = mutate(validFrame(&rng) + validFrame(&rng), &rng)
            }
            var d = FrameDecoder(maxFrameBytes: Int.random(in: 26...4096, using: &rng))
            var offset = 0
            var outcome = 0
            feeding: while offset < input.count {
                let step = Int.random(in: 1...max(1, input.count - offset), using: &rng)
                d.append(input[offset..<(offset + step)])
                offset += step
                for _ in 0...input.count {
                    do {
                        guard let f = try d.next() else { break }
                        XCTAssertLessThanOrEqual(f.encodedBytes, d.maxFrameBytes, "seed \(s) case \(i)")
                        XCTAssertTrue(contains(input, f.encoded()), "seed \(s) case \(i): decoded a frame not in the input")
                        decoded += 1
                        outcome = 1
                    } catch {
                        failed += 1
                        outcome = 2
                        break feeding
                    }
                }
            }
            if outcome == 0 { waiting += 1 }
            // The handshake readers see the same hostile bytes.
            let asFrame = Frame(kind: .handshake, type: UInt16(i % 5), requestID: 0, payload: input)
            _ = PeerAuthServer(nodeID: "s", secret: i % 2 == 0 ? nil : [1, 2, 3], nonce: PeerAuth.makeNonce()).onClientHello(asFrame)
            var client = PeerAuthClient(nodeID: "c", secret: i % 2 == 0 ? nil : [1, 2, 3], nonce: Array(repeating: 7, count: 32))
            _ = client.onServerHello(asFrame)
            _ = client.onServerReply(asFrame)
            _ = RPCError.decodeErrorBody(input, type: 1)
        }
        print("FrameFuzzTests: \(decoded) frames decoded, \(failed) inputs rejected, \(waiting) waiting for more")
        XCTAssertGreaterThan(failed, 0)
        XCTAssertGreaterThan(decoded, 0)
    }
}
