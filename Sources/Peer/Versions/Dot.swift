// Node ids and dots: the names of writes in a dotted version vector set (docs/VERSIONS.md).
//
// A node id is kept as its UTF-8 bytes and compared byte-wise, never with String's
// Unicode-aware comparison: two ids are the same actor only if their bytes are equal, and
// their order (used for every sorted encoding) is the same on every machine.

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The identity of a server node, used as the actor of dots and version vectors.
/// 1 to 255 bytes of UTF-8, ordered byte-wise.
public struct NodeID: Hashable, Comparable, Sendable, CustomStringConvertible, ExpressibleByStringLiteral {
    /// The id's UTF-8 bytes (1...VersionFormat.maxNodeIDBytes of them).
    public let utf8: [UInt8]

    /// An id from a string; nil if it is empty or longer than 255 UTF-8 bytes.
    public init?(_ string: String) {
        let bytes = Array(string.utf8)
        guard !bytes.isEmpty, bytes.count <= VersionFormat.maxNodeIDBytes else { return nil }
        utf8 = bytes
    }

    /// An id from raw bytes; nil if they are not 1...255 bytes of valid UTF-8.
    public init?(validatingUTF8 bytes: ArraySlice<UInt8>) {
        guard !bytes.isEmpty, bytes.count <= VersionFormat.maxNodeIDBytes,
              bytes.withUnsafeBufferPointer({ NodeID.isValidUTF8($0) }) else { return nil }
        utf8 = Array(bytes)
    }

    public init?(validatingUTF8 bytes: [UInt8]) { self.init(validatingUTF8: bytes[...]) }

    /// Strict UTF-8 (no overlongs, no surrogates, nothing above U+10FFFF), without
    /// building a String: decoders check every id they read, so this is on the read path.
    static func isValidUTF8(_ b: UnsafeBufferPointer<UInt8>) -> Bool {
        var i = 0
        let n = b.count
        while i < n {
            let c = b[i]
            if c < 0x80 { i += 1; continue }
            let need: Int
            var lo: UInt8 = 0x80, hi: UInt8 = 0xbf  // allowed range of the second byte
            switch c {
            case 0xc2...0xdf: need = 1
            case 0xe0: need = 2; lo = 0xa0
            case 0xe1...0xec, 0xee, 0xef: need = 2
            case 0xed: need = 2; hi = 0x9f
            case 0xf0: need = 3; lo = 0x90
            case 0xf1...0xf3: need = 3
            case 0xf4: need = 3; hi = 0x8f
            default: return false
            }
            guard i + need < n else { return false }
            guard b[i + 1] >= lo && b[i + 1] <= hi else { return false }
            var k = 2
            while k <= need {
                guard b[i + k] & 0xc0 == 0x80 else { return false }
                k += 1
            }
            i += need + 1
        }
        return true
    }

    /// For literals in code and tests; an invalid literal is a programmer error. Note that
    /// `NodeID("x")` with a literal argument is this initializer (literal coercion), not
    /// the failable one: build ids from input with `NodeID(someString)` (a String value).
    public init(stringLiteral value: String) {
        guard let id = NodeID(value) else { preconditionFailure("invalid node id literal \(value.debugDescription)") }
        self = id
    }

    public var string: String { String(decoding: utf8, as: UTF8.self) }
    public var description: String { string }

    /// Three-way byte-wise comparison (shorter first on a common prefix): <0, 0 or >0.
    /// One pass serves both equality and order on the sorted-merge paths.
    public static func compare(_ a: NodeID, _ b: NodeID) -> Int {
        a.utf8.withUnsafeBufferPointer { x in
            b.utf8.withUnsafeBufferPointer { y in
                let n = min(x.count, y.count)
                if n > 0, let xp = x.baseAddress, let yp = y.baseAddress {
                    let c = memcmp(xp, yp, n)
                    if c != 0 { return Int(c) }
                }
                return x.count - y.count
            }
        }
    }

    public static func < (a: NodeID, b: NodeID) -> Bool { compare(a, b) < 0 }
}

/// One write's name: the node that coordinated it and that node's counter at the time.
/// Counters start at 1 (0 in a version vector means "nothing seen").
public struct Dot: Hashable, Comparable, Sendable, CustomStringConvertible {
    public let actor: NodeID
    public let counter: UInt64

    public init(actor: NodeID, counter: UInt64) {
        self.actor = actor
        self.counter = counter
    }

    public var description: String { "\(actor):\(counter)" }

    /// Ordered by actor bytes, then counter: the order siblings are kept and encoded in.
    public static func < (a: Dot, b: Dot) -> Bool { compare(a, b) < 0 }

    /// Three-way comparison in that order: <0, 0 or >0.
    public static func compare(_ a: Dot, _ b: Dot) -> Int {
        let c = NodeID.compare(a.actor, b.actor)
        if c != 0 { return c }
        return a.counter == b.counter ? 0 : (a.counter < b.counter ? -1 : 1)
    }
}
