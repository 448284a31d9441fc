import Ring
import Storage
import XCTest
@testable import Peer

/// Read-modify-write at the coordinator (WriteTransform.swift): each command's decision and
/// reply, siblings refused, retries not applied twice, the wire form, and sequential RMWs on
/// a real replica making no siblings.
final class WriteTransformTests: XCTestCase {
    let n1: NodeID = "n1", n2: NodeID = "n2"
    let now: UInt64 = 1_700_000_000_000
    let max = 1 << 24

    func record(_ values: [(String, UInt64)]) throws -> KeyRecord {
        let sibs = values.enumerated().map { i, v in
            Sibling(dot: Dot(actor: i == 0 ? n1 : n2, counter: 1), value: .value(Array(v.0.utf8)), expiresAtMs: v.1)
        }
        return .siblings(try KeyState(context: VersionVector(values.count > 1 ? [n1: 1, n2: 1] : [n1: 1]), siblings: sibs))
    }

    func decide(_ t: WriteTransform, _ r: KeyRecord?) -> (WriteDecision, TransformReply) {
        t.decide(r, nowMs: now, maxValueBytes: max)
    }

    func bytes(_ s: String) -> [UInt8] { Array(s.utf8) }

    func testSetConditionsAndReplies() throws {
        let present = try record([("old", now + 10_000)])
        let nx = WriteTransform.set(value: bytes("new"), condition: .ifAbsent, reply: .ok, expiry: .clear)
        XCTAssertEqual(decide(nx, present).0, .skip)
        XCTAssertEqual(decide(nx, present).1, .null)
        XCTAssertEqual(decide(nx, nil).0, .write(.value(bytes("new")), expiresAtMs: 0))
        XCTAssertEqual(decide(nx, nil).1, .ok)
        let xxGet = WriteTransform.set(value: bytes("new"), condition: .ifPresent, reply: .old, expiry: .clear)
        XCTAssertEqual(decide(xxGet, nil).0, .skip)
        XCTAssertEqual(decide(xxGet, present).1, .bulk(bytes("old")))
        let setnx = WriteTransform.set(value: bytes("n"), condition: .ifAbsent, reply: .flag, expiry: .clear)
        XCTAssertEqual(decide(setnx, present).1, .integer(0))
        XCTAssertEqual(decide(setnx, nil).1, .integer(1))
        // An expired value is absent: NX writes over it.
        XCTAssertEqual(decide(nx, try record([("gone", now)])).1, .ok)
        let keep = WriteTransform.set(value: bytes("v"), condition: .always, reply: .ok, expiry: .keep)
        XCTAssertEqual(decide(keep, present).0, .write(.value(bytes("v")), expiresAtMs: now + 10_000))
        let ex = WriteTransform.set(value: bytes("v"), condition: .always, reply: .ok, expiry: .at(now + 1))
        XCTAssertEqual(decide(ex, present).0, .write(.value(bytes("v")), expiresAtMs: now + 1))
        let past = WriteTransform.set(value: bytes("v"), condition: .always, reply: .ok, expiry: .at(now))
        XCTAssertEqual(decide(past, present).0, .write(.tombstone, expiresAtMs: 0), "an expiry already passed is a delete")
    }

    func testStringCommands() throws {
        let present = try record([("hello", now + 5)])
        XCTAssertEqual(decide(.append(bytes(" world")), present).0, .write(.value(bytes("hello world")), expiresAtMs: now + 5), "APPEND keeps the TTL")
        XCTAssertEqual(decide(.append(bytes(" world")), present).1, .integer(11))
        XCTAssertEqual(decide(.append(bytes("x")), nil).1, .integer(1))
        XCTAssertEqual(decide(.setRange(offset: 7, bytes: bytes("!")), present).0, .write(.value(bytes("hello") + [0, 0, 0x21]), expiresAtMs: now + 5))
        XCTAssertEqual(decide(.setRange(offset: 1, bytes: bytes("EL")), present).1, .integer(5))
        XCTAssertEqual(decide(.setRange(offset: 3, bytes: []), nil).0, .skip, "an empty patch creates no key")
        XCTAssertEqual(decide(.setRange(offset: 3, bytes: []), present).1, .integer(5))
        XCTAssertEqual(decide(.setRange(offset: max, bytes: [1]), nil).0, .refuse(WriteTransform.tooLarge))
        XCTAssertEqual(WriteTransform.append([1]).decide(try record([("abc", 0)]), nowMs: now, maxValueBytes: 3).0, .refuse(WriteTransform.tooLarge))
        XCTAssertEqual(decide(.getDel, present).0, .write(.tombstone, expiresAtMs: 0))
        XCTAssertEqual(decide(.getDel, present).1, .bulk(bytes("hello")))
        XCTAssertEqual(decide(.getDel, nil).0, .skip)
        XCTAssertEqual(decide(.getEx(.keep), present).0, .skip)
        XCTAssertEqual(decide(.getEx(.clear), present).0, .write(.value(bytes("hello")), expiresAtMs: 0))
        XCTAssertEqual(decide(.getEx(.clear), try record([("p", 0)])).0, .skip, "PERSIST of a key without expiry writes nothing")
        XCTAssertEqual(decide(.getEx(.at(now + 9)), present).0, .write(.value(bytes("hello")), expiresAtMs: now + 9))
    }

