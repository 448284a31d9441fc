// Namespaces: each names its replication factor N, read and write quorums, how concurrent
// writes are settled, and how long tombstones outlive confirmation. Validation here is the
// one place the rules live: 1 <= N <= 64, 1 <= R <= N, 1 <= W <= N. N larger than the
// member count is allowed (a growing cluster); it is reported as under-replicated.

/// How many replies a read or write waits for: a number, or one/quorum/all of N.
public enum Quorum: Sendable, Hashable, CustomStringConvertible {
    case count(Int)
    case one
    case quorum
    case all

    /// The number of replicas this quorum means for `n` replicas.
    public func resolve(n: Int) -> Int {
        switch self {
        case .count(let k): return k
        case .one: return 1
        case .quorum: return n / 2 + 1
        case .all: return n
        }
    }

    /// `one`, `quorum`, `all` (any case) or a decimal count; nil otherwise.
    public init?(parsing text: String) {
        switch text.lowercased() {
        case "one": self = .one
        case "quorum": self = .quorum
        case "all": self = .all
        default:
            guard let k = Int(text), k >= 0 else { return nil }
            self = .count(k)
        }
    }

    public var description: String {
        switch self {
        case .count(let k): return String(k)
        case .one: return "one"
        case .quorum: return "quorum"
        case .all: return "all"
        }
    }
}

/// How a namespace settles concurrent writes to one key.
public enum ConflictMode: String, Sendable, Hashable, CaseIterable {
    /// Keep every concurrent value as a sibling for the client to resolve.
    case siblings
    /// Last writer wins, by timestamp then node id.
    case lww
}

/// Why a namespace definition is not acceptable.
public enum NamespaceError: Error, Equatable, Sendable, CustomStringConvertible {
    case invalid(name: String, reason: String)

    /// One line for a client: the reason, then the name (its first 64 characters).
    public var description: String {
        switch self {
        case let .invalid(name, reason):
            let shown = name.count > 64 ? String(name.prefix(64)) + "..." : name
            return "\(reason) (namespace '\(shown)')"
        }
    }
}

/// A namespace's replication and conflict settings.
public struct Namespace: Sendable, Hashable {
    /// The namespace every connection starts in.
    public static let defaultName = "default"
    public static let maxNameBytes = 255
    public static let maxSiblingLimit = 1_000_000

    public let name: String
    public let n: Int
    public let r: Quorum
    public let w: Quorum
    public let conflict: ConflictMode
    /// Most siblings kept for one key; beyond it the oldest are dropped (and counted).
    public let siblingLimit: Int
    /// How long a confirmed tombstone is kept before it may be reaped.
    public let tombstoneGraceMs: Int64

    /// A validated namespace; the defaults are N=3, R=W=quorum, siblings, 64, 1 hour.
    public init(name: String, n: Int = 3, r: Quorum = .quorum, w: Quorum = .quorum, conflict: ConflictMode = .siblings,
                siblingLimit: Int = 64, tombstoneGraceMs: Int64 = 3_600_000) throws(NamespaceError) {
        self.name = name
        self.n = n
        self.r = r
        self.w = w
        self.conflict = conflict
        self.siblingLimit = siblingLimit
        self.tombstoneGraceMs = tombstoneGraceMs
        try validate()
    }

    /// The namespace every cluster starts with.
    public static let standard: Namespace = {
        // The literal arguments are valid, so this cannot throw.
        (try? Namespace(name: defaultName)) ?? Namespace(unchecked: defaultName)
    }()

    private init(unchecked name: String) {
        self.name = name
        n = 3; r = .quorum; w = .quorum; conflict = .siblings; siblingLimit = 64; tombstoneGraceMs = 3_600_000
    }

    /// Replies a read waits for.
    public var readQuorum: Int { r.resolve(n: n) }
    /// Acknowledgements a write waits for.
    public var writeQuorum: Int { w.resolve(n: n) }

    /// N is larger than the number of members that can hold a replica.
    public func isUnderReplicated(memberCount: Int) -> Bool { n > memberCount }

    /// Throws when a rule at the top of this file is broken.
    public func validate() throws(NamespaceError) {
        func fail(_ reason: String) -> NamespaceError { .invalid(name: name, reason: reason) }
        let bytes = name.utf8.count
        guard bytes >= 1, bytes <= Namespace.maxNameBytes else { throw fail("namespace name too long or empty: \(bytes) bytes (1 to \(Namespace.maxNameBytes))") }
        guard !name.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7F }) else {
            throw fail("name must not contain control characters")
        }
        guard (1...RingFormat.maxReplicas).contains(n) else { throw fail("N must be 1 to \(RingFormat.maxReplicas), got \(n)") }
        guard (1...n).contains(readQuorum) else { throw fail("R must be 1 to N=\(n), got \(r)") }
        guard (1...n).contains(writeQuorum) else { throw fail("W must be 1 to N=\(n), got \(w)") }
        guard (1...Namespace.maxSiblingLimit).contains(siblingLimit) else {
            throw fail("sibling limit must be 1 to \(Namespace.maxSiblingLimit), got \(siblingLimit)")
        }
        guard tombstoneGraceMs >= 0 else { throw fail("tombstone grace must not be negative") }
    }
}
