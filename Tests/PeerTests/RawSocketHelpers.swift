import Net

/// Writes every byte of `bytes` on a raw test connection; false when the peer is gone or
/// the send timeout passed (the tests assert on it instead of throwing).
func writeAll(_ socket: Socket, _ bytes: [UInt8]) -> Bool {
    (try? socket.writeAll(bytes)) != nil
}