    func testExpireConditionsAsRedis7() throws {
        let noTTL = try record([("v", 0)]), ttl100 = try record([("v", now + 100)])
        func flag(_ at: UInt64, _ c: WriteTransform.ExpireConditions, _ r: KeyRecord?) -> TransformReply { decide(.expire(atMs: at, conditions: c), r).1 }
        XCTAssertEqual(flag(now + 50, [], nil), .integer(0), "absent key")
        XCTAssertEqual(flag(now + 50, [], noTTL), .integer(1))
        XCTAssertEqual(flag(now + 50, .nx, noTTL), .integer(1))
        XCTAssertEqual(flag(now + 50, .nx, ttl100), .integer(0))
        XCTAssertEqual(flag(now + 50, .xx, noTTL), .integer(0))
        XCTAssertEqual(flag(now + 50, .xx, ttl100), .integer(1))
        XCTAssertEqual(flag(now + 500, .gt, noTTL), .integer(0), "no TTL is infinite: GT fails")
        XCTAssertEqual(flag(now + 500, .gt, ttl100), .integer(1))
        XCTAssertEqual(flag(now + 100, .gt, ttl100), .integer(0))
        XCTAssertEqual(flag(now + 500, .lt, noTTL), .integer(1), "no TTL is infinite: LT passes")
        XCTAssertEqual(flag(now + 50, .lt, ttl100), .integer(1))
        XCTAssertEqual(flag(now + 500, .lt, ttl100), .integer(0))
        XCTAssertEqual(flag(now + 50, [.xx, .lt], noTTL), .integer(0), "XX LT: XX still needs a TTL")
        XCTAssertEqual(decide(.expire(atMs: now - 1, conditions: []), noTTL).0, .write(.tombstone, expiresAtMs: 0))
        XCTAssertEqual(decide(.persist, ttl100).0, .write(.value(bytes("v")), expiresAtMs: 0))
        XCTAssertEqual(decide(.persist, noTTL).1, .integer(0))
        XCTAssertEqual(decide(.persist, nil).1, .integer(0))
    }

    /// APPEND (or any command that needs the one current value) on a key with two live
    /// siblings writes nothing and says how to resolve; SET NX only asks "exists?".
    func testSiblingsAreRefusedWithConflictByValueReadingCommands() throws {
        let two = try record([("a", 0), ("b", 0)])
        let conflict = WriteDecision.refuse("CONFLICT 2 siblings, read them with GETV")
        for t: WriteTransform in [.append([1]), .setRange(offset: 0, bytes: [1]), .getDel, .getEx(.keep), .persist,
                                  .expire(atMs: now + 1, conditions: []),
                                  .set(value: [1], condition: .always, reply: .old, expiry: .clear),
                                  .set(value: [1], condition: .always, reply: .ok, expiry: .keep)] {
            XCTAssertEqual(decide(t, two).0, conflict, "\(t)")
        }
        XCTAssertEqual(decide(.set(value: [1], condition: .ifAbsent, reply: .flag, expiry: .clear), two).1, .integer(0))
        XCTAssertEqual(decide(.set(value: [1], condition: .ifPresent, reply: .ok, expiry: .at(now + 5)), two).0,
                       .write(.value([1]), expiresAtMs: now + 5), "SET XX supersedes every sibling, as a plain SET does")
        // One sibling expired: only one value is live, so APPEND works on it.
        XCTAssertEqual(decide(.append(bytes("!")), try record([("a", now), ("b", 0)])).1, .integer(2))
    }

    func testRetriedForwardIsNotAppliedTwice() throws {
        let held = try KeyState(context: VersionVector([n1: 1]), siblings: [Sibling(dot: Dot(actor: n1, counter: 1), value: .value(bytes("ab")), writeID: 42)])
        let (d, reply) = WriteTransform.append(bytes("b")).decide(.siblings(held), nowMs: now, writeID: 42, maxValueBytes: max)
        XCTAssertEqual(d, .skip)
        XCTAssertEqual(reply, .integer(2), "the length of what was applied the first time")
        XCTAssertEqual(WriteTransform.append(bytes("b")).decide(.siblings(held), nowMs: now, writeID: 43, maxValueBytes: max).1, .integer(3))
    }

