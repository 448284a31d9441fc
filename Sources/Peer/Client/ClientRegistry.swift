import Synchronization

/// The open client connections of one server, for CLIENT LIST. Bounded by the server's
/// connection limit: the server reports every open and close (RESPCommandHandler).
final class ClientRegistry: Sendable {
    private let open = Mutex<[UInt64: RESPConnectionContext]>([:])

    func add(_ context: RESPConnectionContext) { open.withLock { $0[context.id] = context } }
    func remove(_ context: RESPConnectionContext) { _ = open.withLock { $0.removeValue(forKey: context.id) } }
    /// Every open connection, by id.
    func all() -> [RESPConnectionContext] { open.withLock { $0.values.sorted { $0.id < $1.id } } }
}
