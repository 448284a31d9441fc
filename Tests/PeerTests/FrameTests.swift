import XCTest
import Storage
@testable import Peer

final class FrameTests: XCTestCase {
    private func sample(payload: [UInt8] = Array("hello".utf8)) -> Frame {
        Frame(kind: .request, type: PeerMessageType.replicaWrite.rawValue, requestID: 0x0102_0304_0506_0708, timeoutMs: 250, payload: payload)
    }

    func testRoundTripOfEveryKindAndEmptyPayload() throws {
        for kind in FrameKind.allCases {
            for payload in [[], [0], Array(repeating: UInt8(0xab), count: 70_000)] as [[UInt8]] {
                let f = Frame(kind: kind, type: 0xfffe, requestID: .max, timeoutMs: .max, payload: payload)
                var d = FrameDecoder()
                d.append(f.encoded())
                XCTAssertEqual(try d.next(), f)
                XCTAssertNil(try d.next())
                XCTAssertEqual(d.bufferedBytes, 0)
            }
        }
    }

    /// Pins the byte layout documented in RPC.md (the worked example).
    func testWorkedExampleFromRPCmdIsByteExact() {
        let f = Frame(kind: .request, type: PeerMessageType.ping.rawValue, requestID: 7, timeoutMs: 1000, payload: Array("hi".utf8))
        let bytes = f.encoded()
        let header: [UInt8] = [0x43, 0x52, 0x01, 0x01, 0x00, 0x01,
                               0, 0, 0, 0, 0, 0, 0, 0x07,
                               0x00, 0x00, 0x03, 0xe8,
                               0x00, 0x00, 0x00, 0x02]
        XCTAssertEqual(Array(bytes[0..<22]), header)
        let crc = CRC32C.checksum(header + Array("hi".utf8))
        XCTAssertEqual(Array(bytes[22..<26]), [UInt8(crc >> 24), UInt8(crc >> 16 & 0xff), UInt8(crc >> 8 & 0xff), UInt8(crc & 0xff)])
        XCTAssertEqual(Array(bytes[26...]), [0x68, 0x69])
        XCTAssertEqual(hex(bytes), RPCWorkedExample.hex)
    }

    func testEveryTruncationPointNeedsMoreAndNeverYieldsAFrame() throws {
        let bytes = sample(payload: Array(0..<200)).encoded()
        for cut in 0..<bytes.count {
            var d = FrameDecoder()
            d.append(bytes[0..<cut])
            XCTAssertNil(try d.next(), "cut at \(cut)")
            d.append(bytes[cut...])
            XCTAssertEqual(try d.next(), sample(payload: Array(0..<200)), "resumed at \(cut)")
        }
    }

    func testByteByByteFeedingOfManyFramesYieldsThemInOrder() throws {
        var stream: [UInt8] = []
        let frames = (0..<20).map { i in Frame(kind: .response, type: UInt16(i), requestID: UInt64(i), payload: Array(repeating: UInt8(i), count: i * 3)) }
        for f in frames { f.encode(into: &stream) }
        var d = FrameDecoder()
        var got: [Frame] = []
        for b in stream {
            d.append([b])
            while let f = try d.next() { got.append(f) }
        }
        XCTAssertEqual(got, frames)
    }

    func testEveryPayloadAndHeaderBitFlipIsDetected() {
        let bytes = sample().encoded()
        for i in 0..<bytes.count {
            for bit in 0..<8 {
                var bad = bytes
                bad[i] ^= UInt8(1 << bit)
                var d = FrameDecoder()
                d.append(bad)
                // A flipped length bit may make the decoder wait for more bytes; it must
                // never hand out a frame.
                do {
                    let f = try d.next()
                    XCTAssertNil(f, "flip at byte \(i) bit \(bit) decoded a frame")
                } catch {}
            }
        }
    }

    func testChecksumFlipIsChecksumMismatch() {
        var bytes = sample().encoded()
        bytes[FrameFormat.crcOffset] ^= 0x01
        var d = FrameDecoder()
        d.append(bytes)
        XCTAssertThrowsError(try d.next()) { XCTAssertEqual($0 as? FrameError, .checksumMismatch) }
        bytes = sample().encoded()
        bytes[bytes.count - 1] ^= 0x80
        d = FrameDecoder()
        d.append(bytes)
        XCTAssertThrowsError(try d.next()) { XCTAssertEqual($0 as? FrameError, .checksumMismatch) }
    }

    func testOversizedLengthIsRejectedFromTheHeaderAlone() {
        var d = FrameDecoder(maxFrameBytes: 1024)
        let bytes = sample(payload: Array(repeating: 1, count: 2000)).encoded()
        d.append(bytes[0..<FrameFormat.headerBytes])
        XCTAssertThrowsError(try d.next()) { XCTAssertEqual($0 as? FrameError, .tooLarge(bytes: 2026, max: 1024)) }
        // Stays failed: the stream position is lost.
        XCTAssertThrowsError(try d.next())
    }

    func testFrameOfExactlyTheBoundIsAccepted() throws {
        var d = FrameDecoder(maxFrameBytes: 1024)
        let f = sample(payload: Array(repeating: 1, count: 1024 - FrameFormat.headerBytes))
        d.append(f.encoded())
        XCTAssertEqual(try d.next(), f)
    }

    func testGarbageIsRejectedOnItsFirstByte() {
        var d = FrameDecoder()
        d.append(Array("GET / HTTP/1.1\r\n".utf8).prefix(1))
        XCTAssertThrowsError(try d.next()) { XCTAssertEqual($0 as? FrameError, .badMagic) }
        d = FrameDecoder()
        d.append([0x43, 0x52, 0x09])
        XCTAssertThrowsError(try d.next()) { XCTAssertEqual($0 as? FrameError, .unsupportedVersion(9)) }
        d = FrameDecoder()
        d.append([0x43, 0x52, 0x01, 0x00])
        XCTAssertThrowsError(try d.next()) { XCTAssertEqual($0 as? FrameError, .unknownKind(0)) }
    }

    func testErrorBodyRoundTripsAndShortBodiesDoNotTrap() {
        for e: RPCError in [.overloaded, .timeout, .unknownMessageType(77), .remote(code: 500, message: "disk full")] {
            XCTAssertEqual(RPCError.decodeErrorBody(e.errorBody(), type: 77), e)
        }
        XCTAssertEqual(RPCError.decodeErrorBody([1], type: 1), .remote(code: RPCErrorCode.internalError, message: "malformed error frame"))
    }

    private func hex(_ b: [UInt8]) -> String { b.map { String(format: "%02x", $0) }.joined() }
}

/// The worked example in RPC.md, as hex; the test above pins it.
enum RPCWorkedExample {
    static let hex = "4352010100010000000000000007000003e800000002849676f76869"
}
