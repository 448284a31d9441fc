// IPv4 and IPv6 socket addresses, resolved once (a numeric address or a name), for bind,
// connect and sendto. A numeric host never reaches the resolver (inet_pton only), so the
// gossip shell may build one per datagram; a name goes through getaddrinfo, which may block.

#if canImport(Glibc)
import Glibc
#endif

/// A resolved IPv4 or IPv6 address with its port.
public struct SocketAddress: Sendable, CustomStringConvertible {
    /// Which address family to accept when resolving a name.
    public enum Family: Sendable, Equatable {
        case any, ipv4, ipv6

        var domain: Int32 {
            switch self {
            case .any: return AF_UNSPEC
            case .ipv4: return AF_INET
            case .ipv6: return AF_INET6
            }
        }
    }

    var storage = sockaddr_storage()
    var length: socklen_t = 0

    /// Resolves `host` (a literal IPv4 or IPv6 address, or a name: the first result of
    /// `family` wins) with `port`. A socket of one family can only reach addresses of the
    /// same family, so callers that already hold a socket pass its family.
    public init(host: String, port: UInt16, family: Family = .any) throws(SocketError) {
        if SocketAddress.parseNumeric(host, port: port, family: family, into: &self) { return }
        var hints = addrinfo()
        hints.ai_family = family.domain
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        hints.ai_flags = AI_NUMERICSERV
        var result: UnsafeMutablePointer<addrinfo>?
        let rc = getaddrinfo(host, String(port), &hints, &result)
        defer { if result != nil { freeaddrinfo(result) } }
        guard rc == 0, let first = result, let address = first.pointee.ai_addr else {
            let reason = rc == 0 ? "no address" : String(cString: gai_strerror(rc))
            throw .unresolved(host: host, reason: reason)
        }
        let size = min(Int(first.pointee.ai_addrlen), MemoryLayout<sockaddr_storage>.size)
        withUnsafeMutableBytes(of: &storage) { dst in
            dst.copyMemory(from: UnsafeRawBufferPointer(start: address, count: size))
        }
        length = socklen_t(size)
    }

    /// Parses `host:port` or `[v6]:port`.
    public init(parsing text: String, family: Family = .any) throws(SocketError) {
        guard let colon = text.lastIndex(of: ":"),
              let port = UInt16(text[text.index(after: colon)...]) else {
            throw .invalidAddress(text)
        }
        var host = String(text[..<colon])
        if host.hasPrefix("[") && host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        guard !host.isEmpty else { throw .invalidAddress(text) }
        try self.init(host: host, port: port, family: family)
    }

    /// What the kernel filled in (accept, recvfrom, getsockname).
    init(storage: sockaddr_storage, length: socklen_t) {
        self.storage = storage
        self.length = length
    }

    /// IPv4 or IPv6.
    public var family: Family { domain == AF_INET6 ? .ipv6 : .ipv4 }

    /// The AF_ constant, for socket().
    var domain: Int32 { Int32(storage.ss_family) }

    public var port: UInt16 {
        withUnsafeBytes(of: storage) { raw -> UInt16 in
            if domain == AF_INET6 { return UInt16(bigEndian: raw.load(as: sockaddr_in6.self).sin6_port) }
            return UInt16(bigEndian: raw.load(as: sockaddr_in.self).sin_port)
        }
    }

    /// The numeric host, without port or brackets.
    public var host: String {
        var text = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN) + 1)
        let ok: Bool = withUnsafeBytes(of: storage) { raw in
            if domain == AF_INET6 {
                var a = raw.load(as: sockaddr_in6.self).sin6_addr
                return inet_ntop(AF_INET6, &a, &text, socklen_t(text.count)) != nil
            }
            var a = raw.load(as: sockaddr_in.self).sin_addr
            return inet_ntop(AF_INET, &a, &text, socklen_t(text.count)) != nil
        }
        guard ok else { return "?" }
        return String(decoding: text.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// `host:port`, with brackets for IPv6.
    public var description: String {
        domain == AF_INET6 ? "[\(host)]:\(port)" : "\(host):\(port)"
    }

    /// Calls `body` with the address as the kernel takes it.
    func withSockaddr<R>(_ body: (UnsafePointer<sockaddr>, socklen_t) -> R) -> R {
        withUnsafePointer(to: storage) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { body($0, length) }
        }
    }

    /// A literal address, without the resolver: true when `host` is one (of `family`).
    private static func parseNumeric(_ host: String, port: UInt16, family: Family, into address: inout SocketAddress) -> Bool {
        if family != .ipv6 {
            var v4 = sockaddr_in()
            v4.sin_family = sa_family_t(AF_INET)
            v4.sin_port = port.bigEndian
            if inet_pton(AF_INET, host, &v4.sin_addr) == 1 {
                address.set(v4)
                return true
            }
        }
        if family != .ipv4 {
            var v6 = sockaddr_in6()
            v6.sin6_family = sa_family_t(AF_INET6)
            v6.sin6_port = port.bigEndian
            if inet_pton(AF_INET6, host, &v6.sin6_addr) == 1 {
                address.set(v6)
                return true
            }
        }
        return false
    }

    private mutating func set<T>(_ raw: T) {
        storage = sockaddr_storage()
        withUnsafeMutableBytes(of: &storage) { dst in
            withUnsafeBytes(of: raw) { dst.copyMemory(from: $0) }
        }
        length = socklen_t(MemoryLayout<T>.size)
    }
}
