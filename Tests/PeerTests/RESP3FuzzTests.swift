import XCTest
@testable import Peer

/// The RESP3 writer and the reply parser, fuzzed like the RESP2 ones (RESPFuzzTests): random
/// value trees written in both protocols must parse back to exactly what was meant (the
/// RESP2 form where RESP2 has no such type), every strict prefix must be "incomplete", and
/// mutated encodings must never trap, only parse or throw.
final class RESP3FuzzTests: XCTestCase {
    static let typeBytes = Array("_,#(=%~>!:\r\n-9".utf8)

    private func randomValue(_ rng: inout SeededRandom, depth: Int) -> RESPValue {
        let leafKinds = 12
        let kind = depth >= 3 ? rng.below(leafKinds) : rng.below(leafKinds + 5)
        func bytes() -> [UInt8] { (0..<rng.below(10)).map { _ in UInt8(truncatingIfNeeded: rng.next()) } }
        func children() -> [RESPValue] { (0..<rng.below(4)).map { _ in randomValue(&rng, depth: depth + 1) } }
        switch kind {
        case 0: return .simple("s\(rng.below(1000))")
        case 1: return .error("ERR e\(rng.below(1000))")
        case 2: return .integer(Int64(bitPattern: rng.next()))
        case 3: return .bulk(bytes())
        case 4: return .nullBulk
        case 5: return .nullArray
        case 6: return .null
        case 7:
            // Finite doubles only here: NaN is never equal to itself (its encodings are pinned in RESP3WriterTests).
            let specials: [Double] = [0, -0.5, 1e300, -1e-300, .infinity, -.infinity, 3]
            return .double(rng.below(2) == 0 ? specials[rng.below(specials.count)] : Double(Int64(bitPattern: rng.next())) / 1024)
        case 8: return .boolean(rng.below(2) == 0)
        case 9: return .bigNumber(Array(((rng.below(2) == 0 ? "-" : "") + "\(rng.next())\(rng.next())").utf8))
        case 10: return .verbatim(format: rng.below(2) == 0 ? "txt" : "mkd", text: bytes())
        case 11: return .bulk([])
        case 12: return .array(children())
        case 13: return .set(children())
        case 14: return .push(children())
        default:
            return .map((0..<rng.below(4)).map { _ in RESPPair(randomValue(&rng, depth: depth + 1), randomValue(&rng, depth: depth + 1)) })
        }
    }

    /// What a RESP2 reader sees of `value` (RESPWriter+RESP3.swift's table).
    private func resp2Form(_ value: RESPValue) -> RESPValue {
        switch value {
        case .null: return .nullBulk
        case .double(let d):
            var text: [UInt8] = []
            RESPWriter.appendDoubleText(d, to: &text)
            return .bulk(text)
        case .boolean(let b): return .integer(b ? 1 : 0)
        case .bigNumber(let digits): return .bulk(digits)
        case .verbatim(_, let text): return .bulk(text)
        case .array(let items), .set(let items), .push(let items): return .array(items.map(resp2Form))
        case .map(let pairs): return .array(pairs.flatMap { [resp2Form($0.key), resp2Form($0.value)] })
        default: return value
        }
    }

    /// What a RESP3 reader sees of `value`: one null.
    private func resp3Form(_ value: RESPValue) -> RESPValue {
        switch value {
        case .nullBulk, .nullArray: return .null
        case .array(let items): return .array(items.map(resp3Form))
        case .set(let items): return .set(items.map(resp3Form))
        case .push(let items): return .push(items.map(resp3Form))
        case .map(let pairs): return .map(pairs.map { RESPPair(resp3Form($0.key), resp3Form($0.value)) })
        default: return value
        }
    }

    func testTwentyThousandRandomTreesRoundTripAndMutationsNeverTrap() throws {
        let seed = ProcessInfo.processInfo.environment["CHORUS_FUZZ_SEED"].flatMap(UInt64.init) ?? 0x5E5_3
        print("RESP3 fuzz seed \(seed) (set CHORUS_FUZZ_SEED to replay)")
        var rng = SeededRandom(state: seed)
        let parser = RESPReplyParser(maxBulkBytes: 1 << 20, maxArrayLength: 1 << 10, maxDepth: 8)
        var mutatedParsed = 0, mutatedRejected = 0, prefixesChecked = 0
        for index in 0..<20_000 {
            let value = randomValue(&rng, depth: 0)
            for version in [RESPProtocolVersion.resp2, .resp3] {
                let bytes = RESPWriter.encode(value, protocol: version)
                let want = version == .resp3 ? resp3Form(value) : resp2Form(value)
                guard let parsed = try parser.parse(bytes) else { return XCTFail("case \(index) seed \(seed): incomplete \(value)") }
                if parsed.value != want || parsed.consumed != bytes.count {
                    return XCTFail("case \(index) seed \(seed) \(version): \(value) parsed as \(parsed)")
                }
                if index % 20 == 0 {
                    let cut = rng.below(bytes.count)
                    XCTAssertNil(try parser.parse(Array(bytes[..<cut])), "case \(index) seed \(seed): prefix \(cut) of \(value)")
                    prefixesChecked += 1
                }
                var mutated = bytes
                for _ in 0..<(1 + rng.below(3)) where !mutated.isEmpty {
                    let at = rng.below(mutated.count)
                    switch rng.below(3) {
                    case 0: mutated[at] ^= UInt8(1) << UInt8(rng.below(8))
                    case 1: mutated.remove(at: at)
                    default: mutated.insert(RESP3FuzzTests.typeBytes[rng.below(RESP3FuzzTests.typeBytes.count)], at: at)
                    }
                }
                do {
                    if let p = try parser.parse(mutated) {
                        XCTAssertLessThanOrEqual(p.consumed, mutated.count)
                        mutatedParsed += 1
                    }
                } catch {
                    mutatedRejected += 1
                }
            }
        }
        // Both outcomes must be reached, or the mutations prove little.
        XCTAssertGreaterThan(mutatedParsed, 1_000, "seed \(seed)")
        XCTAssertGreaterThan(mutatedRejected, 1_000, "seed \(seed)")
        print("RESP3 fuzz: \(mutatedParsed) mutated encodings parsed, \(mutatedRejected) rejected, \(prefixesChecked) prefixes incomplete")
    }
}
