/// A host (numeric IPv4 or IPv6, or a name) and port; the gossip shell resolves it to a
/// socket address in the family of its own sockets.
public struct Endpoint: Hashable, Sendable, CustomStringConvertible, Comparable {
    public var host: String
    public var port: UInt16

    public init(host: String, port: UInt16) {
        self.host = host
        self.port = port
    }

    /// Parses `host:port` or `[v6]:port` (the brackets are dropped: the host is the bare
    /// address); nil when the port is missing or out of range.
    public init?(parsing text: String) {
        guard let colon = text.lastIndex(of: ":"), let port = UInt16(text[text.index(after: colon)...]) else { return nil }
        var host = String(text[..<colon])
        if host.hasPrefix("[") && host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        guard !host.isEmpty, host.utf8.count <= 255 else { return nil }
        self.init(host: host, port: port)
    }

    public var description: String { "\(host):\(port)" }

    public static func < (a: Endpoint, b: Endpoint) -> Bool { (a.host, a.port) < (b.host, b.port) }
}

/// SWIM liveness. Ordered as the SWIM lattice within one incarnation:
/// alive < suspect < dead < left; a higher incarnation beats any status of a lower one.
public enum MemberStatus: UInt8, Sendable, Comparable, CustomStringConvertible {
    case alive = 0
    case suspect = 1
    case dead = 2
    /// Dead by its own announcement (graceful leave), never by suspicion.
    case left = 3

    public static func < (a: MemberStatus, b: MemberStatus) -> Bool { a.rawValue < b.rawValue }

    public var description: String {
        switch self {
        case .alive: "alive"
        case .suspect: "suspect"
        case .dead: "dead"
        case .left: "left"
        }
    }
}

/// The administrative state: changed only by the member itself or by an operator command,
/// never by failure detection.
public enum AdminState: UInt8, Sendable, CustomStringConvertible {
    case joining = 0
    case joined = 1
    case leaving = 2
    case removed = 3

    public var description: String {
        switch self {
        case .joining: "joining"
        case .joined: "joined"
        case .leaving: "leaving"
        case .removed: "removed"
        }
    }
}

/// One member as this node believes it to be.
public struct Member: Hashable, Sendable {
    public var id: String
    public var gossip: Endpoint
    public var peer: Endpoint
    public var client: Endpoint
    public var http: Endpoint
    public var incarnation: UInt64
    public var status: MemberStatus
    public var admin: AdminState

    public init(id: String, gossip: Endpoint, peer: Endpoint, client: Endpoint, http: Endpoint,
                incarnation: UInt64 = 0, status: MemberStatus = .alive, admin: AdminState = .joining) {
        self.id = id
        self.gossip = gossip
        self.peer = peer
        self.client = client
        self.http = http
        self.incarnation = incarnation
        self.status = status
        self.admin = admin
    }

    /// A member whose four endpoints share one host (the usual Chorus layout).
    public init(id: String, gossip: Endpoint, incarnation: UInt64 = 0) {
        self.init(id: id, gossip: gossip, peer: gossip, client: gossip, http: gossip, incarnation: incarnation)
    }

    /// True when this record, received as news, should replace `current` (the SWIM lattice).
    func supersedes(_ current: Member) -> Bool {
        if incarnation != current.incarnation { return incarnation > current.incarnation }
        return status > current.status
    }

    /// Probed and counted towards cluster size: alive or suspect.
    var isLive: Bool { status == .alive || status == .suspect }
}
