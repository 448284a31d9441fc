import Net

// The core speaks `Endpoint` (host text and port, as it travels on the wire); only the
// shell turns one into a socket address, resolving names like `localhost` there.
extension Endpoint {
    /// The numeric host and port the kernel reported (recvfrom, accept).
    init(_ address: SocketAddress) {
        self.init(host: address.host, port: address.port)
    }

    /// Resolves to an address a socket of `family` can reach.
    func socketAddress(family: SocketAddress.Family = .any) throws(SocketError) -> SocketAddress {
        try SocketAddress(host: host, port: port, family: family)
    }
}
