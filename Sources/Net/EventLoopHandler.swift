// What an event loop calls back: a handler per registered descriptor, and a flushable per
// connection with output queued in this iteration. Both run on the loop thread only.

/// Something that reacts to readiness of one file descriptor on an event loop.
public protocol EventLoopHandler: AnyObject {
    /// Called on the loop thread with the epoll event bits (EPOLLIN, EPOLLOUT, ...).
    func handleEvents(_ events: UInt32)
}

/// Something with output to write once per loop iteration (a connection): everything
/// queued during the iteration leaves in one write.
public protocol EventLoopFlushable: AnyObject {
    /// Called on the loop thread at the end of the iteration it asked in.
    func flushQueued()
}