    func testWireFormRoundTripsAndRejectsDamage() throws {
        let all: [WriteTransform] = [
            .set(value: bytes("v"), condition: .ifPresent, reply: .old, expiry: .at(now)),
            .set(value: [], condition: .ifAbsent, reply: .flag, expiry: .keep),
            .set(value: [0, 255], condition: .always, reply: .ok, expiry: .clear),
            .getDel, .getEx(.keep), .getEx(.clear), .getEx(.at(1)), .append(bytes("x")), .setRange(offset: 300, bytes: bytes("y")),
            .expire(atMs: now, conditions: [.xx, .gt]), .persist,
        ]
        for t in all {
            let encoded = t.encode()
            XCTAssertEqual(try WriteTransform(decoding: encoded), t)
            XCTAssertThrowsError(try WriteTransform(decoding: encoded + [0]), "trailing byte accepted for \(t)")
            for cut in 0..<encoded.count { XCTAssertThrowsError(try WriteTransform(decoding: Array(encoded[..<cut])), "\(t) cut at \(cut)") }
        }
        XCTAssertThrowsError(try WriteTransform(decoding: [2, 2]), "unknown version")
        XCTAssertThrowsError(try WriteTransform(decoding: [1, 99]), "unknown op")
        XCTAssertThrowsError(try WriteTransform(decoding: [1, 6, 1, 16]), "unknown expire condition bit")
        XCTAssertThrowsError(try WriteTransform(decoding: [1, 3, 2, 0]), "expiry 0 is not an instant")

        let m = ForwardWriteMessage(namespace: bytes("default"), key: bytes("k"), context: nil, value: nil, w: 2, strict: false,
                                    timeoutMs: 1_000, writeID: 9, transform: .append(bytes("z")))
        XCTAssertEqual(try ForwardWriteMessage(decoding: m.encode()), m)
        var plain = m
        plain.transform = nil
        // Bit 16 is the apply-by deadline and 32 an increment (counters): a transform is 64.
        XCTAssertEqual(m.encode()[10] & 64, 64, "flag bit 64 says a transform follows")
        XCTAssertEqual(plain.encode()[10] & 64, 0)
        var both = plain
        both.increment = 1
        var damaged = both.encode()
        damaged[10] |= 64
        let transform = WriteTransform.append(bytes("z")).encode()
        XCTAssertThrowsError(try ForwardWriteMessage(decoding: damaged + [UInt8(transform.count)] + transform), "a transform and an increment at once")
        XCTAssertEqual(try ForwardWriteMessage(decoding: plain.encode()).transform, nil)
        for reply: TransformReply in [.ok, .null, .integer(-5), .bulk([1, 2])] {
            let answer = try ForwardWriteAnswer.decodeWithReply(ForwardWriteAnswer.encode(nil, reply: reply))
            XCTAssertNil(answer.error)
            XCTAssertEqual(answer.reply, reply)
        }
        XCTAssertEqual(try ForwardWriteAnswer.decodeWithReply(ForwardWriteAnswer.encode("ERR x", reply: .ok)).error, "ERR x")
        XCTAssertNil(try ForwardWriteAnswer.decode(ForwardWriteAnswer.encode(nil)), "a plain answer is unchanged")
        // A transform's integer reply is never taken for an increment's counter value, nor
        // the other way round.
        XCTAssertNil(ForwardWriteAnswer.counterValue(ForwardWriteAnswer.encode(nil, reply: .integer(5))))
        XCTAssertEqual(ForwardWriteAnswer.counterValue(ForwardWriteAnswer.encode(nil, counter: 5)), 5)
        XCTAssertThrowsError(try ForwardWriteAnswer.decodeWithReply(ForwardWriteAnswer.encode(nil, counter: 5)))
    }

    /// Ten APPENDs in a row at the coordinator: one sibling, the concatenation, each reply the
    /// length so far.
    func testSequentialReadModifyWritesNeverMakeSiblings() throws {
        var options = StorageOptions()
        options.fileSystem = MemoryFileSystem()
        let r = try LocalReplica(store: try Store.open(path: "/r", options: options), nodeID: n1, clock: { Int64(1_700_000_000_000) })
        let address = KeyAddress(namespace: bytes("default"), partition: 0, key: bytes("k"))
        var expected: [UInt8] = []
        for i in 0..<10 {
            var reply = TransformReply.null
            let result = try r.coordinateWrite(address, conflict: .siblings, context: nil, value: .tombstone, siblingLimit: 64, decide: { rec in
                let (d, rep) = WriteTransform.append([UInt8(65 + i)]).decide(rec, nowMs: self.now, maxValueBytes: self.max)
                reply = rep
                return d
            })
            expected.append(UInt8(65 + i))
            XCTAssertEqual(reply, .integer(Int64(i + 1)))
            guard case .written(.siblings(let s)) = result else { return XCTFail("\(result)") }
            XCTAssertEqual(s.siblings.count, 1)
            XCTAssertEqual(s.read(atMs: now).values, [expected])
        }
        // A skip stores nothing.
        let before = try r.readBytes(address)
        let skipped = try r.coordinateWrite(address, conflict: .siblings, context: nil, value: .tombstone, siblingLimit: 64, decide: { rec in
            WriteTransform.set(value: [1], condition: .ifAbsent, reply: .flag, expiry: .clear).decide(rec, nowMs: self.now, maxValueBytes: self.max).0
        })
        XCTAssertEqual(skipped, .unchanged)
        XCTAssertEqual(try r.readBytes(address), before)
    }
}
