import XCTest
@testable import Peer


final class RESPFuzzTests: XCTestCase {
    static let tokens: [[UInt8]] = ["*", "$", "\r\n", "\r", "\n", "-1", "0", "1", "2", "3", "10", "-",
                                    "99999999999999999999", "\"", "'", "\\x", " ", "PING", "SET", ":",
                                    "+", "*2\r\n", "$3\r\n", "$-1\r\n", "*-1\r\n", "*0\r\n",
                                    // RESP3 reply types, for the reply parser fed the same inputs.
                                    "_\r\n", ",1.5\r\n", ",inf\r\n", "#t\r\n", "(12\r\n", "=5\r\ntxt:x\r\n",
                                    "%1\r\n", "~2\r\n", ">1\r\n", "!3\r\nERR\r\n"].map { Array($0.utf8) }

    private func validStream(_ rng: inout SeededRandom) -> [UInt8] {
        var stream: [UInt8] = []
        for _ in 0..<(1 + rng.below(4)) {
            if rng.below(4) == 0 {
                stream += Array("SET k\(rng.below(100)) \"v \\x41\"\r\n".utf8)
            } else {
                let count = 1 + rng.below(4)
                let args = (0..<count).map { _ in (0..<rng.below(12)).map { _ in UInt8(truncatingIfNeeded: rng.next()) } }
                RESPWriter.appendCommand(args, to: &stream)
            }
        }
        return stream
    }

    private func randomInput(_ rng: inout SeededRandom) -> [UInt8] {
        var input: [UInt8] = []
        let pieces = rng.below(24)
        for _ in 0..<pieces {
            if rng.below(3) == 0 {
                input.append(UInt8(truncatingIfNeeded: rng.next()))
            } else {
                input += RESPFuzzTests.tokens[rng.below(RESPFuzzTests.tokens.count)]
            }
        }
        return input
    }

    private func mutate(_ input: [UInt8], _ rng: inout SeededRandom) -> [UInt8] {
        var bytes = input
        for _ in 0..<(1 + rng.below(4)) {
            switch rng.below(6) {
            case 0 where !bytes.isEmpty:
                bytes[rng.below(bytes.count)] ^= UInt8(1) << UInt8(rng.below(8))
            case 1 where !bytes.isEmpty:
                bytes[rng.below(bytes.count)] = UInt8(truncatingIfNeeded: rng.next())
            case 2:
                bytes.insert(contentsOf: RESPFuzzTests.tokens[rng.below(RESPFuzzTests.tokens.count)],
                             at: rng.below(bytes.count + 1))
            case 3 where !bytes.isEmpty:
                let at = rng.below(bytes.count)
                bytes.removeSubrange(at..<min(bytes.count, at + 1 + rng.below(4)))
            case 4:
                bytes = Array(bytes.prefix(rng.below(bytes.count + 1)))
            default:
                bytes += RESPFuzzTests.tokens[rng.below(RESPFuzzTests.tokens.count)]
            }
        }
        return bytes
    }

    /// Parses `input` fed in the given chunk sizes; returns the commands and the error if any.
    private func run(_ input: [UInt8], chunks rng: inout SeededRandom?, limits: RESPLimits) -> ([[[UInt8]]], RESPProtocolError?) {
        var parser = RESPParser(limits: limits)
        var commands: [[[UInt8]]] = []
        var offset = 0
        while offset < input.count {
            let size = rng == nil ? input.count : 1 + rng!.below(8)
            let end = min(input.count, offset + size)
            parser.append(Array(input[offset..<end]))
            offset = end
            var steps = 0
            while steps < 10_000 {
                steps += 1
                do {
                    guard let command = try parser.next() else { break }
                    XCTAssertFalse(command.isEmpty)
                    commands.append(command)
                } catch {
                    return (commands, error)
                }
            }
        }
        return (commands, nil)
    }

    func testHundredThousandRandomAndMutatedInputsNeverTrap() {
        let seed = ProcessInfo.processInfo.environment["CHORUS_FUZZ_SEED"].flatMap(UInt64.init) ?? 0xC40_5E_ED
        print("RESP fuzz seed \(seed) (set CHORUS_FUZZ_SEED to replay)")
        var rng = SeededRandom(state: seed)
        var limits = RESPLimits()
        limits.maxBulkBytes = 64
        limits.maxArrayLength = 16
        limits.maxInlineBytes = 128
        limits.maxCommandBytes = 256
        let replyParser = RESPReplyParser(maxBulkBytes: 64, maxArrayLength: 16, maxDepth: 4)
        var parsedCommands = 0
        var errors = 0
        for index in 0..<100_000 {
            let input: [UInt8]
            switch index % 3 {
            case 0: input = randomInput(&rng)
            case 1: input = mutate(validStream(&rng), &rng)
            default: input = mutate(randomInput(&rng), &rng)
            }
            // Whole-buffer and chunked feeding must agree: incremental state is exact.
            var none: SeededRandom? = nil
            var chunker: SeededRandom? = SeededRandom(state: rng.next())
            let whole = run(input, chunks: &none, limits: limits)
            let chunked = run(input, chunks: &chunker, limits: limits)
            if whole.0 != chunked.0 || whole.1 != chunked.1 {
                XCTFail("case \(index) seed \(seed): whole \(whole) vs chunked \(chunked) for \(input)")
                return
            }
            parsedCommands += whole.0.count
            if whole.1 != nil { errors += 1 }
            _ = try? replyParser.parse(input)
        }
        // The generator must reach both outcomes, or the test proves little.
        XCTAssertGreaterThan(parsedCommands, 10_000, "seed \(seed)")
        XCTAssertGreaterThan(errors, 10_000, "seed \(seed)")
        print("RESP fuzz: \(parsedCommands) commands parsed, \(errors) inputs rejected")
    }
}
