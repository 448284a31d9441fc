// Node ids and dots: the names of writes in a dotted version vector set (VERSIONS.md).
//
// A node id is kept as its UTF-8 bytes and compared byte-wise, never with String's
// Unicode-aware comparison: two ids are the same actor only if their bytes are equal, and
// their order (used for every sorted encoding) is the same on every machine.

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
    public init?<C: Collection>(validatingUTF8 bytes: C) where C.Element == UInt8 {
        guard !bytes.isEmpty, bytes.count <= VersionFormat.maxNodeIDBytes,
              String(validating: bytes, as: UTF8.self) != nil else { return nil }
        utf8 = Array(bytes)
    }

    /// For literals in code and tests; an invalid literal is a programmer error.
    public init(stringLiteral value: String) {
        guard let id = NodeID(value) else { preconditionFailure("invalid node id literal \(value.debugDescription)") }
        self = id
    }

    public var string: String { String(decoding: utf8, as: UTF8.self) }
    public var description: String { string }

    public static func < (a: NodeID, b: NodeID) -> Bool { a.utf8.lexicographicallyPrecedes(b.utf8) }
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
    public static func < (a: Dot, b: Dot) -> Bool {
        a.actor != b.actor ? a.actor < b.actor : a.counter < b.counter
    }
}
