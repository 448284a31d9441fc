import Net

extension LoopGroup {
    /// `loops` when given (the caller's to start and stop), else `count` loops of the
    /// caller's own (`owned`: the caller starts and stops them).
    static func given(_ loops: LoopGroup?, orOwn name: String, count: Int = 1) throws(SocketError) -> (group: LoopGroup, owned: Bool) {
        if let loops { return (loops, false) }
        return (try LoopGroup(count: count, name: name), true)
    }
}
