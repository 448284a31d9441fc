// IPv4/IPv6 socket addresses resolved once (numeric or by name), for bind and connect.

#if canImport(Glibc)
import Glibc
#endif

/// A failed socket operation: which call, and errno.
public enum SocketError: Error, Equatable, Sendable, CustomStringConvertible {
    case invalidAddress(String)
    case system(operation: String, errno: Int32)
    case timedOut
    case connectionClosed

    public var description: String {
        switch self {
        case .invalidAddress(let text): return "invalid address \(text)"
        case .system(let operation, let code): return "\(operation): \(String(cString: strerror(code)))"
        case .timedOut: return "timed out"
        case .connectionClosed: return "connection closed"
        }
    }
}

/// A resolved IPv4 or IPv6 address with port.
public struct SocketAddress: Sendable, CustomStringConvertible {
    var storage = sockaddr_storage()
    var length: socklen_t = 0

    /// Resolves `host` (a literal address or a name; the first result wins) and `port`.
    public init(host: String, port: UInt16) throws(SocketError) {
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        hints.ai_flags = AI_NUMERICSERV
        var result: UnsafeMutablePointer<addrinfo>?
        let rc = getaddrinfo(host, String(port), &hints, &result)
        guard rc == 0, let first = result, let address = first.pointee.ai_addr else {
            if result != nil { freeaddrinfo(result) }
            throw .invalidAddress("\(host):\(port)")
        }
        defer { freeaddrinfo(result) }
        let size = min(Int(first.pointee.ai_addrlen), MemoryLayout<sockaddr_storage>.size)
        withUnsafeMutableBytes(of: &storage) { dst in
            dst.copyMemory(from: UnsafeRawBufferPointer(start: address, count: size))
        }
        length = socklen_t(size)
    }

    /// Parses `host:port` (or `[v6]:port`).
    public init(parsing text: String) throws(SocketError) {
        guard let colon = text.lastIndex(of: ":"),
              let port = UInt16(text[text.index(after: colon)...]) else {
            throw .invalidAddress(text)
        }
        var host = String(text[..<colon])
        if host.hasPrefix("[") && host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        try self.init(host: host, port: port)
    }

    init(storage: sockaddr_storage, length: socklen_t) {
        self.storage = storage
        self.length = length
    }

    public var family: Int32 { Int32(storage.ss_family) }

    public var port: UInt16 {
        var copy = storage
        return withUnsafeBytes(of: &copy) { raw -> UInt16 in
            if family == AF_INET6 {
                return UInt16(bigEndian: raw.load(as: sockaddr_in6.self).sin6_port)
            }
            return UInt16(bigEndian: raw.load(as: sockaddr_in.self).sin_port)
        }
    }

    /// The numeric host, without port.
    public var host: String {
        var copy = storage
        var text = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN) + 1)
        let ok: Bool = withUnsafeBytes(of: &copy) { raw in
            guard let base = raw.baseAddress else { return false }
            if family == AF_INET6 {
                return inet_ntop(AF_INET6, base + MemoryLayout<sockaddr_in6>.offset(of: \.sin6_addr)!,
                                 &text, socklen_t(text.count)) != nil
            }
            return inet_ntop(AF_INET, base + MemoryLayout<sockaddr_in>.offset(of: \.sin_addr)!,
                             &text, socklen_t(text.count)) != nil
        }
        guard ok else { return "?" }
        return String(decoding: text.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// `host:port`, with brackets for IPv6.
    public var description: String {
        family == AF_INET6 ? "[\(host)]:\(port)" : "\(host):\(port)"
    }

    func withSockaddr<R>(_ body: (UnsafePointer<sockaddr>, socklen_t) -> R) -> R {
        var copy = storage
        return withUnsafeBytes(of: &copy) { raw in
            body(raw.baseAddress!.assumingMemoryBound(to: sockaddr.self), length)
        }
    }
}
